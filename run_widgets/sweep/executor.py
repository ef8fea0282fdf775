"""How sweep children are started and stopped, behind one small interface.

The sweep driver only decides *which* parameters to try and *when* to stop a child; a
:class:`TrialExecutor` turns that into processes. ``ScriptExecutor`` submits the sweep's
script once per child (each with its own supervisor), ``FunctionExecutor`` calls a
notebook-defined function in a pool of loky worker processes. A distributed engine would be
a third implementation; nothing in the driver changes.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _snapshot
from ..run import SNAPSHOT_PROPERTY, Run, RunType
from ..store import RunStatus
from ..submit.launcher import hand_over, start_supervisor, workdir_of
from .space import argument_name, display_name, hyperparameters_json

if TYPE_CHECKING:
    from ..experiment import Experiment

HYPERPARAMETERS = "hyperparameters"


def child_run_id(parent_id: str, index: int) -> str:
    """Children are numbered after their parent, as v1 did (``HD_..._0``)."""
    return f"{parent_id}_{index}"


def child_labels(params: Mapping[str, Any]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Tags (one per parameter) and properties (the v1 ``hyperparameters`` JSON) of a child."""
    tags: dict[str, str | None] = {display_name(k): str(v) for k, v in params.items()}
    return tags, {HYPERPARAMETERS: hyperparameters_json(params)}


def merged_arguments(base: list[str], params: Mapping[str, Any]) -> list[str]:
    """The script's arguments with each parameter set, e.g. ``--alpha 0.35``.

    A value the base arguments gave a parameter is replaced.
    """
    flags = {argument_name(name) for name in params}
    result: list[str] = []
    skip = False
    for argument in base:
        if skip:
            skip = False
            continue
        if argument in flags:
            skip = True
            continue
        result.append(argument)
    for name, value in params.items():
        result += [argument_name(name), str(value)]
    return result


class TrialExecutor(abc.ABC):
    """Starts and stops the children ("trials") of one sweep."""

    max_workers: int

    @abc.abstractmethod
    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        """Start a child of ``parent`` with ``params``; return its run id at once."""

    def cancel(self, experiment: Experiment, run_id: str) -> None:
        """Ask a child to stop (its owner stops it and marks it Canceled)."""
        Run(experiment, run_id).cancel()

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the executor's resources once every child has ended."""


class ScriptExecutor(TrialExecutor):
    """Each child is a submitted script run with the parameters as arguments.

    Args:
        experiment: where the children go.
        definition: the sweep's script definition (``runDefinition`` of a script run).
        snapshot_id: the sweep's snapshot, shared by every child.
        max_workers: children running at once.
    """

    def __init__(
        self,
        experiment: Experiment,
        definition: Mapping[str, Any],
        snapshot_id: str,
        max_workers: int,
    ) -> None:
        self.experiment = experiment
        self.definition = dict(definition)
        self.snapshot_id = snapshot_id
        self.max_workers = max_workers

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        """Create the child (Queued), unpack its working folder and start its supervisor."""
        workspace = self.experiment.workspace
        run_id = child_run_id(parent.id, index)
        zip_path = workspace.snapshots_dir / f"{self.snapshot_id}.zip"
        workdir = workdir_of(workspace.location, run_id)
        _snapshot.restore(zip_path, workdir)
        tags, properties = child_labels(params)
        definition = {
            **self.definition,
            "arguments": merged_arguments(list(self.definition.get("arguments", [])), params),
        }
        run = Run._create(
            self.experiment,
            run_id=run_id,
            status=RunStatus.QUEUED,
            run_type=RunType.SCRIPT,
            parent=parent,
            display_name=f"{self.definition.get('script') or 'trial'} #{index}",
            definition=definition,
            tags=tags,
            properties={**properties, SNAPSHOT_PROPERTY: self.snapshot_id},
            owned=False,
            record_owner=True,
        )
        pid = start_supervisor(workspace.location, run.id, run.files_dir, workdir)
        hand_over(workspace.store, run.id, pid)
        return run.id


class FunctionExecutor(TrialExecutor):
    """Each child calls ``function(params, run)`` in a loky worker process.

    The function travels as cloudpickle bytes, so functions defined in a notebook (and
    the data they close over) work without a script file.
    """

    def __init__(self, experiment: Experiment, function_file: Path, max_workers: int) -> None:
        import loky

        self.experiment = experiment
        self.function_bytes = function_file.read_bytes()
        self.max_workers = max_workers
        self._pool = loky.ProcessPoolExecutor(max_workers=max_workers)
        self.futures: dict[str, Future[Any]] = {}

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        """Create the child (Queued) and hand the call to a worker."""
        from .trial import run_trial

        tags, properties = child_labels(params)
        run = Run._create(
            self.experiment,
            run_id=child_run_id(parent.id, index),
            status=RunStatus.QUEUED,
            run_type=RunType.INTERACTIVE,
            parent=parent,
            display_name=f"trial #{index}",
            definition={"target": "local", "function": True, "parameters": dict(params)},
            tags=tags,
            properties=properties,
            owned=False,
            record_owner=True,
        )
        call_params = {display_name(k): v for k, v in params.items()}
        self.futures[run.id] = self._pool.submit(
            run_trial,
            str(self.experiment.workspace.location),
            run.id,
            call_params,
            self.function_bytes,
        )
        return run.id

    def close(self) -> None:
        """Wait for the workers to finish and stop them."""
        self._pool.shutdown(wait=True)
