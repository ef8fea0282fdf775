"""PostgreSQL backend of the tracking store (the team store), on psycopg 3.

Design notes:

* **Commit-ordered cursors.** Incremental readers ask for "runs changed after seq S" and
  "chunks with id > C". With many writers, ids drawn from a sequence during a transaction
  are *not* in commit order: a transaction that drew a lower id can commit after one that
  drew a higher id, and a reader that already moved its cursor past the higher id would
  skip the late one for good. So a write does its row work first and draws its change
  seq and its chunk ids only at the very end, after taking the row lock of ``meta.seq``,
  which it holds until COMMIT. The next writer gets that lock (and so its numbers) only
  after this one's commit is visible: numbers are handed out in commit order, and a
  reader never sees a higher number before every lower one is visible.
* **No deadlocks around that lock.** Before anything else a write locks the rows of
  every existing run it touches, in id order. The short section under the ``meta`` lock
  only inserts new chunk rows and stamps rows it already holds, so it never waits for
  another transaction; deadlocks between two writes of the same runs are detected by
  PostgreSQL and the write is retried.
* One connection per thread (autocommit, explicit transactions). A connection broken by
  a server restart is dropped and the call raises :class:`StoreUnavailableError` (a
  ``StoreError``, so the flusher keeps the points and retries); the next call reconnects.
* Metric points are the same packed chunks as in SQLite (``bytea`` columns, stored
  uncompressed) and are read with binary transfer, so a history read is a memcpy.
* Messages and ``repr`` show the store as ``postgresql://user@host:port/db``: never the
  password.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg import errors as pg_errors

from ...exceptions import (
    RunNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
    UserErrorException,
)
from .. import codec, rules, sql_run_query
from .._sql import (
    CHUNK_COLUMNS,
    METRIC_COLUMNS,
    POSTGRESQL,
    RUN_COLUMNS,
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
from ..run_query import RunColumns, RunPage, RunQuery, last_scalars
from ..sql_assets import SqlRegistries
from .schema import SCHEMA_VERSION, ForeignTablesError, migrate, read_version
from .uri import PostgresTarget, parse

CONNECT_TIMEOUT_S = 10
DEADLOCK_RETRIES = 5


class StoreUnavailableError(StoreError):
    """The PostgreSQL server cannot be reached right now (down, restarting, network)."""


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _reconnecting(
    method: Callable[Concatenate[PostgresStore, _P], _T],
) -> Callable[Concatenate[PostgresStore, _P], _T]:
    """Run ``method`` again on a new connection if the thread's old one turned out dead.

    A server restart kills every connection, and a client learns it only on next use: that
    first call is retried once on a fresh connection. (A call that fails on a fresh
    connection means the server is away: the error goes to the caller.)
    """

    @functools.wraps(method)
    def wrapper(store: PostgresStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        reused = getattr(store._local, "conn", None) is not None
        try:
            return method(store, *args, **kwargs)
        except StoreUnavailableError:
            if not reused:
                raise
            return method(store, *args, **kwargs)

    return wrapper


@dataclass
class _PendingChunk:
    run_id: str
    metric_id: int
    first_index: int
    n: int
    steps: bytes
    times: bytes
    dtype: str
    vals: bytes


class PostgresStore(ThreadConnections, SqlRuns, SqlRegistries, TrackingStore):
    """A tracking store in a PostgreSQL database, shared by every client that opens its URI.

    Args:
        uri: ``postgresql://user:password@host:port/database``; libpq's usual sources
            (``PGPASSWORD``, ``~/.pgpass``) supply a password the URI leaves out.

    Raises:
        StoreUnavailableError: the server cannot be reached or refused the login.
        StoreVersionError: the database was written by a newer run_widgets.
        StoreCorruptError: the database holds tables that are not a run_widgets store.
    """

    _dialect = POSTGRESQL

    def __init__(self, uri: str) -> None:
        self.target: PostgresTarget = parse(uri)
        self.location = self.target.safe
        self.uri = uri
        self._init_connections()
        self._conn()  # connect, validate and migrate now, so errors surface at open time

    def __repr__(self) -> str:
        return f"PostgresStore({self.location!r})"

    # ------------------------------------------------------------------ connections --
    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(
                self.target.conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="run_widgets",
            )
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> StoreUnavailableError:
        detail = self.target.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        return StoreUnavailableError(
            f"The PostgreSQL tracking store {self.location} (host {self.target.host}, port "
            f"{self.target.port}) cannot be reached: {detail or type(exc).__name__}"
        )

    def _open_connection(self) -> psycopg.Connection:
        conn = self._connect()
        try:
            self._check_and_migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_and_migrate(self, conn: psycopg.Connection) -> None:
        """Refuse a database this code must not touch; create or upgrade our schema."""
        version = read_version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"The tracking store {self.location} has schema version {version}, written by "
                f"a newer run_widgets; this version understands up to {SCHEMA_VERSION}. "
                "Upgrade run_widgets on this machine to use it. Nothing was written."
            )
        if version is None or version < SCHEMA_VERSION:
            try:
                migrate(conn)
            except ForeignTablesError as foreign:
                raise StoreCorruptError(
                    f"The database {self.location} has tables ({', '.join(foreign.tables[:5])})"
                    " but is not a run_widgets tracking store. It was left untouched; point the "
                    "workspace at an empty database."
                ) from None
            except psycopg.OperationalError as exc:
                raise self._unavailable(exc) from None
            except psycopg.Error as exc:
                raise StoreError(
                    f"Creating the schema of {self.location} failed: {self.target.scrub(str(exc))}"
                ) from None
            if (read_version(conn) or 0) > SCHEMA_VERSION:  # a newer client won the race
                raise StoreVersionError(
                    f"The tracking store {self.location} was just upgraded by a newer "
                    "run_widgets; upgrade this one too."
                )

    def _conn(self) -> psycopg.Connection:
        if self._closed:
            self.release_thread_resources()
            raise StoreError(f"The tracking store {self.location} has been closed.")
        conn: psycopg.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if conn is not None:
            self.release_thread_resources()
        conn = self._open_connection()
        self._keep_connection(conn)
        return conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[psycopg.Connection]:
        conn = self._conn()
        try:
            yield conn
        except psycopg.OperationalError as exc:
            self.release_thread_resources()
            raise self._unavailable(exc) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"Tracking store {self.location}: {self.target.scrub(str(exc))}"
            ) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[psycopg.Connection]:
        conn = self._conn()
        try:
            with conn.transaction():
                yield conn
        except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
            raise  # rolled back; ``write`` tries again (they are OperationalErrors too)
        except psycopg.OperationalError as exc:
            self.release_thread_resources()
            raise self._unavailable(exc) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"Tracking store {self.location}: {self.target.scrub(str(exc))}"
            ) from None

    # ------------------------------------------------------------------------ writes --
    @_reconnecting
    def write(self, ops: Sequence[WriteOp]) -> int:
        """Apply ``ops`` atomically and return the change sequence number they got."""
        for attempt in range(DEADLOCK_RETRIES):
            try:
                return self._write_once(ops)
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                if attempt == DEADLOCK_RETRIES - 1:
                    raise StoreError(
                        f"Tracking store {self.location}: a write kept deadlocking with "
                        "other writers; try again."
                    ) from None
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _write_once(self, ops: Sequence[WriteOp]) -> int:
        with self._writing() as conn:
            ops = appends_to_apply(POSTGRESQL, conn, ops)
            created = {op.run_id for op in ops if isinstance(op, CreateRun)}
            existing = sorted({op.run_id for op in ops} - created)
            statuses = self._lock_runs(conn, existing)
            chunks: list[_PendingChunk] = []
            for op in ops:
                if isinstance(op, CreateRun):
                    if self._create_run(conn, op):
                        statuses[op.run_id] = op.status
                    else:
                        statuses.update(self._lock_runs(conn, [op.run_id]))
                    continue
                status = statuses.get(op.run_id)
                if status is None:
                    raise RunNotFoundError(f"No run with id {op.run_id!r} in {self.location}.")
                if isinstance(op, AppendPoints):
                    chunk = self._append_points(conn, op)
                    if chunk is not None:
                        chunks.append(chunk)
                elif isinstance(op, UpdateRun):
                    new_status = self._update_run(conn, op, status)
                    if new_status is not None:
                        statuses[op.run_id] = new_status
                elif isinstance(op, SetTags):
                    self._executemany(
                        conn,
                        "INSERT INTO tags (run_id, key, value) VALUES (%s, %s, %s) "
                        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                        [(op.run_id, k, v) for k, v in op.tags.items()],
                    )
                elif isinstance(op, RemoveTags):
                    conn.execute(
                        "DELETE FROM tags WHERE run_id = %s AND key = ANY(%s)",
                        (op.run_id, list(op.keys)),
                    )
                elif isinstance(op, AddProperties):
                    self._add_properties(conn, op)
            # Everything below runs under the meta row lock, held until COMMIT: numbers
            # drawn here are in commit order (see the module docstring).
            row = conn.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
            ).fetchone()
            assert row is not None
            seq = int(row[0])
            if chunks:
                self._insert_chunks(conn, chunks)
            touched = sorted({op.run_id for op in ops})
            if touched:
                conn.execute("UPDATE runs SET change_seq = %s WHERE id = ANY(%s)", (seq, touched))
            return seq

    @staticmethod
    def _executemany(conn: psycopg.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            with conn.cursor() as cur:
                cur.executemany(sql, rows)

    def _lock_runs(self, conn: psycopg.Connection, run_ids: list[str]) -> dict[str, str]:
        """Lock the rows of ``run_ids`` (in id order) and return their statuses."""
        if not run_ids:
            return {}
        rows = conn.execute(
            "SELECT id, status FROM runs WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            (run_ids,),
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def _insert_chunks(self, conn: psycopg.Connection, chunks: list[_PendingChunk]) -> None:
        row = conn.execute(
            "SELECT array_agg(nextval('chunk_ids')) FROM generate_series(1, %s)", (len(chunks),)
        ).fetchone()
        assert row is not None
        ids = sorted(int(i) for i in row[0])
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO chunks (id, run_id, metric_id, first_index, n, steps, times, dtype,"
                " vals) VALUES (%s, %s, %s, %s, %s, %b, %b, %s, %b)",
                [
                    (
                        chunk_id,
                        c.run_id,
                        c.metric_id,
                        c.first_index,
                        c.n,
                        c.steps,
                        c.times,
                        c.dtype,
                        c.vals,
                    )
                    for chunk_id, c in zip(ids, chunks, strict=True)
                ],
            )

    def _experiment_id(self, conn: psycopg.Connection, name: str) -> int:
        conn.execute(
            "INSERT INTO experiments (name, created_at) VALUES (%s, %s)"
            " ON CONFLICT (name) DO NOTHING",
            (name, time.time()),
        )
        row = conn.execute("SELECT id FROM experiments WHERE name = %s", (name,)).fetchone()
        assert row is not None
        return int(row[0])

    def _create_run(self, conn: psycopg.Connection, op: CreateRun) -> bool:
        """Insert the run; False if this creation was stored already (a resend)."""
        if conn.execute("SELECT 1 FROM runs WHERE id = %s", (op.run_id,)).fetchone():
            if resent_creation(POSTGRESQL, conn, op):
                return False
            raise UserErrorException(f"A run with id {op.run_id!r} already exists.")
        if (
            op.parent_id is not None
            and not conn.execute("SELECT 1 FROM runs WHERE id = %s", (op.parent_id,)).fetchone()
        ):
            raise RunNotFoundError(f"No run with id {op.parent_id!r} in {self.location}.")
        experiment_id = self._experiment_id(conn, op.experiment_name)
        # The experiment row's lock serialises numbering of concurrent creations. NO KEY
        # UPDATE, not UPDATE: it must not block the foreign-key checks (KEY SHARE) that other
        # writers' run updates make while they hold the seq row, or the two deadlock.
        conn.execute("SELECT 1 FROM experiments WHERE id = %s FOR NO KEY UPDATE", (experiment_id,))
        largest = conn.execute(
            "SELECT MAX(number) FROM runs WHERE experiment_id = %s", (experiment_id,)
        ).fetchone()
        number = rules.next_run_number(None if largest is None else largest[0])
        now = op.created_at if op.created_at is not None else time.time()
        started = rules.start_time_for(op.status, now)
        try:
            conn.execute(
                "INSERT INTO runs (id, experiment_id, parent_id, number, display_name,"
                " description, run_type, status, created_at, start_time, owner_id, definition,"
                " change_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0)",
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
                ),
            )
        except pg_errors.UniqueViolation:
            raise UserErrorException(f"A run with id {op.run_id!r} already exists.") from None
        self._executemany(
            conn,
            "INSERT INTO tags (run_id, key, value) VALUES (%s, %s, %s)",
            [(op.run_id, k, v) for k, v in op.tags.items()],
        )
        self._executemany(
            conn,
            "INSERT INTO properties (run_id, key, value) VALUES (%s, %s, %s)",
            [(op.run_id, k, v) for k, v in op.properties.items()],
        )
        return True

    def _update_run(self, conn: psycopg.Connection, op: UpdateRun, status: str) -> str | None:
        if not rules.status_allows(op, status):
            return None
        if op.only_if_owner is not None:
            owner = conn.execute("SELECT owner_id FROM runs WHERE id = %s", (op.run_id,)).fetchone()
            if owner is None or owner[0] != op.only_if_owner:
                return None
        fields = rules.run_update_fields(op, status)
        if not fields:
            return None
        sets = {
            column: codec.dumps_json(value) if column in ("error", "definition") else value
            for column, value in fields.items()
        }
        assignments = ", ".join(f"{column} = %s" for column in sets)
        conn.execute(f"UPDATE runs SET {assignments} WHERE id = %s", (*sets.values(), op.run_id))
        return str(fields.get("status", status))

    def _add_properties(self, conn: psycopg.Connection, op: AddProperties) -> None:
        existing = {
            str(k): v
            for k, v in conn.execute(
                "SELECT key, value FROM properties WHERE run_id = %s", (op.run_id,)
            ).fetchall()
        }
        added = rules.new_properties(op.run_id, existing, op.properties)
        self._executemany(
            conn,
            "INSERT INTO properties (run_id, key, value) VALUES (%s, %s, %s)",
            [(op.run_id, k, v) for k, v in added.items()],
        )

    def _append_points(self, conn: psycopg.Connection, op: AppendPoints) -> _PendingChunk | None:
        row = conn.execute(
            "SELECT id, kind, n_points, last_step, first_value, last_value, min_value,"
            " max_value, columns, description FROM metrics WHERE run_id = %s AND name = %s",
            (op.run_id, op.name),
        ).fetchone()
        previous = None
        if row is not None:
            previous = metric_summary(row)
        appended = rules.summarize_append(previous, op)
        if appended is None:
            return None
        summary, steps = appended
        if row is None:
            created = conn.execute(
                "INSERT INTO metrics (run_id, name, kind, description) VALUES (%s, %s, %s, %s)"
                " RETURNING id",
                (op.run_id, op.name, op.kind, op.description),
            ).fetchone()
            assert created is not None
            metric_id, first_index = int(created[0]), 0
        else:
            metric_id, first_index = int(row[0]), int(row[2])
        dtype, blob = codec.encode_values(op.values, table=op.kind in TABLE_KINDS)
        conn.execute(
            "UPDATE metrics SET kind = %s, n_points = %s, last_step = %s, last_value = %s,"
            " first_value = %s, min_value = %s, max_value = %s, columns = %s, description = %s"
            " WHERE id = %s",
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
        return _PendingChunk(
            run_id=op.run_id,
            metric_id=metric_id,
            first_index=first_index,
            n=summary.n_points - first_index,
            steps=codec.encode_steps(steps),
            times=codec.encode_times(op.times),
            dtype=dtype,
            vals=blob,
        )

    # ------------------------------------------------------------------------- reads --
    @_reconnecting
    def current_seq(self) -> int:
        """The change sequence number of the last committed write."""
        with self._reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        assert row is not None
        return int(row[0])

    @_reconnecting
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

    @_reconnecting
    def get_experiment(self, name: str) -> ExperimentRecord | None:
        """The experiment called ``name``, or ``None``."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT id, name, created_at FROM experiments WHERE name = %s", (name,)
            ).fetchone()
        return None if row is None else ExperimentRecord(int(row[0]), str(row[1]), float(row[2]))

    @_reconnecting
    def list_experiments(self) -> list[ExperimentRecord]:
        """All experiments, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, name, created_at FROM experiments ORDER BY id"
            ).fetchall()
        return [ExperimentRecord(int(r[0]), str(r[1]), float(r[2])) for r in rows]

    @_reconnecting
    def _select_runs(
        self, where: str, params: Sequence[Any], order: str, limit: int | None
    ) -> list[RunRecord]:
        limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""
        # One statement (one snapshot, one round trip): tags and properties as JSON objects.
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {RUN_COLUMNS},"
                " (SELECT json_object_agg(t.key, t.value) FROM tags t WHERE t.run_id = r.id),"
                " (SELECT json_object_agg(p.key, p.value) FROM properties p"
                " WHERE p.run_id = r.id)"
                f" FROM runs r JOIN experiments e ON e.id = r.experiment_id"
                f" WHERE {where} {order}{limit_sql}",
                params,
            ).fetchall()
        return [run_record(row, row[16], row[17]) for row in rows]

    @contextlib.contextmanager
    def _snapshot_read(self) -> Iterator[psycopg.Connection]:
        """A read-only transaction: several SELECTs see one consistent state."""
        with self._reading() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    @_reconnecting
    def query_runs(self, query: RunQuery) -> RunPage:
        """One page of runs, filtered and sorted in SQL (see ``store.sql_run_query``)."""
        with self._snapshot_read() as conn:
            ids, total = sql_run_query.page_ids(conn, POSTGRESQL, query)
        if not ids:
            return RunPage(records=(), total=total, metrics={})
        found = {r.id: r for r in self._select_runs("r.id = ANY(%s)", [ids], order="", limit=None)}
        records = tuple(found[run_id] for run_id in ids if run_id in found)
        return RunPage(records=records, total=total, metrics=last_scalars(self, ids))

    @_reconnecting
    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names of the query's scope, counted in SQL."""
        with self._snapshot_read() as conn:
            return sql_run_query.run_columns(conn, POSTGRESQL, query)

    @_reconnecting
    def descendant_ids(self, run_id: str) -> list[str]:
        """Ids of every run below ``run_id``, breadth first."""
        with self._reading() as conn:
            rows = conn.execute(
                "WITH RECURSIVE tree(id) AS ("
                " SELECT id FROM runs WHERE parent_id = %s"
                " UNION ALL SELECT r.id FROM runs r JOIN tree t ON r.parent_id = t.id)"
                " SELECT id FROM tree",
                (run_id,),
            ).fetchall()
        return [str(row[0]) for row in rows]

    @_reconnecting
    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs, ordered by run then metric creation."""
        ids = list(run_ids)
        if not ids:
            return []
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {METRIC_COLUMNS} FROM metrics WHERE run_id = ANY(%s) ORDER BY id", (ids,)
            ).fetchall()
        return [metric_info(row) for row in rows]

    @_reconnecting
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
            " WHERE c.run_id = %s AND c.id > %s"
        )
        params: list[Any] = [run_id, after_chunk_id]
        if names is not None:
            wanted = list(names)
            if not wanted:
                return []
            sql += " AND m.name = ANY(%s)"
            params.append(wanted)
        sql += " ORDER BY c.id"
        with self._reading() as conn, conn.cursor(binary=True) as cur:
            rows = cur.execute(sql, params).fetchall()
        return [point_chunk(row, run_id) for row in rows]

    @_reconnecting
    def last_chunk_id(self, run_id: str) -> int:
        """Id of the newest chunk of a run (0 if it has none)."""
        with self._reading() as conn:
            row = conn.execute("SELECT MAX(id) FROM chunks WHERE run_id = %s", (run_id,)).fetchone()
        return int(row[0] or 0) if row else 0

    @_reconnecting
    def compact_run(self, run_id: str) -> int:
        """Merge runs of small consecutive chunks of each metric into big ones.

        Same rules as the SQLite store: a merged chunk keeps the largest id of the chunks
        it replaces, so chunk order is unchanged and readers past them never reread them.
        Runs under the run's row lock, so it never interleaves with a write of that run.
        """
        removed = 0
        with self._writing() as conn:
            self._lock_runs(conn, [run_id])
            metric_ids = [
                int(row[0])
                for row in conn.execute(
                    "SELECT metric_id FROM chunks WHERE run_id = %s AND n < %s"
                    " GROUP BY metric_id HAVING COUNT(*) >= %s",
                    (run_id, rules.SMALL_CHUNK, rules.MIN_CHUNKS_TO_COMPACT),
                ).fetchall()
            ]
            for metric_id in metric_ids:
                rows = conn.execute(
                    "SELECT id, n, dtype FROM chunks WHERE metric_id = %s ORDER BY first_index",
                    (metric_id,),
                ).fetchall()
                for group in rules.mergeable_groups([(int(a), int(b), str(c)) for a, b, c in rows]):
                    self._merge_chunks(conn, group)
                    removed += len(group) - 1
        return removed

    @staticmethod
    def _merge_chunks(conn: psycopg.Connection, ids: list[int]) -> None:
        with conn.cursor(binary=True) as cur:
            rows = cur.execute(
                "SELECT run_id, metric_id, first_index, n, steps, times, dtype, vals FROM chunks"
                " WHERE id = ANY(%s) ORDER BY first_index",
                (ids,),
            ).fetchall()
        n, steps, times, merged_dtype, blob = merged_chunk(rows)
        conn.execute("DELETE FROM chunks WHERE id = ANY(%s)", (ids,))
        conn.execute(
            "INSERT INTO chunks (id, run_id, metric_id, first_index, n, steps, times, dtype, vals)"
            " VALUES (%s, %s, %s, %s, %s, %b, %b, %s, %b)",
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

    # -------------------------------------------------------------- registries --
    @_reconnecting
    def _in_read(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(conn, POSTGRESQL, *args)`` in a read (see ``SqlRegistries``)."""
        with self._reading() as conn:
            return function(conn, POSTGRESQL, *args)

    @_reconnecting
    def _in_write(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(conn, POSTGRESQL, *args)`` in a write transaction (see ``SqlRegistries``)."""
        with self._writing() as conn:
            return function(conn, POSTGRESQL, *args)

    # ---------------------------------------------------------------------- owners --
    @_reconnecting
    def register_owner(self, host: str, pid: int, pid_started_at: float) -> int:
        """Record a process that owns runs and return its id."""
        with self._writing() as conn:
            row = conn.execute(
                "INSERT INTO owners (host, pid, pid_started_at, heartbeat_at)"
                " VALUES (%s, %s, %s, %s) RETURNING id",
                (host, pid, pid_started_at, time.time()),
            ).fetchone()
        assert row is not None
        return int(row[0])

    @_reconnecting
    def heartbeat(self, owner_id: int) -> None:
        """Record that the owner process is alive now."""
        with self._writing() as conn:
            conn.execute(
                "UPDATE owners SET heartbeat_at = %s WHERE id = %s", (time.time(), owner_id)
            )

    @_reconnecting
    def get_owners(self, owner_ids: Iterable[int]) -> dict[int, OwnerRecord]:
        """Owner records by id."""
        ids = sorted(set(owner_ids))
        if not ids:
            return {}
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, host, pid, pid_started_at, heartbeat_at FROM owners WHERE id = ANY(%s)",
                (ids,),
            ).fetchall()
        return {int(r[0]): owner_record(r) for r in rows}
