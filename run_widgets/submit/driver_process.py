"""The process of a driver that runs a parent run to its end (a sweep, a pipeline).

``python -m run_widgets.sweep.driver WORKSPACE RUN_ID`` and its pipeline twin share this
entry point: argument check, a traceback on a crash, a failure written through
``lifecycle`` when the driver raises or is stopped, and the flusher drained on the way out.
Each line of the control log (the process's stdout) is timestamped by :func:`log`.
:class:`ParentRunDriver` is what both drivers do alike with the parent run they own.
"""

from __future__ import annotations

import faulthandler
import sys
import time
from collections.abc import Callable
from typing import Any

from ..experiment import Experiment
from ..run import attach_run
from ..runtime import RUNTIME
from ..runtime.exit_hooks import Terminated
from ..store import RunRecord, RunStatus
from ..tracking import lifecycle
from ..tracking.details import error_dict
from ..tracking.reaper import reap_lost
from ..workspace import Workspace

TERMINATE_WAIT_S = 3.0
"""How long a driver stopped by SIGTERM waits for the children it cancels to end."""


def log(message: str) -> None:
    """A line in the driver's control log (this process's stdout)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def driver_main(
    argv: list[str],
    module: str,
    build: Callable[[Workspace, str], Callable[[], None]],
    stopped_message: str,
    error_code: str,
) -> int:
    """Build the driver from ``argv`` (``WORKSPACE RUN_ID``) and run it; the exit code.

    ``build(workspace, run_id)`` returns the call that drives the run to its end. A drive
    that raises, or is stopped by SIGTERM (``stopped_message``), marks the run Failed with
    ``error_code`` and re-raises.
    """
    if len(argv) != 2:
        print(f"usage: python -m {module} WORKSPACE RUN_ID", file=sys.stderr)
        return 2
    faulthandler.enable()  # a crash leaves its traceback in the control log
    workspace = Workspace.for_child_process(argv[0])
    run_id = argv[1]
    drive = build(workspace, run_id)
    try:
        drive()
    except BaseException as problem:
        log(f"driver error: {problem!r}")
        message = stopped_message if isinstance(problem, Terminated) else repr(problem)
        lifecycle.mark_failed(workspace.store, run_id, message, error_code)
        raise
    finally:
        RUNTIME.flusher.flush()
    return 0


class ParentRunDriver:
    """What a driver does alike with the parent run it owns (a sweep's, a pipeline's).

    It takes the run over, watches it for a cancel request or an end written by another
    process (:attr:`cancel_reason`), lists its children (marking those whose process
    died Failed), and, when stopped by SIGTERM, cancels the children still running.

    Args:
        workspace: the workspace of the run (this process's handle on it).
        run_id: the parent run.
        kind: what the run is called in messages (``"sweep run"``, ``"pipeline run"``).

    Raises:
        SystemExit: there is no such run.
    """

    def __init__(self, workspace: Workspace, run_id: str, kind: str) -> None:
        self.workspace = workspace
        self.store = workspace.store
        self.kind = kind
        record = self.store.get_run(run_id)
        if record is None:
            raise SystemExit(f"{kind} {run_id} does not exist")
        self.parent_record = record
        """The parent's record as the driver found it (its definition says what to run)."""
        self.experiment = Experiment(workspace, record.experiment_name)
        self.parent = attach_run(self.experiment, record)
        self.cancel_reason: str | None = None
        """Why the driver stops launching and cancels the children; None while it goes on."""

    def adopt(self) -> bool:
        """Take the parent over (Queued → Running); False if it was cancelled before."""
        owner = RUNTIME.flusher.owner_id(self.store)
        lifecycle.write(
            self.store,
            lifecycle.start_op(self.parent.id, owner_id=owner, from_statuses=lifecycle.QUEUED),
        )
        record = self.store.get_run(self.parent.id)
        if record is not None and record.status == RunStatus.RUNNING:
            return True
        if record is not None and record.status == RunStatus.CANCEL_REQUESTED:
            lifecycle.cancel_unstarted(self.store, self.parent.id, owner)
        return False

    def check_parent(self) -> None:
        """Note a cancel request, or the parent ended by another process (stop working for it)."""
        if self.cancel_reason is not None:
            return
        parent = self.store.get_run(self.parent.id)
        if parent is None:
            return
        if parent.status == RunStatus.CANCEL_REQUESTED:
            self.cancel_reason = "cancel requested"
        elif parent.is_terminal:
            self.cancel_reason = f"the {self.kind} was ended {parent.status}"

    def cancel_requested(self) -> bool:
        """Whether the parent got a cancel request (read from the store now)."""
        record = self.store.get_run(self.parent.id)
        return record is not None and record.status == RunStatus.CANCEL_REQUESTED

    def children(self) -> list[RunRecord]:
        """The parent's children; those whose process died are marked Failed first."""
        return reap_lost(self.store, self.store.find_runs(parent_id=self.parent.id))

    def cancel_children(self, cancel: Callable[[str], None]) -> None:
        """Cancel (``cancel(run_id)``) every child still going, and let them end Canceled.

        What a driver stopped by SIGTERM does: the children must not outlive it.
        """
        for child in self.children():
            if not child.is_terminal:
                cancel(child.id)
        deadline = time.monotonic() + TERMINATE_WAIT_S
        while time.monotonic() < deadline and any(not c.is_terminal for c in self.children()):
            time.sleep(0.1)

    def ending(
        self, what: str, stopped_code: str, failure: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any] | None]:
        """The parent's final status and error.

        Canceled after a cancel request; Failed when the driver stopped for another
        reason (``The {what} stopped: …``, code ``stopped_code``) or with ``failure`` (the
        error the children's ends amount to, if any); else Completed.
        """
        if self.cancel_reason == "cancel requested":
            return RunStatus.CANCELED, None
        if self.cancel_reason is not None:
            message = f"The {what} stopped: {self.cancel_reason}."
            return RunStatus.FAILED, error_dict(message, stopped_code)
        if failure is not None:
            return RunStatus.FAILED, failure
        return RunStatus.COMPLETED, None
