"""Schema of the PostgreSQL tracking store, as an ordered list of named migrations.

The schema version is the single row of ``schema_version``; ``migrations`` records each
migration's name and when it ran. A client migrates inside one transaction that holds an
advisory lock, so several clients connecting to a new database at once apply each step
exactly once. A database whose version is higher than ``SCHEMA_VERSION`` was written by a
newer run_widgets and is refused before anything is written to it; a database that has
tables but no ``schema_version`` is not ours and is refused too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from .._sql import WRITE_PROGRESS_TABLE

MIGRATION_LOCK = 0x52574442  # advisory lock key while migrating ("RWDB")


@dataclass(frozen=True)
class Migration:
    """One named schema step."""

    name: str
    apply: Callable[[psycopg.Connection], None]


_INITIAL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('seq', 0);

CREATE TABLE experiments (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL,
    run_count  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE owners (
    id             BIGSERIAL PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            BIGINT NOT NULL,
    pid_started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at   DOUBLE PRECISION NOT NULL
);

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments(id),
    parent_id     TEXT REFERENCES runs(id),
    number        BIGINT NOT NULL,
    display_name  TEXT,
    description   TEXT,
    run_type      TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    start_time    DOUBLE PRECISION,
    end_time      DOUBLE PRECISION,
    owner_id      BIGINT REFERENCES owners(id),
    error         TEXT,
    definition    TEXT,
    change_seq    BIGINT NOT NULL
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, created_at);
CREATE INDEX runs_by_parent ON runs (parent_id, change_seq);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_change ON runs (change_seq);

CREATE TABLE tags (
    run_id TEXT NOT NULL REFERENCES runs(id),
    key    TEXT NOT NULL,
    value  TEXT,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE properties (
    run_id TEXT NOT NULL REFERENCES runs(id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE metrics (
    id          BIGSERIAL PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    n_points    BIGINT NOT NULL DEFAULT 0,
    last_step   BIGINT,
    first_value TEXT,
    last_value  TEXT,
    min_value   DOUBLE PRECISION,
    max_value   DOUBLE PRECISION,
    columns     TEXT NOT NULL DEFAULT '[]',
    UNIQUE (run_id, name)
);

CREATE SEQUENCE chunk_ids;
CREATE TABLE chunks (
    id          BIGINT PRIMARY KEY,
    run_id      TEXT NOT NULL,
    metric_id   BIGINT NOT NULL REFERENCES metrics(id),
    first_index BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    steps       BYTEA NOT NULL,
    times       BYTEA NOT NULL,
    dtype       TEXT NOT NULL,
    vals        BYTEA NOT NULL
);
CREATE INDEX chunks_by_run ON chunks (run_id, id);
CREATE INDEX chunks_by_metric ON chunks (metric_id, first_index);
ALTER TABLE chunks ALTER COLUMN steps SET STORAGE EXTERNAL;
ALTER TABLE chunks ALTER COLUMN times SET STORAGE EXTERNAL;
ALTER TABLE chunks ALTER COLUMN vals SET STORAGE EXTERNAL;
"""


def _initial(conn: psycopg.Connection) -> None:
    conn.execute(_INITIAL)


_REGISTRIES = """
CREATE TABLE models (
    name            TEXT NOT NULL,
    version         BIGINT NOT NULL,
    created_at      DOUBLE PRECISION NOT NULL,
    description     TEXT,
    tags            TEXT NOT NULL DEFAULT '{}',
    properties      TEXT NOT NULL DEFAULT '{}',
    run_id          TEXT,
    experiment_name TEXT,
    storage         TEXT NOT NULL,
    path            TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX models_by_run ON models (run_id);

CREATE TABLE environments (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
"""


def _registries(conn: psycopg.Connection) -> None:
    # The same tables as SQLite's migration 0003 (statements in store/sql_assets.py).
    conn.execute(_REGISTRIES)


def _compute_targets(conn: psycopg.Connection) -> None:
    # Definitions made in code (ComputeTarget.create/attach), shared by every client.
    conn.execute(
        "CREATE TABLE compute_targets (name TEXT PRIMARY KEY, definition TEXT NOT NULL,"
        " created_at DOUBLE PRECISION NOT NULL)"
    )


def _run_pages(conn: psycopg.Connection) -> None:
    # Pages of an experiment's runs (``query_runs``), as SQLite's migration 0002: the
    # default page (top-level runs by number) walks this index instead of sorting them all.
    conn.execute(
        "CREATE INDEX runs_by_page ON runs (experiment_id, parent_id, number);"
        "CREATE INDEX runs_by_experiment_status ON runs (experiment_id, status)"
    )


def _write_progress(conn: psycopg.Connection) -> None:
    # Each log buffer's highest stored append: a batch resent after a COMMIT whose answer
    # was lost (the connection cut then) is not stored twice (SQLite's migration 0005).
    conn.execute(WRITE_PROGRESS_TABLE)


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _initial),
    Migration("0002_model_and_environment_registries", _registries),
    Migration("0003_compute_targets", _compute_targets),
    Migration("0004_run_pages", _run_pages),
    Migration("0005_write_progress", _write_progress),
)
SCHEMA_VERSION = len(MIGRATIONS)


def read_version(conn: psycopg.Connection) -> int | None:
    """The database's schema version: ``None`` if it has no ``schema_version`` table."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def user_tables(conn: psycopg.Connection) -> list[str]:
    """Names of the tables in the current schema (to tell an empty database from a foreign one)."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


class ForeignTablesError(Exception):
    """The database has tables but no run_widgets schema (raised before anything is written)."""

    def __init__(self, tables: list[str]) -> None:
        super().__init__(", ".join(tables))
        self.tables = tables


def migrate(conn: psycopg.Connection) -> list[str]:
    """Bring the database up to ``SCHEMA_VERSION``; return the names of migrations applied.

    The caller has checked that the database is not newer than this code. Runs in one
    transaction under an advisory lock; a concurrent client waits, then finds the work
    done. Whether the database is ours (or empty) is decided under that lock too: seen
    before it, a schema another client is creating may show its tables but not yet its
    version.

    The lock is a session lock taken *before* the transaction begins: a server process
    reads other sessions' catalog changes at transaction start, so a transaction begun
    before the lock was granted could still see ``schema_version`` as missing (a stale
    cached lookup) after the client that held the lock had created it.

    Raises:
        ForeignTablesError: the database holds tables that are not a run_widgets store.
    """
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        return _migrate_locked(conn)
    finally:
        with contextlib.suppress(psycopg.Error):  # a lost connection released it anyway
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def _migrate_locked(conn: psycopg.Connection) -> list[str]:
    applied: list[str] = []
    with conn.transaction():
        if read_version(conn) is None:
            tables = user_tables(conn)
            if tables:
                raise ForeignTablesError(tables)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)"
        )
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        for migration in MIGRATIONS[current:]:
            migration.apply(conn)
            conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (%s, %s)",
                (migration.name, time.time()),
            )
            applied.append(migration.name)
        if current < SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))
    return applied
