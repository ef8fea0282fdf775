"""Series summaries in the SQL stores: kept by the write path, read in one snapshot.

* **Write path** (:func:`fold_points`, called by ``SqlStore._append_points`` inside the
  write transaction): the appended points are folded into the metric's summary
  (:func:`run_widgets.store.summaries.fold`); the metric's header row keeps how far the
  summary goes (``summarized``) and every level's partial last bucket
  (``summary_tail``), and the blocks whose buckets completed are upserted into
  ``summaries``. Points the store's rules drop (a resent batch, a superseded attempt)
  never get there, and a writer killed mid-flush leaves points and summary together.
* **Windowed reads** (:meth:`SqlSummaries.read_series_window`): the backend-independent
  descent of :func:`run_widgets.store.summaries.read_window` over one snapshot
  transaction, reading summary blocks by (level, block) and raw points by index range
  from the chunks that cover it (found through ``chunks_by_metric``).
* **Lazy build** (:meth:`SqlSummaries.build_summaries`): metrics stored before summaries
  existed (``summarized < n_points``) are folded from their chunks, in transactions of at
  most ``BUILD_BATCH`` points, under the run's row lock like any write; the first windowed
  read of such a metric does it. It is idempotent: a metric already summarized is left
  alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ...exceptions import MetricNotFoundError, StoreError
from .. import codec
from ..entities import TABLE_KINDS, ArrayF8, ArrayI8
from ..summaries import (
    SUMMARIZED_KINDS,
    Buckets,
    SeriesHeader,
    SeriesWindow,
    SummaryState,
    columns_for,
    fold,
    point_data,
    read_window,
)
from ..summaries.levels import block_buckets, encode
from ..summaries.window import MAX_POINTS, PairedSource
from .dialect import Connection, Dialect
from .transactions import SqlTransactions, retried

BUILD_BATCH = 4_000_000
"""Points the lazy build folds per write transaction (so it never holds the lock long)."""

SUMMARY_COLUMNS = "summarized, summary_tail"
"""The summary columns of a metric header row, in :class:`SummaryState`'s order."""

_HEADER = "SELECT id, name, kind, n_points, summarized, summary_tail, columns FROM metrics"
_KINDS = ", ".join(f"'{kind}'" for kind in sorted(SUMMARIZED_KINDS))


def _header(row: Sequence[Any]) -> SeriesHeader:
    return SeriesHeader(
        metric_id=int(row[0]),
        name=str(row[1]),
        kind=str(row[2]),
        n_points=int(row[3]),
        state=SummaryState.of(int(row[4]), None if row[5] is None else bytes(row[5])),
        table_columns=tuple(codec.loads_json(row[6]) or ()),
    )


# ----------------------------------------------------------------------- write path --
def fold_points(
    conn: Connection,
    d: Dialect,
    metric_id: int,
    state: SummaryState,
    kind: str,
    table_columns: Sequence[str],
    steps: ArrayI8,
    times: ArrayF8,
    values: Any,
) -> SummaryState:
    """Fold appended points into the metric's summary; store the blocks that changed.

    Returns the metric's new :class:`SummaryState` (the caller writes it to the header row).
    """
    data = point_data(kind, steps, times, values)
    state, writes = fold(
        state,
        data,
        columns_for(kind, table_columns),
        lambda level, numbers: load_blocks(conn, d, metric_id, level, numbers),
    )
    d.executemany(
        conn,
        "INSERT INTO summaries (metric_id, level, block, n, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (metric_id, level, block) DO UPDATE SET n = excluded.n, data = excluded.data",
        [
            (metric_id, level, block, len(buckets), encode(buckets))
            for (level, block), buckets in sorted(writes.items())
        ],
    )
    return state


