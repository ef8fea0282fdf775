"""One trial of a function sweep, executed inside a loky worker process.

The worker takes the child run over (it becomes its owner, so a dead worker shows as
"process lost"), sends the trial's prints to the child's ``logs/driver_log.txt``, calls
``function(params, run)`` and ends the run: Completed, Failed with the exception, or left
Canceled when the sweep (or an early-termination policy) stopped it — cancellation reaches
the function as a ``RunStateError`` from its next ``run.log``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from .._flusher import FLUSHER
from ..exceptions import RunStateError
from ..store import RunStatus, UpdateRun

DRIVER_LOG = "logs/driver_log.txt"


def run_trial(
    workspace_location: str, run_id: str, params: dict[str, Any], function_bytes: bytes
) -> str:
    """Run one trial; return the child's final status."""
    import cloudpickle

    from ..experiment import Experiment
    from ..run import Run
    from ..workspace import Workspace

    workspace = Workspace(workspace_location)
    store = workspace.store
    store.write(
        [
            UpdateRun(
                run_id,
                status=RunStatus.RUNNING,
                start_time=time.time(),
                owner_id=FLUSHER.owner_id(store),
                only_if_status=frozenset({RunStatus.QUEUED}),
            )
        ]
    )
    record = store.get_run(run_id)
    if record is None:
        return "missing"
    experiment = Experiment(workspace, record.experiment_name)
    if record.status != RunStatus.RUNNING:  # cancelled before it started
        if record.status == RunStatus.CANCEL_REQUESTED:
            store.write([UpdateRun(run_id, status=RunStatus.CANCELED, end_time=time.time())])
        return record.status
    run = Run._attach(experiment, record, owned=True)
    function = cloudpickle.loads(function_bytes)
    log_path = run.files_dir / DRIVER_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", buffering=1, encoding="utf-8") as log:
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                function(params, run)
        except RunStateError:
            if run.get_status() not in RunStatus.TERMINAL:
                raise
        except BaseException as error:
            import traceback

            log.write(traceback.format_exc())
            run.fail(error)
        else:
            run.complete()
    return run.get_status()
