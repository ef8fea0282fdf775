"""Schema of the SQLite tracking store, as an ordered list of named migrations.

The schema version is ``PRAGMA user_version`` (the number of migrations applied); the
``migrations`` table records each migration's name and when it ran. Migrations run inside
one ``BEGIN IMMEDIATE`` transaction, so several processes opening a new workspace at once
apply them exactly once. A store whose version is higher than ``SCHEMA_VERSION`` was
written by a newer run_widgets and is refused before anything is written to it.
"""

from __future__ import annotations

import sqlite3

from ..sql import schema as tables
from ..sql.schema import Migration, run_migrations
from .dialect import SQLITE

TYPES = tables.ColumnTypes(
    integer="INTEGER",
    real="REAL",
    blob="BLOB",
    serial="INTEGER PRIMARY KEY",
    ascending="INTEGER PRIMARY KEY AUTOINCREMENT",  # never reuses the id of a deleted chunk
    if_new="IF NOT EXISTS ",
    clustered=" WITHOUT ROWID",
)
"""SQLite's spelling of the shared table definitions."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_initial",
        (*tables.CORE, "CREATE INDEX IF NOT EXISTS runs_by_number ON runs (experiment_id, number)"),
    ),
    Migration("0002_run_pages", tables.RUN_PAGES),
    Migration("0003_model_and_environment_registries", tables.REGISTRIES),
    Migration("0004_compute_targets", tables.COMPUTE_TARGETS),
    Migration("0005_write_progress", tables.WRITE_PROGRESS),
    Migration("0006_series_summaries", tables.SUMMARIES),
    Migration("0007_creators", tables.CREATORS),
    Migration("0008_data_and_pipelines", tables.DATA_AND_PIPELINES),
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
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = read_version(conn)  # re-read under the write lock
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        applied = run_migrations(conn, SQLITE, TYPES, MIGRATIONS[current:])
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied
