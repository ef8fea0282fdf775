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

import psycopg

from ..sql import schema as tables
from ..sql.schema import Migration, run_migrations
from .dialect import POSTGRESQL

MIGRATION_LOCK = 0x52574442  # advisory lock key while migrating ("RWDB")

TYPES = tables.ColumnTypes(
    integer="BIGINT",
    real="DOUBLE PRECISION",
    blob="BYTEA",
    serial="BIGSERIAL PRIMARY KEY",
    ascending="BIGINT PRIMARY KEY",  # numbered from chunk_ids in commit order (dialect.py)
)
"""PostgreSQL's spelling of the shared table definitions."""

INITIAL_EXTRAS = (
    "CREATE SEQUENCE chunk_ids",
    # Packed points are stored uncompressed: reading them back is a plain copy.
    "ALTER TABLE chunks ALTER COLUMN steps SET STORAGE EXTERNAL",
    "ALTER TABLE chunks ALTER COLUMN times SET STORAGE EXTERNAL",
    "ALTER TABLE chunks ALTER COLUMN vals SET STORAGE EXTERNAL",
    "CREATE INDEX runs_by_change ON runs (change_seq)",
    # Unused, kept so that every PostgreSQL store has the same tables.
    "ALTER TABLE experiments ADD COLUMN run_count BIGINT NOT NULL DEFAULT 0",
)
"""What PostgreSQL's first migration adds to the shared tables."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", (*tables.CORE, *INITIAL_EXTRAS)),
    Migration("0002_model_and_environment_registries", tables.REGISTRIES),
    Migration("0003_compute_targets", tables.COMPUTE_TARGETS),
    Migration("0004_run_pages", tables.RUN_PAGES),
    Migration("0005_write_progress", tables.WRITE_PROGRESS),
    Migration(
        "0006_series_summaries",
        # Packed floats do not compress: stored as they are, read back as a copy.
        (*tables.SUMMARIES, "ALTER TABLE summaries ALTER COLUMN data SET STORAGE EXTERNAL"),
    ),
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
        applied = run_migrations(conn, POSTGRESQL, TYPES, MIGRATIONS[current:])
        if current < SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))
    return applied
