"""Reading a sweep's results: its primary metric, each child's best value, the ranking.

A child's "best metric" is the minimum (or maximum, for MAXIMIZE) of every value it
logged for the primary metric, as in v1's HyperDrive view; it comes from the metric's
stored summary, so ranking a thousand children reads no points.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..store import RunRecord, TrackingStore

MINIMIZE = "MINIMIZE"


def primary_metric_config(record: RunRecord) -> tuple[str, str]:
    """(metric name, goal) of a sweep parent."""
    sweep = record.definition.get("sweep") or {}
    config = sweep.get("primary_metric")
    if config is None and "primary_metric_config" in record.tags:
        config = json.loads(record.tags["primary_metric_config"] or "{}")
    config = config or {}
    return str(config.get("name", "")), str(config.get("goal", MINIMIZE)).upper()


def best_of(low: float | None, high: float | None, goal: str) -> float | None:
    """A child's best value from the stored min/max of its primary metric."""
    value = low if goal == MINIMIZE else high
    return None if value is None or not math.isfinite(value) else float(value)


def best_values(
    store: TrackingStore, children: Sequence[RunRecord], metric: str, goal: str
) -> dict[str, float]:
    """Best primary-metric value of every child that logged it."""
    values: dict[str, float] = {}
    for info in store.metric_infos(c.id for c in children):
        if info.name == metric:
            best = best_of(info.min_value, info.max_value, goal)
            if best is not None:
                values[info.run_id] = best
    return values


def ranked(values: Mapping[str, float], goal: str) -> list[str]:
    """Run ids from best to worst."""
    return sorted(values, key=lambda run_id: values[run_id], reverse=goal != MINIMIZE)


def best_value(
    store: TrackingStore, children: Sequence[RunRecord], metric: str, goal: str
) -> tuple[str, float] | None:
    """(run id, value) of the best child, or ``None`` if no child logged the metric."""
    values = best_values(store, children, metric, goal)
    order = ranked(values, goal)
    return (order[0], values[order[0]]) if order else None


def hyperparameters(record: RunRecord) -> dict[str, Any]:
    """The parameters a child ran with (from its v1 ``hyperparameters`` property)."""
    text = record.properties.get("hyperparameters")
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
