"""The SQL store: everything the SQL backends share, as one base class, and its write path.

:class:`SqlStore` implements the whole :class:`~run_widgets.store.base.TrackingStore`
contract in SQL written once (with ``?`` marks, run through the backend's
:class:`~run_widgets.store.sql.dialect.Dialect`): the writes here, the reads in
:mod:`.reads`, the registries in :mod:`.registries`, on the transactions of
:mod:`.transactions`. A backend subclass (``SqliteStore``, ``PostgresStore``) adds only
what truly differs: how a connection is opened, checked and migrated, how a driver error
becomes a :class:`~run_widgets.exceptions.StoreError`, how a transaction begins, and
whether a failed call may be tried again.

One write, :meth:`SqlStore.write`, reads top to bottom:

1. begin the write transaction (SQLite: ``BEGIN IMMEDIATE``, the whole database; other
   databases: ``BEGIN`` and row locks below);
2. refuse text no backend can keep, and drop what :mod:`~run_widgets.store.rules` says
   must not be applied: appends a writer sent before (``write_progress``) and ops of an
   attempt a retry replaced;
3. lock the rows of every existing run the ops touch, in id order (never deadlocking two
   writes of the same runs), reading each run's status and owner;
4. apply the ops in order, each through its rule: creations (resends are no-ops, numbers
   per experiment under the experiment row's lock), conditional and sticky updates,
   tags, write-once properties, metric summaries; new point chunks are held back;
5. last, under the ``meta.seq`` row lock held until COMMIT: draw the change seq, insert
   the held chunks with ids drawn now, stamp every touched run with the seq.

Drawing the numbers last is what keeps incremental readers correct under concurrent
writers (the ordering contract of :mod:`run_widgets.store.base`): the next writer gets
the ``meta`` row, and so its numbers, only after this one's commit is visible.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

from ...exceptions import RunNotFoundError, UserErrorException
from .. import codec, rules
from ..base import TrackingStore
from ..entities import (
    TABLE_KINDS,
    AddProperties,
    AppendPoints,
    CreateRun,
    ExperimentRecord,
    RemoveTags,
    SetTags,
    UpdateRun,
    WriteOp,
    describe_ops,
)
from ..summaries import SUMMARIZED_KINDS
from .data_assets import SqlDataAssets
from .dialect import Connection
from .reads import SqlReads
from .registries import SqlRegistries
from .rows import METRIC_COLUMNS, STORED_CHUNK_COLUMNS, merged_chunk, metric_info
from .summaries import Backlog, SqlSummaries, fold_backlogs
from .transactions import retried

JSON_RUN_COLUMNS = frozenset({"error", "definition"})
"""Run columns holding JSON text."""

NewChunk = tuple[str, int, int, int, bytes, bytes, str, bytes]
"""A chunk to insert: ``run_id, metric_id, first_index, n, steps, times, dtype, vals``."""

_INSERT_CHUNK = (
    f"INSERT INTO chunks (id, {STORED_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_CREATION_COLUMNS = (
    "SELECT e.name, r.parent_id, r.run_type, r.owner_id, r.definition, r.created_at"
    " FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?"
)
"""What identifies a stored run's creation (``rules.creation_fingerprint``)."""


