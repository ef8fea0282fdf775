"""A pandas view of many runs: one row per run, with their latest metric values.

Layer: tracking (reads the store).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..store import RunRecord, TrackingStore

if TYPE_CHECKING:
    import pandas as pd

BASE_COLUMNS = [
    "run_id",
    "number",
    "display_name",
    "type",
    "status",
    "parent_id",
    "start_time",
    "end_time",
    "duration_s",
    "tags",
    "properties",
]


def runs_frame(store: TrackingStore, records: Sequence[RunRecord]) -> pd.DataFrame:
    """Runs as a DataFrame; scalar metrics appear as ``metric.<name>`` (last value)."""
    import pandas as pd

    if not records:
        return pd.DataFrame(columns=BASE_COLUMNS)  # type: ignore[no-any-return]
    latest: dict[str, dict[str, Any]] = {}
    for info in store.metric_infos(r.id for r in records):
        if info.kind == "scalar":
            latest.setdefault(info.run_id, {})[f"metric.{info.name}"] = info.last_value
    now = time.time()
    rows = []
    for record in records:
        start = record.start_time or record.created_at
        end = (
            record.end_time
            if record.end_time is not None
            else (None if record.is_terminal else now)
        )
        rows.append(
            {
                "run_id": record.id,
                "number": record.number,
                "display_name": record.display_name,
                "type": record.run_type,
                "status": record.status,
                "parent_id": record.parent_id,
                "start_time": pd.to_datetime(start, unit="s", utc=True),
                "end_time": pd.to_datetime(record.end_time, unit="s", utc=True)
                if record.end_time is not None
                else pd.NaT,
                "duration_s": None if end is None else round(end - start, 3),
                "tags": dict(record.tags),
                "properties": dict(record.properties),
                **latest.get(record.id, {}),
            }
        )
    frame = pd.DataFrame(rows)
    metric_columns = sorted(c for c in frame.columns if c.startswith("metric."))
    return frame[BASE_COLUMNS + metric_columns]  # type: ignore[no-any-return]
