"""The store backends the tests run on, and a real PostgreSQL server with a fresh database per test.

:data:`BACKEND_PARAMS` are the backends a store test runs on (Optuna's ``STORAGE_MODES``
idea), as pytest params with the ids ``sqlite`` and ``postgresql``; the PostgreSQL one
carries the ``postgres`` marker, so ``-m "not postgres"`` (the quick tier) leaves it out.

The server (Debian's binaries, run as the ``postgres`` user when the tests run as root)
starts once per test session, only if a test asks for it, and is deleted at the end.
Under pytest-xdist every worker is a session of its own, with its own server in its own
temporary folder on its own free port. The folder is in memory (``/dev/shm``) where
there is one. Once started, the server holds a *template* database with the current
store schema; each test gets a new database cloned from it (``CREATE DATABASE ...
TEMPLATE ... STRATEGY FILE_COPY``: a copy of a few MB, some 40 ms in memory, ten times
that on a busy disk) and dropped afterwards, connections and all. A store opened on the
clone finds its schema in place and migrates nothing.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # psycopg is imported only by tests that use PostgreSQL
    from run_widgets.store.postgres.local_server import LocalPostgres

BACKEND_PARAMS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
)
"""The store backends every store test runs on, as pytest params."""

TEMPLATE = "rw_template"
"""The database every test database is cloned from (the store schema, no data)."""

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """The session's PostgreSQL server (durability off: tests never pull the plug)."""
    from run_widgets.store.postgres import PostgresStore
    from run_widgets.store.postgres.local_server import LocalPostgres

    in_memory = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None
    server = LocalPostgres(fsync=False, parent=in_memory)
    try:
        server.start()
        PostgresStore(server.create_database(TEMPLATE)).close()  # the schema, once
        yield server
    finally:
        server.cleanup()


def new_database(server: LocalPostgres, *, empty: bool = False) -> str:
    """Create a new database; return its URI.

    It holds an empty store (the current schema) unless ``empty``: then it holds nothing
    at all (for tests of creating or refusing a schema).
    """
    import psycopg
    from psycopg import sql

    name = f"t{next(_names)}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if not empty:
        statement = sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(
            statement, sql.Identifier(TEMPLATE)
        )
    with psycopg.connect(server.uri(), autocommit=True) as conn:
        conn.execute(statement)
    return server.uri(name)


def drop_database(server: LocalPostgres, uri: str) -> None:
    """Drop the database of ``uri``, disconnecting whatever a test left connected."""
    import psycopg
    from psycopg import sql

    name = uri.rsplit("/", 1)[1]
    with psycopg.connect(server.uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_uri(pg_server: LocalPostgres) -> Iterator[str]:
    """URI (with password) of a new database holding an empty run_widgets store."""
    uri = new_database(pg_server)
    yield uri
    drop_database(pg_server, uri)
