"""The PostgreSQL backend (the team store): ``postgresql://user@host:5432/db`` URIs.

``store.py`` connects, checks and migrates the database and retries what is safe to
retry (the SQL itself is shared: :mod:`run_widgets.store.sql`), ``dialect.py`` says how
PostgreSQL spells the shared statements (row locks, commit-ordered chunk ids),
``schema.py`` holds its migrations, ``uri.py`` parses and redacts its URIs and
``local_server.py`` runs a throwaway server (tests, benchmarks, trying it out).

The package declares the backend (:data:`BACKEND`: the ``postgresql``, ``postgres`` and
``postgresql+psycopg`` schemes) without importing psycopg, so the store registry knows
these schemes in every process; the driver is imported when the first such URI is
opened. Needs the ``postgres`` extra (psycopg 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import StoreBackend
from . import uri
from .uri import SCHEMES, PostgresTarget, parse

if TYPE_CHECKING:
    from .store import PostgresStore, StoreUnavailableError

BACKEND = StoreBackend(
    name="postgresql",
    schemes=SCHEMES,
    builder="run_widgets.store.postgres.store:PostgresStore",
    extra="postgres",
)
"""What the store registry needs to open PostgreSQL URIs."""

_NEEDS_DRIVER = ("PostgresStore", "StoreUnavailableError")


def __getattr__(name: str) -> Any:
    """``PostgresStore`` and ``StoreUnavailableError``, imported (with psycopg) on first use."""
    if name in _NEEDS_DRIVER:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKEND",
    "SCHEMES",
    "PostgresStore",
    "PostgresTarget",
    "StoreUnavailableError",
    "parse",
    "uri",
]
