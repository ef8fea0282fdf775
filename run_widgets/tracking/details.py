"""Building the dictionaries v1 users read: ``get_details()`` and the ``error`` entry.

Times are ISO 8601 UTC strings (``2026-11-22T10:32:05.123456Z``) as in v1; durations are
formatted ``H:MM:SS`` (``N days, H:MM:SS`` past a day) as the v1 widget showed them.

Layer: tracking (imports the store's entities).
"""

from __future__ import annotations

import datetime as dt
import getpass
import html
import traceback
from typing import Any

from ..exceptions import ArgumentTypeError
from ..store import RunRecord

TROUBLESHOOTING = "Check the run's logs (get_details_with_logs()) for details."
MAX_MESSAGE = 3000


def iso(timestamp: float | None) -> str | None:
    """Seconds since the epoch → ISO 8601 UTC string (``None`` stays ``None``)."""
    if timestamp is None:
        return None
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def duration_text(seconds: float | None) -> str:
    """``H:MM:SS`` (or ``N days, H:MM:SS``), as in the v1 widget; ``""`` for ``None``."""
    if seconds is None:
        return ""
    return str(dt.timedelta(seconds=int(max(0.0, seconds))))


def error_dict(
    error_details: Any, error_code: str | None = None, component: str = "run_widgets"
) -> dict[str, Any]:
    """The ``error`` entry of ``get_details()`` for ``run.fail(error_details, error_code)``.

    Raises:
        TypeError: ``error_details`` is neither ``None``, a ``str`` nor an exception.
    """
    debug: dict[str, Any] | None = None
    if error_details is None:
        message = "The run failed."
    elif isinstance(error_details, str):
        message = error_details
    elif isinstance(error_details, BaseException):
        kind = type(error_details).__name__
        message = f"User program failed with {kind}: {error_details}"
        debug = {
            "type": kind,
            "message": str(error_details),
            "stackTrace": "".join(
                traceback.format_exception(
                    type(error_details), error_details, error_details.__traceback__
                )
            ),
        }
    else:
        raise ArgumentTypeError("error_details must be instance of string or BaseException.")
    inner: dict[str, Any] = {
        "code": error_code or "UserError",
        "message": message[:MAX_MESSAGE],
        "messageFormat": "",
        "details": [],
    }
    if debug is not None:
        inner["debugInfo"] = debug
    return {
        "error": inner,
        "time": iso(dt.datetime.now(tz=dt.timezone.utc).timestamp()),
        "componentName": component,
    }


def error_message(error: Any) -> str:
    """The human message inside an ``error`` entry (``""`` if there is none)."""
    if not isinstance(error, dict):
        return ""
    inner = error.get("error", error)
    return str(inner.get("message", "")) if isinstance(inner, dict) else ""


def details(
    record: RunRecord, log_files: dict[str, str], snapshot_id: str | None = None
) -> dict[str, Any]:
    """The ``get_details()`` dictionary of a run."""
    definition = dict(record.definition)
    result: dict[str, Any] = {
        "runId": record.id,
        "displayName": record.display_name,
        "experimentName": record.experiment_name,
        "runNumber": record.number,
        "parentRunId": record.parent_id,
        "runType": record.run_type,
        "target": definition.get("target", "local"),
        "status": record.status,
        "createdTimeUtc": iso(record.created_at),
    }
    if record.start_time is not None:
        result["startTimeUtc"] = iso(record.start_time)
    if record.end_time is not None:
        result["endTimeUtc"] = iso(record.end_time)
    result.update(
        {
            "services": {},
            "properties": dict(record.properties),
            "tags": dict(record.tags),
            "inputDatasets": [],
            "outputDatasets": [],
            "runDefinition": definition,
            "logFiles": log_files,
            "submittedBy": definition.get("submittedBy") or _user(),
            "warnings": [],
        }
    )
    if snapshot_id:
        result["snapshotId"] = snapshot_id
    if record.error:
        result["error"] = dict(record.error)
    return result


def run_repr(record: RunRecord) -> str:
    """``repr(run)``, in v1's layout."""
    return (
        f"Run(Experiment: {record.experiment_name},\nId: {record.id},\n"
        f"Type: {record.run_type},\nStatus: {record.status})"
    )


def run_html(record: RunRecord) -> str:
    """The HTML table a notebook shows for a run (every value escaped)."""
    cells = [record.experiment_name, record.id, record.run_type, record.status]
    row = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
    return (
        "<table><tr><th>Experiment</th><th>Id</th><th>Type</th><th>Status</th></tr>"
        f"<tr>{row}</tr></table>"
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
