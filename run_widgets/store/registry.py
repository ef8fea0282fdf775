"""Choosing a tracking-store backend by URI: one registry object, ``scheme → builder``.

Built in (each backend package declares its schemes and builder, see
:class:`~run_widgets.store.base.StoreBackend`):

* ``sqlite:///abs/path/tracking.db`` (SQLAlchemy's ``sqlite:////abs/path`` works too): a
  SQLite file; its folder must exist;
* a plain folder path (``/data/tracking`` or ``~/tracking``): the SQLite store
  ``<folder>/tracking.db``, the folder created if missing;
* ``postgresql://user:password@host:5432/db``, also spelled ``postgres://`` and
  ``postgresql+psycopg://`` (needs the ``postgres`` extra).

:data:`STORES` (a :class:`StoreRegistry`, the idea of MLflow's ``TrackingStoreRegistry``)
knows every declared scheme from the start, so each URI form opens in a fresh process; a
backend's module (and its driver) is imported only when its first URI is opened. Another
backend is added in one of three ways:

* declare it: ``STORES.declare(StoreBackend("mydb", ("mydb",), "pkg.module:MyStore"))``;
* register a builder (any callable ``uri -> TrackingStore``) where it is defined:
  ``register_store("mydb", MyStore)`` (registering a scheme again replaces its builder);
* from another package, without importing anything: an entry point in the group
  ``run_widgets.store_backends`` whose name is the scheme and whose value is the builder
  (``mydb = "pkg.module:MyStore"`` in that package's ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..exceptions import StoreError
from . import postgres, sqlite
from .base import StoreBackend, TrackingStore
from .sqlite.uri import STORE_FILE, sqlite_path

__all__ = [
    "ENTRY_POINT_GROUP",
    "STORES",
    "STORE_FILE",
    "StoreBuilder",
    "StoreRegistry",
    "normalize_uri",
    "open_store",
    "redact",
    "register_store",
    "registered_schemes",
    "scheme_of",
    "sqlite_path",
    "with_files_relative_to",
]

StoreBuilder = Callable[[str], TrackingStore]
"""Builds an open store from its URI."""

ENTRY_POINT_GROUP = "run_widgets.store_backends"
"""Entry points of other packages' backends: name = URI scheme, value = the builder."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_VALID_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


class StoreRegistry:
    """URI schemes and the backends that open them.

    A scheme is *declared* (:meth:`declare`: the backend's module is imported on first
    use), *registered* (:meth:`register`: a builder at hand) or found among the installed
    packages' entry points (group :data:`ENTRY_POINT_GROUP`). A registered builder wins
    over a declaration of the same scheme.

    Args:
        backends: backends to declare now.
        entry_point_group: where other packages declare backends (``None``: nowhere).
    """

    def __init__(
        self,
        backends: Iterable[StoreBackend] = (),
        entry_point_group: str | None = ENTRY_POINT_GROUP,
    ) -> None:
        self._builders: dict[str, StoreBuilder] = {}
        self._declared: dict[str, StoreBackend] = {}
        self._entry_point_group = entry_point_group
        self._lock = threading.Lock()
        for backend in backends:
            self.declare(backend)

    def declare(self, backend: StoreBackend) -> None:
        """Open ``backend``'s schemes with its builder, imported when first needed."""
        for scheme in backend.schemes:
            self._declared[_checked(scheme)] = backend

    def register(self, scheme: str, builder: StoreBuilder) -> None:
        """Open ``scheme://`` URIs with ``builder`` (replacing any earlier one).

        Raises:
            ValueError: ``scheme`` is not a URI scheme.
        """
        self._builders[_checked(scheme)] = builder

    def backends(self) -> list[StoreBackend]:
        """The declared backends (and those of other packages' entry points), once each."""
        found: dict[str, StoreBackend] = {}
        for backend in [*self._declared.values(), *self._entry_points().values()]:
            found.setdefault(backend.builder, backend)
        return list(found.values())

    def schemes(self) -> list[str]:
        """Every scheme that opens a store now (registered, declared or an entry point)."""
        return sorted(set(self._builders) | set(self._declared) | set(self._entry_points()))

    def backend_for(self, scheme: str) -> StoreBackend | None:
        """The declaration (or entry point) that handles ``scheme``, if any."""
        scheme = scheme.lower()
        return self._declared.get(scheme) or self._entry_points().get(scheme)

    def builder_for(self, scheme: str) -> StoreBuilder | None:
        """The builder of ``scheme`` (importing its backend if needed), or ``None``.

        Raises:
            StoreError: the backend is declared but cannot be imported (its driver is
                missing).
        """
        scheme = scheme.lower()
        builder = self._builders.get(scheme)
        if builder is not None:
            return builder
        backend = self.backend_for(scheme)
        if backend is None:
            return None
        with self._lock:
            builder = self._builders.get(scheme) or _load(backend, scheme)
            self._builders[scheme] = builder
        return builder

    def open(self, uri: str | os.PathLike[str]) -> TrackingStore:
        """Open the store a URI (or a workspace folder) names.

        Raises:
            StoreError: no backend handles the URI's scheme, or the backend cannot open it.
        """
        if scheme_of(os.fspath(uri)) is None:  # a workspace folder: created on first use
            Path(os.fspath(uri)).expanduser().mkdir(parents=True, exist_ok=True)
        canonical = normalize_uri(uri)
        scheme = scheme_of(canonical)
        assert scheme is not None
        builder = self.builder_for(scheme)
        if builder is None:
            raise StoreError(
                f"No tracking-store backend for {redact(canonical)!r}: known schemes are "
                f"{', '.join(self.schemes())}, or give a folder path."
            )
        return builder(canonical)

    def _entry_points(self) -> dict[str, StoreBackend]:
        """Backends other installed packages declare as entry points, by scheme."""
        if self._entry_point_group is None:
            return {}
        # Imported here: importlib.metadata and the scan of every installed package are slow,
        # and only a scheme that no built-in backend declares (or the full list) needs them.
        from importlib.metadata import entry_points

        found: dict[str, StoreBackend] = {}
        for point in entry_points(group=self._entry_point_group):
            if _VALID_SCHEME.fullmatch(point.name):
                found[point.name.lower()] = StoreBackend(point.name, (point.name,), point.value)
        return found


