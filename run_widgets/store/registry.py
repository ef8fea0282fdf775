"""Choosing a tracking-store backend by URI: ``scheme → builder``.

Built in:

* ``sqlite:///abs/path/tracking.db`` (SQLAlchemy's ``sqlite:////abs/path`` works too): a
  SQLite file; its folder must exist;
* a plain folder path (``/data/tracking`` or ``~/tracking``), today's behaviour: the SQLite
  store ``<folder>/tracking.db``, the folder created if missing.

Another backend registers its scheme(s) once, where it is defined::

    register_store("postgresql", PostgresStore.from_uri)

A builder receives the whole URI and returns an open :class:`TrackingStore`. Builders of
schemes whose module is not imported yet are found through :data:`LAZY_SCHEMES` (module
name per scheme), so the registry never imports a backend that is not used.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..exceptions import StoreError
from .base import TrackingStore
from .sqlite import SqliteStore

StoreBuilder = Callable[[str], TrackingStore]
"""Builds an open store from its URI."""

STORE_FILE = "tracking.db"
"""The SQLite file inside a workspace folder."""

_BUILDERS: dict[str, StoreBuilder] = {}

LAZY_SCHEMES: dict[str, str] = {
    "postgresql": "run_widgets.store.postgres",
    "postgres": "run_widgets.store.postgres",
}
"""Scheme → module that calls :func:`register_store` for it when imported."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def register_store(scheme: str, builder: StoreBuilder) -> None:
    """Make ``Workspace(store="<scheme>://...")`` open stores with ``builder``.

    Registering a scheme again replaces its builder (last one wins).
    """
    if not isinstance(scheme, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ValueError(f"A store scheme must look like 'postgresql', not {scheme!r}.")
    _BUILDERS[scheme.lower()] = builder


def registered_schemes() -> list[str]:
    """The URI schemes that open a store now (registered or importable on demand)."""
    return sorted(set(_BUILDERS) | set(LAZY_SCHEMES))


def scheme_of(uri: str) -> str | None:
    """The URI's scheme (``sqlite``, ``postgresql``...), or ``None`` for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else None


def normalize_uri(store: str | os.PathLike[str]) -> str:
    """The canonical URI of a store: ``sqlite:///abs/path.db`` for a folder or SQLite URI.

    Other schemes are returned as given. Two spellings of one SQLite file normalize alike,
    so they share one open store.
    """
    text = os.fspath(store)
    scheme = scheme_of(text)
    if scheme is None:
        folder = Path(text).expanduser().resolve()
        return f"sqlite://{folder / STORE_FILE}"
    if scheme == "sqlite":
        return f"sqlite://{sqlite_path(text)}"
    return text


def sqlite_path(uri: str) -> Path:
    """The file of a ``sqlite:///abs/path.db`` URI."""
    rest = uri[len("sqlite://") :]
    if not rest.startswith("/"):
        raise StoreError(
            f"SQLite store URI {uri!r} needs an absolute path: sqlite:///abs/path/tracking.db."
        )
    return Path("/" + rest.lstrip("/")).expanduser().resolve()


def open_store(uri: str | os.PathLike[str]) -> TrackingStore:
    """Open the store a URI names (see :func:`normalize_uri` for plain paths).

    Raises:
        StoreError: no backend handles the URI's scheme, or the backend cannot open it.
    """
    if scheme_of(os.fspath(uri)) is None:  # a workspace folder: created on first use
        Path(os.fspath(uri)).expanduser().mkdir(parents=True, exist_ok=True)
    canonical = normalize_uri(uri)
    scheme = scheme_of(canonical)
    assert scheme is not None
    builder = _BUILDERS.get(scheme)
    if builder is None and scheme in LAZY_SCHEMES:
        try:
            importlib.import_module(LAZY_SCHEMES[scheme])
        except ImportError as exc:
            raise StoreError(
                f"The {scheme!r} store backend is not available ({exc}). Install its extra,"
                " e.g. pip install 'run_widgets[postgres]'."
            ) from None
        builder = _BUILDERS.get(scheme)
    if builder is None:
        raise StoreError(
            f"No tracking-store backend for {redact(canonical)!r}: known schemes are "
            f"{', '.join(registered_schemes())}, or give a folder path."
        )
    return builder(canonical)


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages and reprs)."""
    if scheme_of(uri) is None:
        return uri
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _open_sqlite(uri: str) -> TrackingStore:
    return SqliteStore(sqlite_path(uri))


register_store("sqlite", _open_sqlite)
