"""Early-termination policies (v1 HyperDrive names and meanings), as pure decisions.

A policy looks at the primary metric each child has reported so far (in reporting order)
and decides whether a running child is clearly worse than the others and should stop.
Each value a child logs is one *interval*. The policy judges a child at *evaluation
points*: intervals ``N`` that are multiples of ``evaluation_interval`` with
``N >= delay_evaluation`` (as in v1), comparing what every run had reached by its ``N``-th
report. The driver asks whenever new values arrive; a child is judged at the latest
evaluation point it reached for which there is something to compare it with (other runs
that reached the same point), so a child running ahead of the others is still judged
once they catch up, and one logging faster than the driver polls skips no point.

* ``BanditPolicy``: at interval ``N`` the best value any run reached by its ``N``-th
  report is the reference; a run whose own best up to ``N`` is not within the slack of it
  stops. ``slack_amount`` is an absolute distance; ``slack_factor`` is v1's ratio: with
  MAXIMIZE a run stops when ``value * (1 + slack_factor) < best`` (best 0.8, factor 0.2:
  below 0.667), with MINIMIZE when ``value > best * (1 + slack_factor)``.
* ``MedianStoppingPolicy``: a run stops at interval ``N`` when its best value up to ``N``
  is worse than the median of every run's running average over intervals ``1..N``
  (it needs at least two other runs that reached ``N``).
* ``TruncationSelectionPolicy``: at interval ``N`` the runs are ranked by their best value
  up to ``N``; the lowest ``truncation_percentage`` percent stop.
* ``NoTerminationPolicy``: never stop anything.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..exceptions import UserErrorException

MINIMIZE = "MINIMIZE"
MAX_LOOKBACK = 10_000


def _best_up_to(values: Sequence[float], point: int, goal: str) -> float | None:
    finite = [float(v) for v in values[:point] if math.isfinite(float(v))]
    if not finite:
        return None
    return min(finite) if goal == MINIMIZE else max(finite)


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
        """Whether a run that reported ``reported`` values is evaluated at that point."""
        return (
            reported >= max(1, self.delay_evaluation) and reported % self.evaluation_interval == 0
        )

    def should_terminate(
        self,
        goal: str,
        histories: Mapping[str, Sequence[float]],
        run_id: str,
        point: int | None = None,
        finished: Collection[str] = (),
    ) -> bool:
        """True if ``run_id`` should stop, given every run's primary-metric history.

        Args:
            goal: ``"MINIMIZE"`` or ``"MAXIMIZE"``.
            histories: run id → the values it reported, in order (finished runs included).
            run_id: the run to judge.
            point: judge it at this interval only (default: at the latest evaluation point
                it reached that other runs reached too).
            finished: runs that already ended (some policies leave them out).

        Returns:
            True if the run should be cancelled now.
        """
        values = histories.get(run_id, ())
        goal = goal.upper()
        if point is not None:
            if point < 1 or len(values) < point:
                return False
            return bool(self._decide(goal, histories, run_id, point, finished))
        for candidate in self.points(len(values)):
            decision = self._decide(goal, histories, run_id, candidate, finished)
            if decision is not None:
                return decision
        return False

    def points(self, reported: int, limit: int = MAX_LOOKBACK) -> Iterator[int]:
        """Evaluation points up to ``reported``, latest first (at most ``limit``)."""
        point = reported - reported % self.evaluation_interval
        first = max(1, self.delay_evaluation)
        for _ in range(limit):
            if point < first:
                return
            yield point
            point -= self.evaluation_interval

    def _decide(
        self,
        goal: str,
        histories: Mapping[str, Sequence[float]],
        run_id: str,
        point: int,
        finished: Collection[str],
    ) -> bool | None:
        """The decision at ``point``, or ``None`` when there is nothing to compare with."""
        return False

    def to_json(self) -> dict[str, Any]:
        """A description stored with the sweep."""
        return {
            "name": self.name,
            "evaluation_interval": self.evaluation_interval,
            "delay_evaluation": self.delay_evaluation,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "name")
        return f"{type(self).__name__}({args})"


class NoTerminationPolicy(EarlyTerminationPolicy):
    """Never stop a run early."""

    name = "NoTermination"


class BanditPolicy(EarlyTerminationPolicy):
    """Stop runs not within a slack of the best run at the same interval.

    Args:
        evaluation_interval: evaluate every this many reports of the primary metric.
        slack_factor: v1's allowed ratio to the best value (0.2: a maximised metric must
            reach ``best / 1.2``, a minimised one stay below ``best * 1.2``).
        slack_amount: allowed absolute distance to the best value.
        delay_evaluation: no evaluation before this many reports.
    """

    name = "Bandit"

    def __init__(
        self,
        evaluation_interval: int = 1,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise UserErrorException(
                "BanditPolicy needs exactly one of slack_factor or slack_amount."
            )
        slack = slack_factor if slack_factor is not None else slack_amount
        if (
            isinstance(slack, bool)
            or not isinstance(slack, (int, float))
            or not math.isfinite(slack)
            or slack < 0
        ):
            which = "slack_factor" if slack_factor is not None else "slack_amount"
            raise UserErrorException(f"{which} must be a non-negative number, got {slack!r}.")
        self.slack_factor = None if slack_factor is None else float(slack_factor)
        self.slack_amount = None if slack_amount is None else float(slack_amount)

    def limit(self, best: float, goal: str) -> float:
        """The worst value still allowed when the best run is at ``best``."""
        minimize = goal == MINIMIZE
        if self.slack_amount is not None:
            return best + self.slack_amount if minimize else best - self.slack_amount
        factor = float(self.slack_factor or 0.0)
        if minimize:
            return best + abs(best) * factor  # best * (1 + f) for a positive best
        return best - abs(best) * factor / (1 + factor)  # best / (1 + f) for a positive best

    def _decide(
        self,
        goal: str,
        histories: Mapping[str, Sequence[float]],
        run_id: str,
        point: int,
        finished: Collection[str],
    ) -> bool | None:
        mine = _best_up_to(histories[run_id], point, goal)
        others = [
            _best_up_to(values, point, goal)
            for other, values in histories.items()
            if other != run_id and len(values) >= point
        ]
        values = [v for v in others if v is not None]
        if mine is None or not values:
            return None
        best = min([mine, *values]) if goal == MINIMIZE else max([mine, *values])
        limit = self.limit(best, goal)
        return mine > limit if goal == MINIMIZE else mine < limit

    def to_json(self) -> dict[str, Any]:
        """Includes the slack."""
        return {
            **super().to_json(),
            "slack_factor": self.slack_factor,
            "slack_amount": self.slack_amount,
        }


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Stop runs whose best value is worse than the median of the runs' running averages."""

    name = "MedianStopping"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        super().__init__(evaluation_interval, delay_evaluation)

    def _decide(
        self,
        goal: str,
        histories: Mapping[str, Sequence[float]],
        run_id: str,
        point: int,
        finished: Collection[str],
    ) -> bool | None:
        averages = {}
        for other, values in histories.items():
            if len(values) >= point:
                window = np.asarray(values[:point], dtype=float)
                window = window[np.isfinite(window)]
                if window.size:
                    averages[other] = float(window.mean())
        mine = _best_up_to(histories[run_id], point, goal)
        if mine is None or len([o for o in averages if o != run_id]) < 2:
            return None
        median = float(np.median(list(averages.values())))
        return mine > median if goal == MINIMIZE else mine < median


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Stop the lowest ``truncation_percentage`` percent of the runs at each evaluation.

    Args:
        truncation_percentage: 1–99; at interval ``N`` the runs that reached ``N`` are
            ranked by their best value so far and the worst ``floor(n * p / 100)`` stop.
        evaluation_interval: evaluate every this many reports.
        delay_evaluation: no evaluation before this many reports.
        exclude_finished_jobs: leave runs that already ended out of the ranking.
    """

    name = "TruncationSelection"

    def __init__(
        self,
        truncation_percentage: int,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
        exclude_finished_jobs: bool = False,
    ) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (
            isinstance(truncation_percentage, bool)
            or not isinstance(truncation_percentage, int)
            or not 1 <= truncation_percentage <= 99
        ):
            raise UserErrorException(
                f"truncation_percentage must be an int from 1 to 99, got {truncation_percentage!r}."
            )
        self.truncation_percentage = truncation_percentage
        self.exclude_finished_jobs = bool(exclude_finished_jobs)

    def _decide(
        self,
        goal: str,
        histories: Mapping[str, Sequence[float]],
        run_id: str,
        point: int,
        finished: Collection[str],
    ) -> bool | None:
        mine = _best_up_to(histories[run_id], point, goal)
        if mine is None:
            return None
        scores = []
        for other, values in histories.items():
            if len(values) < point or (self.exclude_finished_jobs and other in finished):
                continue
            score = _best_up_to(values, point, goal)
            if score is not None:
                scores.append(score)
        cut = len(scores) * self.truncation_percentage // 100
        if cut < 1:
            return None
        better = sum(1 for s in scores if (s < mine if goal == MINIMIZE else s > mine))
        return better >= len(scores) - cut

    def to_json(self) -> dict[str, Any]:
        """Includes the percentage."""
        return {
            **super().to_json(),
            "truncation_percentage": self.truncation_percentage,
            "exclude_finished_jobs": self.exclude_finished_jobs,
        }


def policy_from_json(data: Mapping[str, Any] | None) -> EarlyTerminationPolicy:
    """Rebuild a policy from :meth:`EarlyTerminationPolicy.to_json`."""
    if not data or data.get("name") in ("NoTermination", "Default"):
        return NoTerminationPolicy()
    interval = int(data.get("evaluation_interval", 1))
    delay = int(data.get("delay_evaluation", 0))
    if data["name"] == "Bandit":
        return BanditPolicy(interval, data.get("slack_factor"), data.get("slack_amount"), delay)
    if data["name"] == "MedianStopping":
        return MedianStoppingPolicy(interval, delay)
    if data["name"] == "TruncationSelection":
        return TruncationSelectionPolicy(
            int(data["truncation_percentage"]),
            interval,
            delay,
            bool(data.get("exclude_finished_jobs", False)),
        )
    raise UserErrorException(f"Unknown early-termination policy {data['name']!r}.")