class SqlStore(SqlReads, SqlSummaries, SqlRegistries, SqlDataAssets, TrackingStore):
    """A tracking store in a SQL database: the shared statements and the write path.

    A backend subclass sets ``dialect`` and ``driver_error`` and provides the connection
    side (see :class:`~run_widgets.store.sql.transactions.SqlTransactions`).
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # ---------------------------------------------------------------------- writes --
    @retried
    def write(self, ops: Sequence[WriteOp]) -> int:
        """Apply ``ops`` atomically and return the change sequence number they got."""
        with self._writing(describe_ops(ops)) as conn:
            return self._apply(conn, ops)

    def _apply(self, conn: Connection, ops: Sequence[WriteOp]) -> int:
        """Apply ``ops`` inside the write transaction (steps 2-5 of the module docstring)."""
        d = self.dialect
        for op in ops:
            rules.check_text(op)
        ops = self._current_attempts_only(conn, self._unapplied(conn, ops))
        created = {op.run_id for op in ops if isinstance(op, CreateRun)}
        runs = self._lock_runs(conn, sorted({op.run_id for op in ops} - created))
        chunks: list[NewChunk] = []
        backlogs: dict[int, Backlog] = {}
        for op in ops:
            if isinstance(op, CreateRun):
                runs[op.run_id] = self._create_run(conn, op)
                continue
            run = runs.get(op.run_id)
            if run is None:
                raise RunNotFoundError(f"No run with id {op.run_id!r} in {self.location}.")
            if isinstance(op, AppendPoints):
                chunk = self._append_points(conn, op, backlogs)
                if chunk is not None:
                    chunks.append(chunk)
            elif isinstance(op, UpdateRun):
                runs[op.run_id] = self._update_run(conn, op, run)
            elif isinstance(op, SetTags):
                d.executemany(
                    conn,
                    "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                    [(op.run_id, k, v) for k, v in op.tags.items()],
                )
            elif isinstance(op, RemoveTags):
                if op.keys:
                    term, param = d.one_of("key", op.keys)
                    d.execute(
                        conn, f"DELETE FROM tags WHERE run_id = ? AND {term}", (op.run_id, param)
                    )
            elif isinstance(op, AddProperties):
                self._add_properties(conn, op)
        # From here on the meta row is locked until COMMIT: numbers are in commit order.
        seq = int(
            conn.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
            ).fetchone()[0]
        )
        if chunks:
            ids = d.chunk_ids(conn, len(chunks))
            d.executemany(conn, _INSERT_CHUNK, [(i, *c) for i, c in zip(ids, chunks, strict=True)])
            fold_backlogs(conn, d, backlogs.values())
        touched = sorted({op.run_id for op in ops})
        if touched:
            term, param = d.one_of("id", touched)
            d.execute(conn, f"UPDATE runs SET change_seq = ? WHERE {term}", (seq, param))
        return seq

    def _unapplied(self, conn: Connection, ops: Sequence[WriteOp]) -> list[WriteOp]:
        """``ops`` less the appends already stored (``rules.unapplied_appends``).

        The writers' ``write_progress`` rows stay locked until the transaction ends, so the
        check and the write are one.
        """
        writers = sorted({op.writer for op in ops if isinstance(op, AppendPoints) and op.writer})
        if not writers:
            return list(ops)
        d = self.dialect
        rows = d.select_in(
            conn, "SELECT writer, last_seq FROM write_progress", "writer", writers, d.row_lock
        )
        kept, progress = rules.unapplied_appends(ops, {str(w): int(n) for w, n in rows})
        d.executemany(
            conn,
            "INSERT INTO write_progress (writer, last_seq) VALUES (?, ?) ON CONFLICT (writer)"
            " DO UPDATE SET last_seq = excluded.last_seq",
            sorted(progress.items()),
        )
        return kept

    def _current_attempts_only(self, conn: Connection, ops: Sequence[WriteOp]) -> list[WriteOp]:
        """``ops`` less those of an attempt a retry replaced (``rules.superseded_ops``)."""
        runs = sorted({op.run_id for op in ops if getattr(op, "attempt", None) is not None})
        if not runs:
            return list(ops)
        prefix = rules.ATTEMPT_PREFIX
        rows = self.dialect.select_in(
            conn,
            "SELECT run_id, key FROM properties",
            "run_id",
            runs,
            f" AND substr(key, 1, {len(prefix)}) = '{prefix}'",
        )
        keys: dict[str, list[str]] = {}
        for run_id, key in rows:
            keys.setdefault(str(run_id), []).append(str(key))
        attempts = {run_id: rules.current_attempt(keys.get(run_id, ())) for run_id in runs}
        return rules.superseded_ops(ops, attempts)

    def _lock_runs(self, conn: Connection, run_ids: Sequence[str]) -> dict[str, rules.RunState]:
        """Lock the rows of ``run_ids`` (in id order); their status and owner by id."""
        if not run_ids:
            return {}
        d = self.dialect
        rows = d.select_in(
            conn,
            "SELECT id, status, owner_id FROM runs",
            "id",
            run_ids,
            f" ORDER BY id{d.row_lock}",
        )
        locked = {
            str(r[0]): rules.RunState(str(r[1]), None if r[2] is None else int(r[2])) for r in rows
        }
        if len(locked) < len(run_ids):
            self._refuse_hidden_runs(conn, [r for r in run_ids if r not in locked])
        return locked

    def _create_run(self, conn: Connection, op: CreateRun) -> rules.RunState:
        """Insert the run (a resend of its creation is a no-op); return its state."""
        d = self.dialect
        stored = d.execute(conn, _CREATION_COLUMNS, (op.run_id,)).fetchone()
        if stored is not None:
            rules.check_existing_creation(op, stored)
            return self._lock_runs(conn, [op.run_id])[op.run_id]
        if (
            op.parent_id is not None
            and d.execute(conn, "SELECT 1 FROM runs WHERE id = ?", (op.parent_id,)).fetchone()
            is None
        ):
            raise RunNotFoundError(f"No run with id {op.parent_id!r} in {self.location}.")
        experiment_id = self._experiment_id(conn, op.experiment_name)
        # The experiment row's lock serialises the numbering of concurrent creations.
        d.execute(conn, f"SELECT 1 FROM experiments WHERE id = ?{d.row_lock}", (experiment_id,))
        largest = d.execute(
            conn, "SELECT MAX(number) FROM runs WHERE experiment_id = ?", (experiment_id,)
        ).fetchone()
        now = op.created_at if op.created_at is not None else time.time()
        inserted = d.execute(
            conn,
            "INSERT INTO runs (id, experiment_id, parent_id, number, display_name, description,"
            " run_type, status, created_at, start_time, owner_id, definition, change_seq,"
            f" created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, COALESCE(?, {d.role}))"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            (
                op.run_id,
                experiment_id,
                op.parent_id,
                op.number if op.number is not None else rules.next_number(largest[0]),
                op.display_name,
                op.description,
                op.run_type,
                op.status,
                now,
                rules.start_time_for(op.status, now),
                op.owner_id,
                codec.dumps_json(dict(op.definition)),
                op.created_by,
            ),
        ).fetchone()
        if inserted is None:  # a concurrent writer created the id first
            raise UserErrorException(f"A run with id {op.run_id!r} already exists.")
        for table, labels in (("tags", op.tags), ("properties", op.properties)):
            d.executemany(
                conn,
                f"INSERT INTO {table} (run_id, key, value) VALUES (?, ?, ?)",
                [(op.run_id, k, v) for k, v in labels.items()],
            )
        return rules.RunState(op.status, op.owner_id)

    def _experiment_id(self, conn: Connection, name: str, created_at: float | None = None) -> int:
        """The id of experiment ``name``, inserted if new (created ``created_at``, or now)."""
        d = self.dialect
        d.execute(
            conn,
            "INSERT INTO experiments (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, time.time() if created_at is None else created_at),
        )
        return int(
            d.execute(conn, "SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()[0]
        )

    def _update_run(self, conn: Connection, op: UpdateRun, run: rules.RunState) -> rules.RunState:
        """Apply ``op`` as ``rules.run_update`` says; return the run's state afterwards."""
        change = rules.run_update(op, run)
        if change is None:
            return run
        fields, after = change
        values = {
            column: codec.dumps_json(value) if column in JSON_RUN_COLUMNS else value
            for column, value in fields.items()
        }
        assignments = ", ".join(f"{column} = ?" for column in values)
        self.dialect.execute(
            conn, f"UPDATE runs SET {assignments} WHERE id = ?", (*values.values(), op.run_id)
        )
        return after

    def _add_properties(self, conn: Connection, op: AddProperties) -> None:
        d = self.dialect
        existing = {
            str(k): v
            for k, v in d.execute(
                conn, "SELECT key, value FROM properties WHERE run_id = ?", (op.run_id,)
            ).fetchall()
        }
        added = rules.new_properties(op.run_id, existing, op.properties)
        d.executemany(
            conn,
            "INSERT INTO properties (run_id, key, value) VALUES (?, ?, ?)",
            [(op.run_id, k, v) for k, v in added.items()],
        )

    def _append_points(
        self, conn: Connection, op: AppendPoints, backlogs: dict[int, Backlog]
    ) -> NewChunk | None:
        """Update the metric's header (``rules.summarize_append``); the chunk to insert.

        The points are noted in ``backlogs``: once the chunks are stored, a metric that
        has gathered enough points past its summary gets them folded in (``.summaries``).
        """
        d = self.dialect
        row = d.execute(
            conn,
            f"SELECT {METRIC_COLUMNS}, summarized FROM metrics WHERE run_id = ? AND name = ?",
            (op.run_id, op.name),
        ).fetchone()
        stored = None if row is None else metric_info(row)
        appended = rules.summarize_append(
            None if stored is None else rules.MetricSummary.of(stored), op
        )
        if appended is None:
            return None
        summary, steps = appended
        if stored is None:
            metric_id = int(
                d.execute(
                    conn,
                    "INSERT INTO metrics (run_id, name, kind, description) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (op.run_id, op.name, op.kind, op.description),
                ).fetchone()[0]
            )
            first_index = summarized = 0
        else:
            metric_id, first_index = stored.id, stored.n_points
            summarized = int(row[len(row) - 1])
        d.execute(
            conn,
            "UPDATE metrics SET kind = ?, n_points = ?, last_step = ?, last_value = ?,"
            " first_value = ?, min_value = ?, max_value = ?, columns = ?, description = ?"
            " WHERE id = ?",
            (
                summary.kind,
                summary.n_points,
                summary.last_step,
                codec.dumps_json(summary.last_value),
                codec.dumps_json(summary.first_value),
                summary.min_value,
                summary.max_value,
                codec.dumps_json(list(summary.columns)),
                summary.description or "",
                metric_id,
            ),
        )
        backlog = backlogs.setdefault(
            metric_id, Backlog(metric_id, summary.kind, (), summarized, first_index, 0)
        )
        backlog.kind, backlog.table_columns, backlog.n = (
            summary.kind,
            summary.columns,
            summary.n_points,
        )
        if summary.kind in SUMMARIZED_KINDS:
            backlog.parts.append((steps, op.times, op.values))
        dtype, blob = codec.encode_values(op.values, table=op.kind in TABLE_KINDS)
        return (
            op.run_id,
            metric_id,
            first_index,
            summary.n_points - first_index,
            codec.encode_steps(steps),
            codec.encode_times(op.times),
            dtype,
            blob,
        )

    # ----------------------------------------------------------------- compaction --
    @retried
    def compact_run(self, run_id: str) -> int:
        """Merge runs of small consecutive chunks of each metric into big ones.

        A training loop flushing every half second writes many small chunks; each costs a
        row to fetch and arrays to decode on every full read. Consecutive chunks smaller
        than ``SMALL_CHUNK`` points (with the same value encoding) are merged, in one
        transaction under the run's row lock, into chunks of up to ``MERGED_CHUNK`` points.
        A merged chunk keeps the largest id of the chunks it replaces, so chunk order is
        unchanged and a reader whose cursor is past them never reads them again. Returns
        the chunks removed.
        """
        d = self.dialect
        removed = 0
        with self._writing(f"compact the points of run {run_id}") as conn:
            self._lock_runs(conn, [run_id])
            metric_ids = [
                int(row[0])
                for row in d.execute(
                    conn,
                    "SELECT metric_id FROM chunks WHERE run_id = ? AND n < ?"
                    " GROUP BY metric_id HAVING COUNT(*) >= ?",
                    (run_id, rules.SMALL_CHUNK, rules.MIN_CHUNKS_TO_COMPACT),
                ).fetchall()
            ]
            for metric_id in metric_ids:
                rows = d.execute(
                    conn,
                    "SELECT id, n, dtype FROM chunks WHERE metric_id = ? ORDER BY first_index",
                    (metric_id,),
                ).fetchall()
                for group in rules.mergeable_groups([(int(a), int(b), str(c)) for a, b, c in rows]):
                    self._merge_chunks(conn, group)
                    removed += len(group) - 1
        return removed

    def _merge_chunks(self, conn: Connection, ids: list[int]) -> None:
        d = self.dialect
        with contextlib.closing(d.blob_cursor(conn)) as cursor:
            rows = cursor.execute(
                d.sql(
                    f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks WHERE {d.in_clause('id')}"
                    " ORDER BY first_index"
                ),
                (d.values_param(ids),),
            ).fetchall()
        n, steps, times, dtype, blob = merged_chunk(rows)
        d.execute(conn, f"DELETE FROM chunks WHERE {d.in_clause('id')}", (d.values_param(ids),))
        d.execute(
            conn,
            _INSERT_CHUNK,
            (max(ids), rows[0][0], rows[0][1], rows[0][2], n, steps, times, dtype, blob),
        )

    # ---------------------------------------------------------------- experiments --
    @retried
    def ensure_experiment(self, name: str, created_at: float | None = None) -> ExperimentRecord:
        """Return the experiment ``name``, creating it in a short write if it is new."""
        found = self.get_experiment(name)
        if found is not None:
            return found
        with self._writing(f"create experiment {name!r}") as conn:
            self._experiment_id(conn, name, created_at)
        found = self.get_experiment(name)
        assert found is not None
        return found

    # ---------------------------------------------------------------------- owners --
    @retried
    def register_owner(self, host: str, pid: int, pid_started_at: float) -> int:
        """Record a process that owns runs and return its id."""
        with self._writing("start runs (record this process as their owner)") as conn:
            row = self.dialect.execute(
                conn,
                "INSERT INTO owners (host, pid, pid_started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (host, pid, pid_started_at, time.time()),
            ).fetchone()
        return int(row[0])

    @retried
    def heartbeat(self, owner_id: int) -> None:
        """Record that the owner process is alive now."""
        with self._writing("record this process's heartbeat") as conn:
            self.dialect.execute(
                conn, "UPDATE owners SET heartbeat_at = ? WHERE id = ?", (time.time(), owner_id)
            )
