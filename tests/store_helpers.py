"""Helpers shared by the store tests (plain functions, not fixtures)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from run_widgets.store import AppendPoints, CreateRun, RunStatus, TrackingStore


def scalar_points(run_id: str, name: str, values: list[float], **kwargs: Any) -> AppendPoints:
    """An append of ``values`` to the scalar metric ``name``, timed now."""
    return AppendPoints(
        run_id=run_id,
        name=name,
        kind="scalar",
        values=np.asarray(values, dtype=np.float64),
        times=np.full(len(values), time.time()),
        **kwargs,
    )


def stored_values(store: TrackingStore, run_id: str) -> dict[str, list[Any]]:
    """Every metric's stored values, by name, in order."""
    return {
        info.name: np.concatenate(
            [c.values for c in store.read_chunks(run_id) if c.metric_id == info.id]
        ).tolist()
        for info in store.metric_infos([run_id])
    }


def summary_levels(store: TrackingStore, run_id: str, name: str) -> tuple[int, dict[int, Any]]:
    """How far a metric's stored summary goes, and every stored bucket by level.

    Reads the summary's rows as they are (blocks and the header's tails) in one snapshot.
    """
    from run_widgets.store.sql.summaries import load_blocks
    from run_widgets.store.summaries import Buckets, n_levels, size

    with store._snapshot_read() as conn:  # type: ignore[attr-defined]
        header = store._header_in(conn, run_id, name)  # type: ignore[attr-defined]
        summarized = header.state.n
        levels: dict[int, Any] = {}
        for level in range(1, n_levels(summarized) + 1):
            complete = summarized // size(level)
            blocks = list(range(0, -(-complete // 64)))
            stored = load_blocks(conn, store.dialect, header.metric_id, level, blocks)  # type: ignore[attr-defined]
            tail = header.state.tails.get(level)
            levels[level] = Buckets.concat([stored, tail] if tail is not None else [stored])
    return summarized, levels


def metric_columns(store: TrackingStore, run_id: str, name: str) -> tuple[Any, dict[str, Any]]:
    """Every stored point of a metric: index and numeric columns (by summary column id)."""
    from run_widgets.store.sql.summaries import ChunkPoints

    with store._snapshot_read() as conn:  # type: ignore[attr-defined]
        header = store._header_in(conn, run_id, name)  # type: ignore[attr-defined]
        from run_widgets.store.summaries import columns_for

        columns = columns_for(header.kind, header.table_columns).columns
        return ChunkPoints(conn, store.dialect, header).points([(0, header.n_points)], columns)  # type: ignore[attr-defined]


def check_summary(store: TrackingStore, run_id: str, name: str) -> int:
    """Assert the stored summary of a metric is exactly that of the points it covers.

    The summary covers the first points of the metric, all but fewer than ``FOLD_MIN``
    (the write path folds them in batches). Every level: the same buckets (index ranges)
    as those points grouped by that level's bucket size, with equal first/last/min/max of
    every column, the same positions of the extremes and the same x there. Returns the
    number of points summarized.
    """
    from run_widgets.store.sql import summaries as sql_summaries
    from run_widgets.store.summaries import bucketize, columns_for, size

    summarized, levels = summary_levels(store, run_id, name)
    index, data = metric_columns(store, run_id, name)
    info = next(i for i in store.metric_infos([run_id]) if i.name == name)
    assert info.n_points == len(index), (info.n_points, len(index))
    assert 0 <= info.n_points - summarized < max(1, sql_summaries.FOLD_MIN), (
        summarized,
        info.n_points,
    )
    index, data = index[:summarized], {k: v[:summarized] for k, v in data.items()}
    columns = columns_for(info.kind, info.columns)
    for level, stored in levels.items():
        expected = bucketize(index, data, columns, index // size(level))
        assert np.array_equal(stored.start, expected.start), level
        assert np.array_equal(stored.end, expected.end), level
        for key, values in expected.fields.items():
            assert np.array_equal(stored.get(key), values, equal_nan=True), (level, key)
        for key, values in stored.fields.items():  # nothing beyond: NaN where not expected
            assert np.array_equal(values, expected.get(key), equal_nan=True), (level, key)
    return summarized


@contextlib.contextmanager
def fold_every(points: int) -> Iterator[None]:
    """Within the block, the write path folds points into summaries every ``points``."""
    from run_widgets.store.sql import summaries as sql_summaries

    saved = sql_summaries.FOLD_MIN
    sql_summaries.FOLD_MIN = points
    try:
        yield
    finally:
        sql_summaries.FOLD_MIN = saved


_runs = iter(range(10**9))


def new_run(store: TrackingStore) -> str:
    """A new running run in ``store`` (a fresh id each call); its id."""
    run_id = f"r{next(_runs)}"
    store.write([CreateRun(run_id, "e", "interactive", RunStatus.RUNNING)])
    return run_id


def append(store: TrackingStore, run_id: str, name: str, values: Any, **kwargs: Any) -> None:
    """Store ``values`` as points of metric ``name`` (a dict: a table) in one write."""
    n = len(next(iter(values.values()))) if isinstance(values, dict) else len(values)
    kind = kwargs.pop("kind", "table" if isinstance(values, dict) else "scalar")
    store.write(
        [
            AppendPoints(
                run_id=run_id,
                name=name,
                kind=kind,
                values=values,
                times=kwargs.pop("times", np.full(n, time.time())),
                **kwargs,
            )
        ]
    )
