"""Helpers shared by the store tests (plain functions, not fixtures)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from run_widgets.store import AppendPoints, TrackingStore


def scalar_points(run_id: str, name: str, values: list[float], **kwargs: Any) -> AppendPoints:
    """An append of ``values`` to the scalar metric ``name``, timed now."""
    return AppendPoints(
        run_id=run_id,
        name=name,
        kind="scalar",
        values=np.asarray(values, dtype=np.float64),
        times=np.full(len(values), time.time()),
        **kwargs,
    )


def stored_values(store: TrackingStore, run_id: str) -> dict[str, list[Any]]:
    """Every metric's stored values, by name, in order."""
    return {
        info.name: np.concatenate(
            [c.values for c in store.read_chunks(run_id) if c.metric_id == info.id]
        ).tolist()
        for info in store.metric_infos([run_id])
    }
