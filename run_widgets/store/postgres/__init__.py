"""The PostgreSQL backend (the team store): ``postgresql://user@host:5432/db`` URIs.

Importing this package registers the ``postgresql``, ``postgres`` and
``postgresql+psycopg`` schemes with the store registry, so ``Workspace(store=uri)`` opens
a :class:`PostgresStore`. Needs the ``postgres`` extra (psycopg 3).
"""

from ..registry import register_store
from .store import PostgresStore, StoreUnavailableError
from .uri import SCHEMES, PostgresTarget, parse

for _scheme in SCHEMES:
    register_store(_scheme, PostgresStore)

__all__ = ["PostgresStore", "PostgresTarget", "StoreUnavailableError", "parse"]