def load_blocks(
    conn: Connection, d: Dialect, metric_id: int, level: int, numbers: Sequence[int]
) -> Buckets:
    """The complete buckets stored in blocks ``numbers`` of ``level``, in order."""
    if not numbers:
        return Buckets.empty()
    term, param = d.one_of("block", list(numbers))
    with contextlib.closing(d.blob_cursor(conn)) as cursor:
        rows = cursor.execute(
            d.sql(
                "SELECT block, n, data FROM summaries WHERE metric_id = ? AND level = ?"
                f" AND {term} ORDER BY block"
            ),
            (metric_id, level, param),
        ).fetchall()
    return Buckets.concat([block_buckets(bytes(r[2]), level, int(r[0]), int(r[1])) for r in rows])


# ---------------------------------------------------------------------- raw points --
class ChunkPoints:
    """Points of one metric by index range, from the chunks that cover the range."""

    def __init__(self, conn: Connection, d: Dialect, header: SeriesHeader) -> None:
        self.conn = conn
        self.d = d
        self.header = header

    def blocks(self, level: int, numbers: Sequence[int]) -> Buckets:
        """Stored summary blocks (see :class:`~run_widgets.store.summaries.SeriesSource`)."""
        return load_blocks(self.conn, self.d, self.header.metric_id, level, numbers)

    def points(
        self, ranges: Sequence[tuple[int, int]], columns: Sequence[str]
    ) -> tuple[ArrayI8, dict[str, ArrayF8]]:
        """Index and ``columns`` of the points with index in ``ranges``."""
        index: list[ArrayI8] = []
        data: dict[str, list[ArrayF8]] = {c: [] for c in columns}
        for start, stop in ranges:
            for row in self._chunks(start, stop):
                first, n = int(row[0]), int(row[1])
                a, b = max(start, first) - first, min(stop, first + n) - first
                if b <= a:
                    continue
                values = codec.decode_values(row[4], bytes(row[5]))
                table = self.header.kind in TABLE_KINDS
                sliced_values = {k: v[a:b] for k, v in values.items()} if table else values[a:b]
                chunk = point_data(
                    self.header.kind,
                    codec.decode_steps(bytes(row[2]))[a:b],
                    codec.decode_times(bytes(row[3]))[a:b],
                    sliced_values,
                )
                index.append(np.arange(first + a, first + b, dtype=np.int64))
                for column in columns:
                    found = chunk.get(column)
                    data[column].append(found if found is not None else np.full(b - a, np.nan))
        if not index:
            return np.empty(0, dtype=np.int64), {c: np.empty(0) for c in columns}
        return np.concatenate(index), {c: np.concatenate(v) for c, v in data.items()}

    def _chunks(self, start: int, stop: int) -> list[Any]:
        d = self.d
        metric_id = self.header.metric_id
        with contextlib.closing(d.blob_cursor(self.conn)) as cursor:
            return list(
                cursor.execute(
                    d.sql(
                        "SELECT first_index, n, steps, times, dtype, vals FROM chunks"
                        " WHERE metric_id = ? AND first_index < ? AND first_index >= COALESCE("
                        "(SELECT MAX(first_index) FROM chunks WHERE metric_id = ?"
                        " AND first_index <= ?), 0) ORDER BY first_index"
                    ),
                    (metric_id, stop, metric_id, start),
                ).fetchall()
            )


