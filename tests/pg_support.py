"""A real PostgreSQL server for the tests, and a fresh, empty store per test.

The server (Debian's binaries, run as the ``postgres`` user when the tests run as root)
starts once per session in a temporary folder on a free port, only if a test asks for it,
and is deleted at the end. Each test gets its own PostgreSQL *schema* in one database (the
URI selects it with ``options=-csearch_path=...``): ``CREATE DATABASE`` would copy the
system catalogs and take seconds. A schema whose store a test left at the current version
is emptied and handed to the next test (creating the tables costs more than deleting rows).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # psycopg is imported only by tests that use PostgreSQL
    from run_widgets.store.postgres.local_server import LocalPostgres

DATABASE = "rw_tests"
_names = itertools.count(1)
_free: list[str] = []  # emptied schemas holding the current store schema
_EMPTY = (
    "DELETE FROM chunks; DELETE FROM metrics; DELETE FROM tags; DELETE FROM properties;"
    " DELETE FROM runs; DELETE FROM owners; DELETE FROM experiments;"
    " DELETE FROM models; DELETE FROM environments; DELETE FROM compute_targets;"
    " UPDATE meta SET value = 0 WHERE key = 'seq'"
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """The session's PostgreSQL server (durability off: tests never pull the plug)."""
    from run_widgets.store.postgres.local_server import LocalPostgres

    server = LocalPostgres(fsync=False)
    try:
        server.start()
        server.create_database(DATABASE)
        yield server
    finally:
        server.cleanup()


def new_database(server: LocalPostgres) -> str:
    """Create an empty, uniquely named schema; return the URI of a store living in it."""
    import psycopg
    from psycopg import sql

    name = f"t{os.getpid()}_{next(_names)}"
    with psycopg.connect(server.uri(DATABASE), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    return _schema_uri(server, name)


def _schema_uri(server: LocalPostgres, name: str) -> str:
    return f"{server.uri(DATABASE)}?options=-csearch_path%3D{name}"


def _recycle(server: LocalPostgres, uri: str) -> None:
    """Disconnect what a finished test left connected; keep its schema if reusable."""
    import psycopg

    from run_widgets.store.postgres.schema import SCHEMA_VERSION, read_version

    with psycopg.connect(server.uri(DATABASE), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
            " AND pid <> pg_backend_pid()",
            (DATABASE,),
        )
    with psycopg.connect(uri, autocommit=True) as conn:
        if read_version(conn) != SCHEMA_VERSION:
            return
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '2s'")
                conn.execute(_EMPTY)
        except psycopg.Error:
            return
    _free.append(uri)


@pytest.fixture
def pg_uri(pg_server: LocalPostgres) -> Iterator[str]:
    """URI (with password) of an empty schema: a new or emptied run_widgets store."""
    uri = _free.pop() if _free else new_database(pg_server)
    yield uri
    _recycle(pg_server, uri)
