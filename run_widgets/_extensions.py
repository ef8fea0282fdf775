"""Extension points of the user API: registries filled by the modules that define them.

Lower layers look classes up here instead of importing modules above them (which made
an import cycle run ↔ experiment ↔ submit ↔ sweep ↔ workspace ↔ _context):

* run types: ``register_run_type("hyperdrive", HyperDriveRun)`` (``run.py`` registers the
  base ``Run``, ``sweep/parent.py`` the sweep parent), looked up by :func:`run_class`;
* the experiment class (``experiment.py``), used by ``Run.get`` and ``Workspace``;
* the provider of ``Run.get_context()`` (``_context.py``).

Every registering module is imported by ``run_widgets/__init__.py``, which Python runs
before any submodule, so lookups never find a registry empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .experiment import Experiment
    from .run import Run

T = TypeVar("T")

_run_types: dict[str, type[Run]] = {}
_default_run: list[type[Run]] = []
_experiment: list[type[Experiment]] = []
_context: list[Callable[..., Run]] = []


def register_run_type(run_type: str | None, cls: type[Run]) -> None:
    """Reopen runs of ``run_type`` as ``cls`` (``None``: the class of every other type)."""
    if run_type is None:
        _default_run[:] = [cls]
    else:
        _run_types[run_type] = cls


def run_class(run_type: str | None = None) -> type[Run]:
    """The class that reopens runs of ``run_type`` (v1's rehydration of e.g. sweeps)."""
    cls = _run_types.get(run_type) if run_type is not None else None
    if cls is not None:
        return cls
    return _only(_default_run, "run class")


def register_experiment_class(cls: type[Experiment]) -> None:
    """The class of experiments (there is one)."""
    _experiment[:] = [cls]


def experiment_class() -> type[Experiment]:
    """The registered experiment class."""
    return _only(_experiment, "experiment class")


def register_context_provider(provider: Callable[..., Run]) -> None:
    """The function behind ``Run.get_context(...)``."""
    _context[:] = [provider]


def get_context(**kwargs: Any) -> Run:
    """Call the registered ``Run.get_context`` provider."""
    return _only(_context, "run context provider")(**kwargs)


def _only(registered: list[T], what: str) -> T:
    if not registered:
        raise RuntimeError(
            f"No {what} is registered: import run_widgets (the package) before its modules."
        )
    return registered[0]
