"""A real PostgreSQL server for the tests, and a fresh database per test.

The server (Debian's binaries, run as the ``postgres`` user when the tests run as root)
starts once per session in a temporary folder on a free port, only if a test asks for it,
and is deleted at the end. Each test gets its own database, copied from a template that
already holds the schema (``CREATE DATABASE ... TEMPLATE``), so it costs a few ms.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # psycopg is imported only by tests that use PostgreSQL
    from run_widgets.store.postgres.local_server import LocalPostgres

TEMPLATE = "rw_template"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """The session's PostgreSQL server (durability off: tests never pull the plug)."""
    from run_widgets.store.postgres import PostgresStore
    from run_widgets.store.postgres.local_server import LocalPostgres

    server = LocalPostgres(fsync=False)
    try:
        server.start()
        PostgresStore(server.create_database(TEMPLATE)).close()
        yield server
    finally:
        server.cleanup()


def new_database(server: LocalPostgres, *, empty: bool = False) -> str:
    """Create a uniquely named database (with the schema unless ``empty``); return its URI."""
    name = f"t{os.getpid()}_{next(_names)}"
    return server.create_database(name, template=None if empty else TEMPLATE)


def drop_database(server: LocalPostgres, uri: str) -> None:
    """Drop the database of ``uri``, disconnecting whoever still uses it."""
    import psycopg
    from psycopg import sql

    name = uri.rsplit("/", 1)[1]
    with psycopg.connect(server.uri(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def pg_uri(pg_server: LocalPostgres) -> Iterator[str]:
    """URI (with password) of a fresh database holding an empty run_widgets store."""
    uri = new_database(pg_server)
    yield uri
    drop_database(pg_server, uri)
