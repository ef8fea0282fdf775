"""Static renderings of a run: text, HTML tables and chart images.

They serve the static fallback that travels with a displayed ``RunDetails`` (so a saved
notebook shows the run without a kernel, on GitHub or through nbconvert) and the HTML
report behind ``run.get_portal_url()``. Every user string goes through ``html.escape``;
charts are PNG images (never inline SVG, whose text could carry markup).
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ..store import RunRecord, RunStatus
from ..tracking.details import duration_text, error_message
from . import a11y, run_charts
from .lineage import is_lineage_key, lineage_rows
from .mapping import STEP, property_text
from .tracker import ChildRow, RunTracker

# White text on these has >= 4.5:1 contrast (WCAG AA); the same as js/theme.css.
STATUS_COLORS = {
    RunStatus.COMPLETED: "#107c10",
    RunStatus.FAILED: "#a80000",
    RunStatus.CANCELED: "#a80000",
    RunStatus.NOT_STARTED: "#605e5c",
}
ACTIVE_COLOR = "#0f5dc2"
# Carried by the snapshot (trusted outputs keep <style>): hides the "Error displaying widget:
# model not found" that JupyterLab and Notebook 7 print for a live view saved without its
# widget state, right above this snapshot which stands in for it. A restored view renders
# (the snapshot is hidden instead, by the widget's own CSS); an error is a widget output
# holding only text. (A ``:has()`` inside another ``:has()`` is invalid CSS, which browsers
# drop: the "only text" test is a ``:not(:has())`` of its own.)
HIDE_DEAD_VIEW_CSS = (
    "<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)"
    ":not(:has(> .jp-OutputArea-output > *))"
    ":has(+ .jp-OutputArea-child .rw-static-snapshot){display:none}</style>"
)
MAX_STATIC_CHARTS = 12
# Bookkeeping the sweep summary already shows; kept out of the properties panel.
HIDDEN_KEYS = frozenset(
    {
        "ContentSnapshotId",
        "best_child_run_id",
        "best_metric",
        "max_concurrent_jobs",
        "max_total_jobs",
        "primary_metric_config",
        "generator_config",
        "policy_config",
    }
)
MAX_STATIC_CHILDREN = 100
FIXED_PROPERTY_ROWS = 8  # at most: status, experiment, id, number, start, end, duration, args


def status_color(status: str) -> str:
    """The v1 colour of a status: blue while active, green, red, grey."""
    return STATUS_COLORS.get(status, ACTIVE_COLOR)


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def when(timestamp: float | None) -> str:
    """A UTC timestamp as ``YYYY-MM-DD HH:MM:SS UTC``."""
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def arguments_text(record: RunRecord) -> str:
    """``runDefinition.arguments`` joined by spaces, or ``N/A`` (as v1)."""
    arguments = record.definition.get("arguments") or []
    return " ".join(str(a) for a in arguments) if arguments else "N/A"


def charted(tracker: RunTracker) -> list[str]:
    """Names of the metrics that get a chart, in display order."""
    return [name for name, view in tracker.views().items() if view in ("line", "line2")]


# ---------------------------------------------------------------------------- text --
def snapshot_text(tracker: RunTracker) -> str:
    """A deterministic plain-text summary (no times, so saved outputs compare stably)."""
    record = tracker.record
    lines = [
        f"RunDetails: run {record.id} of experiment {record.experiment_name}",
        f"Status: {record.status}",
    ]
    if record.display_name:
        lines.append(f"Name: {record.display_name}")
    properties = [
        f"{info.name}={property_text(info)}"
        for info in tracker.infos()
        if tracker.views()[info.name] == "property"
    ]
    if properties:
        lines.append("Values: " + ", ".join(properties))
    charts = [f"{name} ({tracker.metrics[name].info.n_points} points)" for name in charted(tracker)]
    if charts:
        lines.append("Charts: " + ", ".join(charts))
    if tracker.children:
        counts: dict[str, int] = {}
        for child in tracker.children.values():
            counts[child.status] = counts.get(child.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        lines.append(f"Children: {len(tracker.children)} ({summary})")
    message = error_message(record.error)
    if message:
        lines.append(f"Error: {message.splitlines()[0][:300]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- html --
def header_html(tracker: RunTracker) -> str:
    """The status bar: colour, status, name.

    No link to the report: a ``file://`` link in a saved output does nothing in a browser
    ("Not allowed to load local resource"); the live view's button opens it.
    """
    record = tracker.record
    name = esc(record.display_name or record.id)
    return (
        f'<div class="rw-header" style="background:{status_color(record.status)};color:#fff;'
        f'padding:6px 10px;font-weight:600">Run {name} ({esc(record.status)})</div>'
    )


def properties_rows(tracker: RunTracker) -> list[tuple[str, str]]:
    """(label, text) rows of the Run Properties panel, as v1 plus tags and properties.

    A run's data inputs and outputs (and a reused step's origin) are readable rows (see
    ``lineage``), not their recorded JSON.
    """
    record = tracker.record
    rows = [
        ("Status", record.status),
        ("Experiment", record.experiment_name),
        ("Run Id", record.id),
        ("Run Number", str(record.number)),
        ("Start Time", when(record.start_time or record.created_at)),
        ("Duration", duration_text(tracker.duration())),
        ("Arguments", arguments_text(record)),
    ]
    if record.end_time is not None:
        rows.insert(5, ("End Time", when(record.end_time)))
    rows += [
        (f"tag: {k}", "" if v is None else v)
        for k, v in sorted(record.tags.items())
        if k not in HIDDEN_KEYS
    ]
    rows += [
        (f"property: {k}", v)
        for k, v in sorted(record.properties.items())
        if k not in HIDDEN_KEYS and not is_lineage_key(k)
    ]
    rows += lineage_rows(record.properties)
    models = tracker.registered_models()
    if models:
        rows.append(("Registered models", ", ".join(models)))
    rows += [
        (info.name, property_text(info))
        for info in tracker.infos()
        if tracker.views()[info.name] == "property"
    ]
    return rows


def table_html(headers: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "rw-table") -> str:
    """An escaped HTML table."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def child_columns(children: Sequence[ChildRow], limit: int = 6) -> tuple[list[str], list[str]]:
    """Extra columns of the child table: the commonest params, then metrics."""
    params: Counter[str] = Counter()
    metrics: Counter[str] = Counter()
    for child in children:
        params.update({*child.tags, *child.properties})
        metrics.update(child.metrics)
    return choose_columns(params, metrics, limit)


