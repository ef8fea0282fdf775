"""Pure functions from a :class:`RunTracker` to the values of the panels' traits.

Kept apart from the widgets so the whole view can be checked without a kernel: the tests
call these and compare plain dicts and lists.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..store import RunStatus
from ..tracking.details import error_message
from . import static, summary
from .mapping import is_number
from .tracker import ChildRow, RunTracker

WAITING_FOR_LOGS = "Your job is submitted and we are monitoring to get logs..."
NO_LOGS = "Log is empty or no log files found."
MAX_TABLE_ROWS = 20
MAX_IMAGES_PER_METRIC = 6
THUMBNAIL_PX = 240

KIND_LABELS = {"hyperdrive": "Sweep", "scriptrun": "Script run"}


def header_state(tracker: RunTracker, portal_url: str = "") -> dict[str, Any]:
    """The header panel's ``header`` trait."""
    record = tracker.record
    return {
        "status": record.status,
        "display_name": record.display_name or "",
        "run_id": record.id,
        "experiment": record.experiment_name,
        "number": record.number,
        "created": record.created_at,
        "start": record.start_time if record.start_time is not None else record.created_at,
        "end": record.end_time,
        "portal_url": portal_url,
        "run_type": record.run_type,
        "kind_label": KIND_LABELS.get(record.run_type, "Run"),
        # The kernel's clock: the front-end measures running durations against it.
        "now": None if record.end_time is not None else time.time(),
    }


def properties_state(tracker: RunTracker) -> list[list[Any]]:
    """The properties panel's ``rows``: ``[label, text]``, with the raw times for the JS.

    Times get ``{"time": epoch seconds}`` (shown in the viewer's zone) and the duration
    ``{"created", "end", "now"}`` (it ticks in the browser against the kernel's clock).
    """
    record = tracker.record
    extras: dict[str, dict[str, Any]] = {
        "Start Time": {"time": record.start_time or record.created_at},
        "End Time": {"time": record.end_time},
        "Duration": {
            "created": record.created_at,
            "end": record.end_time,
            "now": None if record.end_time is not None else time.time(),
        },
    }
    rows: list[list[Any]] = []
    for index, (label, text) in enumerate(static.properties_rows(tracker)):
        # Only the fixed rows at the top (a metric may be called "Duration" too).
        extra = extras.get(label) if index < static.FIXED_PROPERTY_ROWS else None
        rows.append([label, text, extra] if extra is not None else [label, text])
    return rows


def without_clock(value: Any) -> Any:
    """``value`` (a header or properties state) less what only the passing time changes.

    That is the kernel's clock reading (``"now"``) and the text of a duration still
    running (the browser ticks it): a refresh that changes nothing else need not be sent,
    and the panels keep the clock of their first update.
    """
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if k != "now"}
    if isinstance(value, (list, tuple)):
        extra = value[2] if len(value) == 3 else None
        if isinstance(extra, dict) and "created" in extra and extra.get("end") is None:
            return [value[0], None, without_clock(extra)]
        return [without_clock(v) for v in value]
    return value


def log_state(tracker: RunTracker) -> dict[str, Any]:
    """The log panel's traits, with v1's closing lines ("Run is completed." ...)."""
    record = tracker.record
    text = tracker.log_text
    if text and not text.endswith("\n"):
        text += "\n"
    message = error_message(record.error)
    if message:
        text += f"\nError occurred: {message}\n"
    elif record.status in (RunStatus.COMPLETED, RunStatus.CANCELED) and text:
        text += f"\nRun is {record.status.lower()}."
    if not text.strip():
        text = NO_LOGS if tracker.is_terminal else WAITING_FOR_LOGS
    return {
        "files": list(tracker.log_files),
        "selected": tracker.selected_log or "",
        "follow": tracker.follow_active_log,
        "text": text,
        "visible": bool(tracker.log_files or message),
    }


def child_table_state(
    tracker: RunTracker,
    param_names: list[str] | None = None,
    metric_names: list[str] | None = None,
) -> dict[str, Any]:
    """The child table's ``columns`` and ``rows`` (rows by run number; the JS sorts)."""
    children = sorted(tracker.children.values(), key=lambda c: c.number)
    params, metrics = static.child_columns(children)
    params = param_names if param_names is not None else params
    metrics = metric_names if metric_names is not None else metrics
    columns = child_column_specs(params, metrics)
    return {"columns": columns, "rows": [child_row(c, params, metrics) for c in children]}


def child_column_specs(params: list[str], metrics: list[str]) -> list[dict[str, Any]]:
    """Column descriptions of the generic child table."""
    return [
        {"key": "number", "title": "Run Number"},
        {"key": "status", "title": "Status"},
        {"key": "started", "title": "Started"},
        {"key": "duration", "title": "Duration", "tooltip": "Duration in hh:mm:ss"},
        {"key": "id", "title": "Run Id"},
        *({"key": f"p:{name}", "title": name} for name in params),
        *(
            {"key": f"m:{name}", "title": name, "stats": True, "goal": summary.guessed_goal(name)}
            for name in metrics
        ),
    ]


class ChildTableModel:
    """The generic child table, kept up to date from the children that changed.

    Choosing columns needs key counts over all children: they are kept as counters updated
    per changed child, and rows are rebuilt only for changed children (all of them only
    when the columns change), so a refresh of a run with a thousand children costs its
    changes, not the table.
    """

    def __init__(self) -> None:
        self._params: Counter[str] = Counter()
        self._metrics: Counter[str] = Counter()
        self._keys: dict[str, tuple[set[str], set[str]]] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self._columns: tuple[list[str], list[str]] = ([], [])

    def update(self, children: Mapping[str, ChildRow], changed: Iterable[str]) -> dict[str, Any]:
        """The table's ``columns`` and ``rows`` (by run number) after ``changed`` children."""
        changed = [run_id for run_id in changed if run_id in children]
        for run_id in changed:
            child = children[run_id]
            old = self._keys.get(run_id)
            if old is not None:
                self._params.subtract(old[0])
                self._metrics.subtract(old[1])
            keys = ({*child.tags, *child.properties}, set(child.metrics))
            self._params.update(keys[0])
            self._metrics.update(keys[1])
            self._keys[run_id] = keys
        columns = static.choose_columns(self._params, self._metrics)
        dirty: Iterable[str] = changed
        if columns != self._columns:
            self._columns = columns
            dirty = children
        new = any(run_id not in self._rows for run_id in changed)
        for run_id in dirty:
            self._rows[run_id] = child_row(children[run_id], *columns)
        if new:
            self._rows = dict(sorted(self._rows.items(), key=lambda item: item[1]["number"]))
        return {"columns": child_column_specs(*columns), "rows": list(self._rows.values())}


def child_row(child: ChildRow, params: list[str], metrics: list[str]) -> dict[str, Any]:
    """One row of the child table (times in epoch seconds; the JS formats them)."""
    known = {**child.tags, **child.properties}
    values: dict[str, Any] = {f"p:{name}": _number_or_text(known.get(name)) for name in params}
    values.update({f"m:{name}": _json_number(child.metrics.get(name)) for name in metrics})
    for name in metrics:  # every summary: the table shows the one chosen (js/children.js)
        low, high = child.best.get(name, (None, None))
        found = summary.summaries(child.metrics.get(name), low, high, summary.guessed_goal(name))
        for stat in ("min", "max", "best"):
            values[f"m:{name}@{stat}"] = _json_number(found[stat])
    return {
        "id": child.id,
        "number": child.number,
        "status": child.status,
        "display_name": child.display_name or "",
        "created": child.created_at,
        "start": child.start_time if child.start_time is not None else child.created_at,
        "started": child.start_time if child.start_time is not None else child.created_at,
        "end": child.end_time,
        "values": values,
    }


def _number_or_text(value: Any) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if number == number and abs(number) != float("inf") else str(value)


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)  # JSON has no NaN/inf
    return value


