"""Static renderings of the experiment view: text, HTML, overlay PNG, a report.

Text, an HTML table, the overlay charts as a PNG, and a self-contained HTML report.

They back the snapshot that travels beside a displayed ``ExperimentDetails`` (readable
without a kernel, on GitHub or through nbconvert) and its "Report" button. Every user
string is escaped; charts are PNG images drawn with matplotlib's object API (no pyplot
state, safe from the poller thread).
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from typing import Any

import numpy as np

from . import a11y
from .experiment_model import ExperimentModel
from .static import ACTIVE_COLOR, HIDE_DEAD_VIEW_CSS

MAX_STATIC_CHARTS = 9
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#222}
table.rw-table{border-collapse:collapse;font-size:13px;margin:4px 0}
.rw-table th,.rw-table td{border:1px solid #ddd;padding:3px 8px;text-align:left}
.rw-table th{background:#f3f3f3} img{max-width:100%}
"""


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _duration(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def snapshot_text(model: ExperimentModel, title: str) -> str:
    """The table page as text (what ``show()`` prints outside a kernel), then the charts.

    Run numbers, display names, status and each metric column's value (the summary the
    table shows: last, min, max or best); deterministic (no times, no run ids), so a saved
    notebook's text output compares stably.
    """
    stat = model.settings.stat
    lines = [f"ExperimentDetails: {title}", f"Runs: {model.page.total}"]
    state = model.table_state()
    metrics = model.metric_columns
    headers = ["#", "name", "status", *(m if stat == "last" else f"{m} ({stat})" for m in metrics)]
    rows = []
    for row in state["rows"]:
        suffix = "" if stat == "last" else f"@{stat}"
        values = [row["values"].get(f"metric:{m}{suffix}") for m in metrics]
        rows.append(
            [str(row["number"]), row["display_name"], row["status"], *(_cell(v) for v in values)]
        )
    if rows:
        lines.append(text_table(headers, rows))
    if model.page.total > len(rows):
        lines.append(f"(page {model.settings.page + 1}: {len(rows)} of {model.page.total} runs)")
    if model.group_keys:
        shown = model.shown_groups()
        lines.append(
            f"Groups by {', '.join(model.group_keys)}: "
            + "; ".join(group.legend() for group in shown)
            + (
                f"; and {len(model.groups) - len(shown)} more"
                if len(model.groups) > len(shown)
                else ""
            )
        )
    elif model.selected:
        labels = [model.series[r].record.number for r in model.selected if r in model.series]
        lines.append("Overlay: runs " + ", ".join(str(n) for n in labels))
    charts = model.chart_names()
    if charts:
        lines.append("Charts: " + ", ".join(charts))
    return "\n".join(lines)


def text_table(headers: list[str], rows: list[list[str]], width: int = 28) -> str:
    """Rows as aligned text columns (cells longer than ``width`` are cut with "…")."""

    def cut(text: str) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cut(h) for h in headers], *([cut(c) for c in row] for row in rows)]
    sizes = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(size) for cell, size in zip(row, sizes, strict=True)).rstrip()
        for row in cells
    )