def _checked(scheme: str) -> str:
    if not isinstance(scheme, str) or not _VALID_SCHEME.fullmatch(scheme):
        raise ValueError(f"A store scheme must look like 'postgresql', not {scheme!r}.")
    return scheme.lower()


def _load(backend: StoreBackend, scheme: str) -> StoreBuilder:
    """Import ``backend``'s builder (``module:attribute``)."""
    module_name, _, attribute = backend.builder.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = f"pip install 'run_widgets[{backend.extra}]'" if backend.extra else "install it"
        raise StoreError(
            f"The {scheme!r} store backend is not available ({exc}). Install its extra,"
            f" e.g. {extra}."
        ) from None
    builder: StoreBuilder = getattr(module, attribute)
    return builder


STORES = StoreRegistry([sqlite.BACKEND, postgres.BACKEND])
"""The process's store registry: every built-in backend declared."""


def register_store(scheme: str, builder: StoreBuilder) -> None:
    """Make ``Workspace(store="<scheme>://...")`` open stores with ``builder``.

    Registering a scheme again replaces its builder (last one wins).
    """
    STORES.register(scheme, builder)


def registered_schemes() -> list[str]:
    """The URI schemes that open a store now (registered or importable on demand)."""
    return STORES.schemes()


def open_store(uri: str | os.PathLike[str]) -> TrackingStore:
    """Open the store a URI names (see :func:`normalize_uri` for plain paths).

    Raises:
        StoreError: no backend handles the URI's scheme, or the backend cannot open it.
    """
    return STORES.open(uri)


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


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages and reprs).

    Both places a URI may hold one: ``user:password@`` and a ``password=`` (or
    ``sslpassword=``) query parameter.
    """
    if scheme_of(uri) is None:
        return uri
    parts = urlsplit(uri)
    query = postgres.uri.redact_query(parts.query)
    if parts.password is None:
        return uri if query == parts.query else urlunsplit(parts._replace(query=query))
    parts = parts._replace(query=query)
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def with_files_relative_to(uri: str, folder: Path) -> str:
    """A store URI whose relative file parameters (``sslrootcert=ca.crt``) are under ``folder``.

    For URIs read from a config file: its files are named relative to it. Other URIs (a
    folder, SQLite) are returned as given.
    """
    if scheme_of(uri) in postgres.SCHEMES:
        return postgres.uri.with_files_relative_to(uri, folder)
    return uri
