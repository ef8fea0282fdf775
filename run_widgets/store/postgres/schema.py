"""Schema of the PostgreSQL tracking store, as an ordered list of named migrations.

The schema version is the single row of ``schema_version``; ``migrations`` records each
migration's name and when it ran. A client migrates inside one transaction that holds an
advisory lock, so several clients connecting to a new database at once apply each step
exactly once; the writer and viewer roles, if an administrator set them up, then get their
rights on the new tables (:mod:`.privileges`). Migration ``0007_roles`` holds the
row-level security that keeps a writer to its own runs (:mod:`.roles`). A database whose
version is higher than ``SCHEMA_VERSION`` was written by a
newer run_widgets and is refused before anything is written to it; a database that has
tables but no ``schema_version`` is not ours and is refused too.
"""

from __future__ import annotations

import contextlib

import psycopg

from ..sql import schema as tables
from ..sql.schema import Migration, run_migrations
from .dialect import POSTGRESQL
from .privileges import refresh_grants

MIGRATION_LOCK = 0x52574442  # advisory lock key while migrating ("RWDB")

TYPES = tables.ColumnTypes(
    integer="BIGINT",
    real="DOUBLE PRECISION",
    blob="BYTEA",
    serial="BIGSERIAL PRIMARY KEY",
    ascending="BIGINT PRIMARY KEY",  # numbered from chunk_ids in commit order (dialect.py)
    creator=" DEFAULT CURRENT_USER",  # existing rows: the role that migrates (the owner)
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

LOST_AFTER_S = 60
"""Seconds without a heartbeat after which the server lets any writer end a run as Failed."""

_MINE = "created_by = CURRENT_USER"
_RUN_IS_MINE = (
    "EXISTS (SELECT 1 FROM runs r WHERE r.id = {table}.run_id AND r.created_by = CURRENT_USER)"
)
_METRIC_IS_MINE = (
    "EXISTS (SELECT 1 FROM metrics m JOIN runs r ON r.id = m.run_id"
    " WHERE m.id = summaries.metric_id AND r.created_by = CURRENT_USER)"
)
_OWNER_LOST = (
    "owner_id IS NOT NULL AND EXISTS (SELECT 1 FROM owners o WHERE o.id = runs.owner_id"
    f" AND o.heartbeat_at < EXTRACT(EPOCH FROM clock_timestamp()) - {LOST_AFTER_S})"
)

ROW_SECURITY = (
    # The group roles of writers and viewers (postgres/roles.py), for re-granting after
    # later migrations; empty until an administrator sets roles up.
    "CREATE TABLE access_roles (kind TEXT PRIMARY KEY, role TEXT NOT NULL)",
    # Runs: everyone reads; a writer creates runs as itself and changes its own. Another
    # writer may only end a run whose owner process stopped beating (Failed, as a reaper
    # does), never one that ended Completed or Canceled.
    "ALTER TABLE runs ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY runs_read ON runs FOR SELECT USING (true)",
    f"CREATE POLICY runs_create ON runs FOR INSERT WITH CHECK ({_MINE})",
    "CREATE POLICY runs_change ON runs FOR UPDATE"
    f" USING ({_MINE} OR (status NOT IN ('Completed', 'Canceled') AND {_OWNER_LOST}))"
    f" WITH CHECK ({_MINE} OR status = 'Failed')",
    # What belongs to a run: changed only by the run's role.
    *(
        statement.format(table=table, mine=_RUN_IS_MINE.format(table=table))
        for table in ("tags", "properties", "metrics", "chunks")
        for statement in (
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY {table}_read ON {table} FOR SELECT USING (true)",
            "CREATE POLICY {table}_write ON {table} FOR ALL USING ({mine}) WITH CHECK ({mine})",
        )
    ),
    # A metric's summary blocks (migration 0006): changed only by the role of the run.
    "ALTER TABLE summaries ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY summaries_read ON summaries FOR SELECT USING (true)",
    f"CREATE POLICY summaries_write ON summaries FOR ALL USING ({_METRIC_IS_MINE})"
    f" WITH CHECK ({_METRIC_IS_MINE})",
    # Rows a role made itself: owner processes (heartbeats), a log buffer's progress,
    # registered models (tags), compute targets (deletion).
    *(
        statement.format(table=table, mine=_MINE)
        for table in ("owners", "write_progress", "models", "compute_targets")
        for statement in (
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY {table}_read ON {table} FOR SELECT USING (true)",
            "CREATE POLICY {table}_write ON {table} FOR ALL USING ({mine}) WITH CHECK ({mine})",
        )
    ),
)
"""Row-level security: what a writer role may change (the table owner and superusers are
not subject to it, so a store used by one role works as before)."""


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
    Migration("0007_roles", (*tables.CREATORS, *ROW_SECURITY)),
    Migration("0008_data_and_pipelines", tables.DATA_AND_PIPELINES),
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
        if applied:  # writers and viewers get their rights on what the migrations changed
            refresh_grants(conn)
    return applied