def table_html(model: ExperimentModel, now: float | None = None) -> str:
    """The current page of the run table as an escaped HTML table."""
    state = model.table_state()
    columns = state["columns"]
    now = now or time.time()
    head = "".join(f"<th>{esc(c['title'])}</th>" for c in columns)
    body = []
    for row in state["rows"]:
        cells = []
        for column in columns:
            key = column["key"]
            if key == "start":
                value = _when(row["start"])
            elif key == "duration":
                value = _duration((row["end"] if row["end"] is not None else now) - row["created"])
            else:
                value = _cell(row.get(key, row["values"].get(key)))
            cells.append(f"<td>{esc(value)}</td>")
        style = ' style="font-weight:600"' if row["id"] == state["best_id"] else ""
        body.append(f"<tr{style}>{''.join(cells)}</tr>")
    return (
        f'<table class="rw-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def overlay_png(model: ExperimentModel, log_y: bool = False, dpi: int = 80) -> bytes | None:
    """The overlay charts (runs' lines or groups' bands) in one PNG grid (``None``: none)."""
    names = model.chart_names()[:MAX_STATIC_CHARTS]
    if not names:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(4.4 * columns, 3.0 * rows), dpi=dpi)
    FigureCanvasAgg(figure)
    for index, name in enumerate(names):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.set_title(name, fontsize=10, parse_math=False)
        chart = model.chart_data(name)
        for line in chart.lines:
            x = line.x.astype("datetime64[ms]") if chart.x_kind == "wall" else line.x
            y = line.y
            keep = y > 0 if log_y else np.isfinite(y)
            x, y = x[keep], y[keep]
            member = bool(line.group and line.run_id)
            if line.lower is not None and line.upper is not None:
                axes.fill_between(
                    x, line.lower[keep], line.upper[keep], color=line.color, alpha=0.2, lw=0
                )
            label = "\u200b" + line.label if line.label.startswith("_") else line.label
            axes.plot(
                x,
                y,
                color=line.color,
                linewidth=0.8 if member else (1.8 if line.group else 1.2),
                alpha=0.4 if member else 1.0,
                label=None if member else label,
                marker="o" if len(y) <= 30 and not member else None,
                markersize=3,
            )
        if log_y:
            axes.set_yscale("log")
        axes.set_xlabel(chart.x_axis, fontsize=8, parse_math=False)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
        if index == 0:
            legend = axes.legend(fontsize=7)
            for text in legend.get_texts():
                text.set_parse_math(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def snapshot_html(model: ExperimentModel, title: str, png: bytes | None) -> str:
    """The static fallback: title, the table's page, the overlay image."""
    parts = [
        HIDE_DEAD_VIEW_CSS,  # a live view saved without its state: the snapshot stands in
        '<div class="rw-static-snapshot rw-experiment-snapshot">',
        f'<div style="background:{ACTIVE_COLOR};color:#fff;padding:6px 10px;font-weight:600">'
        f"{esc(title)}: {model.page.total} runs</div>",
        table_html(model),
    ]
    if model.page.total > len(model.page.records):
        parts.append(f"<p>Showing {len(model.page.records)} of {model.page.total} runs.</p>")
    if png:
        encoded = base64.b64encode(png).decode("ascii")
        alt = "Overlay charts. " + ". ".join(
            a11y.describe(model.chart_data(n)) for n in model.chart_names()[:MAX_STATIC_CHARTS]
        )
        parts.append(f'<img alt="{esc(alt)}" src="data:image/png;base64,{encoded}"/>')
    parts.append("</div>")
    return "".join(parts)


def report_html(model: ExperimentModel, title: str, png: bytes | None) -> str:
    """A self-contained HTML page of the view (opens offline, can be mailed)."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1 style='font-size:18px'>{esc(title)}</h1>"
        f"<p>Written {esc(_when(time.time()))}.</p>"
        f"{snapshot_html(model, title, png)}</body></html>"
    )


def best_html(model: ExperimentModel) -> str:
    """The line naming the best run for the model's metric and goal (escaped HTML)."""
    best, metric = model.best, model.metric
    value = best.metrics.get(metric) if best is not None else None
    if best is None or value is None:
        return ""
    return f"best ({esc(model.goal)} {esc(metric)}): <b>run {esc(best.label)}</b> = {value:.6g}"


def widget_data(
    model: ExperimentModel, title: str, log_y: bool = False, ignore_outliers: bool = False
) -> dict[str, Any]:
    """``ExperimentDetails.get_widget_data()``: everything the view shows, JSON-able."""
    runs = []
    by_id = {r.id: r for r in model.page.records}
    for row in model.table_state()["rows"]:
        record = by_id[row["id"]]
        metrics = {
            name: {stat: _json(value) for stat, value in stats.items()}
            for name, stats in model.page_summaries.get(record.id, {}).items()
        }
        runs.append(
            {
                "id": record.id,
                "number": record.number,
                "display_name": record.display_name or "",
                "status": record.status,
                "created": record.created_at,
                "start": record.start_time,
                "end": record.end_time,
                "tags": dict(record.tags),
                "arguments": row["values"].get("arguments", ""),
                "metrics": metrics,
            }
        )
    return {
        "title": title,
        "total": model.page.total,
        "page": model.settings.page,
        "runs": runs,
        "selected": list(model.selected),
        "group_by": list(model.group_keys),
        "groups": [
            {
                "label": group.label,
                "value": [_json(v) for v in group.value] if group.value is not None else None,
                "color": group.color,
                "count": len(group.members),
                "members": list(group.members),
                "band_members": list(group.band_members),
                "shown": index < len(model.shown_groups()),
            }
            for index, group in enumerate(model.groups)
        ],
        "charts": {chart.metric: chart.json() for chart in model.charts()},
        "best": None if model.best is None else model.best.run_id,
        "settings": {
            "metric": model.metric,
            "goal": model.goal,
            "stat": model.settings.stat,
            "x": model.options.x,
            "smoothing": model.options.smoothing,
            "filter": model.options.pattern,
            "filter_error": model.filter.error,
            "log_y": log_y,
            "ignore_outliers": ignore_outliers,
            "center": model.center,
            "band": model.spread,
            "show_members": model.show_members,
        },
    }


def _json(value: Any) -> Any:
    """A value JSON can carry (non-finite floats as ``None``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