def gallery_state(
    tracker: RunTracker,
    read_file: Callable[[str], bytes],
    cache: dict[str, str],
    artifact_cache: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The gallery's ``images`` (thumbnails as data URLs) and ``tables``.

    Tables are string series, tables without two numeric columns, and the latest payload of
    each JSON artifact (confusion matrix, accuracy table...). Thumbnails and artifact tables
    are cached by file name: a file is read once.
    """
    images = []
    tables = []
    artifact_cache = {} if artifact_cache is None else artifact_cache
    views = tracker.views()
    for info in tracker.infos():
        view = views[info.name]
        if view == "image":
            for file_name in tracker.history(info.name).values.tolist()[-MAX_IMAGES_PER_METRIC:]:
                if file_name not in cache:
                    try:
                        cache[file_name] = thumbnail_url(read_file(file_name), file_name)
                    except (OSError, ValueError):
                        continue
                images.append({"name": info.name, "title": file_name, "src": cache[file_name]})
        elif view == "table":
            tables.append(table_state(tracker, info.name))
        elif view == "artifact":
            file_name = str(info.last_value)
            if file_name not in artifact_cache:
                try:
                    payload = json.loads(read_file(file_name))
                except (OSError, ValueError):
                    continue
                artifact_cache[file_name] = artifact_table(info.name, payload)
            tables.append(artifact_cache[file_name])
    return {"images": images, "tables": tables}


def artifact_table(name: str, payload: Any) -> dict[str, Any]:
    """A JSON artifact as a table: a labelled matrix, or one row per entry of its data."""
    data = payload.get("data", payload) if isinstance(payload, Mapping) else payload
    if isinstance(data, Mapping):
        labels = data.get("class_labels")
        matrix = data.get("matrix")
        if isinstance(labels, list) and isinstance(matrix, list):
            names = [str(label) for label in labels]
            rows = [
                [names[i] if i < len(names) else "", *[_cell(v) for v in row]]
                for i, row in enumerate(matrix[:MAX_TABLE_ROWS])
                if isinstance(row, list)
            ]
            return {"name": name, "columns": ["true \\ predicted", *names], "rows": rows}
        rows = [[str(key), _json_text(value)] for key, value in data.items()]
        return {"name": name, "columns": ["key", "value"], "rows": rows[:MAX_TABLE_ROWS]}
    return {"name": name, "columns": ["value"], "rows": [[_json_text(data)]]}


def _json_text(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table_state(tracker: RunTracker, name: str) -> dict[str, Any]:
    """The last rows of a string series or a non-chartable table."""
    history = tracker.history(name)
    if isinstance(history.values, dict):
        columns = list(history.values)
        cells = [history.values[c].tolist() for c in columns]
        rows = [list(row) for row in zip(*cells, strict=True)]
    else:
        columns = ["step", "value"]
        rows = [
            list(row) for row in zip(history.steps.tolist(), history.values.tolist(), strict=True)
        ]
    rows = rows[-MAX_TABLE_ROWS:]
    return {"name": name, "columns": columns, "rows": [[_cell(c) for c in r] for r in rows]}


def _cell(value: Any) -> Any:
    if is_number(value):
        return float(value) if isinstance(value, float) else value
    return None if value is None else str(value)


def thumbnail_url(data: bytes, file_name: str) -> str:
    """A small PNG data URL of an image (SVG is passed through as an image, not markup)."""
    if file_name.endswith(".svg"):
        return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        buffer = io.BytesIO()
        image.convert("RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def widget_data(tracker: RunTracker, portal_url: str = "") -> dict[str, Any]:
    """Everything the view shows, as one JSON-able dict (v1 ``get_widget_data``)."""
    table = child_table_state(tracker)
    views = tracker.views()
    return {
        "status": tracker.record.status,
        "run_id": tracker.record.id,
        "workbench_run_details_uri": portal_url,
        "run_properties": header_state(tracker, portal_url),
        "properties": properties_state(tracker),
        "run_metrics": [
            {"name": info.name, "view": views[info.name], "points": info.n_points}
            for info in tracker.infos()
        ],
        "child_runs": table["rows"],
        "run_logs": log_state(tracker)["text"],
    }
