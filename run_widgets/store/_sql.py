"""What the SQL backends share: their dialects' differences, connections, clauses, decoders.

``SqliteStore`` (sqlite3) and ``PostgresStore`` (psycopg 3) run the same statements where
the SQL is standard. They differ in the parameter mark (``?`` / ``%s``) and in how a
write transaction keeps two writers from picking the same "next" number: SQLite
serializes every writer (``BEGIN IMMEDIATE``), PostgreSQL takes a transaction-scoped
advisory lock on the name being numbered. Statements here are written with ``?`` and
converted with :meth:`Dialect.sql`. The run-page queries (:mod:`.sql_run_query`) also
need a few expressions that each database spells its own way (JSON, case-insensitive
matching, text order): they are fields of the dialect.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from . import codec, rules
from .base import TagFilter
from .entities import (
    AppendPoints,
    CreateRun,
    MetricInfo,
    OwnerRecord,
    PointChunk,
    RunRecord,
    WriteOp,
)

Connection = Any
"""An open DB-API connection of the backend (``sqlite3.Connection`` or ``psycopg.Connection``):
both have ``execute(sql, params)`` returning a cursor with ``fetchone``/``fetchall``."""


def _no_lock(conn: Connection, key: str) -> None:
    """SQLite: writers are serialized already."""


def _advisory_lock(conn: Connection, key: str) -> None:
    """PostgreSQL: a lock on ``key`` held until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


