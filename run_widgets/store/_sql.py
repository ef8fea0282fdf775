"""What the SQL backends share: the few differences of their dialects, and row decoders.

``SqliteStore`` (sqlite3) and ``PostgresStore`` (psycopg 3) run the same statements where
the SQL is standard. They differ in the parameter mark (``?`` / ``%s``) and in how a
write transaction keeps two writers from picking the same "next" number: SQLite
serializes every writer (``BEGIN IMMEDIATE``), PostgreSQL takes a transaction-scoped
advisory lock on the name being numbered. Statements here are written with ``?`` and
converted with :meth:`Dialect.sql`.
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

    def sql(self, statement: str) -> str:
        """``statement`` (written with ``?`` marks) in this dialect."""
        return statement if self.mark == "?" else statement.replace("?", self.mark)

    def execute(self, conn: Connection, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run ``statement`` (written with ``?`` marks) on ``conn``; return the cursor."""
        return conn.execute(self.sql(statement), tuple(params))


SQLITE = Dialect("sqlite", "?", _no_lock)
POSTGRESQL = Dialect("postgresql", "%s", _advisory_lock)


def dumps_labels(labels: Any) -> str:
    """Tags or properties as the JSON text the registries store (keys sorted)."""
    return json.dumps(dict(labels), sort_keys=True)
