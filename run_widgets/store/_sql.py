"""What the SQL backends share: the few differences of their dialects, and row decoders.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
    #: WHERE term "``r.id`` is one of the ids in the one parameter" and that parameter.
    ids_clause: str
    ids_param: Callable[[Sequence[str]], Any]
    #: Case-insensitive LIKE.
    ilike: str
    #: The last value of scalar metric ``?`` of run ``r`` as a float (NULL: not a number).
    metric_value: str
    #: The run's script arguments joined by spaces (NULL: none).
    arguments: str
    #: The larger of two numbers.
    greatest: str
    #: Appended to a text sort value: code-point order, as Python compares str.
    text_order: str
    #: A WHERE clause that is always true.
    true: str

    def sql(self, statement: str) -> str:
        """``statement`` (written with ``?`` marks) in this dialect."""
        return statement if self.mark == "?" else statement.replace("?", self.mark)

    def execute(self, conn: Connection, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run ``statement`` (written with ``?`` marks) on ``conn``; return the cursor."""
        return conn.execute(self.sql(statement), tuple(params))


def _json_array(run_ids: Sequence[str]) -> str:
    return json.dumps(list(run_ids))


SQLITE = Dialect(
    name="sqlite",
    mark="?",
    lock=_no_lock,
    ids_clause="r.id IN (SELECT value FROM json_each(?))",
    ids_param=_json_array,  # no per-id placeholders, no size limit
    ilike="LIKE",  # folds ASCII case only
    metric_value=(
        "(SELECT CASE WHEN m.kind = 'scalar' AND json_type(m.last_value) IN ('integer', 'real')"
        " THEN CAST(m.last_value AS REAL) END FROM metrics m"
        " WHERE m.run_id = r.id AND m.name = ?)"
    ),
    arguments=(
        "(SELECT NULLIF(group_concat(CAST(a.value AS TEXT), ' '), '')"
        " FROM json_each(r.definition, '$.arguments') a)"
    ),
    greatest="MAX",
    text_order="",  # BINARY collation: code points of UTF-8
    true="1",
)
POSTGRESQL = Dialect(
    name="postgresql",
    mark="%s",
    lock=_advisory_lock,
    ids_clause="r.id = ANY(?)",
    ids_param=list,
    ilike="ILIKE",
    # last_value is JSON text that may hold NaN (not JSON to PostgreSQL): test the text
    # (with no "?" in the pattern: every "?" of a shared statement is a parameter mark).
    metric_value=(
        "(SELECT CASE WHEN m.kind = 'scalar'"
        " AND m.last_value ~ '^-{0,1}[0-9]+(\\.[0-9]+){0,1}([eE][-+]{0,1}[0-9]+){0,1}$'"
        " THEN CAST(m.last_value AS DOUBLE PRECISION) END FROM metrics m"
        " WHERE m.run_id = r.id AND m.name = ?)"
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
)


def dumps_labels(labels: Any) -> str:
    """Tags or properties as the JSON text the registries store (keys sorted)."""
    return json.dumps(dict(labels), sort_keys=True)
