"""What the parts of one ``Run`` object share: the run's store, record, state and files.

Each part of a run (:mod:`.logger`, :mod:`.labels`, :mod:`.files`, :mod:`.metrics`,
:mod:`.children`, :mod:`.status`) holds the same :class:`RunCore`, so a record one part
reads is the record every part sees, and every write goes through :meth:`RunCore.write`
(stamped with the attempt this process executes, then re-read).

Layer: tracking.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..exceptions import RunNotFoundError, RunStateError, RunWidgetsWarning, UserErrorException
from ..runtime import RUNTIME, attempts
from ..store import RunRecord, TrackingStore
from ..store.artifacts import ArtifactStore
from ..store.entities import WriteOp
from .reaper import reap_run
from .state import RunState, state_for


def find_record(
    store: TrackingStore, run_id: Any, where: str, experiment_name: str | None = None
) -> RunRecord:
    """The record of ``run_id`` (of ``experiment_name`` if given) in the store at ``where``.

    Raises:
        UserErrorException: ``run_id`` is not a non-empty str.
        RunNotFoundError: no such run (the message names the experiment it belongs to).
    """
    if not isinstance(run_id, str) or not run_id:
        raise UserErrorException(f"run_id must be a non-empty str, got {run_id!r}.")
    record = store.get_run(run_id)
    if record is not None and experiment_name in (None, record.experiment_name):
        return record
    scope = "" if experiment_name is None else f"experiment {experiment_name!r}"
    if record is not None:
        scope += f" (it belongs to experiment {record.experiment_name!r})"
    scope += " of workspace" if scope else "workspace"
    raise RunNotFoundError(f"No run with id {run_id!r} in {scope} {where}.")


class RunCore:
    """One ``Run`` object's hold on its run.

    Args:
        store: the tracking store holding the run.
        artifacts: the artifact store holding its files.
        record: the run as last read.
    """

    def __init__(self, store: TrackingStore, artifacts: ArtifactStore, record: RunRecord) -> None:
        self.store = store
        self.artifacts = artifacts
        self.record = record
        self.state: RunState = state_for(store, record.id)
        self.files = artifacts.files(record.id)

    @property
    def id(self) -> str:
        """The run id."""
        return self.record.id

    def write(self, *ops: WriteOp) -> None:
        """Write ``ops`` in one transaction (stamped with this process's attempt), re-read."""
        self.store.write(attempts.stamped(ops, self.state.buffer.attempt))
        self.refresh(reap=False)

    def refresh(self, reap: bool = True) -> RunRecord:
        """Read the run again; with ``reap``, a run whose process died reads as Failed.

        Raises:
            RunNotFoundError: the run was deleted.
        """
        record = self.store.get_run(self.id)
        if record is None:
            raise RunNotFoundError(f"The run {self.id} no longer exists.")
        self.record = reap_run(self.store, record) if reap else record
        return self.record

    def flush(self) -> None:
        """Write every point this process logged to the run (see ``Run.flush``)."""
        RUNTIME.flusher.flush([self.state.buffer])

    def execute_attempt(self) -> None:
        """This process executes the run's current attempt: stamp what it writes with it.

        Only runs whose compute target may retry them are fenced (see
        ``runtime.attempts.execution_attempt``).
        """
        self.state.buffer.attempt = attempts.execution_attempt(self.record)

    def check_open(self, call: str) -> None:
        """Refuse ``call`` on a run that ended.

        Raises:
            RunStateError: the run is Completed, Failed or Canceled.
        """
        if self.state.closed or self.record.is_terminal:
            raise RunStateError(
                f"Run {self.id} is {self.record.status}; {call} needs an active run. "
                "Start a new run (experiment.start_logging()) or a child run."
            )

    def replaced_by_retry(self, what: str, stacklevel: int = 3) -> bool:
        """True (with a warning) in a job whose attempt a retry has replaced.

        ``stacklevel`` points the warning at the user's call (3: the caller's caller).

        Such a process (a machine cut off from its cluster) still runs, but the run is its
        retry's now: its points, tags and properties are dropped by the store (see
        :meth:`execute_attempt`), and its files (uploads, images, JSON metrics) are not
        written, so a file name the retry writes too is not taken by the lost attempt first.
        """
        attempt = self.state.buffer.attempt
        if attempt is None:
            return False
        record = self.refresh(reap=False)
        current = attempts.replaced_by(attempt, record)
        if current is None:
            return False
        warnings.warn(
            f"Attempt {attempt} of run {self.id} was replaced by attempt {current} (its "
            f"machine was declared lost); {what} from this process is ignored.",
            RunWidgetsWarning,
            stacklevel=stacklevel,
        )
        return True
