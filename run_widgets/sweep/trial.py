"""One trial of a function sweep, in a loky worker process or as a process of its own.

On a cluster each trial is a process of its own: ``python -m run_widgets.sweep.trial_process
WORKSPACE CHILD_RUN_ID`` (see ``trial_process``).

The worker takes the child run over (it becomes its owner, so a dead worker shows as
"process lost"), sends the trial's prints to the child's ``logs/driver_log.txt``, calls
``function(params, run)`` and ends the run: Completed, Failed with the exception, or left
Canceled when the sweep (or an early-termination policy) stopped it. A watcher thread
notices a cancel request within ``CANCEL_CHECK_S`` and ends the run Canceled at once;
the function learns it as a ``RunStateError`` from its next ``run.log``. On a target with
``max_nodes`` (``AmlCompute``) the trial stays Queued until one of its nodes is free.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any

from ..exceptions import RunStateError
from ..runtime import RUNTIME
from ..store import RunStatus
from ..store.description import WorkspaceDescription
from ..submit.slots import Slot, queue_order, wait_for_node
from ..tracking import lifecycle

DRIVER_LOG = "logs/driver_log.txt"
FUNCTION_FILE = "sweep/function.pkl"
CANCEL_CHECK_S = 0.25


def _watch_cancel(run: Any, done: threading.Event) -> None:
    """Until ``done``: end ``run`` Canceled as soon as someone requests its cancellation."""
    store = run.workspace.store
    try:
        while not done.wait(CANCEL_CHECK_S):
            record = store.get_run(run.id)
            if record is None or record.is_terminal:
                return
            if record.status == RunStatus.CANCEL_REQUESTED:
                run.cancel()  # the worker owns the run: Canceled now
                return
    except Exception:  # noqa: S110 - the flusher's heartbeat still delivers the request
        pass
    finally:
        store.release_thread_resources()


def _enter(cwd: str | None) -> None:
    """Work in the submitting notebook's directory, with it importable."""
    if not cwd or not os.path.isdir(cwd):
        return
    os.chdir(cwd)
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def run_trial(
    workspace_description: WorkspaceDescription,
    run_id: str,
    params: dict[str, Any],
    function_bytes: bytes,
    cwd: str | None = None,
) -> str:
    """Run one trial (in ``cwd`` if given); return the child's final status."""
    _enter(cwd)

    from ..workspace import Workspace

    workspace = Workspace.from_description(workspace_description)
    slot = _wait_for_node(workspace, run_id)
    try:
        return _run_trial(workspace, run_id, params, function_bytes)
    finally:
        if slot is not None:
            slot.release()


def _wait_for_node(workspace: Any, run_id: str) -> Slot | None:
    """The node slot of a limited target, held while the trial runs (None: no limit)."""
    store = workspace.store
    record = store.get_run(run_id)
    if record is None:
        return None

    def keep_waiting() -> bool:
        current = store.get_run(run_id)
        return current is not None and current.status == RunStatus.QUEUED

    order = queue_order(record.created_at, run_id)
    _, slot = wait_for_node(workspace.folder, record.definition.get("compute"), keep_waiting, order)
    return slot


def _run_trial(workspace: Any, run_id: str, params: dict[str, Any], function_bytes: bytes) -> str:
    import cloudpickle

    from ..experiment import Experiment
    from ..run import attach_run

    store = workspace.store
    owner = RUNTIME.flusher.owner_id(store)
    lifecycle.write(
        store, lifecycle.start_op(run_id, owner_id=owner, from_statuses=lifecycle.QUEUED)
    )
    record = store.get_run(run_id)
    if record is None:
        return "missing"
    experiment = Experiment(workspace, record.experiment_name)
    if record.status != RunStatus.RUNNING:  # cancelled before it started
        if record.status == RunStatus.CANCEL_REQUESTED:
            lifecycle.mark_ended(store, run_id, RunStatus.CANCELED, from_statuses=None)
        return str(record.status)
    run = attach_run(experiment, record, owned=True, executes=True)
    log_path = run.files_dir / DRIVER_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch_cancel, args=(run, done), name=f"run-widgets-cancel-{run_id}", daemon=True
    )
    watcher.start()
    with open(log_path, "a", buffering=1, encoding="utf-8") as log:
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                function = cloudpickle.loads(function_bytes)  # may import the notebook's modules
                function(params, run)
        except BaseException as error:
            if not (isinstance(error, RunStateError) and run.get_status() in RunStatus.TERMINAL):
                import traceback

                log.write(traceback.format_exc())
                run.fail(error)
            # else: cancelled, the run ended under the function (its next log raised)
        else:
            current = store.get_run(run_id)
            if current is not None and current.status == RunStatus.CANCEL_REQUESTED:
                run.cancel()  # stopped (e.g. early termination) just as it finished
            else:
                run.complete()
        finally:
            done.set()
    watcher.join()
    return run.get_status()
