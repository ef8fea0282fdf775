"""The one registry of extension points: :data:`REGISTRY`.

A layer that needs something defined above it asks the registry instead of importing it
(an import up the stack would be a circle); the layer that defines it registers it when it
is imported. What can be registered:

==========================  ================================================  ===========================
attribute                   maps                                              registered by
==========================  ================================================  ===========================
``run_types``               run type (``"hyperdrive"``) → ``Run`` subclass      ``sweep.parent``
``run_class``               the class of every other run type                 ``run``
``experiment_class``        the ``Experiment`` class                          ``experiment``
``context_provider``        the function behind ``Run.get_context()``          ``_context``
``environment_reader``      run definition → ``Environment``                  ``submit``
``model_registrar``         the function behind ``run.register_model``         ``registry``
``submitters``              config type → ``submit(experiment, config, ...)``  ``submit``, ``sweep``
``listings``                ``ws.<collection>`` → ``listing(ws)``              ``submit``, ``registry``, ``data``
``default_datastore``       the function behind ``ws.get_default_datastore()``  ``data``
``input_datasets``          the function behind ``run.input_datasets``         ``data``
``executors``               compute type → :class:`ExecutorEntry`             ``submit``, ``submit.dask``
``compute_types``           compute type → ``ComputeTarget`` subclass          ``submit.compute``
``view_kinds``              run type → the widget that extends its view        ``widgets``
``run_report``              the function behind ``run.get_portal_url()``      ``run_widgets``
``wait_finished``           hooks called when ``wait_for_completion`` ends    ``widgets``
``log_shown``               hooks: does a live view show this run's log?      ``widgets``
==========================  ================================================  ===========================

Store backends register their URI schemes in :mod:`run_widgets.store.registry` (the store
layer owns that table); :meth:`Registry.register_store` is the same call.

A value may be registered as a :class:`Lazy` reference (``module:attribute``), imported on
first use, so that a heavy module (a widget) loads only when it is needed. Every
registering module is imported by ``run_widgets/__init__.py`` (or lazily referenced from
it), so lookups never find a registry empty.

Layer: runtime (imports the store's scheme table only).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..store import register_store as _register_store

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Lazy:
    """A registered value named by ``module:attribute``, imported when first looked up."""

    module: str
    attribute: str

    def load(self) -> Any:
        """Import the module and return the attribute."""
        return getattr(importlib.import_module(self.module), self.attribute)


def _loaded(value: Any) -> Any:
    return value.load() if isinstance(value, Lazy) else value


class Slot(Generic[V]):
    """One extension of a kind (registering again replaces it)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._value: V | Lazy | None = None

    def register(self, value: V | Lazy) -> None:
        """Fill the slot."""
        self._value = value

    def get(self) -> V | None:
        """The registered value, or ``None``."""
        value: V | None = _loaded(self._value)
        return value

    def require(self) -> V:
        """The registered value.

        Raises:
            RuntimeError: nothing is registered (a module imported before its package).
        """
        value = self.get()
        if value is None:
            raise RuntimeError(
                f"No {self.what} is registered: import run_widgets (the package) before its "
                "modules."
            )
        return value


class Table(Generic[K, V]):
    """Extensions of a kind by key (registering a key again replaces its value)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._values: dict[K, V | Lazy] = {}

    def register(self, key: K, value: V | Lazy) -> None:
        """Register ``value`` under ``key``."""
        self._values[key] = value

    def get(self, key: K) -> V | None:
        """The value of ``key``, or ``None``."""
        value: V | None = _loaded(self._values.get(key))
        return value

    def keys(self) -> list[K]:
        """The registered keys, in registration order."""
        return list(self._values)

    def items(self) -> list[tuple[K, V]]:
        """``(key, value)`` pairs, in registration order (lazy values loaded)."""
        return [(key, _loaded(value)) for key, value in self._values.items()]


class Hooks(Generic[V]):
    """Callbacks of a kind, called in registration order."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._hooks: list[V] = []

    def add(self, hook: V) -> None:
        """Add ``hook`` (once)."""
        if hook not in self._hooks:
            self._hooks.append(hook)

    def all(self) -> list[V]:
        """Every hook."""
        return list(self._hooks)


@dataclass(frozen=True)
class ExecutorEntry:
    """How runs on targets of one compute type are executed.

    Attributes:
        factory: ``factory(workspace, compute)`` builds the target's ``RunExecutor``.
        detached: whether its runs need no watching process (``RunExecutor.detached``),
            known without building one.
    """

    factory: Callable[..., Any]
    detached: bool = True


class Registry:
    """Every extension point of run_widgets (one instance: :data:`REGISTRY`)."""

    def __init__(self) -> None:
        self.run_types: Table[str, type[Any]] = Table("run type")
        self.run_class: Slot[type[Any]] = Slot("run class")
        self.experiment_class: Slot[type[Any]] = Slot("experiment class")
        self.context_provider: Slot[Callable[..., Any]] = Slot("run context provider")
        self.environment_reader: Slot[Callable[[Any], Any]] = Slot("environment reader")
        self.model_registrar: Slot[Callable[..., Any]] = Slot("model registrar")
        self.submitters: Table[type, Callable[..., Any]] = Table("submit function")
        self.listings: Table[str, Callable[[Any], dict[str, Any]]] = Table("workspace listing")
        self.default_datastore: Slot[Callable[[Any], Any]] = Slot("default datastore getter")
        self.input_datasets: Slot[Callable[..., dict[str, Any]]] = Slot("input datasets reader")
        self.executors: Table[str, ExecutorEntry] = Table("executor")
        self.compute_types: Table[str, type[Any]] = Table("compute type")
        self.view_kinds: Table[str, Callable[..., Any]] = Table("view kind")
        self.run_report: Slot[Callable[[Any], Any]] = Slot("run report writer")
        self.wait_finished: Hooks[Callable[[str, str], None]] = Hooks("wait-finished hook")
        self.log_shown: Hooks[Callable[[str, str], bool]] = Hooks("log-shown hook")

    @staticmethod
    def register_store(scheme: str, builder: Callable[[str], Any]) -> None:
        """Open ``<scheme>://`` URIs with ``builder`` (see ``store.registry.register_store``)."""
        _register_store(scheme, builder)


REGISTRY = Registry()