# ------------------------------------------------------------------- store methods --
class SqlSummaries(SqlTransactions):
    """Windowed reads and the lazy build of summaries (a base of ``SqlStore``)."""

    def read_series_window(
        self,
        run_id: str,
        name: str,
        x_column: str = "step",
        y_column: str | None = None,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart draws of ``lo <= x <= hi`` of one series (see ``TrackingStore``)."""
        header = self._series_header(run_id, name)
        if header.kind in SUMMARIZED_KINDS and header.state.n < header.n_points:
            # Logged before summaries existed: build them now (a read-only user cannot;
            # the read then computes what the summary lacks from the points).
            with contextlib.suppress(StoreError):
                self.build_summaries(run_id, [name])
        return self._read_window(run_id, name, x_column, y_column, lo, hi, max_points)

    @retried
    def _read_window(
        self,
        run_id: str,
        name: str,
        x_column: str,
        y_column: str | None,
        lo: float | None,
        hi: float | None,
        max_points: int,
    ) -> SeriesWindow:
        with self._snapshot_read() as conn:
            header = self._header_in(conn, run_id, name)
            return read_window(
                ChunkPoints(conn, self.dialect, header),
                header,
                x_column,
                y_column,
                lo,
                hi,
                max_points,
            )

    def read_paired_window(
        self,
        run_id: str,
        name: str,
        x_name: str,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart of ``name`` against metric ``x_name`` draws (see ``TrackingStore``)."""
        for metric in (name, x_name):
            header = self._series_header(run_id, metric)
            if header.kind in SUMMARIZED_KINDS and header.state.n < header.n_points:
                with contextlib.suppress(StoreError):
                    self.build_summaries(run_id, [metric])
        return self._read_paired(run_id, name, x_name, lo, hi, max_points)

    @retried
    def _read_paired(
        self,
        run_id: str,
        name: str,
        x_name: str,
        lo: float | None,
        hi: float | None,
        max_points: int,
    ) -> SeriesWindow:
        with self._snapshot_read() as conn:
            y = self._header_in(conn, run_id, name)
            x = self._header_in(conn, run_id, x_name)
            d = self.dialect
            source = PairedSource(ChunkPoints(conn, d, y), y, ChunkPoints(conn, d, x), x)
            return read_window(source, source.header, x_name, None, lo, hi, max_points)

    @retried
    def _series_header(self, run_id: str, name: str) -> SeriesHeader:
        with self._reading() as conn:
            return self._header_in(conn, run_id, name)

    def _header_in(self, conn: Connection, run_id: str, name: str) -> SeriesHeader:
        row = self.dialect.execute(
            conn, f"{_HEADER} WHERE run_id = ? AND name = ?", (run_id, name)
        ).fetchone()
        if row is None:
            raise MetricNotFoundError(f"Run {run_id!r} has no metric {name!r}.")
        return _header(row)

    def build_summaries(self, run_id: str, names: Iterable[str] | None = None) -> int:
        """Summarize the points of ``run_id``'s metrics that have no summary yet.

        Returns the number of points folded (0 when every summary was up to date).
        """
        wanted = None if names is None else sorted(set(names))
        total = 0
        while True:
            done = self._build_batch(run_id, wanted)
            total += done
            if done == 0:
                return total

    @retried
    def _build_batch(self, run_id: str, names: list[str] | None) -> int:
        """Fold up to ``BUILD_BATCH`` points of metrics behind, in one write transaction."""
        d = self.dialect
        folded = 0
        with self._writing() as conn:
            d.select_in(conn, "SELECT id FROM runs", "id", [run_id], d.row_lock)
            rows = d.execute(
                conn,
                f"{_HEADER} WHERE run_id = ? AND summarized < n_points AND kind IN ({_KINDS})"
                " ORDER BY id",
                (run_id,),
            ).fetchall()
            for row in rows:
                header = _header(row)
                if names is not None and header.name not in names:
                    continue
                state = header.state
                points = ChunkPoints(conn, d, header)
                stop = min(header.n_points, state.n + BUILD_BATCH - folded)
                for chunk in points._chunks(state.n, stop):
                    first, n = int(chunk[0]), int(chunk[1])
                    a, b = max(state.n, first) - first, min(stop, first + n) - first
                    if b <= a:
                        continue
                    values = codec.decode_values(chunk[4], bytes(chunk[5]))
                    if header.kind in TABLE_KINDS:
                        values = {k: v[a:b] for k, v in values.items()}
                    else:
                        values = values[a:b]
                    state = fold_points(
                        conn,
                        d,
                        header.metric_id,
                        state,
                        header.kind,
                        header.table_columns,
                        codec.decode_steps(bytes(chunk[2]))[a:b],
                        codec.decode_times(bytes(chunk[3]))[a:b],
                        values,
                    )
                folded += state.n - header.state.n
                d.execute(
                    conn,
                    "UPDATE metrics SET summarized = ?, summary_tail = ? WHERE id = ?",
                    (state.n, state.encode_tails(), header.metric_id),
                )
                if folded >= BUILD_BATCH:
                    break
        return folded
