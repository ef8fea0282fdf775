"""How PostgreSQL spells the shared statements of :mod:`run_widgets.store.sql`.

Writers run concurrently, so a write locks what it depends on: the rows of the runs it
touches and of the experiment it numbers a run in (``FOR NO KEY UPDATE``, which never
blocks other writers' foreign-key checks), and an advisory lock on a name it numbers
versions under. Chunk ids come from a sequence, drawn only at the end of a write, under
the ``meta.seq`` row lock, so they are in commit order. Point blobs are read with binary
transfer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.pq import TransactionStatus

from ..sql.dialect import Connection, Dialect, check_params


class PostgresDialect(Dialect):
    """The PostgreSQL dialect (psycopg 3 connections in autocommit mode)."""

    name = "postgresql"
    mark = "%s"
    member_of = "{} = ANY(?)"
    row_lock = " FOR NO KEY UPDATE"
    begin_write = "BEGIN"
    begin_snapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    object_agg = "json_object_agg"
    ilike = "ILIKE"
    # last_value is JSON text that may hold NaN (not JSON to PostgreSQL): test the text
    # (with no "?" in the pattern: every "?" of a shared statement is a parameter mark).
    metric_value = (
        "CASE WHEN m.kind = 'scalar'"
        " AND m.last_value ~ '^-{0,1}[0-9]+(\\.[0-9]+){0,1}([eE][-+]{0,1}[0-9]+){0,1}$'"
        " THEN CAST(m.last_value AS DOUBLE PRECISION) END"
    )
    arguments = (
        "(SELECT NULLIF(string_agg(a.value, ' ' ORDER BY a.i), '')"
        " FROM json_array_elements_text(CASE WHEN json_typeof(CAST(r.definition AS json)"
        " -> 'arguments') = 'array' THEN CAST(r.definition AS json) -> 'arguments' END)"
        " WITH ORDINALITY a(value, i))"
    )
    greatest = "GREATEST"
    text_order = ' COLLATE "C"'
    true = "TRUE"
    role = "CURRENT_USER"
    null_safe_equal = "IS NOT DISTINCT FROM"

    def values_param(self, values: Sequence[Any]) -> Any:
        """The values as one array parameter."""
        check_params(values)
        return list(values)

    def lock(self, conn: Connection, key: str) -> None:
        """A lock on ``key`` held until the transaction ends."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def in_transaction(self, conn: Connection) -> bool:
        """Whether ``conn`` is inside a transaction block."""
        return bool(conn.info.transaction_status != TransactionStatus.IDLE)

    def chunk_ids(self, conn: Connection, n: int) -> Sequence[int | None]:
        """``n`` ids from the ``chunk_ids`` sequence, ascending."""
        row = conn.execute(
            "SELECT array_agg(nextval('chunk_ids')) FROM generate_series(1, %s)", (n,)
        ).fetchone()
        return sorted(int(i) for i in row[0])

    def blob_cursor(self, conn: Connection) -> Any:
        """A cursor with binary results: a blob arrives as its bytes, not as hex text."""
        return conn.cursor(binary=True)


POSTGRESQL = PostgresDialect()
