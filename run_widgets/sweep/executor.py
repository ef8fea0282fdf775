"""How sweep children are started and stopped, behind one small interface.

The sweep driver only decides *which* parameters to try and *when* to stop a child; a
:class:`TrialExecutor` turns that into processes. ``ScriptExecutor`` submits the sweep's
script once per child (each with its own supervisor), ``FunctionExecutor`` calls a
notebook-defined function in a pool of loky worker processes, and ``ModuleFunctionExecutor``
runs each function trial as its own process on a compute target's executor (a Dask
cluster). Where scripts run is the compute target's ``RunExecutor`` (``submit.executors``);
nothing in the driver depends on it.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..run import SNAPSHOT_PROPERTY, Run, RunType, create_run
from ..store import RunStatus
from ..submit.executors import RunExecutor
from ..submit.launcher import workdir_of
from ..tracking import lifecycle
from .space import argument_name, display_name, hyperparameters_json
from .trial import run_trial

if TYPE_CHECKING:
    from ..experiment import Experiment

HYPERPARAMETERS = "hyperparameters"
TRIAL_MODULE = "run_widgets.sweep.trial_process"
ACTIVE = frozenset(RunStatus.ALL - RunStatus.TERMINAL)


MAX_RESUBMITS = 3
"""How often a trial caught unstarted in a broken worker pool is handed to a fresh one."""


def child_run_id(parent_id: str, index: int) -> str:
    """Children are numbered after their parent, as v1 did (``HD_..._0``)."""
    return f"{parent_id}_{index}"


def child_labels(params: Mapping[str, Any]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Tags (one per parameter) and properties (the v1 ``hyperparameters`` JSON) of a child."""
    tags: dict[str, str | None] = {display_name(k): str(v) for k, v in params.items()}
    return tags, {HYPERPARAMETERS: hyperparameters_json(params)}


def merged_arguments(base: list[str], params: Mapping[str, Any]) -> list[str]:
    """The script's arguments with each parameter set, e.g. ``--alpha 0.35``.

    A value the base arguments gave a parameter (``--alpha 1`` or ``--alpha=1``) is
    replaced.
    """
    flags = {argument_name(name) for name in params}
    result: list[str] = []
    skip = False
    for item in base:
        argument = str(item)
        if skip:
            skip = False
            continue
        if argument in flags:
            skip = True
            continue
        if argument.split("=", 1)[0] in flags and "=" in argument:
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

    def check(self) -> str | None:
        """Called on every driver round: end children whose trial was lost without a word.

        (A child whose owning process died is found by the driver itself; this is for
        trials an executor knows failed before any process took the child over.) Returns
        why the sweep cannot go on (its compute target went away), else ``None``.
        """
        return None

    def pause(self, seconds: float) -> None:
        """Wait up to ``seconds`` before the driver's next round (less if a child ends)."""
        time.sleep(seconds)

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the executor's resources once every child has ended."""


class ScriptExecutor(TrialExecutor):
    """Each child is a submitted script run with the parameters as arguments.

    Args:
        experiment: where the children go.
        definition: the sweep's script definition (``runDefinition`` of a script run).
        snapshot_id: the sweep's snapshot, shared by every child.
        max_workers: children running at once.
        runner: the compute target's executor that runs each child.
    """

    def __init__(
        self,
        experiment: Experiment,
        definition: Mapping[str, Any],
        snapshot_id: str,
        max_workers: int,
        runner: RunExecutor,
    ) -> None:
        self.experiment = experiment
        self.definition = dict(definition)
        self.snapshot_id = snapshot_id
        self.max_workers = max_workers
        self.runner = runner

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        """Create the child (Queued), unpack its working folder and start it on the target."""
        workspace = self.experiment.workspace
        run_id = child_run_id(parent.id, index)
        workdir = workdir_of(workspace.folder, run_id)
        workspace.artifacts.restore_snapshot(self.snapshot_id, workdir)
        tags, properties = child_labels(params)
        definition = {
            **self.definition,
            "arguments": merged_arguments(list(self.definition.get("arguments", [])), params),
        }
        run = create_run(
            self.experiment,
            run_id=run_id,
            status=RunStatus.QUEUED,
            run_type=RunType.SCRIPT,
            parent_id=parent.id,
            display_name=f"{self.definition.get('script') or 'trial'} #{index}",
            definition=definition,
            tags=tags,
            properties={**properties, SNAPSHOT_PROPERTY: self.snapshot_id},
            owned=False,
            record_owner=True,
        )
        self.runner.start(run.id)
        return run.id

    def cancel(self, experiment: Experiment, run_id: str) -> None:
        """Ask the child to stop; withdraw it from the target if it has not started."""
        super().cancel(experiment, run_id)
        self.runner.cancel(run_id)

    def check(self) -> str | None:
        """Whatever the target lost (see ``RunExecutor.check``)."""
        return self.runner.check()

    def pause(self, seconds: float) -> None:
        """Wait as the target's executor does (see ``RunExecutor.pause``)."""
        self.runner.pause(seconds)

    def close(self) -> None:
        """Release the target's executor."""
        self.runner.close()


