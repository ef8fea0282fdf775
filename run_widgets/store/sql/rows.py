"""The columns the SQL stores select, and the records built from their rows.

Every SQL backend selects the same columns (the lists below) and decodes rows with these
functions, so a record means the same thing whichever database it came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import codec, rules
from ..entities import MetricInfo, OwnerRecord, PointChunk, RunRecord

RUN_COLUMNS = (
    "r.id, r.experiment_id, e.name, r.parent_id, r.number, r.display_name, r.description, "
    "r.run_type, r.status, r.created_at, r.start_time, r.end_time, r.error, r.definition, "
    "r.owner_id, r.change_seq, r.created_by"
)
"""Columns of a run row (``runs r JOIN experiments e``), in :func:`run_record`'s order."""

METRIC_COLUMNS = (
    "id, run_id, name, kind, description, n_points, last_step, last_value, first_value,"
    " min_value, max_value, columns"
)
"""Columns of a metric header row, in :func:`metric_info`'s order."""

CHUNK_COLUMNS = (
    "c.id, c.metric_id, m.name, m.kind, c.first_index, c.steps, c.times, c.dtype, c.vals"
)
"""Columns of a chunk row (``chunks c JOIN metrics m``), in :func:`point_chunk`'s order."""

STORED_CHUNK_COLUMNS = "run_id, metric_id, first_index, n, steps, times, dtype, vals"
"""Columns of a stored chunk that compaction reads and :func:`merged_chunk` merges."""

OWNER_COLUMNS = "id, host, pid, pid_started_at, heartbeat_at"
"""Columns of an owner row, in :func:`owner_record`'s order."""


def labels(value: Any) -> dict[str, Any]:
    """Tags or properties aggregated into one JSON object (text, decoded, or NULL)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return dict(json.loads(value))
    return dict(value)


def run_record(row: Sequence[Any]) -> RunRecord:
    """A run from a row of :data:`RUN_COLUMNS` followed by its tags and properties."""
    return RunRecord(
        id=row[0],
        experiment_id=int(row[1]),
        experiment_name=row[2],
        parent_id=row[3],
        number=int(row[4]),
        display_name=row[5],
        description=row[6],
        run_type=row[7],
        status=row[8],
        created_at=row[9],
        start_time=row[10],
        end_time=row[11],
        error=codec.loads_json(row[12]),
        definition=codec.loads_json(row[13]) or {},
        owner_id=None if row[14] is None else int(row[14]),
        change_seq=int(row[15]),
        created_by=row[16],
        tags=labels(row[17]),
        properties=labels(row[18]),
    )


def metric_info(row: Sequence[Any]) -> MetricInfo:
    """A metric header from a row of :data:`METRIC_COLUMNS`."""
    return MetricInfo(
        id=int(row[0]),
        run_id=row[1],
        name=row[2],
        kind=row[3],
        description=row[4],
        n_points=int(row[5]),
        last_step=None if row[6] is None else int(row[6]),
        last_value=codec.loads_json(row[7]),
        first_value=codec.loads_json(row[8]),
        min_value=row[9],
        max_value=row[10],
        columns=tuple(codec.loads_json(row[11])),
    )


def point_chunk(row: Sequence[Any], run_id: str) -> PointChunk:
    """A chunk of points from a row of :data:`CHUNK_COLUMNS`."""
    return PointChunk(
        id=int(row[0]),
        run_id=run_id,
        metric_id=int(row[1]),
        metric_name=row[2],
        kind=row[3],
        first_index=int(row[4]),
        steps=codec.decode_steps(row[5]),
        times=codec.decode_times(row[6]),
        values=codec.decode_values(row[7], row[8]),
    )


def owner_record(row: Sequence[Any]) -> OwnerRecord:
    """An owner from a row of :data:`OWNER_COLUMNS`."""
    return OwnerRecord(int(row[0]), str(row[1]), int(row[2]), float(row[3]), float(row[4]))


def merged_chunk(rows: Sequence[Sequence[Any]]) -> tuple[int, bytes, bytes, str, bytes]:
    """The columns ``n, steps, times, dtype, vals`` of one chunk merging ``rows``.

    ``rows`` are consecutive chunks of one metric, in order, as :data:`STORED_CHUNK_COLUMNS`.
    """
    dtype = rows[0][6]
    blocks = [codec.decode_values(row[6], row[7]) for row in rows]
    steps = np.concatenate([codec.decode_steps(row[4]) for row in rows])
    times = np.concatenate([codec.decode_times(row[5]) for row in rows])
    if dtype in codec.NUMERIC_DTYPES:
        merged_dtype, blob = dtype, np.concatenate(blocks).tobytes()
    elif isinstance(blocks[0], dict):
        merged = rules.merge_columns(blocks, [int(row[3]) for row in rows])
        merged_dtype, blob = codec.encode_values(merged, table=True)
    else:
        merged_dtype, blob = codec.encode_values([v for block in blocks for v in block])
    n = sum(int(row[3]) for row in rows)
    return n, codec.encode_steps(steps), codec.encode_times(times), merged_dtype, blob
