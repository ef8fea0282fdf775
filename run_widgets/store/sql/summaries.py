"""Series summaries in the SQL stores: kept by the write path, read in one snapshot.

* **Write path** (:func:`fold_backlogs`, called by ``SqlStore.write`` inside the write
  transaction, after the new chunks are stored): once a metric has ``FOLD_MIN`` points
  past its summary, they are folded in (:func:`run_widgets.store.summaries.fold`); the
  metric's header row keeps how far the summary goes (``summarized``) and every level's
  partial last bucket (``summary_tail``), and the blocks whose buckets completed are
  upserted into ``summaries``. Folding a batch at a time keeps the cost of a small flush
  (a few points per metric, every half second) at nothing most of the time; a windowed
  read takes the fewer than ``FOLD_MIN`` points past the summary from the chunks. Points
  the store's rules drop (a resent batch, a superseded attempt) never get there, and a
  writer killed mid-flush leaves points and summary together.
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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

FOLD_MIN = 16_384
"""Points past its summary a metric gathers before the write path folds them in (64
level-1 buckets: a block's worth, so a fold writes about one block per level)."""
BUILD_BATCH = 4_000_000
"""Points the lazy build folds per write transaction (so it never holds the lock long)."""
FOLD_PIECE = 1_000_000
"""Points folded at once (the columns of that many points are held in memory)."""

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
@dataclass
class Backlog:
    """What one write appends to one metric, for the fold after its chunks are stored.

    Attributes:
        metric_id: the metric.
        kind: its kind after the write.
        table_columns: a table's columns after the write.
        summarized: points its summary covered before the write.
        first: index of the first point the write appends.
        n: points stored after the write.
        parts: the appended points as ``(steps, times, values)``, in order.
    """

    metric_id: int
    kind: str
    table_columns: tuple[str, ...]
    summarized: int
    first: int
    n: int
    parts: list[tuple[ArrayI8, ArrayF8, Any]] = field(default_factory=list)


def fold_backlogs(conn: Connection, d: Dialect, backlogs: Iterable[Backlog]) -> None:
    """Fold into their summaries the metrics of a write that reached ``FOLD_MIN`` points past it.

    A metric already ``FOLD_MIN`` behind before the write (stored before summaries
    existed) is left to the lazy build (:meth:`SqlSummaries.build_summaries`).
    """
    for backlog in backlogs:
        behind_before = backlog.first - backlog.summarized
        if (
            backlog.kind not in SUMMARIZED_KINDS
            or behind_before >= FOLD_MIN
            or backlog.n - backlog.summarized < FOLD_MIN
        ):
            continue
        row = d.execute(
            conn, "SELECT summary_tail FROM metrics WHERE id = ?", (backlog.metric_id,)
        ).fetchone()
        state = SummaryState.of(backlog.summarized, None if row[0] is None else bytes(row[0]))
        header = SeriesHeader(
            backlog.metric_id, "", backlog.kind, backlog.n, state, backlog.table_columns
        )
        earlier = ChunkPoints(conn, d, header).columns(backlog.summarized, backlog.first)
        now = [point_data(backlog.kind, *part) for part in backlog.parts]
        state = fold_points(conn, d, header, state, [*earlier, *now])
        save_state(conn, d, backlog.metric_id, state)


def fold_points(
    conn: Connection,
    d: Dialect,
    header: SeriesHeader,
    state: SummaryState,
    parts: Sequence[Mapping[str, ArrayF8]],
) -> SummaryState:
    """Fold the next points (``parts``, in order) into a summary; store the blocks that changed.

    Returns the metric's new :class:`SummaryState` (the caller writes it to the header row).
    """
    data = _joined(parts)
    if not data:
        return state
    state, writes = fold(
        state,
        data,
        columns_for(header.kind, header.table_columns),
        lambda level, numbers: load_blocks(conn, d, header.metric_id, level, numbers),
    )
    d.executemany(
        conn,
        "INSERT INTO summaries (metric_id, level, block, n, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (metric_id, level, block) DO UPDATE SET n = excluded.n, data = excluded.data",
        [
            (header.metric_id, level, block, len(buckets), encode(buckets))
            for (level, block), buckets in sorted(writes.items())
        ],
    )
    return state


def save_state(conn: Connection, d: Dialect, metric_id: int, state: SummaryState) -> None:
    """Record how far a metric's summary goes, and its tails, in its header row."""
    d.execute(
        conn,
        "UPDATE metrics SET summarized = ?, summary_tail = ? WHERE id = ?",
        (state.n, state.encode_tails(), metric_id),
    )


def _joined(parts: Sequence[Mapping[str, ArrayF8]]) -> dict[str, ArrayF8]:
    """The columns of consecutive parts, one after the other (a missing column is NaN)."""
    parts = [p for p in parts if p and len(next(iter(p.values())))]
    if len(parts) <= 1:
        return dict(parts[0]) if parts else {}
    names = list(dict.fromkeys(c for p in parts for c in p))
    sizes = [len(next(iter(p.values()))) for p in parts]
    return {
        c: np.concatenate([p.get(c, np.full(n, np.nan)) for p, n in zip(parts, sizes, strict=True)])
        for c in names
    }


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
            at = start
            for part in self.columns(start, stop):
                n = len(next(iter(part.values())))
                index.append(np.arange(at, at + n, dtype=np.int64))
                at += n
                for column in columns:
                    found = part.get(column)
                    data[column].append(found if found is not None else np.full(n, np.nan))
        if not index:
            return np.empty(0, dtype=np.int64), {c: np.empty(0) for c in columns}
        return np.concatenate(index), {c: np.concatenate(v) for c, v in data.items()}

    def columns(self, start: int, stop: int) -> list[dict[str, ArrayF8]]:
        """Every numeric column of the points ``start … stop-1``, chunk by chunk."""
        parts = []
        table = self.header.kind in TABLE_KINDS
        for row in self._chunks(start, stop) if stop > start else []:
            first, n = int(row[0]), int(row[1])
            a, b = max(start, first) - first, min(stop, first + n) - first
            if b <= a:
                continue
            values = codec.decode_values(row[4], bytes(row[5]))
            parts.append(
                point_data(
                    self.header.kind,
                    codec.decode_steps(bytes(row[2]))[a:b],
                    codec.decode_times(bytes(row[3]))[a:b],
                    {k: v[a:b] for k, v in values.items()} if table else values[a:b],
                )
            )
        return parts

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
        self._catch_up(run_id, [name])
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
        self._catch_up(run_id, [name, x_name])
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

    def _catch_up(self, run_id: str, names: list[str]) -> None:
        """Summarize metrics stored before summaries existed (``FOLD_MIN`` or more behind).

        A read-only user cannot, nor can a writer role for another role's run (PostgreSQL
        roles); the read then computes what the summary lacks from the points.
        """
        for name in names:
            header = self._series_header(run_id, name)
            if header.kind in SUMMARIZED_KINDS and header.n_points - header.state.n >= FOLD_MIN:
                with contextlib.suppress(StoreError):
                    self.build_summaries(run_id, [name])

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
        with self._writing(f"summarize the metrics of run {run_id}") as conn:
            if not d.select_in(conn, "SELECT id FROM runs", "id", [run_id], d.row_lock):
                # Another role's run (row-level security): its reads use the points.
                self._refuse_hidden_runs(conn, [run_id])
                return 0
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
                stop = min(header.n_points, state.n + BUILD_BATCH - folded)
                points = ChunkPoints(conn, d, header)
                for start in range(state.n, stop, FOLD_PIECE):
                    parts = points.columns(start, min(stop, start + FOLD_PIECE))
                    state = fold_points(conn, d, header, state, parts)
                folded += state.n - header.state.n
                save_state(conn, d, header.metric_id, state)
                if folded >= BUILD_BATCH:
                    break
        return folded