def choose_columns(
    params: Counter[str], metrics: Counter[str], limit: int = 6
) -> tuple[list[str], list[str]]:
    """The ``limit`` commonest keys: up to half params, the rest metrics."""
    top_params = sorted((k for k in params if params[k] > 0), key=lambda k: (-params[k], k))
    top_params = top_params[: limit // 2]
    top_metrics = sorted((k for k in metrics if metrics[k] > 0), key=lambda k: (-metrics[k], k))
    return top_params, top_metrics[: limit - len(top_params)]


def child_rows(
    children: Sequence[ChildRow], now: float | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the child-run table (newest number last)."""
    ordered = sorted(children, key=lambda c: c.number)
    params, metrics = child_columns(ordered)
    headers = ["Run Number", "Status", "Started", "Duration", "Run Id", *params, *metrics]
    now = now or time.time()
    rows = []
    for child in ordered:
        end = child.end_time if child.end_time is not None else now
        values = {**child.tags, **child.properties}
        rows.append(
            [
                child.number,
                child.status,
                when(child.start_time or child.created_at),
                duration_text(end - child.created_at),
                child.id,
                *[values.get(p, "") for p in params],
                *[_fmt(child.metrics.get(m, "")) for m in metrics],
            ]
        )
    return headers, rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def snapshot_html(
    tracker: RunTracker,
    chart_png: bytes | None,
    portal_url: str | None = None,
    children_html: str | None = None,
    chart_alt: str | None = None,
) -> str:
    """The static fallback: header, properties, charts image, children, error.

    ``children_html`` replaces the generic child table (a sweep shows its own).
    ``portal_url`` is accepted for compatibility and not shown (see :func:`header_html`).
    ``chart_alt`` is the image's text alternative (default: :func:`charts_alt`).
    """
    parts = [
        HIDE_DEAD_VIEW_CSS,
        f'<div class="rw-static-snapshot" data-run-id="{esc(tracker.run_id)}">',
    ]
    parts.append(header_html(tracker))
    message = error_message(tracker.record.error)
    if message:
        parts.append(f'<pre class="rw-error">Error occurred: {esc(message)}</pre>')
    parts.append(table_html(["Run Properties", ""], properties_rows(tracker)))
    if chart_png:
        encoded = base64.b64encode(chart_png).decode("ascii")
        alt = chart_alt if chart_alt is not None else charts_alt(tracker)
        parts.append(f'<img alt="{esc(alt)}" src="data:image/png;base64,{encoded}"/>')
    if children_html is not None:
        parts.append(children_html)
    elif tracker.children:
        headers, rows = child_rows(list(tracker.children.values()))
        shown = rows[:MAX_STATIC_CHILDREN]
        parts.append(table_html(headers, shown))
        if len(rows) > len(shown):
            parts.append(f"<p>... and {len(rows) - len(shown)} more child runs.</p>")
    parts.append("</div>")
    return "".join(parts)


# -------------------------------------------------------------------------- charts --
def charts_alt(tracker: RunTracker, x_choices: dict[str, str] | None = None) -> str:
    """The text alternative of :func:`charts_png`: each chart's metric and ranges."""
    names = charted(tracker)[:MAX_STATIC_CHARTS]
    described = [
        a11y.describe(run_charts.chart_data(tracker, n, (x_choices or {}).get(n, STEP)))
        for n in names
    ]
    return "Charts of the run. " + ". ".join(described) if described else "Charts of the run"


def charts_png(
    tracker: RunTracker,
    names: Sequence[str] | None = None,
    columns: int = 3,
    x_choices: dict[str, str] | None = None,
    dpi: int = 80,
) -> bytes | None:
    """All charts of a run drawn into one PNG grid (``None`` if there is none).

    Uses matplotlib's object API with the Agg canvas: no pyplot state, safe from a thread.
    """
    names = list(names if names is not None else charted(tracker))[:MAX_STATIC_CHARTS]
    if not names:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(columns, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(4.2 * columns, 2.8 * rows), dpi=dpi)
    FigureCanvasAgg(figure)
    for index, name in enumerate(names):
        axes = figure.add_subplot(rows, columns, index + 1)
        draw_chart(axes, tracker, name, (x_choices or {}).get(name, STEP))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def chart_png(tracker: RunTracker, name: str, dpi: int = 80) -> bytes | None:
    """One chart as a PNG."""
    return charts_png(tracker, [name], columns=1, dpi=dpi)


def draw_chart(axes: Any, tracker: RunTracker, name: str, x_choice: str = STEP) -> None:
    """Draw metric ``name`` on matplotlib ``axes``."""
    info = tracker.metrics[name].info
    # User strings are plain text: no mathtext ("$x^$" would not even parse), and a label
    # starting with "_" gets a zero-width space (matplotlib would drop it with a warning).
    axes.set_title(name, fontsize=10, parse_math=False)
    if info.kind in ("row", "table"):
        columns = tracker.table_columns(name)
        x_name = x_choice if x_choice in columns else (columns[0] if columns else STEP)
        handles, labels = [], []
        for column in columns:
            if column == x_name:
                continue
            x, y = tracker.chart_xy(name, x_name, column)
            handles += axes.plot(x, y, linewidth=1)
            labels.append("\u200b" + column if column.startswith("_") else column)
        if len(columns) > 2:
            legend = axes.legend(handles, labels, fontsize=7)
            for text in legend.get_texts():
                text.set_parse_math(False)
        axes.set_xlabel(x_name, fontsize=8, parse_math=False)
    else:
        x, y = tracker.chart_xy(name, x_choice)
        axes.plot(x, y, linewidth=1, marker="o" if len(y) < 30 else None, markersize=3)
        axes.set_xlabel(x_choice, fontsize=8, parse_math=False)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
