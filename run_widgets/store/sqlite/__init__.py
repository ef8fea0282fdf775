"""The SQLite backend: the embedded default store (one WAL file per workspace)."""

from .schema import SCHEMA_VERSION
from .store import SqliteStore

__all__ = ["SCHEMA_VERSION", "SqliteStore"]
