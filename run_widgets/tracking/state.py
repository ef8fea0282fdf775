"""What one process knows about one run, shared by every ``Run`` object of it.

Two ``Run`` objects of the same run in one process (``Run(exp, id)`` twice, a child handle
and the one ``get_children()`` returns) share one :class:`RunState`: one point buffer, one
"this process runs it" flag, so points are never split between two buffers and an ended run
is ended for every handle.

Layer: tracking (kept in the runtime's per-process run table).
"""

from __future__ import annotations

from pathlib import Path

from ..runtime import RUNTIME
from ..store import TrackingStore
from .buffer import RunBuffer


class RunState:
    """What one process knows about one run.

    Attributes:
        buffer: the points logged in this process and not written yet.
        owned: this process runs the run (ends it at exit, answers its cancel requests).
        closed: this process ended the run; logging to it is refused.
        outputs_dir: the folder uploaded to the run's ``outputs/`` when it completes.
        kinds_loaded: the kinds of the run's stored metrics are known to ``buffer``.
    """

    def __init__(self, store: TrackingStore, run_id: str) -> None:
        self.store = store
        self.buffer = RunBuffer(run_id)
        self.owned = False
        self.closed = False
        self.outputs_dir: Path | None = None
        self.kinds_loaded = False


def state_for(store: TrackingStore, run_id: str) -> RunState:
    """The process-wide state of ``run_id`` in ``store`` (made on first use)."""
    state: RunState = RUNTIME.runs.state_for(store, run_id, lambda: RunState(store, run_id))
    return state
