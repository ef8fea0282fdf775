"""The liveness check a view's poll runs: its readers only read.

A tracker or experiment model asks its :class:`LivenessCheck`, before it reads, to end the
active runs whose process died, so that "a run whose process died becomes Failed within a
couple of polls". For a workspace that is the store's reaper
(:class:`~run_widgets.tracking.reaper.StoreReaper`, which writes through
``tracking.lifecycle``); a source without process liveness (MLflow) has none.

Layer: views (imports ``tracking.reaper``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from ..store import RunRecord, TrackingStore
from ..tracking.reaper import StoreReaper


class LivenessCheck(Protocol):
    """Ends the runs whose process died (a ``StoreReaper``)."""

    def reap(self, active: Mapping[str, int | None]) -> bool:
        """End the runs (id → owner id) whose owner died; True if any was ended."""

    def reap_records(self, records: Sequence[RunRecord]) -> list[RunRecord]:
        """``records``, those of active runs whose owner died ended first (fresh records)."""


def liveness_for(reader: object) -> LivenessCheck | None:
    """The liveness check of a reader's source: its store's reaper, or ``None``."""
    store = getattr(reader, "store", None)
    return StoreReaper(store) if isinstance(store, TrackingStore) else None
