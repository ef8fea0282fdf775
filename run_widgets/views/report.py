"""The self-contained HTML report behind ``run.get_portal_url()``.

One file per run, ``<workspace>/reports/<run_id>.html``, regenerated on every call: status,
properties, every chart (embedded PNG), tables, images, children (linked to their own
reports when generated), files (as ``file://`` links) and the end of the log. It needs no
server and no network, so it opens offline and can be mailed around.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..tracking.details import error_message
from . import static
from .reader import RunReader, run_reader
from .tracker import RunTracker
from .view_state import artifact_table

if TYPE_CHECKING:
    from ..run import Run

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#222}
h2{font-size:15px;margin:18px 0 6px}
table.rw-table{border-collapse:collapse;font-size:13px;margin:4px 0}
.rw-table th,.rw-table td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
.rw-table th{background:#f3f3f3}
.rw-header a{color:#fff;margin-left:12px;font-weight:400}
pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;max-height:400px;overflow:auto;font-size:12px}
pre.rw-error{background:#fde7e9;border-color:#A80000;color:#A80000;white-space:pre-wrap}
.rw-charts img{max-width:100%}
.rw-images img{max-height:160px;margin:4px;border:1px solid #ddd}
@media (prefers-color-scheme: dark){body{background:#1e1e1e;color:#ddd}
.rw-table th{background:#333}.rw-table th,.rw-table td{border-color:#444}pre{background:#2a2a2a;border-color:#444}}
"""
MAX_IMAGES = 24
IMAGE_MIMES = {
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".webp": "image/webp",
}


def report_path(run: Run) -> Path:
    """Where the report of ``run`` is written."""
    return run.workspace.artifacts.report_path(run.id)


def build_report(reader: RunReader) -> str:
    """The report page of the run ``reader`` reads, as HTML text."""
    tracker = RunTracker(reader)
    tracker.poll()
    record = tracker.record
    esc = static.esc
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{esc(record.display_name or record.id)} - run report</title>",
        f"<style>{STYLE}</style></head><body>",
        static.header_html(tracker),
    ]
    message = error_message(record.error)
    if message:
        parts.append(f'<pre class="rw-error">Error occurred: {esc(message)}</pre>')
    parts.append("<h2>Run Properties</h2>")
    parts.append(static.table_html(["Property", "Value"], static.properties_rows(tracker)))
    charted = static.charted(tracker)
    if charted:
        parts.append('<h2>Metrics</h2><div class="rw-charts">')
        for name in charted:
            png = static.chart_png(tracker, name, dpi=90)
            if png:
                encoded = base64.b64encode(png).decode("ascii")
                parts.append(f'<img alt="{esc(name)}" src="data:image/png;base64,{encoded}"/>')
        parts.append("</div>")
    views = tracker.views()
    for name, view in views.items():
        if view == "table":
            history = tracker.history(name)
            parts.append(f"<h2>{esc(name)}</h2>")
            if isinstance(history.values, dict):
                columns = list(history.values)
                cells = [history.values[c].tolist() for c in columns]
                table_rows = [list(row) for row in zip(*cells, strict=True)]
                parts.append(static.table_html(columns, table_rows[-200:]))
            else:
                parts.append(
                    static.table_html(
                        ["step", "value"],
                        list(zip(history.steps.tolist(), history.values.tolist(), strict=True))[
                            -200:
                        ],
                    )
                )
    for name, view in views.items():
        if view == "artifact":
            file_name = str(tracker.metrics[name].info.last_value)
            try:
                payload = json.loads(reader.read_file(file_name))
            except (OSError, ValueError):
                continue
            table = artifact_table(name, payload)
            parts.append(f"<h2>{esc(name)}</h2>")
            parts.append(static.table_html(table["columns"], table["rows"]))
    images = [name for name, view in views.items() if view == "image"]
    if images:
        parts.append('<h2>Images</h2><div class="rw-images">')
        for name in images:
            for file_name in tracker.history(name).values.tolist()[-MAX_IMAGES:]:
                try:
                    data = reader.read_file(file_name)
                except (OSError, ValueError):
                    continue
                mime = IMAGE_MIMES.get(Path(file_name).suffix.lower(), "image/png")
                encoded = base64.b64encode(data).decode("ascii")
                parts.append(f'<img title="{esc(name)}" src="data:{mime};base64,{encoded}"/>')
        parts.append("</div>")
    if tracker.children:
        headers, rows = static.child_rows(list(tracker.children.values()))
        parts.append(f"<h2>Child runs ({len(rows)})</h2>")
        parts.append(static.table_html(headers, rows))
    files = reader.file_names()
    if files:
        parts.append("<h2>Files</h2><ul>")
        for name in files:
            uri = reader.file_url(name)
            link = f'<a href="{esc(uri)}">{esc(name)}</a>' if uri else esc(name)
            parts.append(f"<li>{link}</li>")
        parts.append("</ul>")
    if tracker.log_text:
        parts.append(f"<h2>{esc(tracker.selected_log)}</h2><pre>{esc(tracker.log_text)}</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(run: Run) -> Path:
    """Write (or rewrite) the report of ``run`` and return its path."""
    path = report_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = build_report(run_reader(run))
    fd, tmp = tempfile.mkstemp(prefix=".rw-tmp-", suffix=".html", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path
