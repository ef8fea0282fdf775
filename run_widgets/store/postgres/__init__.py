"""The PostgreSQL backend (the team store): ``postgresql://user@host:5432/db`` URIs.

Needs the ``postgres`` extra (``pip install run_widgets[postgres]``, i.e. psycopg 3).
"""

from ..registry import register_store
from .store import PostgresStore, StoreUnavailableError
from .uri import SCHEMES, PostgresTarget, parse

for _scheme in SCHEMES:
    register_store(_scheme, PostgresStore)

__all__ = ["PostgresStore", "PostgresTarget", "StoreUnavailableError", "parse"]
