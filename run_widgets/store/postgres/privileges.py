"""What each kind of role may do on a PostgreSQL store: the grants, as data, and applying them.

Three kinds (see :mod:`run_widgets.store.postgres.roles` for making them):

* the **owner** owns every table and sequence: it creates and migrates the schema and is
  not subject to row-level security;
* **writers** create runs and log: they read everything and write exactly the columns
  the write path writes (:data:`WRITER_GRANTS`); row-level security (migration
  ``0007_roles``) limits their changes to runs, owner processes, progress rows, models
  and compute targets they created;
* **viewers** read everything and write nothing.

Writers and viewers are *group roles* (``NOLOGIN``) recorded in the ``access_roles`` table;
login roles are their members. :func:`grant_statements` returns the statements that
give both groups their rights on every table of the store: the roles tool runs them when
it sets roles up, and the owner's migration runs them again after each schema change, so
a table a later migration adds is covered (a table missing from :data:`WRITER_GRANTS` gets
:data:`DEFAULT_WRITER_GRANT`; ``tests/test_store_roles.py`` fails until it is listed).
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import Connection, sql

WRITER_GRANTS: dict[str, str] = {
    "meta": "UPDATE (value)",  # the change sequence (meta.seq)
    "schema_version": "",
    "migrations": "",
    "access_roles": "",
    # UPDATE of the unused run_count only: the row lock that numbers runs needs one column.
    "experiments": "INSERT, UPDATE (run_count)",
    "owners": "INSERT, UPDATE (heartbeat_at)",
    "runs": (
        "INSERT, UPDATE (status, start_time, end_time, error, display_name, description,"
        " definition, owner_id, change_seq)"
    ),
    "tags": "INSERT, UPDATE, DELETE",
    "properties": "INSERT",  # write-once
    "metrics": (
        "INSERT, UPDATE (kind, description, n_points, last_step, first_value, last_value,"
        " min_value, max_value, columns, summarized, summary_tail)"
    ),
    "summaries": "INSERT, UPDATE (n, data)",  # the write path's upsert of completed blocks
    "chunks": "INSERT, DELETE",  # compaction replaces small chunks of the writer's runs
    "write_progress": "INSERT, UPDATE (last_seq)",
    "models": "INSERT, UPDATE (tags, properties)",
    "environments": "INSERT",
    "compute_targets": "INSERT, DELETE",
    # Data assets and pipelines (migration 0008_data_and_pipelines): shared by the team, as
    # environments are; a registered dataset version is write-once.
    "datastores": "INSERT, UPDATE (definition, secret, is_default), DELETE",
    "datasets": "INSERT",
    "published_pipelines": "INSERT, UPDATE (status)",
    "pipeline_endpoints": "INSERT, UPDATE (name, pipeline_ids, default_version, status)",
}
"""What a writer may do to each table besides reading it (SELECT is granted on every table)."""

DEFAULT_WRITER_GRANT = "INSERT, UPDATE, DELETE"
"""A writer's rights on a table :data:`WRITER_GRANTS` does not list (a later migration's)."""

KINDS = ("owner", "writer", "viewer")
"""The kinds of role a store knows."""


def store_tables(conn: Connection) -> list[str]:
    """The tables of the store in the connection's current schema."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


def store_sequences(conn: Connection) -> list[str]:
    """The sequences of the store (``chunk_ids`` and the serial columns' sequences)."""
    rows = conn.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


def group_roles(conn: Connection) -> dict[str, str]:
    """The writer and viewer group roles the store records (kind → role), if any."""
    exists = conn.execute("SELECT to_regclass('access_roles') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    return {str(k): str(r) for k, r in conn.execute("SELECT kind, role FROM access_roles")}


def grant_statements(
    conn: Connection, writers: str | None, viewers: str | None, *, database: bool = True
) -> list[sql.Composed]:
    """The statements that give ``writers`` and ``viewers`` their rights on every table.

    Rights are first revoked from both groups, so running them again after a migration
    (or after :data:`WRITER_GRANTS` changed) leaves exactly what is listed. With
    ``database``, also the right to connect and to use the schema (an administrator's
    statements; the store's owner may not own the database).
    """
    groups = [sql.Identifier(g) for g in (writers, viewers) if g]
    if not groups:
        return []
    everyone = sql.SQL(", ").join(groups)
    statements: list[sql.Composed] = []
    if database:
        schema = conn.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        statements += [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(conn.info.dbname), everyone
            ),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema[0]), everyone),
        ]
    for table in store_tables(conn):
        name = sql.Identifier(table)
        statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, everyone))
        statements.append(sql.SQL("GRANT SELECT ON {} TO {}").format(name, everyone))
        rights = WRITER_GRANTS.get(table, DEFAULT_WRITER_GRANT)
        if writers and rights:
            statements.append(
                sql.SQL("GRANT " + rights + " ON {} TO {}").format(name, sql.Identifier(writers))
            )
    if writers:
        for sequence in store_sequences(conn):
            statements.append(
                sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
                    sql.Identifier(sequence), sql.Identifier(writers)
                )
            )
    return statements


def refresh_grants(conn: Connection) -> None:
    """Re-grant the recorded groups their rights (after a migration added or changed tables).

    Runs as the caller (the owner, inside its migration); nothing when no groups are set up.
    """
    groups = group_roles(conn)
    execute_all(
        conn, grant_statements(conn, groups.get("writer"), groups.get("viewer"), database=False)
    )


def execute_all(conn: Connection, statements: Sequence[sql.Composed]) -> None:
    """Run ``statements`` in order on ``conn``."""
    for statement in statements:
        conn.execute(statement)
