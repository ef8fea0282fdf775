"""Early-termination policies (v1 HyperDrive names), as pure decisions on metric histories.

A policy looks at the primary metric each child has reported so far (in reporting order)
and decides whether a running child is clearly worse than the others and should stop.
It is consulted when a child has reported ``n`` values with ``n > delay_evaluation`` and
``n`` a multiple of ``evaluation_interval``.

* ``BanditPolicy``: stop a run whose latest value is further from the best value any run
  reported at the same point than ``slack_amount``, or than ``slack_factor × |best|``.
* ``MedianStoppingPolicy``: stop a run whose running average is worse than the median of
  the other runs' running averages at the same point.
* ``NoTerminationPolicy``: never stop anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..exceptions import UserErrorException

MINIMIZE = "MINIMIZE"


class EarlyTerminationPolicy:
    """Base class: when to evaluate, and the decision."""

    name = "Default"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        for what, value in (
            ("evaluation_interval", evaluation_interval),
            ("delay_evaluation", delay_evaluation),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UserErrorException(f"{what} must be a non-negative int, got {value!r}.")
        if evaluation_interval < 1:
            raise UserErrorException("evaluation_interval must be at least 1.")
        self.evaluation_interval = evaluation_interval
        self.delay_evaluation = delay_evaluation

    def due(self, reported: int) -> bool:
        """Whether a run that reported ``reported`` values is evaluated now."""
        return reported > self.delay_evaluation and reported % self.evaluation_interval == 0

    def should_terminate(
        self, goal: str, histories: Mapping[str, Sequence[float]], run_id: str
    ) -> bool:
        """True if ``run_id`` should stop, given every run's primary-metric history."""
        values = histories.get(run_id, ())
        if not self.due(len(values)):
            return False
        return self._decide(goal, histories, run_id, len(values))

    def _decide(
        self, goal: str, histories: Mapping[str, Sequence[float]], run_id: str, point: int
    ) -> bool:
        return False

    def to_json(self) -> dict[str, Any]:
        """A description stored with the sweep."""
        return {
            "name": self.name,
            "evaluation_interval": self.evaluation_interval,
            "delay_evaluation": self.delay_evaluation,
        }


class NoTerminationPolicy(EarlyTerminationPolicy):
    """Never stop a run early."""

    name = "NoTermination"


class BanditPolicy(EarlyTerminationPolicy):
    """Stop runs not within a slack of the best run at the same reporting point.

    Args:
        slack_factor: allowed ratio to the best value (0.1 → within 10 %).
        slack_amount: allowed absolute distance to the best value.
    """

    name = "Bandit"

    def __init__(
        self,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise UserErrorException(
                "BanditPolicy needs exactly one of slack_factor or slack_amount."
            )
        slack = slack_factor if slack_factor is not None else slack_amount
        if isinstance(slack, bool) or not isinstance(slack, (int, float)) or slack < 0:
            raise UserErrorException(f"The slack must be a non-negative number, got {slack!r}.")
        self.slack_factor = slack_factor
        self.slack_amount = slack_amount

    def _decide(
        self, goal: str, histories: Mapping[str, Sequence[float]], run_id: str, point: int
    ) -> bool:
        at_point = [float(v[point - 1]) for v in histories.values() if len(v) >= point]
        at_point = [v for v in at_point if np.isfinite(v)]
        mine = float(histories[run_id][point - 1])
        if not at_point or not np.isfinite(mine):
            return False
        minimize = goal == MINIMIZE
        best = min(at_point) if minimize else max(at_point)
        # The allowed distance from the best value: absolute, or relative to its size.
        if self.slack_amount is not None:
            slack = float(self.slack_amount)
        else:
            slack = abs(best) * float(self.slack_factor or 0.0)
        limit = best + slack if minimize else best - slack
        return mine > limit if minimize else mine < limit

    def to_json(self) -> dict[str, Any]:
        """Includes the slack."""
        return {
            **super().to_json(),
            "slack_factor": self.slack_factor,
            "slack_amount": self.slack_amount,
        }


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Stop runs whose running average is worse than the others' median at that point."""

    name = "MedianStopping"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 5) -> None:
        super().__init__(evaluation_interval, delay_evaluation)

    def _decide(
        self, goal: str, histories: Mapping[str, Sequence[float]], run_id: str, point: int
    ) -> bool:
        averages = {
            other: float(np.nanmean(np.asarray(values[:point], dtype=float)))
            for other, values in histories.items()
            if len(values) >= point and other != run_id
        }
        if len(averages) < 2:
            return False
        mine = float(np.nanmean(np.asarray(histories[run_id][:point], dtype=float)))
        median = float(np.median(list(averages.values())))
        return mine > median if goal == MINIMIZE else mine < median


def policy_from_json(data: Mapping[str, Any] | None) -> EarlyTerminationPolicy:
    """Rebuild a policy from :meth:`EarlyTerminationPolicy.to_json`."""
    if not data or data.get("name") in ("NoTermination", "Default"):
        return NoTerminationPolicy()
    interval = int(data.get("evaluation_interval", 1))
    delay = int(data.get("delay_evaluation", 0))
    if data["name"] == "Bandit":
        return BanditPolicy(data.get("slack_factor"), data.get("slack_amount"), interval, delay)
    if data["name"] == "MedianStopping":
        return MedianStoppingPolicy(interval, delay)
    raise UserErrorException(f"Unknown early-termination policy {data['name']!r}.")
