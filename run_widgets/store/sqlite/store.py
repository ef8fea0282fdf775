"""SQLite backend of the tracking store.

Design notes:

* WAL journal with ``synchronous=NORMAL``: readers never block writers and vice versa, and
  a commit is one sequential WAL append. Every write is one short ``BEGIN IMMEDIATE``
  transaction, so writers queue on SQLite's busy handler instead of failing with
  "database is locked" when they try to upgrade a read lock.
* One connection per thread (SQLite connections must not be shared across threads
  without a lock); connections of threads that ended are closed on the next open.
* Metric points are stored as packed chunks (one row per metric per flush), see
  :mod:`run_widgets.store.codec`.
* A store file is checked before anything is written to it: a newer schema version, a
  file that is not a SQLite database, a truncated file or a foreign database is refused
  with a clear error and left byte-for-byte untouched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ...exceptions import (
    RunNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreReadOnlyError,
    StoreVersionError,
    UserErrorException,
)
from .. import codec, rules, sql_run_query
from .._sql import (
    CHUNK_COLUMNS,
    METRIC_COLUMNS,
    RUN_COLUMNS,
    SQLITE,
    SqlRuns,
    ThreadConnections,
    appends_to_apply,
    merged_chunk,
    metric_info,
    metric_summary,
    owner_record,
    point_chunk,
    resent_creation,
    run_record,
)
from ..base import TrackingStore
from ..entities import (
    TABLE_KINDS,
    AddProperties,
    AppendPoints,
    CreateRun,
    ExperimentRecord,
    MetricInfo,
    OwnerRecord,
    PointChunk,
    RemoveTags,
    RunRecord,
    SetTags,
    UpdateRun,
    WriteOp,
)
from ..rules import MIN_CHUNKS_TO_COMPACT, SMALL_CHUNK
from ..run_query import RunColumns, RunPage, RunQuery, ids_json, last_scalars
from ..sql_assets import SqlRegistries
from .schema import (
    APPLICATION_ID,
    CORE_TABLES,
    SCHEMA_VERSION,
    migrate,
    read_application_id,
    read_version,
)

_T = TypeVar("_T")
BUSY_TIMEOUT_S = 60.0


class SqliteStore(ThreadConnections, SqlRuns, SqlRegistries, TrackingStore):
    """A tracking store in one SQLite file.

    Args:
        path: the database file; its directory must exist and be writable.
        busy_timeout: seconds a writer waits for another writer before giving up.
    """

    _dialect = SQLITE

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = BUSY_TIMEOUT_S):
        self.path = Path(path)
        self.location = str(self.path)
        self.uri = f"sqlite://{self.path.resolve()}"
        self._busy_timeout = busy_timeout
        self._init_connections()
        self._check_location()
        self._conn()  # opens, validates and migrates now, so errors surface at open time

    # ------------------------------------------------------------------ connections --
    def _check_location(self) -> None:
        directory = self.path.parent
        if not directory.is_dir():
            raise StoreError(f"The workspace directory {directory} does not exist.")
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"The tracking store path {self.path} exists but is not a file.")
        if not os.access(directory, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK)
        ):
            raise StoreReadOnlyError(
                f"The workspace at {directory} is read-only: run_widgets needs to write "
                f"{self.path.name} and its journal files there. Choose a writable workspace "
                "(Workspace(path=...) or the RUN_WIDGETS_WORKSPACE variable)."
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        if self._closed:
            self.release_thread_resources()  # a thread closes only its own connection
            raise StoreError(f"The tracking store {self.location} has been closed.")
        conn = self._open_connection()
        self._keep_connection(conn)
        return conn

    def _open_connection(self) -> sqlite3.Connection:
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        try:
            if existed:
                self._validate_existing(conn)
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            if read_version(conn) < SCHEMA_VERSION:
                migrate(conn)
            elif read_application_id(conn) == 0:  # ours (validated), from before the stamp
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, self.path) from exc
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL, waiting out other processes that open it at the same time.

        Changing the journal mode needs an exclusive lock, and SQLite reports a competing
        opener as "database is locked" at once instead of calling the busy handler, so
        several processes opening a new workspace together must retry here.
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if ("locked" not in message and "busy" not in message) or (
                    time.monotonic() > deadline
                ):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _validate_existing(self, conn: sqlite3.Connection) -> None:
        """Refuse, without writing, a store this code must not touch."""
        version = read_version(conn)  # raises "file is not a database" on garbage
        application_id = read_application_id(conn)
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        # Ours: stamped with our application id, or (stores written before the stamp)
        # unstamped with our core tables. Empty and unversioned: a new store.
        ours = application_id == APPLICATION_ID or (
            application_id == 0 and names >= CORE_TABLES and version > 0
        )
        if not ours and (names or version != 0 or application_id != 0):
            raise StoreCorruptError(
                f"{self.path} is a SQLite database but not a run_widgets tracking store "
                f"(application id {application_id:#x}, schema version {version}, tables "
                f"{sorted(names)[:5]}). It was left untouched; point the workspace elsewhere."
            )
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"The tracking store {self.path} has schema version {version}, written by a "
                f"newer run_widgets; this version understands up to {SCHEMA_VERSION}. "
                "Upgrade run_widgets to open it. The file was left untouched."
            )
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        wal = Path(f"{self.path}-wal")
        wal_empty = not wal.exists() or wal.stat().st_size == 0
        if wal_empty and self.path.stat().st_size < page_size * page_count:
            raise StoreCorruptError(
                f"The tracking store {self.path} is truncated ({self.path.stat().st_size} "
                f"bytes, its header says {page_size * page_count}). It was left untouched; "
                "restore it from a backup or move it aside to start a new store."
            )
        if version > 0:
            problem = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise StoreCorruptError(
                    f"The tracking store {self.path} is damaged ({problem}). It was left "
                    "untouched; restore it from a backup or move it aside."
                )

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc

    @contextlib.contextmanager
    def _snapshot_read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs see one consistent state."""
        with self._reading() as conn:
            self._end_stale_transaction(conn)
            conn.execute("BEGIN")
            try:
                self._local.in_transaction = True
                yield conn
            finally:
                self._local.in_transaction = False
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        self._end_stale_transaction(conn)
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                # The busy handler already waited; retry only a spurious early BUSY.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise _translate(exc, self.path) from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"The tracking store {self.path} stayed locked by another writer "
                        f"for {self._busy_timeout:.0f} s."
                    ) from exc
                time.sleep(0.05)
        try:
            self._local.in_transaction = True
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, self.path) from exc
            raise
        finally:
            self._local.in_transaction = False

    def _end_stale_transaction(self, conn: sqlite3.Connection) -> None:
        """Roll back a transaction left open by an interrupted call (e.g. by a signal handler).

        Every transaction of this class ends in the call that began it, so one still open
        when a new one starts, outside any of our calls, was abandoned between ``BEGIN``
        and its ``try`` block; keeping it would hold the lock forever and make every later
        write of this thread fail. Inside one of our transactions nothing is rolled back
        (a nested ``BEGIN`` then fails loudly, as it should).
        """
        if conn.in_transaction and not getattr(self._local, "in_transaction", False):
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    # ------------------------------------------------------------------------ writes --
    def write(self, ops: Sequence[WriteOp]) -> int:
        """Apply ``ops`` atomically and return the change sequence number they got."""
        with self._writing() as conn:
            ops = appends_to_apply(SQLITE, conn, ops)
            seq = int(
                conn.execute(
                    "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
                ).fetchone()[0]
            )
            touched: set[str] = set()
            statuses: dict[str, str] = {}
            for op in ops:
                if isinstance(op, CreateRun):
                    if self._create_run(conn, op, seq):
                        statuses[op.run_id] = op.status
                    else:
                        statuses[op.run_id] = self._status_of(conn, op.run_id)
                    continue
                status = statuses.get(op.run_id)
                if status is None:
                    status = self._status_of(conn, op.run_id)
                    statuses[op.run_id] = status
                if isinstance(op, AppendPoints):
                    self._append_points(conn, op)
                elif isinstance(op, UpdateRun):
                    new_status = self._update_run(conn, op, status)
                    if new_status is not None:
                        statuses[op.run_id] = new_status
                elif isinstance(op, SetTags):
                    conn.executemany(
                        "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                        [(op.run_id, k, v) for k, v in op.tags.items()],
                    )
                elif isinstance(op, RemoveTags):
                    conn.executemany(
                        "DELETE FROM tags WHERE run_id = ? AND key = ?",
                        [(op.run_id, k) for k in op.keys],
                    )
                elif isinstance(op, AddProperties):
                    self._add_properties(conn, op)
                touched.add(op.run_id)
            if touched:
                conn.executemany(
                    "UPDATE runs SET change_seq = ? WHERE id = ?",
                    [(seq, run_id) for run_id in touched],
                )
            return seq

    def _status_of(self, conn: sqlite3.Connection, run_id: str) -> str:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.location}.")
        return str(row[0])

    def _experiment_id(self, conn: sqlite3.Connection, name: str) -> int:
        conn.execute(
            "INSERT INTO experiments (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, time.time()),
        )
        return int(conn.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()[0])

    def _create_run(self, conn: sqlite3.Connection, op: CreateRun, seq: int) -> bool:
        """Insert the run; False if this creation was stored already (a resend)."""
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (op.run_id,)).fetchone():
            if resent_creation(SQLITE, conn, op):
                return False
            raise UserErrorException(f"A run with id {op.run_id!r} already exists.")
        if op.parent_id is not None:
            self._status_of(conn, op.parent_id)
        experiment_id = self._experiment_id(conn, op.experiment_name)
        number = rules.next_run_number(
            conn.execute(
                "SELECT MAX(number) FROM runs WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()[0]
        )
        now = op.created_at if op.created_at is not None else time.time()
        started = rules.start_time_for(op.status, now)
        conn.execute(
            "INSERT INTO runs (id, experiment_id, parent_id, number, display_name, description,"
            " run_type, status, created_at, start_time, owner_id, definition, change_seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                op.run_id,
                experiment_id,
                op.parent_id,
                number,
                op.display_name,
                op.description,
                op.run_type,
                op.status,
                now,
                started,
                op.owner_id,
                codec.dumps_json(dict(op.definition)),
                seq,
            ),
        )
        if op.tags:
            conn.executemany(
                "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                [(op.run_id, k, v) for k, v in op.tags.items()],
            )
        if op.properties:
            conn.executemany(
                "INSERT INTO properties (run_id, key, value) VALUES (?, ?, ?)",
                [(op.run_id, k, v) for k, v in op.properties.items()],
            )
        return True

    def _update_run(self, conn: sqlite3.Connection, op: UpdateRun, status: str) -> str | None:
        if not rules.status_allows(op, status):
            return None
        if op.only_if_owner is not None:
            owner = conn.execute("SELECT owner_id FROM runs WHERE id = ?", (op.run_id,)).fetchone()
            if owner is None or owner[0] != op.only_if_owner:
                return None
        fields = rules.run_update_fields(op, status)
        if not fields:
            return None
        sets = {
            column: codec.dumps_json(value) if column in ("error", "definition") else value
            for column, value in fields.items()
        }
        assignments = ", ".join(f"{column} = ?" for column in sets)
        conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*sets.values(), op.run_id))
        return str(fields.get("status", status))

    def _add_properties(self, conn: sqlite3.Connection, op: AddProperties) -> None:
        existing = dict(
            conn.execute(
                "SELECT key, value FROM properties WHERE run_id = ?", (op.run_id,)
            ).fetchall()
        )
        added = rules.new_properties(op.run_id, existing, op.properties)
        conn.executemany(
            "INSERT INTO properties (run_id, key, value) VALUES (?, ?, ?)",
            [(op.run_id, k, v) for k, v in added.items()],
        )

    def _append_points(self, conn: sqlite3.Connection, op: AppendPoints) -> None:
        row = conn.execute(
            "SELECT id, kind, n_points, last_step, first_value, last_value, min_value,"
            " max_value, columns, description FROM metrics WHERE run_id = ? AND name = ?",
            (op.run_id, op.name),
        ).fetchone()
        previous = None
        if row is not None:
            previous = metric_summary(row)
        appended = rules.summarize_append(previous, op)
        if appended is None:
            return
        summary, steps = appended
        if row is None:
            metric_id = int(
                conn.execute(
                    "INSERT INTO metrics (run_id, name, kind, description) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (op.run_id, op.name, op.kind, op.description),
                ).fetchone()[0]
            )
            first_index = 0
        else:
            metric_id, first_index = row[0], row[2]
        dtype, blob = codec.encode_values(op.values, table=op.kind in TABLE_KINDS)
        conn.execute(
            "INSERT INTO chunks (run_id, metric_id, first_index, n, steps, times, dtype, vals)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                op.run_id,
                metric_id,
                first_index,
                summary.n_points - first_index,
                codec.encode_steps(steps),
                codec.encode_times(op.times),
                dtype,
                blob,
            ),
        )
        conn.execute(
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
                summary.description,
                metric_id,
            ),
        )

    # ------------------------------------------------------------------------- reads --
    def current_seq(self) -> int:
        """The change sequence number of the last committed write."""
        with self._reading() as conn:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])

    def ensure_experiment(self, name: str) -> ExperimentRecord:
        """Return the experiment ``name``, creating it in a short write if it is new."""
        found = self.get_experiment(name)
        if found is not None:
            return found
        with self._writing() as conn:
            self._experiment_id(conn, name)
        found = self.get_experiment(name)
        assert found is not None
        return found

    def get_experiment(self, name: str) -> ExperimentRecord | None:
        """The experiment called ``name``, or ``None``."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT id, name, created_at FROM experiments WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else ExperimentRecord(*row)

    def list_experiments(self) -> list[ExperimentRecord]:
        """All experiments, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, name, created_at FROM experiments ORDER BY id"
            ).fetchall()
        return [ExperimentRecord(*row) for row in rows]

    def _select_runs(
        self, where: str, params: Sequence[Any], order: str, limit: int | None
    ) -> list[RunRecord]:
        limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""
        with self._snapshot_read() as conn:
            rows = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id"
                f" WHERE {where} {order}{limit_sql}",
                params,
            ).fetchall()
            if not rows:
                return []
            ids = [row[0] for row in rows]
            tags = self._key_values(conn, "tags", ids)
            props = self._key_values(conn, "properties", ids)
        return [run_record(row, tags.get(row[0]), props.get(row[0])) for row in rows]

    @staticmethod
    def _key_values(
        conn: sqlite3.Connection, table: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for start in range(0, len(run_ids), 500):
            batch = run_ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            for run_id, key, value in conn.execute(
                f"SELECT run_id, key, value FROM {table} WHERE run_id IN ({marks})", batch
            ):
                result.setdefault(run_id, {})[key] = value
        return result

    def query_runs(self, query: RunQuery) -> RunPage:
        """One page of runs, filtered and sorted in SQL (see ``store.sql_run_query``)."""
        with self._snapshot_read() as conn:
            ids, total = sql_run_query.page_ids(conn, SQLITE, query)
        if not ids:
            return RunPage(records=(), total=total, metrics={})
        found = {
            r.id: r
            for r in self._select_runs(
                "r.id IN (SELECT value FROM json_each(?))", [ids_json(ids)], order="", limit=None
            )
        }
        records = tuple(found[run_id] for run_id in ids if run_id in found)
        return RunPage(records=records, total=total, metrics=last_scalars(self, ids))

    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names of the query's scope, counted in SQL."""
        with self._snapshot_read() as conn:
            return sql_run_query.run_columns(conn, SQLITE, query)

    def descendant_ids(self, run_id: str) -> list[str]:
        """Ids of every run below ``run_id``, breadth first."""
        with self._reading() as conn:
            rows = conn.execute(
                "WITH RECURSIVE tree(id) AS ("
                " SELECT id FROM runs WHERE parent_id = ?"
                " UNION ALL SELECT r.id FROM runs r JOIN tree t ON r.parent_id = t.id)"
                " SELECT id FROM tree",
                (run_id,),
            ).fetchall()
        return [row[0] for row in rows]

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs, ordered by run then metric creation."""
        ids = list(run_ids)
        infos: list[MetricInfo] = []
        with self._reading() as conn:
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = conn.execute(
                    f"SELECT {METRIC_COLUMNS} FROM metrics WHERE run_id IN ({marks}) ORDER BY id",
                    batch,
                ).fetchall()
                infos.extend(metric_info(row) for row in rows)
        return infos

    def read_chunks(
        self,
        run_id: str,
        *,
        after_chunk_id: int = 0,
        names: Iterable[str] | None = None,
    ) -> list[PointChunk]:
        """Chunks of one run newer than ``after_chunk_id``, optionally for some metrics."""
        sql = (
            f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN metrics m ON m.id = c.metric_id"
            " WHERE c.run_id = ? AND c.id > ?"
        )
        params: list[Any] = [run_id, after_chunk_id]
        if names is not None:
            wanted = list(names)
            if not wanted:
                return []
            sql += f" AND m.name IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        sql += " ORDER BY c.id"
        with self._reading() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [point_chunk(row, run_id) for row in rows]

    def compact_run(self, run_id: str) -> int:
        """Merge runs of small consecutive chunks of each metric into big ones.

        A training loop flushing every half second writes many small chunks; each costs a
        row to fetch and arrays to decode on every full read. Consecutive chunks smaller
        than ``SMALL_CHUNK`` points (with the same value encoding) are merged, in one
        transaction, into chunks of up to ``MERGED_CHUNK`` points. A merged chunk keeps
        the largest id of the chunks it replaces, so chunk order is unchanged and a reader
        whose cursor is past them never reads them again. Returns the chunks removed.
        """
        removed = 0
        with self._writing() as conn:
            metric_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT metric_id FROM chunks WHERE run_id = ? AND n < ?"
                    " GROUP BY metric_id HAVING COUNT(*) >= ?",
                    (run_id, SMALL_CHUNK, MIN_CHUNKS_TO_COMPACT),
                )
            ]
            for metric_id in metric_ids:
                rows = conn.execute(
                    "SELECT id, n, dtype FROM chunks WHERE metric_id = ? ORDER BY first_index",
                    (metric_id,),
                ).fetchall()
                for group in rules.mergeable_groups(rows):
                    self._merge_chunks(conn, group)
                    removed += len(group) - 1
        return removed

    @staticmethod
    def _merge_chunks(conn: sqlite3.Connection, ids: list[int]) -> None:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            "SELECT run_id, metric_id, first_index, n, steps, times, dtype, vals FROM chunks"
            f" WHERE id IN ({marks}) ORDER BY first_index",
            ids,
        ).fetchall()
        n, steps, times, merged_dtype, blob = merged_chunk(rows)
        conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", ids)
        conn.execute(
            "INSERT INTO chunks (id, run_id, metric_id, first_index, n, steps, times, dtype, vals)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                max(ids),
                rows[0][0],
                rows[0][1],
                rows[0][2],
                n,
                steps,
                times,
                merged_dtype,
                blob,
            ),
        )

    def last_chunk_id(self, run_id: str) -> int:
        """Id of the newest chunk of a run (0 if it has none)."""
        with self._reading() as conn:
            row = conn.execute("SELECT MAX(id) FROM chunks WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0] or 0)

    # ---------------------------------------------------------------------- owners --
    # -------------------------------------------------------------- registries --
    def _in_read(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(conn, SQLITE, *args)`` in a read transaction (see ``SqlRegistries``)."""
        with self._reading() as conn:
            return function(conn, SQLITE, *args)

    def _in_write(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(conn, SQLITE, *args)`` in a write transaction (see ``SqlRegistries``)."""
        with self._writing() as conn:
            return function(conn, SQLITE, *args)

    def register_owner(self, host: str, pid: int, pid_started_at: float) -> int:
        """Record a process that owns runs and return its id."""
        now = time.time()
        with self._writing() as conn:
            return int(
                conn.execute(
                    "INSERT INTO owners (host, pid, pid_started_at, heartbeat_at)"
                    " VALUES (?, ?, ?, ?) RETURNING id",
                    (host, pid, pid_started_at, now),
                ).fetchone()[0]
            )

    def heartbeat(self, owner_id: int) -> None:
        """Record that the owner process is alive now."""
        with self._writing() as conn:
            conn.execute("UPDATE owners SET heartbeat_at = ? WHERE id = ?", (time.time(), owner_id))

    def get_owners(self, owner_ids: Iterable[int]) -> dict[int, OwnerRecord]:
        """Owner records by id."""
        ids = sorted(set(owner_ids))
        if not ids:
            return {}
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, host, pid, pid_started_at, heartbeat_at FROM owners"
                f" WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        return {int(row[0]): owner_record(row) for row in rows}


def _translate(exc: sqlite3.Error, path: Path) -> StoreError:
    message = str(exc)
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return StoreReadOnlyError(
            f"The tracking store {path} cannot be written ({message}). Check the permissions "
            "of the workspace directory and of the file."
        )
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return StoreCorruptError(
            f"The tracking store {path} is damaged or is not a run_widgets store ({message})."
            " It was left untouched; restore it from a backup or move it aside."
        )
    if "disk is full" in lowered or "disk i/o" in lowered:
        return StoreError(f"Writing the tracking store {path} failed: {message}.")
    if "unable to open" in lowered:
        return StoreError(f"The tracking store {path} cannot be opened ({message}).")
    return StoreError(f"Tracking store {path}: {message}")
