"""``sqlite:///abs/path/tracking.db`` store URIs, and opening the store one names."""

from __future__ import annotations

from pathlib import Path

from ...exceptions import StoreError
from .store import SqliteStore

SCHEMES = ("sqlite",)
STORE_FILE = "tracking.db"
"""The SQLite file inside a workspace folder."""


def sqlite_path(uri: str) -> Path:
    """The file of a ``sqlite:///abs/path.db`` URI (SQLAlchemy's four slashes work too).

    Raises:
        StoreError: the path is not absolute.
    """
    rest = uri[len("sqlite://") :]
    if not rest.startswith("/"):
        raise StoreError(
            f"SQLite store URI {uri!r} needs an absolute path: sqlite:///abs/path/tracking.db."
        )
    return Path("/" + rest.lstrip("/")).expanduser().resolve()


def open_uri(uri: str) -> SqliteStore:
    """The SQLite store a ``sqlite:///abs/path.db`` URI names (its folder must exist)."""
    return SqliteStore(sqlite_path(uri))
