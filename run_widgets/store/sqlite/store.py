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
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...exceptions import (
    RunNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreReadOnlyError,
    StoreVersionError,
    UserErrorException,
)
from .. import codec, rules, sql_assets, sql_run_query
from .._sql import SQLITE
from ..assets import EnvironmentRecord, ModelRecord, NewModel
from ..base import TagFilter, TrackingStore
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
from .schema import (
    APPLICATION_ID,
    CORE_TABLES,
    SCHEMA_VERSION,
    migrate,
    read_application_id,
    read_version,
)

BUSY_TIMEOUT_S = 60.0
_RUN_COLUMNS = (
    "r.id, r.experiment_id, e.name, r.parent_id, r.number, r.display_name, r.description, "
    "r.run_type, r.status, r.created_at, r.start_time, r.end_time, r.error, r.definition, "
    "r.owner_id, r.change_seq"
)


class SqliteStore(TrackingStore):
    """A tracking store in one SQLite file.

    Args:
        path: the database file; its directory must exist and be writable.
        busy_timeout: seconds a writer waits for another writer before giving up.
    """

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = BUSY_TIMEOUT_S):
        self.path = Path(path)
        self.location = str(self.path)
        self.uri = f"sqlite://{self.path.resolve()}"
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._connections: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._closed = False
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
        self._local.conn = conn
        with self._registry_lock:
            self._prune_dead_threads()
            self._connections.append((weakref.ref(threading.current_thread()), conn))
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

    def _prune_dead_threads(self) -> None:
        # The main thread counts as alive: during interpreter shutdown (atexit hooks, which
        # still write) ``is_alive()`` is already False for it.
        keep = (threading.main_thread(), threading.current_thread())
        alive = []
        for ref, conn in self._connections:
            thread = ref()
            if thread is None or (thread not in keep and not thread.is_alive()):
                conn.close()
            else:
                alive.append((ref, conn))
        self._connections = alive

    def release_thread_resources(self) -> None:
        """Close the calling thread's connection, if it has one."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        del self._local.conn
        with self._registry_lock:
            self._connections = [(r, c) for r, c in self._connections if c is not conn]
        conn.close()

    def open_connection_count(self) -> int:
        """Number of open connections of this store in this process."""
        with self._registry_lock:
            self._prune_dead_threads()
            return len(self._connections)

    def close(self) -> None:
        """Close the store: the calling thread's connection (and dead threads') now.

        A connection of another live thread may be in use right now, and closing it under
        that thread would crash SQLite; it is closed by its own thread on its next use
        (which then raises ``StoreError``), or when the thread ends.
        """
        me = threading.current_thread()
        with self._registry_lock:
            self._closed = True
            others = []
            for ref, conn in self._connections:
                thread = ref()
                if thread is None or thread is me or not thread.is_alive():
                    conn.close()
                else:
                    others.append((ref, conn))
            self._connections = others
        if getattr(self._local, "conn", None) is not None:
            del self._local.conn

    def reset_after_fork(self) -> None:
        """Forget connections inherited from the parent process (never use them)."""
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._connections = []

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
            seq = int(
                conn.execute(
                    "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
                ).fetchone()[0]
            )
            touched: set[str] = set()
            statuses: dict[str, str] = {}
            for op in ops:
                if isinstance(op, CreateRun):
                    self._create_run(conn, op, seq)
                    statuses[op.run_id] = op.status
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

    def _create_run(self, conn: sqlite3.Connection, op: CreateRun, seq: int) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (op.run_id,)).fetchone():
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
            previous = rules.MetricSummary(
                kind=row[1],
                n_points=row[2],
                last_step=row[3],
                first_value=codec.loads_json(row[4]),
                last_value=codec.loads_json(row[5]),
                min_value=row[6],
                max_value=row[7],
                columns=tuple(codec.loads_json(row[8])),
                description=row[9],
            )
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

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run with its tags and properties, or ``None``."""
        runs = self._select_runs("r.id = ?", [run_id], order="", limit=None)
        return runs[0] if runs else None

    def find_runs(
        self,
        *,
        experiment_id: int | None = None,
        parent_id: str | None = None,
        top_level_only: bool = False,
        run_type: str | None = None,
        status: str | None = None,
        tags: TagFilter = None,
        properties: TagFilter = None,
        changed_after: int | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first."""
        clauses: list[str] = []
        params: list[Any] = []
        if experiment_id is not None:
            clauses.append("r.experiment_id = ?")
            params.append(experiment_id)
        if parent_id is not None:
            clauses.append("r.parent_id = ?")
            params.append(parent_id)
        if top_level_only:
            clauses.append("r.parent_id IS NULL")
        if run_type is not None:
            clauses.append("r.run_type = ?")
            params.append(run_type)
        if status is not None:
            clauses.append("r.status = ?")
            params.append(status)
        if changed_after is not None:
            clauses.append("r.change_seq > ?")
            params.append(changed_after)
        for table, wanted in (("tags", tags), ("properties", properties)):
            if wanted is None:
                continue
            items: Iterable[tuple[str, str | None]]
            if isinstance(wanted, str):
                clauses.append(
                    f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = ?)"
                )
                params.append(wanted)
                continue
            items = wanted.items()
            for key, value in items:
                clauses.append(
                    f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = ?"
                    " AND x.value IS ?)"
                )
                params.extend([key, value])
        where = " AND ".join(clauses) or "1"
        return self._select_runs(
            where, params, order="ORDER BY r.created_at DESC, r.number DESC", limit=limit
        )

    def _select_runs(
        self, where: str, params: Sequence[Any], order: str, limit: int | None
    ) -> list[RunRecord]:
        limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""
        with self._snapshot_read() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id"
                f" WHERE {where} {order}{limit_sql}",
                params,
            ).fetchall()
            if not rows:
                return []
            ids = [row[0] for row in rows]
            tags = self._key_values(conn, "tags", ids)
            props = self._key_values(conn, "properties", ids)
        return [
            RunRecord(
                id=row[0],
                experiment_id=row[1],
                experiment_name=row[2],
                parent_id=row[3],
                number=row[4],
                display_name=row[5],
                description=row[6],
                run_type=row[7],
                status=row[8],
                created_at=row[9],
                start_time=row[10],
                end_time=row[11],
                error=codec.loads_json(row[12]),
                definition=codec.loads_json(row[13]) or {},
                owner_id=row[14],
                change_seq=row[15],
                tags=tags.get(row[0], {}),
                properties=props.get(row[0], {}),
            )
            for row in rows
        ]

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
                for row in conn.execute(
                    "SELECT id, run_id, name, kind, description, n_points, last_step,"
                    " last_value, first_value, min_value, max_value, columns FROM metrics"
                    f" WHERE run_id IN ({marks}) ORDER BY id",
                    batch,
                ):
                    infos.append(
                        MetricInfo(
                            id=row[0],
                            run_id=row[1],
                            name=row[2],
                            kind=row[3],
                            description=row[4],
                            n_points=row[5],
                            last_step=row[6],
                            last_value=codec.loads_json(row[7]),
                            first_value=codec.loads_json(row[8]),
                            min_value=row[9],
                            max_value=row[10],
                            columns=tuple(codec.loads_json(row[11])),
                        )
                    )
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
            "SELECT c.id, c.metric_id, m.name, m.kind, c.first_index, c.steps, c.times,"
            " c.dtype, c.vals FROM chunks c JOIN metrics m ON m.id = c.metric_id"
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
        return [
            PointChunk(
                id=row[0],
                run_id=run_id,
                metric_id=row[1],
                metric_name=row[2],
                kind=row[3],
                first_index=row[4],
                steps=codec.decode_steps(row[5]),
                times=codec.decode_times(row[6]),
                values=codec.decode_values(row[7], row[8]),
            )
            for row in rows
        ]

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
        dtype = rows[0][6]
        blocks = [codec.decode_values(row[6], row[7]) for row in rows]
        steps = np.concatenate([codec.decode_steps(row[4]) for row in rows])
        times = np.concatenate([codec.decode_times(row[5]) for row in rows])
        if dtype in codec.NUMERIC_DTYPES:
            merged_dtype, blob = dtype, np.concatenate(blocks).tobytes()
        elif isinstance(blocks[0], dict):
            merged = rules.merge_columns(blocks, [row[3] for row in rows])
            merged_dtype, blob = codec.encode_values(merged, table=True)
        else:
            merged_dtype, blob = codec.encode_values([v for block in blocks for v in block])
        conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", ids)
        conn.execute(
            "INSERT INTO chunks (id, run_id, metric_id, first_index, n, steps, times, dtype, vals)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                max(ids),
                rows[0][0],
                rows[0][1],
                rows[0][2],
                sum(row[3] for row in rows),
                codec.encode_steps(steps),
                codec.encode_times(times),
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
    def add_model(self, model: NewModel) -> ModelRecord:
        """Insert ``model`` as the next version of its name (see ``store.sql_assets``)."""
        with self._writing() as conn:
            return sql_assets.add_model(conn, SQLITE, model)

    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None:
        """One version of a model (the latest when ``version`` is None), or None."""
        with self._reading() as conn:
            return sql_assets.get_model(conn, SQLITE, name, version)

    def list_models(self, name: str | None = None, run_id: str | None = None) -> list[ModelRecord]:
        """Every version of every model (of one ``name`` / registered from one run)."""
        with self._reading() as conn:
            return sql_assets.list_models(conn, SQLITE, name, run_id)

    def update_model(
        self,
        name: str,
        version: int,
        set_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelRecord:
        """Change a model version's tags and add properties, in one transaction."""
        with self._writing() as conn:
            return sql_assets.update_model(
                conn, SQLITE, name, version, set_tags, remove_tags, add_properties
            )

    def add_environment(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> EnvironmentRecord:
        """Insert a new version of environment ``name``."""
        with self._writing() as conn:
            return sql_assets.add_environment(conn, SQLITE, name, definition, created_at)

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord | None:
        """One version of an environment (the latest when ``version`` is None), or None."""
        with self._reading() as conn:
            return sql_assets.get_environment(conn, SQLITE, name, version)

    def list_environments(self) -> list[EnvironmentRecord]:
        """Every version of every registered environment."""
        with self._reading() as conn:
            return sql_assets.list_environments(conn, SQLITE)

    def add_compute_target(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> dict[str, Any]:
        """Save target ``name`` unless it exists; return what is stored under the name."""
        with self._writing() as conn:
            return sql_assets.add_compute_target(conn, SQLITE, name, definition, created_at)

    def get_compute_target(self, name: str) -> dict[str, Any] | None:
        """The definition of compute target ``name``, or None."""
        with self._reading() as conn:
            return sql_assets.get_compute_target(conn, SQLITE, name)

    def list_compute_targets(self) -> list[str]:
        """Names of the saved compute targets, sorted."""
        with self._reading() as conn:
            return sql_assets.list_compute_targets(conn, SQLITE)

    def delete_compute_target(self, name: str) -> bool:
        """Remove compute target ``name``; False if there was none."""
        with self._writing() as conn:
            return sql_assets.delete_compute_target(conn, SQLITE, name)

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
        return {row[0]: OwnerRecord(*row) for row in rows}


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
