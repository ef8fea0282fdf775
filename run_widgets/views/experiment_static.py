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

from .experiment_model import ExperimentModel
from .overlay import X_LABELS
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
    """A deterministic plain-text summary (no times, no ids that change between runs)."""
    lines = [f"ExperimentDetails: {title}", f"Runs: {model.page.total}"]
    if model.selected:
        labels = [model.series[r].record.number for r in model.selected if r in model.series]
        lines.append("Overlay: runs " + ", ".join(str(n) for n in labels))
    charts = model.chart_names()
    if charts:
        lines.append("Charts: " + ", ".join(charts))
    return "\n".join(lines)


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


def overlay_png(
    model: ExperimentModel,
    mode: str = "step",
    smoothing: float = 0.0,
    log_y: bool = False,
    dpi: int = 80,
) -> bytes | None:
    """The overlay charts of the selected runs in one PNG grid (``None`` if none)."""
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
        for line in model.chart_lines(name, mode, smoothing):
            x = line.x.astype("datetime64[ms]") if mode == "wall" else line.x
            y = line.y
            if log_y:
                keep = y > 0
                x, y = x[keep], y[keep]
            label = "\u200b" + line.label if line.label.startswith("_") else line.label
            axes.plot(
                x,
                y,
                color=line.color,
                linewidth=1.2,
                label=label,
                marker="o" if len(y) <= 30 else None,
                markersize=3,
            )
        if log_y:
            axes.set_yscale("log")
        axes.set_xlabel(X_LABELS[mode], fontsize=8)
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
        parts.append(f'<img alt="overlay charts" src="data:image/png;base64,{encoded}"/>')
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
