"""Schema of the SQLite tracking store, as an ordered list of named migrations.

The schema version is ``PRAGMA user_version`` (the number of migrations applied); the
``migrations`` table records each migration's name and when it ran. Migrations run inside
one ``BEGIN IMMEDIATE`` transaction, so several processes opening a new workspace at once
apply them exactly once. A store whose version is higher than ``SCHEMA_VERSION`` was
written by a newer run_widgets and is refused before anything is written to it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from .._sql import WRITE_PROGRESS_TABLE
from .assets import COMPUTE_TARGETS_SQL
from .assets import MIGRATION_SQL as REGISTRY_TABLES


@dataclass(frozen=True)
class Migration:
    """One named schema step."""

    name: str
    apply: Callable[[sqlite3.Connection], None]


def _initial(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS meta (
            key   TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0);

        CREATE TABLE IF NOT EXISTS experiments (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        );

        CREATE TABLE IF NOT EXISTS owners (
            id             INTEGER PRIMARY KEY,
            host           TEXT NOT NULL,
            pid            INTEGER NOT NULL,
            pid_started_at REAL NOT NULL,
            heartbeat_at   REAL NOT NULL
        );

        CREATE TABLE IF NOT EXISTS runs (
            id            TEXT PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            parent_id     TEXT REFERENCES runs(id),
            number        INTEGER NOT NULL,
            display_name  TEXT,
            description   TEXT,
            run_type      TEXT NOT NULL,
            status        TEXT NOT NULL,
            created_at    REAL NOT NULL,
            start_time    REAL,
            end_time      REAL,
            owner_id      INTEGER REFERENCES owners(id),
            error         TEXT,
            definition    TEXT,
            change_seq    INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment_id, created_at);
        CREATE INDEX IF NOT EXISTS runs_by_number ON runs (experiment_id, number);
        CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent_id, change_seq);
        CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);

        CREATE TABLE IF NOT EXISTS tags (
            run_id TEXT NOT NULL REFERENCES runs(id),
            key    TEXT NOT NULL,
            value  TEXT,
            PRIMARY KEY (run_id, key)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS properties (
            run_id TEXT NOT NULL REFERENCES runs(id),
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS metrics (
            id          INTEGER PRIMARY KEY,
            run_id      TEXT NOT NULL REFERENCES runs(id),
            name        TEXT NOT NULL,
            kind        TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            n_points    INTEGER NOT NULL DEFAULT 0,
            last_step   INTEGER,
            first_value TEXT,
            last_value  TEXT,
            min_value   REAL,
            max_value   REAL,
            columns     TEXT NOT NULL DEFAULT '[]',
            UNIQUE (run_id, name)
        );

        CREATE TABLE IF NOT EXISTS chunks (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id      TEXT NOT NULL,
            metric_id   INTEGER NOT NULL REFERENCES metrics(id),
            first_index INTEGER NOT NULL,
            n           INTEGER NOT NULL,
            steps       BLOB NOT NULL,
            times       BLOB NOT NULL,
            dtype       TEXT NOT NULL,
            vals        BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS chunks_by_run ON chunks (run_id, id);
        CREATE INDEX IF NOT EXISTS chunks_by_metric ON chunks (metric_id, first_index);
        """,
    )


def _run_pages(conn: sqlite3.Connection) -> None:
    # Pages of an experiment's runs (``query_runs``): top-level runs by number, and the
    # active ones by status, read from the index instead of scanning the experiment.
    execute_script(
        conn,
        """
        CREATE INDEX IF NOT EXISTS runs_by_page ON runs (experiment_id, parent_id, number);
        CREATE INDEX IF NOT EXISTS runs_by_experiment_status ON runs (experiment_id, status);
        """,
    )


def _registries(conn: sqlite3.Connection) -> None:
    execute_script(conn, REGISTRY_TABLES)


def _compute_targets(conn: sqlite3.Connection) -> None:
    execute_script(conn, COMPUTE_TARGETS_SQL)


def _write_progress(conn: sqlite3.Connection) -> None:
    # Each log buffer's highest stored append: a resent batch is not stored twice.
    execute_script(conn, WRITE_PROGRESS_TABLE + ";")


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _initial),
    Migration("0002_run_pages", _run_pages),
    Migration("0003_model_and_environment_registries", _registries),
    Migration("0004_compute_targets", _compute_targets),
    Migration("0005_write_progress", _write_progress),
)
SCHEMA_VERSION = len(MIGRATIONS)
APPLICATION_ID = 0x52574442
"""``PRAGMA application_id`` of a run_widgets store ("RWDB"): tells our files from others."""
CORE_TABLES = frozenset({"meta", "migrations", "experiments", "runs", "metrics", "chunks"})
"""Tables every run_widgets store has; identifies stores written before APPLICATION_ID."""


def read_application_id(conn: sqlite3.Connection) -> int:
    """Return the store's ``PRAGMA application_id`` without writing anything."""
    return int(conn.execute("PRAGMA application_id").fetchone()[0])


def read_version(conn: sqlite3.Connection) -> int:
    """Return the store's schema version without writing anything."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Bring the store up to ``SCHEMA_VERSION``; return the names of migrations applied.

    The caller must have checked that the store is not newer than this code. The whole
    upgrade is one immediate transaction: a concurrent opener waits, then sees it done.
    """
    if read_version(conn) >= SCHEMA_VERSION:
        return []
    applied: list[str] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = read_version(conn)  # re-read under the write lock
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        for migration in MIGRATIONS[current:]:
            migration.apply(conn)
            conn.execute(
                "INSERT OR REPLACE INTO migrations (name, applied_at) VALUES (?, ?)",
                (migration.name, time.time()),
            )
            applied.append(migration.name)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the caller's transaction.

    ``Connection.executescript`` would COMMIT first, which would break the all-or-nothing
    upgrade, so statements are split and executed one by one.
    """
    for statement in _split_sql(script):
        conn.execute(statement)


def _split_sql(script: str) -> list[str]:
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
