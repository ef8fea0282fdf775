"""A run's status from its ``Run`` object: start, complete, fail, cancel, read, and ownership.

Every change is a :mod:`.lifecycle` operation. A run this process *owns* (it started it:
``start_logging``, ``child_run``, a sweep's trial) is ended by this process: at exit
(``complete`` on a clean exit, ``fail`` on an uncaught exception or SIGTERM) and when another
process asks to cancel it (the flusher's heartbeat finds the request).

The run of a submitted script, in that script's process, belongs to its supervisor
(:attr:`RunStatusControl.launcher_owned`): ``complete()`` only flushes, ``fail()`` records
the error for the supervisor to report, ``cancel()`` is refused with a warning (as in v1).

Layer: tracking.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Protocol

from ..exceptions import RunWidgetsWarning, StoreError
from ..runtime import RUNTIME
from ..runtime.exit_hooks import Terminated
from ..store import RunStatus, TrackingStore
from . import details as _details
from . import lifecycle
from .core import RunCore
from .files import SNAPSHOT_PROPERTY, RunFileOps

_now = time.time
SIGTERM_MESSAGE = (
    "The process received SIGTERM and stopped before the run completed; everything logged "
    "until then was saved."
)


class OwnedRun(Protocol):
    """What the exit and cancel hooks need of a run this process owns (a ``Run``)."""

    @property
    def id(self) -> str:
        """The run id."""

    @property
    def parent(self) -> OwnedRun | None:
        """The parent run, if any."""

    @property
    def status(self) -> str:
        """The status as last read."""

    def complete(self) -> None:
        """End the run Completed."""

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        """End the run Failed."""

    def cancel(self) -> None:
        """End the run Canceled (an owned run is Canceled at once)."""


class RunStatusControl:
    """Status changes and status reads of one ``Run`` object's run.

    Args:
        core: the run's shared parts.
        files: the run's files (outputs are uploaded when it ends, logs listed in details).
        launcher_owned: the run of a submitted script in its own process (see the module
            docstring).
    """

    def __init__(self, core: RunCore, files: RunFileOps, *, launcher_owned: bool = False) -> None:
        self._core = core
        self._files = files
        self.launcher_owned = launcher_owned

    # ----------------------------------------------------------------------- changes --
    def start(self) -> None:
        """Mark a NotStarted run Running."""
        self._core.write(lifecycle.start_op(self._core.id, at=_now()))

    def complete(self, _set_status: bool = True) -> None:
        """Flush, upload ``outputs/``, and mark the run Completed (no-op once ended)."""
        if self.launcher_owned:
            self._core.flush()  # the supervisor marks it Completed when the script exits
            return
        self.finish(RunStatus.COMPLETED, None)

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        """Mark the run Failed with an error (a message or an exception).

        Args:
            error_details: the error: a message or an exception (its type, message and
                traceback are kept).
            error_code: v1's error code, e.g. ``"BadData"``.

        Raises:
            TypeError: ``error_details`` is neither a str nor an exception.
        """
        error = _details.error_dict(error_details, error_code)
        if self.launcher_owned:  # the supervisor marks it Failed when the script exits
            self._core.flush()
            self._core.write(lifecycle.record_error_op(self._core.id, error))
            return
        self.finish(RunStatus.FAILED, error)

    def cancel(self) -> None:
        """Cancel the run.

        A run this process runs is Canceled at once; a run owned by another live process
        (a submitted script, a sweep, another notebook) gets CancelRequested, and its owner
        stops it and marks it Canceled.
        """
        if self.launcher_owned:
            warnings.warn(
                "cancel is not supported for submitted runs.", RunWidgetsWarning, stacklevel=2
            )
            return
        record = self._core.refresh()
        if record.is_terminal:
            return
        if self._core.state.owned or record.owner_id is None:
            self.finish(RunStatus.CANCELED, None)
            return
        self._core.write(lifecycle.request_cancel_op(self._core.id))

    def finish(self, status: str, error: dict[str, Any] | None) -> None:
        """End the run with ``status`` now: flush, upload outputs, write, stop logging."""
        core = self._core
        try:
            core.flush()
        except StoreError:
            raise  # transient: the points are kept; the run stays open for another try
        except Exception as exc:  # points the store refused were dropped (and reported)
            warnings.warn(
                f"Run {core.id}: some metric points could not be saved: {exc}",
                RunWidgetsWarning,
                stacklevel=3,
            )
        if core.state.outputs_dir is not None:
            self._files.upload_outputs(core.state.outputs_dir)
        core.write(lifecycle.end_op(core.id, status, error, at=_now()))
        compact_quietly(core.store, core.id)
        self._close_locally()

    def _close_locally(self) -> None:
        state = self._core.state
        state.closed = True
        RUNTIME.flusher.unwatch(state.buffer)
        with state.buffer.lock:
            state.buffer.scalars.clear()
        RUNTIME.runs.disown(self._core.store, self._core.id)

    def take_ownership(self, run: OwnedRun, outputs_dir: Path | None) -> None:
        """This process runs ``run``: end it at exit, answer its cancel requests."""
        state = self._core.state
        state.owned = True
        state.outputs_dir = outputs_dir
        RUNTIME.runs.own(self._core.store, self._core.id, run)
        RUNTIME.exit_hooks.register(close_owned_runs)
        RUNTIME.flusher.add_cancel_handler(cancel_owned)

    # ------------------------------------------------------------------------- reads --
    def get_status(self) -> str:
        """The current status, read from the store (a lost process shows as Failed)."""
        if self._core.record.is_terminal:
            return self._core.record.status  # terminal statuses are sticky: no read needed
        return self._core.refresh().status

    def get_detailed_status(self) -> dict[str, Any]:
        """``{"status": ..., "details": ...}`` as in v1."""
        record = self._core.refresh()
        text = _details.error_message(record.error) if record.error else None
        return {"status": record.status, "details": text}

    def get_details(self) -> dict[str, Any]:
        """Run details: ids, status, times, properties, tags, error, definition, log files."""
        record = self._core.refresh()
        files = self._core.files
        logs = {name: files.path_of(name).as_uri() for name in self._files.log_files()}
        return _details.details(record, logs, record.properties.get(SNAPSHOT_PROPERTY))

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with each log file's text instead of its location."""
        details = self.get_details()
        files = self._core.files
        details["logFiles"] = {
            name: files.path_of(name).read_text(encoding="utf-8", errors="replace")
            for name in details["logFiles"]
        }
        return details


