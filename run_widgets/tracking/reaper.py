"""Ending the runs whose process died: liveness judged by the runtime, written by lifecycle.

Whoever needs a run's honest status asks the reaper before trusting an active record: the
``Run`` façade (``get_status()``, ``get_children()``, ``experiment.get_runs()``), the views'
pollers (through :class:`StoreReaper`, never through their readers, which only read), the
sweep driver and the local drivers of cluster runs. The reaper asks
:func:`run_widgets.runtime.liveness.dead_owners` which owners are gone (one owner lookup
per distinct owner, not per run) and writes :func:`run_widgets.tracking.lifecycle.lost_ops`
for their runs: Failed ("process lost"), or Queued again for a new attempt where the
compute target allows retries. The writes are conditional on the owner that was judged, so
two reapers racing, or a late final status from a live process, never conflict. A reader
whose database role may not change the run (a viewer; on the team store, a writer before
the server too judges the owner lost) leaves it as it is: a reader of the run's own role,
or a later poll, ends it.

Layer: tracking (imports the runtime's liveness and ``tracking.lifecycle``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..exceptions import StorePermissionError
from ..runtime import liveness
from ..store import RunRecord, TrackingStore
from . import lifecycle


def reap_lost(store: TrackingStore, runs: Sequence[RunRecord]) -> list[RunRecord]:
    """End the active ``runs`` whose owner died; ``runs`` with fresh records for those."""
    candidates = [r for r in runs if r.status in lifecycle.ACTIVE and r.owner_id is not None]
    if not candidates:
        return list(runs)
    dead = liveness.dead_owners(store, {r.owner_id for r in candidates if r.owner_id is not None})
    updated: dict[str, RunRecord] = {}
    for run in candidates:
        owner = dead.get(run.owner_id) if run.owner_id is not None else None
        if owner is None:
            continue
        if not _mark_lost(store, run, liveness.lost_message(owner), owner.id):
            continue
        fresh = store.get_run(run.id)
        if fresh is not None:
            updated[run.id] = fresh
    return [updated.get(r.id, r) for r in runs]


def reap_run(store: TrackingStore, record: RunRecord) -> RunRecord:
    """One run: its record, Failed (or requeued) first if its owner died while active."""
    return record if record.is_terminal else reap_lost(store, [record])[0]


class StoreReaper:
    """The liveness check a view's poller runs against a tracking store.

    Args:
        store: the store holding the runs.
    """

    def __init__(self, store: TrackingStore) -> None:
        self.store = store

    def reap_records(self, records: Sequence[RunRecord]) -> list[RunRecord]:
        """``records``, those of active runs whose owner died ended first (fresh records)."""
        return reap_lost(self.store, records) if records else list(records)

    def reap(self, active: Mapping[str, int | None]) -> bool:
        """End the runs (id → owner id) whose owner died; True if any was ended.

        Costs one owner lookup per distinct owner, not per run.
        """
        owners = {owner for owner in active.values() if owner is not None}
        if not owners:
            return False
        dead = liveness.dead_owners(self.store, owners)
        ended = False
        for run_id, owner_id in active.items():
            owner = dead.get(owner_id) if owner_id is not None else None
            if owner is None:
                continue
            record = self.store.get_run(run_id)
            if record is not None and record.status in lifecycle.ACTIVE:
                ended = (
                    _mark_lost(self.store, record, liveness.lost_message(owner), owner.id) or ended
                )
        return ended


def _mark_lost(store: TrackingStore, record: RunRecord, message: str, owner_id: int) -> bool:
    """Write the run's loss; False if this client's role may not change the run."""
    try:
        lifecycle.mark_lost(store, record, message, only_if_owner=owner_id)
    except StorePermissionError:
        return False
    return True
