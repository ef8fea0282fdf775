"""The local driver of one script run on a cluster target: ``python -m run_widgets.submit.remote WS RUN_ID``.

``experiment.submit`` starts it (in its own session, so the notebook kernel can restart)
when the run's target needs a watching process (a Dask cluster): it owns the run while it
waits Queued for a worker, hands it to the target's executor, withdraws it on a cancel
request before it started, and ends it Failed if the target loses it or goes away. Once a
worker's supervisor has taken the run over, that supervisor owns its status.

Layer: submit.
"""

from __future__ import annotations

import sys
import time

from ..exceptions import ComputeTargetException
from ..runtime import RUNTIME
from ..store import RunStatus
from ..tracking import lifecycle
from ..tracking.details import iso
from ..tracking.reaper import reap_run
from ..workspace import Workspace
from .executors import executor_for

POLL_S = 0.25


def log(message: str) -> None:
    """A line in the run's control log (this process's stdout)."""
    print(f"{iso(time.time())} {message}", flush=True)


def drive(workspace: Workspace, run_id: str) -> None:
    """Start the run on its target and watch it until it ends."""
    store = workspace.store
    record = store.get_run(run_id)
    if record is None:
        raise SystemExit(f"run {run_id} does not exist")
    try:
        executor = executor_for(workspace, record.definition.get("compute"))
    except ComputeTargetException as problem:  # e.g. the scheduler cannot be reached
        log(str(problem))
        lifecycle.mark_failed(store, run_id, str(problem), "ComputeTargetUnavailable")
        return
    try:
        log(f"submitting to compute target {executor.target!r}")
        executor.start(run_id)
        while True:
            current = store.get_run(run_id)
            if current is None:
                return
            current = reap_run(store, current)
            if current.is_terminal:
                log(f"run ended {current.status}")
                return
            if current.status == RunStatus.CANCEL_REQUESTED:
                executor.cancel(run_id)
            lost = executor.check()
            if lost is not None:
                log(lost)
                lifecycle.mark_failed(store, run_id, lost, "ComputeTargetLost")
            time.sleep(POLL_S)
    finally:
        executor.close()
        RUNTIME.flusher.flush()


def main(argv: list[str]) -> int:
    """Entry point: ``remote WORKSPACE RUN_ID``."""
    if len(argv) != 2:
        print("usage: python -m run_widgets.submit.remote WORKSPACE RUN_ID", file=sys.stderr)
        return 2
    drive(Workspace.for_child_process(argv[0]), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