def close_on_exit(run: OwnedRun, value: BaseException | None) -> None:
    """End ``run`` as a ``with run:`` block ends: Completed, or Failed with what stopped it."""
    if isinstance(value, Terminated):
        run.fail(SIGTERM_MESSAGE, error_code="ProcessTerminated")
    elif value is None or (isinstance(value, SystemExit) and not value.code):
        run.complete()
    else:
        run.fail(value)


def compact_quietly(store: TrackingStore, run_id: str) -> None:
    """Merge a run's small point chunks (an optimisation: a failure changes nothing)."""
    with contextlib.suppress(Exception):
        store.compact_run(run_id)


def close_owned_runs(reason: str, exc: BaseException | None) -> None:
    """Exit hook: end every run this process started and did not end."""
    for run in RUNTIME.runs.all_owned():
        try:
            if reason == "exit":
                run.complete()
            elif reason == "exception":
                run.fail(exc)
            elif _parent_cancelled(run):
                run.cancel()  # stopped because its parent was: an owned run ends Canceled
            else:
                run.fail(SIGTERM_MESSAGE, error_code="ProcessTerminated")
        except Exception as error:
            print(f"run_widgets: could not close run {run.id}: {error!r}", file=sys.stderr)
    try:
        RUNTIME.flusher.flush()
    except Exception as error:
        print(f"run_widgets: could not save the last metrics: {error!r}", file=sys.stderr)


def _parent_cancelled(run: OwnedRun) -> bool:
    """True if ``run``'s parent was cancelled (so SIGTERM is its cancellation reaching us)."""
    parent = run.parent
    return parent is not None and parent.status in (
        RunStatus.CANCEL_REQUESTED,
        RunStatus.CANCELED,
    )


def cancel_owned(store: TrackingStore, run_ids: list[str]) -> None:
    """Flusher hook: another process asked to cancel runs this process started."""
    for run_id in run_ids:
        run: OwnedRun | None = RUNTIME.runs.owned(store, run_id)
        if run is not None:
            run.cancel()
