"""Text alternatives of charts, for screen readers and for text search of a page.

A chart is an image to a screen reader. Every chart the views draw therefore has:

* a short description (:func:`describe`): the metric, how many lines, the x range and the
  y range ("loss: 3 lines; step 0 to 49; loss 0.12 to 2.07"), used as the alt text of the
  snapshot's chart images and as the caption below;
* a data summary (:func:`summary_html`): a visually hidden HTML table beside the live
  chart, one row per line with its points, x range, first, last, minimum and maximum
  value, so the chart can be read as a table (WCAG 1.1.1).

Every user string goes through ``html.escape``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

from .export import ChartData, SeriesData, iso_time

SUMMARY_COLUMNS = ("line", "points", "x from", "x to", "first", "last", "min", "max")
MAX_SUMMARY_ROWS = 20


def number_text(value: float) -> str:
    """A number as a person reads it (4 significant digits, grouped thousands)."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}"


def _x_text(chart: ChartData, value: float) -> str:
    if chart.x_kind == "wall":
        return iso_time(value) or ""
    return number_text(value)


def _finite(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    kept: np.ndarray = array[np.isfinite(array)]
    return kept


def value_range(lines: Sequence[SeriesData], upper: bool = False) -> tuple[float, float] | None:
    """The range of the lines' y values (and their bands'), or ``None`` if none is finite."""
    parts = [_finite(line.y) for line in lines]
    if upper:
        parts += [_finite(b) for line in lines for b in (line.lower, line.upper) if b is not None]
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    return min(float(p.min()) for p in parts), max(float(p.max()) for p in parts)


def describe(chart: ChartData) -> str:
    """One sentence naming the metric, its lines and its ranges (the alt text)."""
    lines = [line for line in chart.lines if len(line.x)]
    if not lines:
        return f"{chart.metric}: no points yet" + (f" ({chart.note})" if chart.note else "")
    xs = [_finite(line.x) for line in lines]
    xs = [x for x in xs if len(x)]
    parts = [f"{chart.metric}: {len(lines)} line{'s' if len(lines) != 1 else ''}"]
    if xs:
        low = min(float(x.min()) for x in xs)
        high = max(float(x.max()) for x in xs)
        parts.append(f"{chart.x_axis} {_x_text(chart, low)} to {_x_text(chart, high)}")
    found = value_range(lines, upper=True)
    if found is not None:
        parts.append(f"{chart.metric} {number_text(found[0])} to {number_text(found[1])}")
    return "; ".join(parts)


def summary_rows(chart: ChartData) -> list[list[str]]:
    """The data summary's rows: one per line (see ``SUMMARY_COLUMNS``)."""
    rows = []
    for line in chart.lines[:MAX_SUMMARY_ROWS]:
        x, y = np.asarray(line.x, dtype=np.float64), np.asarray(line.y, dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if not len(y):
            rows.append([line.label, "0", "", "", "", "", "", ""])
            continue
        rows.append(
            [
                line.label,
                f"{len(y):,}",
                _x_text(chart, float(x.min())),
                _x_text(chart, float(x.max())),
                number_text(float(y[0])),
                number_text(float(y[-1])),
                number_text(float(y.min())),
                number_text(float(y.max())),
            ]
        )
    return rows


def summary_html(chart: ChartData) -> str:
    """The chart as a table for screen readers (visually hidden by ``rw-sr-only``)."""
    caption = html.escape(f"Data of the chart {describe(chart)}")
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in SUMMARY_COLUMNS)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{html.escape(row[0])}</th>'
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in summary_rows(chart)
    )
    more = len(chart.lines) - MAX_SUMMARY_ROWS
    extra = f"<p>and {more} more lines</p>" if more > 0 else ""
    return (
        f'<div class="rw-sr-only"><table><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{extra}</div>"
    )
