"""Executors: how the runs of a compute target are started, behind one interface.

An executor is chosen by the type of the run's compute target through a registry
(``register_executor``), so new kinds of compute plug in without the layers above
knowing them: the local process executor (``launcher``) serves plain local runs and
``AmlCompute``; the Dask executor (``submit.dask``) runs on a Dask cluster.

Every executor runs a *run module* for a Queued run: ``python -m <module> WORKSPACE
RUN_ID``, a process that takes the run over and drives it to its end (the script
supervisor, or a sweep's function trial). Where that process runs is the executor's
business.

Layer: submit (executors are kept in ``runtime.REGISTRY.executors``).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import ComputeTargetException
from ..runtime import REGISTRY
from ..runtime.registry import ExecutorEntry
from ..workspace import Workspace

SCRIPT_MODULE = "run_widgets.submit.supervisor"
LOCAL_TYPE = "local"


class RunExecutor(abc.ABC):
    """Starts Queued runs on one compute target and watches what only it can see.

    Args:
        workspace: the workspace of the runs.
        compute: the target's definition, or ``None`` for plain local runs.
    """

    #: True when ``start`` leaves nothing to watch in the calling process (the started
    #: process owns the run); False when the caller must keep the executor alive, call
    #: ``check`` regularly and ``close`` it (e.g. it holds a cluster client).
    detached: bool = True

    def __init__(self, workspace: Workspace, compute: Mapping[str, Any] | None) -> None:
        self.workspace = workspace
        self.compute = dict(compute) if compute is not None else None

    @property
    def target(self) -> str:
        """The target's name (``local`` for plain local runs)."""
        return str(self.compute["name"]) if self.compute else LOCAL_TYPE

    @abc.abstractmethod
    def start(self, run_id: str, module: str = SCRIPT_MODULE) -> None:
        """Have ``python -m module WORKSPACE run_id`` executed for the Queued run."""

    def cancel(self, run_id: str) -> None:  # noqa: B027 - optional hook
        """Withdraw a run that has not started yet (a started one obeys CancelRequested)."""

    def check(self) -> str | None:
        """End the runs the target lost without a word; a reason if the target is gone."""
        return None

    def pause(self, seconds: float) -> None:
        """Wait up to ``seconds`` between two rounds of the caller's watch loop.

        An executor that hears of its runs' ends (a cluster's task callbacks) returns as
        soon as one ends, so the caller starts the next run without a polling delay.
        """
        time.sleep(seconds)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the executor's resources (connections, clients)."""


ExecutorFactory = Callable[[Workspace, "Mapping[str, Any] | None"], RunExecutor]


def register_executor(type_name: str, factory: ExecutorFactory, *, detached: bool = True) -> None:
    """Make ``factory(workspace, compute)`` the executor of targets of ``type_name``.

    ``detached`` tells, without building one, whether its executors are detached (see
    ``RunExecutor.detached``).
    """
    REGISTRY.executors.register(type_name.lower(), ExecutorEntry(factory, detached))


def is_detached(compute: Mapping[str, Any] | None) -> bool:
    """Whether runs on this target need no watching process (see ``RunExecutor.detached``)."""
    type_name = str(compute.get("type", "")) if compute else LOCAL_TYPE
    entry = REGISTRY.executors.get(type_name.lower())
    return entry.detached if entry is not None else True


def executor_for(workspace: Workspace, compute: Mapping[str, Any] | None) -> RunExecutor:
    """The executor of a run's compute target definition (``None``: plain local).

    Raises:
        ComputeTargetException: no executor for that type is registered.
    """
    type_name = str(compute.get("type", "")) if compute else LOCAL_TYPE
    entry = REGISTRY.executors.get(type_name.lower())
    if entry is None:
        raise ComputeTargetException(f"No executor can run compute targets of type {type_name!r}.")
    executor: RunExecutor = entry.factory(workspace, compute)
    return executor