class FunctionExecutor(TrialExecutor):
    """Each child calls ``function(params, run)`` in a loky worker process.

    The function travels as cloudpickle bytes, so functions defined in a notebook (and
    the data they close over) work without a script file. Trials run in ``cwd`` (the
    submitting notebook's directory), which is also put on ``sys.path`` so functions
    importing modules that sit next to the notebook work.
    """

    def __init__(
        self,
        experiment: Experiment,
        function_file: Path,
        max_workers: int,
        cwd: str | None = None,
        compute: Mapping[str, Any] | None = None,
    ) -> None:
        self.experiment = experiment
        self.compute = dict(compute) if compute else None
        self.function_bytes = function_file.read_bytes()
        self.max_workers = max_workers
        self.cwd = cwd
        self._pool = self._new_pool()
        self.futures: dict[str, Future[Any]] = {}
        self._calls: dict[str, tuple[Any, ...]] = {}
        self._resubmitted: dict[str, int] = {}

    def _new_pool(self) -> Any:
        import loky

        return loky.ProcessPoolExecutor(max_workers=self.max_workers)

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        """Create the child (Queued) and hand the call to a worker."""
        tags, properties = child_labels(params)
        run = create_run(
            self.experiment,
            run_id=child_run_id(parent.id, index),
            status=RunStatus.QUEUED,
            run_type=RunType.INTERACTIVE,
            parent_id=parent.id,
            display_name=f"trial #{index}",
            definition=function_definition(self.compute, params, self.cwd),
            tags=tags,
            properties=properties,
            owned=False,
            record_owner=True,
        )
        call_params = {display_name(k): v for k, v in params.items()}
        call = (
            run_trial,
            self.experiment.workspace.description(),
            run.id,
            call_params,
            self.function_bytes,
            self.cwd,
        )
        self._calls[run.id] = call
        self.futures[run.id] = self._submit(call)
        return run.id

    def _submit(self, call: tuple[Any, ...]) -> Future[Any]:
        try:
            future: Future[Any] = self._pool.submit(*call)
            return future
        except RuntimeError:
            # A worker died (segfault, os._exit, out of memory): loky broke the whole pool.
            # That trial failed; the sweep goes on with a fresh pool.
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool()
            retried: Future[Any] = self._pool.submit(*call)
            return retried

    def check(self) -> str | None:
        """Children whose call failed in loky itself (its worker died) end Failed.

        A child that never started (still Queued) was only caught in the broken pool, as
        when it was handed over between another trial's crash and loky noticing it: it
        goes to a fresh pool instead (a few times at most), since its own code never ran.
        """
        store = self.experiment.workspace.store
        for run_id, future in list(self.futures.items()):
            if not future.done():
                continue
            del self.futures[run_id]
            error = future.exception()
            if error is None:
                self._calls.pop(run_id, None)
                continue
            record = store.get_run(run_id)
            tries = self._resubmitted.get(run_id, 0)
            if record is not None and record.status == RunStatus.QUEUED and tries < MAX_RESUBMITS:
                self._resubmitted[run_id] = tries + 1
                self.futures[run_id] = self._submit(self._calls[run_id])
                continue
            self._calls.pop(run_id, None)
            lifecycle.mark_failed(
                store, run_id, f"The worker process running this trial ended: {error}", "TrialLost"
            )
        return None

    def close(self) -> None:
        """Stop the workers.

        Every child has ended by now; a worker still busy runs a cancelled trial whose
        function does not return (it never logs again), so it is killed, not awaited.
        """
        self._pool.shutdown(wait=False, kill_workers=True)


def function_definition(
    compute: Mapping[str, Any] | None, params: Mapping[str, Any], cwd: str | None
) -> dict[str, Any]:
    """The ``runDefinition`` of a function trial."""
    return {
        "target": str(compute["name"]) if compute else "local",
        "compute": dict(compute) if compute else None,
        "function": True,
        "parameters": dict(params),
        "cwd": cwd,
    }


class ModuleFunctionExecutor(TrialExecutor):
    """Each function trial is its own process (``python -m run_widgets.sweep.trial_process``).

    The compute target's executor decides where that process runs (a Dask worker); the
    trial reads its parameters from its run and the function from the sweep's files.
    """

    def __init__(
        self,
        experiment: Experiment,
        max_workers: int,
        runner: RunExecutor,
        cwd: str | None = None,
    ) -> None:
        self.experiment = experiment
        self.max_workers = max_workers
        self.runner = runner
        self.cwd = cwd

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        """Create the child (Queued) and start its trial process on the target."""
        tags, properties = child_labels(params)
        run = create_run(
            self.experiment,
            run_id=child_run_id(parent.id, index),
            status=RunStatus.QUEUED,
            run_type=RunType.INTERACTIVE,
            parent_id=parent.id,
            display_name=f"trial #{index}",
            definition=function_definition(self.runner.compute, params, self.cwd),
            tags=tags,
            properties=properties,
            owned=False,
            record_owner=True,
        )
        self.runner.start(run.id, TRIAL_MODULE)
        return run.id

    def cancel(self, experiment: Experiment, run_id: str) -> None:
        """Ask the child to stop; withdraw it from the target if it has not started."""
        super().cancel(experiment, run_id)
        self.runner.cancel(run_id)

    def check(self) -> str | None:
        """Whatever the target lost (see ``RunExecutor.check``)."""
        return self.runner.check()

    def pause(self, seconds: float) -> None:
        """Wait as the target's executor does (see ``RunExecutor.pause``)."""
        self.runner.pause(seconds)

    def close(self) -> None:
        """Release the target's executor."""
        self.runner.close()
