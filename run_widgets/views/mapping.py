"""Which view each metric gets (the seed article's table, with v1's gaps fixed).

=================================================  ==================================
logged as                                          shown as
=================================================  ==================================
one value (``log`` once, ``log_list`` of one)      a row of the properties panel
``log`` repeated, numeric                          1-variable line, x = step
``log_list`` numeric                               1-variable line, x = index
``log_row`` repeated / ``log_table``, 2+ numeric   2-variable line, x = first numeric
columns                                            column (selectable), one line per
                                                   other numeric column
``log_row`` once                                   a properties row ``x=1, y=0.4``
strings, or tables without 2 numeric columns       a table (latest rows)
``log_image``                                      thumbnails
JSON artifacts (confusion matrix...)               a table of the payload's data
=================================================  ==================================

Any numeric line can also be drawn against another numeric metric logged in lockstep
(the same number of points), e.g. ``mse`` against ``alpha``.

Everything here is pure data: no widgets, no kernel, so it is shared by the live view,
the static fallback and the HTML report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..store import MetricInfo, PointChunk
from ..tracking.metric_views import MetricHistory

View = Literal["property", "line", "line2", "table", "image", "artifact"]
STEP = "step"
INDEX = "@index"
WALL = "@wall"
RELATIVE = "@relative"
TIME_AXES = (INDEX, WALL, RELATIVE)
"""x axes other than the step and other metrics (values that no metric name takes)."""
AXIS_TITLES = {STEP: "step", INDEX: "index", WALL: "wall time", RELATIVE: "time since start"}


def axis_title(x_name: str) -> str:
    """How an x axis is named: its title, or the metric's (or column's) own name."""
    return AXIS_TITLES.get(x_name, x_name)


def is_number(value: Any) -> bool:
    """True for int/float values (not bool, not None)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def numeric_columns(row: Mapping[str, Any] | None) -> list[str]:
    """Columns of a table row whose value is a number, in column order."""
    if not isinstance(row, Mapping):
        return []
    return [column for column, value in row.items() if is_number(value)]


def classify(info: MetricInfo) -> View:
    """The view a metric gets (see the module docstring)."""
    if info.kind == "image":
        return "image"
    if info.kind == "artifact":
        return "artifact"
    if info.kind in ("row", "table"):
        if info.kind == "row" and info.n_points == 1:
            return "property"
        if len(numeric_columns(info.last_value)) >= 2 and info.n_points >= 2:
            return "line2"
        return "table"
    if info.n_points <= 1:
        return "property"
    if info.min_value is not None:
        return "line"
    return "table"


def property_text(info: MetricInfo) -> str:
    """The text shown for a single-valued metric in the properties panel."""
    value = info.last_value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    return _short(value)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "None" if value is None else str(value)


def lockstep_partners(infos: Sequence[MetricInfo], name: str) -> list[str]:
    """Numeric line metrics with exactly as many points as ``name`` (possible x axes)."""
    by_name = {i.name: i for i in infos}
    target = by_name.get(name)
    if target is None:
        return []
    return sorted(
        (
            i.name
            for i in infos
            if i.name != name and classify(i) == "line" and i.n_points == target.n_points
        ),
        key=str.lower,
    )


@dataclass(frozen=True)
class Series:
    """One drawable line: numeric x and y of equal length."""

    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class ChartSpec:
    """One chart: its title, axis labels, lines, and the x axes it may switch to."""

    name: str
    view: View
    x_label: str
    series: tuple[Series, ...]
    x_options: tuple[str, ...] = (STEP,)


def as_float(values: Any) -> np.ndarray:
    """Values as float64, non-numbers (strings, None, bools) as NaN."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "fiu":
            return values.astype(np.float64, copy=False)
        items = values.tolist()
    else:
        # Not np.asarray first: it turns [1.0, "a", 3.0] into three strings.
        items = list(values)
        if all(is_number(v) for v in items):
            return np.asarray(items, dtype=np.float64).reshape(-1)
    return np.array([float(v) if is_number(v) else np.nan for v in items], dtype=np.float64)


def line_chart(history: MetricHistory, x: MetricHistory | None = None) -> ChartSpec:
    """A 1-variable chart of a numeric metric, over its steps or over metric ``x``."""
    y = as_float(history.values)
    if x is None:
        xs, label = history.steps.astype(np.float64), STEP
    else:
        xs, label = as_float(x.values)[: len(y)], x.name
        y = y[: len(xs)]
    return ChartSpec(history.name, "line", label, (Series(history.name, xs, y),))


def table_chart(history: MetricHistory, x_column: str | None = None) -> ChartSpec:
    """A 2-variable chart of a row/table metric: x = ``x_column`` (default: first numeric)."""
    columns: Mapping[str, Any] = history.values
    numeric = [c for c, v in columns.items() if np.isfinite(as_float(v)).any()]
    x_name = x_column if x_column in numeric else (numeric[0] if numeric else STEP)
    xs = as_float(columns[x_name]) if x_name in columns else history.steps.astype(np.float64)
    series = tuple(Series(c, xs, as_float(columns[c])) for c in numeric if c != x_name)
    return ChartSpec(history.name, "line2", x_name, series, tuple(numeric))


def chart_for(
    info: MetricInfo,
    history: MetricHistory,
    x_choice: str = STEP,
    histories: Mapping[str, MetricHistory] | None = None,
) -> ChartSpec | None:
    """The chart of one metric, or ``None`` if it is not charted."""
    view = classify(info)
    if view == "line":
        partner = histories.get(x_choice) if histories and x_choice != STEP else None
        return line_chart(history, partner)
    if view == "line2":
        return table_chart(history, None if x_choice == STEP else x_choice)
    return None


def values_from(chunks: Sequence[PointChunk], start: int) -> np.ndarray:
    """Values (as float) of a metric's points from index ``start`` on.

    ``chunks`` are the metric's chunks in order; only the ones needed are read.
    """
    parts = []
    for chunk in reversed(chunks):
        if chunk.first_index + chunk.n <= start:
            break
        parts.append(as_float(chunk.values)[max(0, start - chunk.first_index) :])
    parts.reverse()
    return np.concatenate(parts) if parts else np.empty(0)
