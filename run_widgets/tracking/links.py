"""The run's methods that reach layers above it through the registry.

``Run.get_context`` (the provider in ``run_widgets._context``), ``Run.list`` and
``submit_child`` (the experiment), ``register_model`` (the model registry),
``get_environment`` (the submit layer's ``Environment``) and ``get_portal_url`` (the views'
HTML report) are functions of the run object (or class); ``Run`` takes them as its methods
(``register_model = links.register_model``), so the run's layer never imports the layers
that implement them (see ``run_widgets.runtime.registry``).

Layer: tracking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..exceptions import UserErrorException
from ..runtime import REGISTRY
from ..store import TagFilter

RunT = TypeVar("RunT")


class LinkedRun(Protocol):
    """What these functions need of a run (a ``Run``)."""

    @property
    def id(self) -> str:
        """The run id."""

    @property
    def experiment(self) -> Any:
        """The run's experiment."""

    def flush(self, timeout_seconds: float = 300) -> None:
        """Write this process's pending points of the run."""

    def get_details(self) -> dict[str, Any]:
        """The run's details (read now)."""


def get_context(
    run_class: type[RunT], /, allow_offline: bool = True, offline: bool = False, **kwargs: Any
) -> RunT:
    """``run_class.get_context(...)``: the run the registered context provider gives."""
    run: RunT = REGISTRY.context_provider.require()(allow_offline=allow_offline, offline=offline)
    return run


def list_runs(
    experiment: Any,
    type: str | None = None,
    tags: TagFilter = None,
    properties: TagFilter = None,
    status: str | None = None,
    include_children: bool = False,
    **kwargs: Any,
) -> Iterator[Any]:
    """Runs of an experiment, newest first (top-level only unless ``include_children``)."""
    runs: Iterator[Any] = experiment.get_runs(
        type=type,
        tags=tags,
        properties=properties,
        status=status,
        include_children=include_children,
    )
    return runs


def submit_child(
    run: LinkedRun, config: Any, tags: Mapping[str, Any] | None = None, **kwargs: Any
) -> Any:
    """Submit a script run (or a sweep) as a child of this run."""
    return run.experiment.submit(config, tags=tags, _parent_run=run, **kwargs)


def register_model(
    run: LinkedRun,
    model_name: str,
    model_path: str | None = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    model_framework: str | None = None,
    model_framework_version: str | None = None,
    description: str | None = None,
    **_v1: Any,
) -> Any:
    """Register one of the run's files or folders as a model version (v1).

    Args:
        model_name: the model's name; each registration adds version 1, 2, …
        model_path: the file or folder among the run's files (``get_file_names()``),
            e.g. ``"outputs/model.pkl"`` or ``"outputs"``; default: ``model_name``.
        tags: stored with the model version.
        properties: stored with the model version.
        model_framework: kept as the property ``modelFramework``.
        model_framework_version: kept as the property ``modelFrameworkVersion``.
        description: stored with the model version.

    Returns:
        The ``Model``, whose ``run_id`` is this run's id.
    """
    registrar = REGISTRY.model_registrar.get()
    if registrar is None:
        raise UserErrorException("The model registry is not loaded (import run_widgets).")
    labels = dict(properties or {})
    if model_framework is not None:
        labels["modelFramework"] = str(model_framework)
    if model_framework_version is not None:
        labels["modelFrameworkVersion"] = str(model_framework_version)
    run.flush()
    return registrar(run, model_name, model_path, tags, labels, description)


def get_environment(run: LinkedRun) -> Any:
    """The ``Environment`` the run was submitted with (v1 ``run.get_environment()``).

    Returns:
        The ``Environment``.

    Raises:
        UserErrorException: the run was not submitted with an environment (runs
            started in a notebook with ``start_logging`` have none).
    """
    described = run.get_details()["runDefinition"].get("environment")
    reader = REGISTRY.environment_reader.get()
    if not described or reader is None:
        raise UserErrorException(
            f"Run {run.id} has no environment: only submitted script runs have one."
        )
    return reader(described)


def get_portal_url(run: LinkedRun) -> str:
    """A ``file://`` URL of a self-contained HTML report of the run, written now."""
    path: Path = REGISTRY.run_report.require()(run)
    return path.as_uri()


def input_datasets(run: LinkedRun) -> dict[str, Any]:
    """The run's named data inputs (v1 ``run.input_datasets``).

    Inside a submitted job, a mounted or downloaded input is its local path (a str) and a
    direct one the dataset; elsewhere every input is its dataset. Empty when the run has
    no data inputs.
    """
    reader = REGISTRY.input_datasets.get()
    return reader(run) if reader is not None else {}