@dataclass(frozen=True)
class Dialect:
    """The differences between the SQL backends that shared statements need.

    Attributes:
        name: ``sqlite`` or ``postgresql``.
        mark: the parameter placeholder.
        lock: ``lock(conn, key)`` serializes, until commit, the write transactions that
            number things under ``key``.
    """

    name: str
    mark: str
    lock: Callable[[Connection, str], None]
    #: WHERE term "``{}`` is one of the texts in the one parameter" (format with the
    #: column) and that parameter.
    member_of: str
    ids_param: Callable[[Sequence[str]], Any]
    #: Appended to a SELECT: lock the rows read until the transaction ends.
    row_lock: str
    #: Case-insensitive LIKE.
    ilike: str
    #: The last value of the metric row ``m`` as a float (NULL: not a scalar number).
    metric_value: str
    #: The run's script arguments joined by spaces (NULL: none).
    arguments: str
    #: The larger of two numbers.
    greatest: str
    #: Appended to a text sort value: code-point order, as Python compares str.
    text_order: str
    #: A WHERE clause that is always true.
    true: str
    #: Equality that matches NULL with NULL.
    null_safe_equal: str

    def in_clause(self, column: str) -> str:
        """WHERE term "``column`` is one of the texts in the one parameter" (``ids_param``)."""
        return self.member_of.format(column)

    def sql(self, statement: str) -> str:
        """``statement`` (written with ``?`` marks) in this dialect."""
        return statement if self.mark == "?" else statement.replace("?", self.mark)

    def execute(self, conn: Connection, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run ``statement`` (written with ``?`` marks) on ``conn``; return the cursor."""
        return conn.execute(self.sql(statement), tuple(params))

    def select_in(
        self, conn: Connection, select: str, column: str, values: Sequence[str], rest: str = ""
    ) -> list[Any]:
        """The rows of ``select WHERE column IN values`` (then ``rest``: more terms, a lock)."""
        statement = f"{select} WHERE {self.in_clause(column)}{rest}"
        return list(self.execute(conn, statement, (self.ids_param(values),)).fetchall())


def _json_array(run_ids: Sequence[str]) -> str:
    return json.dumps(list(run_ids))


SQLITE = Dialect(
    name="sqlite",
    mark="?",
    lock=_no_lock,
    member_of="{} IN (SELECT value FROM json_each(?))",
    ids_param=_json_array,  # no per-id placeholders, no size limit
    row_lock="",  # the write transaction holds the whole database already
    ilike="LIKE",  # folds ASCII case only
    metric_value=(
        "CASE WHEN m.kind = 'scalar' AND json_type(m.last_value) IN ('integer', 'real')"
        " THEN CAST(m.last_value AS REAL) END"
    ),
    arguments=(
        "(SELECT NULLIF(group_concat(CAST(a.value AS TEXT), ' '), '')"
        " FROM json_each(r.definition, '$.arguments') a)"
    ),
    greatest="MAX",
    text_order="",  # BINARY collation: code points of UTF-8
    true="1",
    null_safe_equal="IS",
)
POSTGRESQL = Dialect(
    name="postgresql",
    mark="%s",
    lock=_advisory_lock,
    member_of="{} = ANY(?)",
    ids_param=list,
    row_lock=" FOR UPDATE",
    ilike="ILIKE",
    # last_value is JSON text that may hold NaN (not JSON to PostgreSQL): test the text
    # (with no "?" in the pattern: every "?" of a shared statement is a parameter mark).
    metric_value=(
        "CASE WHEN m.kind = 'scalar'"
        " AND m.last_value ~ '^-{0,1}[0-9]+(\\.[0-9]+){0,1}([eE][-+]{0,1}[0-9]+){0,1}$'"
        " THEN CAST(m.last_value AS DOUBLE PRECISION) END"
    ),
    arguments=(
        "(SELECT NULLIF(string_agg(a.value, ' ' ORDER BY a.i), '')"
        " FROM json_array_elements_text(CASE WHEN json_typeof(CAST(r.definition AS json)"
        " -> 'arguments') = 'array' THEN CAST(r.definition AS json) -> 'arguments' END)"
        " WITH ORDINALITY a(value, i))"
    ),
    greatest="GREATEST",
    text_order=' COLLATE "C"',
    true="TRUE",
    null_safe_equal="IS NOT DISTINCT FROM",
)


def dumps_labels(labels: Any) -> str:
    """Tags or properties as the JSON text the registries store (keys sorted)."""
    return json.dumps(dict(labels), sort_keys=True)


# ------------------------------------------------------------ per-thread connections --
class ThreadConnections:
    """One connection per thread, and the bookkeeping both SQL stores need around it.

    A store mixes this in and sets ``_local``, ``_registry_lock``, ``_connections`` and
    ``_closed`` (via :meth:`_init_connections`); it opens connections itself and hands
    each new one to :meth:`_keep_connection`.
    """

    _local: threading.local
    _registry_lock: threading.Lock
    _connections: list[tuple[weakref.ref[threading.Thread], Connection]]
    _closed: bool

    def _init_connections(self) -> None:
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._connections = []
        self._closed = False

    def _keep_connection(self, conn: Connection) -> None:
        """Make ``conn`` the calling thread's connection."""
        self._local.conn = conn
        with self._registry_lock:
            self._prune_dead_threads()
            self._connections.append((weakref.ref(threading.current_thread()), conn))

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
        that thread could crash the driver; it is closed by its own thread on its next use
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


# ------------------------------------------------------------------------------ runs --
class SqlRuns:
    """``get_run`` and ``find_runs`` of a SQL store, over its ``_select_runs``."""

    _dialect: ClassVar[Dialect]

    def _select_runs(
        self, where: str, params: Sequence[Any], order: str, limit: int | None
    ) -> list[RunRecord]:
        """Runs matching ``where`` (on ``runs r``, in the store's dialect), in ``order``."""
        raise NotImplementedError

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run with its tags and properties, or ``None``."""
        runs = self._select_runs(self._dialect.sql("r.id = ?"), [run_id], order="", limit=None)
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
        where, params = find_runs_where(
            self._dialect,
            experiment_id=experiment_id,
            parent_id=parent_id,
            top_level_only=top_level_only,
            run_type=run_type,
            status=status,
            tags=tags,
            properties=properties,
            changed_after=changed_after,
        )
        return self._select_runs(
            self._dialect.sql(where),
            params,
            order="ORDER BY r.created_at DESC, r.number DESC",
            limit=limit,
        )


# ------------------------------------------------------------------ shared statements --
RUN_COLUMNS = (
    "r.id, r.experiment_id, e.name, r.parent_id, r.number, r.display_name, r.description, "
    "r.run_type, r.status, r.created_at, r.start_time, r.end_time, r.error, r.definition, "
    "r.owner_id, r.change_seq"
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


def find_runs_where(
    dialect: Dialect,
    *,
    experiment_id: int | None,
    parent_id: str | None,
    top_level_only: bool,
    run_type: str | None,
    status: str | None,
    tags: TagFilter,
    properties: TagFilter,
    changed_after: int | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (on ``runs r``, ``?`` marks) of ``TrackingStore.find_runs``."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("r.experiment_id", experiment_id),
        ("r.parent_id", parent_id),
        ("r.run_type", run_type),
        ("r.status", status),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if top_level_only:
        clauses.append("r.parent_id IS NULL")
    if changed_after is not None:
        clauses.append("r.change_seq > ?")
        params.append(changed_after)
    for table, wanted in (("tags", tags), ("properties", properties)):
        if wanted is None:
            continue
        if isinstance(wanted, str):
            clauses.append(f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = ?)")
            params.append(wanted)
            continue
        for key, value in wanted.items():
            clauses.append(
                f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = ?"
                f" AND x.value {dialect.null_safe_equal} ?)"
            )
            params.extend([key, value])
    return " AND ".join(clauses) or dialect.true, params


# ----------------------------------------------------------------------- row decoders --
def run_record(
    row: Sequence[Any], tags: Mapping[str, Any] | None, properties: Mapping[str, Any] | None
) -> RunRecord:
    """A run from a row of :data:`RUN_COLUMNS` and its tags and properties."""
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
        tags=tags or {},
        properties=properties or {},
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


def metric_summary(row: Sequence[Any]) -> rules.MetricSummary:
    """A metric's running summary from a metric row.

    Columns 1-9 of the row: ``kind, n_points, last_step, first_value, last_value,
    min_value, max_value, columns, description`` (column 0 is the metric id).
    """
    return rules.MetricSummary(
        kind=row[1],
        n_points=int(row[2]),
        last_step=None if row[3] is None else int(row[3]),
        first_value=codec.loads_json(row[4]),
        last_value=codec.loads_json(row[5]),
        min_value=row[6],
        max_value=row[7],
        columns=tuple(codec.loads_json(row[8])),
        description=row[9],
    )


def owner_record(row: Sequence[Any]) -> OwnerRecord:
    """An owner from ``id, host, pid, pid_started_at, heartbeat_at``."""
    return OwnerRecord(int(row[0]), str(row[1]), int(row[2]), float(row[3]), float(row[4]))


def merged_chunk(rows: Sequence[Sequence[Any]]) -> tuple[int, bytes, bytes, str, bytes]:
    """The columns ``n, steps, times, dtype, vals`` of one chunk merging ``rows``.

    ``rows`` are consecutive chunks of one metric, in order, as ``run_id, metric_id,
    first_index, n, steps, times, dtype, vals``.
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


WRITE_PROGRESS_TABLE = (
    "CREATE TABLE write_progress (writer TEXT PRIMARY KEY, last_seq BIGINT NOT NULL)"
)
"""Each writer's highest stored append (``rules.unapplied_appends``); one row a log buffer."""


def drop_applied_appends(
    dialect: Dialect, conn: Connection, ops: Sequence[WriteOp]
) -> list[WriteOp]:
    """``ops`` less the appends already stored, recording the writers' new progress.

    Call inside the write transaction, before applying the ops: the writers' rows stay
    locked until it ends, so the check and the write are one.
    """
    writers = sorted({op.writer for op in ops if isinstance(op, AppendPoints) and op.writer})
    if not writers:
        return list(ops)
    rows = dialect.select_in(
        conn, "SELECT writer, last_seq FROM write_progress", "writer", writers, dialect.row_lock
    )
    kept, progress = rules.unapplied_appends(ops, {str(w): int(n) for w, n in rows})
    for writer, seq in sorted(progress.items()):
        dialect.execute(
            conn,
            "INSERT INTO write_progress (writer, last_seq) VALUES (?, ?) ON CONFLICT (writer)"
            " DO UPDATE SET last_seq = excluded.last_seq",
            (writer, seq),
        )
    return kept


def resent_creation(dialect: Dialect, conn: Connection, op: CreateRun) -> bool:
    """Whether the run ``op`` creates exists exactly as ``op`` made it.

    That is ``op`` sent again after its COMMIT's answer was lost: the same id, experiment,
    parent, type, owner, definition and the creation time the client stamped on it (a
    second creation of an id, even from the same process, has another). The resend is
    applied as a no-op instead of failing "already exists". An op without ``created_at``
    is never taken for a resend.
    """
    if op.created_at is None:
        return False
    row = dialect.execute(
        conn,
        "SELECT e.name, r.parent_id, r.run_type, r.owner_id, r.definition, r.created_at"
        " FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?",
        (op.run_id,),
    ).fetchone()
    return row is not None and tuple(row) == (
        op.experiment_name,
        op.parent_id,
        op.run_type,
        op.owner_id,
        codec.dumps_json(dict(op.definition)),
        op.created_at,
    )


def drop_superseded_ops(
    dialect: Dialect, conn: Connection, ops: Sequence[WriteOp]
) -> list[WriteOp]:
    """``ops`` less those of an attempt a retry replaced (``rules.superseded_ops``)."""
    runs = sorted({op.run_id for op in ops if getattr(op, "attempt", None) is not None})
    if not runs:
        return list(ops)
    prefix = rules.ATTEMPT_PREFIX
    rows = dialect.select_in(
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


def appends_to_apply(dialect: Dialect, conn: Connection, ops: Sequence[WriteOp]) -> list[WriteOp]:
    """``ops`` less what a write must skip: resent appends, and an earlier attempt's ops.

    Call first in the write transaction (see :func:`drop_applied_appends`).
    """
    return drop_superseded_ops(dialect, conn, drop_applied_appends(dialect, conn, ops))
