"""The PostgreSQL backend (the team store): ``postgresql://user@host:5432/db`` URIs.

Needs the ``postgres`` extra (``pip install run_widgets[postgres]``, i.e. psycopg 3).
"""

from .store import PostgresStore, StoreUnavailableError
from .uri import PostgresTarget, parse

__all__ = ["PostgresStore", "PostgresTarget", "StoreUnavailableError", "parse"]
