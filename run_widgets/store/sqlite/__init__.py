"""The SQLite backend: the embedded default store (one WAL file per workspace).

``store.py`` opens, checks and migrates the file (the SQL itself is shared:
:mod:`run_widgets.store.sql`), ``dialect.py`` says how SQLite spells the shared
statements, ``schema.py`` and ``assets.py`` hold its migrations, ``uri.py`` its URIs.
"""

from ..base import StoreBackend
from .schema import SCHEMA_VERSION
from .store import SqliteStore
from .uri import SCHEMES

BACKEND = StoreBackend(
    name="sqlite", schemes=SCHEMES, builder="run_widgets.store.sqlite.uri:open_uri"
)
"""What the store registry needs to open ``sqlite:///`` URIs."""

__all__ = ["BACKEND", "SCHEMA_VERSION", "SqliteStore"]
