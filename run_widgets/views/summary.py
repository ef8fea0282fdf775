"""Summary values of a scalar metric for run tables: last, min, max, or best by its goal.

Both tables (ExperimentDetails' run table, RunDetails' child table) show one of these per
metric column, chosen in the view. They come from the metric header the store keeps beside
a metric's points (``MetricInfo.last_value``, ``min_value``, ``max_value``), never from
the points themselves, so a table of 10,000 runs costs what one page of headers costs.

"Best" is the minimum or maximum by the metric's goal: the goal given for it (the view's
``goal`` for its ``metric``, a sweep's primary-metric goal), else one read from its name
(``accuracy``, ``f1``, ``auc``, ``score``, ``precision``, ``recall``, ``r2``, ``reward`` …
are maximized; everything else, losses and errors, minimized).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

STATS = ("last", "min", "max", "best")
STAT_TITLES = {"last": "last", "min": "min", "max": "max", "best": "best"}
MINIMIZE = "minimize"
MAXIMIZE = "maximize"
MAXIMIZED_WORDS = (
    "acc", "accuracy", "auc", "auroc", "ap", "map", "f1", "fbeta", "precision", "recall",
    "r2", "score", "iou", "miou", "dice", "bleu", "rouge", "reward", "return", "ndcg",
    "top1", "top5", "sharpe", "specificity", "sensitivity",
)  # fmt: skip


def check_stat(stat: str) -> str:
    """Return ``stat`` if it is one of ``STATS``.

    Raises:
        ValueError: another value.
    """
    if stat not in STATS:
        raise ValueError(f"The summary shown must be one of {', '.join(STATS)}; got {stat!r}.")
    return stat


def guessed_goal(metric: str) -> str:
    """``"maximize"`` for names of scores (accuracy, f1, auc …), else ``"minimize"``."""
    words = [w for w in re.split(r"[^a-z0-9]+", metric.lower()) if w]
    if any(w in MAXIMIZED_WORDS or w.startswith(("acc", "precision", "recall")) for w in words):
        return MAXIMIZE
    return MINIMIZE


def goal_of(metric: str, goals: Mapping[str, str]) -> str:
    """The goal of ``metric``: the one given in ``goals`` (any case), else guessed."""
    given = goals.get(metric)
    return given.lower() if given else guessed_goal(metric)


def number(value: Any) -> float | None:
    """``value`` as a finite-or-not float if it is a (non-bool) number, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def stat_value(last: Any, low: Any, high: Any, stat: str, goal: str = MINIMIZE) -> float | None:
    """One summary value from a metric header's last, min and max (``None``: no number)."""
    if stat == "last":
        return number(last)
    if stat == "best":
        stat = "max" if goal == MAXIMIZE else "min"
    return number(low if stat == "min" else high)


def summaries(last: Any, low: Any, high: Any, goal: str) -> dict[str, float | None]:
    """Every summary of one metric: ``{"last", "min", "max", "best"}``."""
    return {stat: stat_value(last, low, high, stat, goal) for stat in STATS}


def json_number(value: float | None) -> Any:
    """A summary JSON can carry (NaN and infinities as text)."""
    if value is not None and not math.isfinite(value):
        return str(value)
    return value
