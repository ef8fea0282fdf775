"""``HyperDriveConfig`` and ``PrimaryMetricGoal`` (v1 names)."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from typing import Any

from ..exceptions import UserErrorException
from ..submit.compute import check_target_argument
from ..submit.config import ScriptRunConfig
from .policy import EarlyTerminationPolicy, NoTerminationPolicy
from .space import GridParameterSampling, ParameterSampling

DEFAULT_MAX_DURATION_MINUTES = 10080


class PrimaryMetricGoal(str, enum.Enum):
    """Whether the primary metric is to be minimised or maximised."""

    MINIMIZE = "MINIMIZE"
    MAXIMIZE = "MAXIMIZE"

    @classmethod
    def parse(cls, value: Any) -> PrimaryMetricGoal:
        """Accept the enum or its name in any case."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise UserErrorException(
            f"primary_metric_goal must be PrimaryMetricGoal.MINIMIZE or MAXIMIZE, got {value!r}."
        )


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserErrorException(f"{what} must be a positive int, got {value!r}.")
    return value


class HyperDriveConfig:
    """A hyperparameter sweep: what to run, over which space, judged by which metric.

    Give either ``run_config`` (a ``ScriptRunConfig``: each child runs the script with its
    parameters as arguments, e.g. ``train.py --alpha 0.35``) or ``function`` (a Python
    function ``function(params, run)`` defined in the notebook, run in worker processes).

    Args:
        run_config: the script to sweep.
        hyperparameter_sampling: ``GridParameterSampling`` or ``RandomParameterSampling``.
        primary_metric_name: the metric children log (``run.log("mse", ...)``).
        primary_metric_goal: ``PrimaryMetricGoal.MINIMIZE`` or ``MAXIMIZE``.
        max_total_runs: children to run (default for a grid: its size).
        max_concurrent_runs: children running at once (default: min(4, max_total_runs)).
        max_duration_minutes: the sweep is cancelled after this long.
        policy: an early-termination policy (default: none).
        estimator: v1's remote-training estimator; not supported here (a clear error
            when given).
        pipeline: v1's pipeline sweep; not supported here (a clear error when given).
        resume_from: v1's resumed sweep; not supported here (a clear error when given).
        resume_child_runs: v1's resumed children; not supported here (a clear error when
            given).
        debug_flag: accepted and ignored (v1 compatibility).
        custom_run_id: the id of the sweep's parent run (default ``HD_<uuid>``).
        function: instead of ``run_config``, a function ``f(params, run)``: ``params`` maps
            each parameter name without its dashes to the child's value
            (``{"alpha": 0.35}``), ``run`` is the child run to log to. It runs in worker
            processes, in the directory ``submit`` was called from.
        compute_target: where a function sweep's trials run (a ``ComputeTarget`` or its
            name; default local worker processes). A script sweep runs where its
            ``run_config`` says (``ScriptRunConfig(compute_target=...)``).
    """

    def __init__(
        self,
        run_config: ScriptRunConfig | None = None,
        hyperparameter_sampling: ParameterSampling | None = None,
        primary_metric_name: str | None = None,
        primary_metric_goal: Any = None,
        max_total_runs: int | None = None,
        max_concurrent_runs: int | None = None,
        max_duration_minutes: float = DEFAULT_MAX_DURATION_MINUTES,
        policy: EarlyTerminationPolicy | None = None,
        estimator: Any = None,
        pipeline: Any = None,
        resume_from: Any = None,
        resume_child_runs: Any = None,
        debug_flag: Any = None,
        custom_run_id: str | None = None,
        function: Callable[..., Any] | None = None,
        compute_target: Any = None,
    ) -> None:
        for what, value in (
            ("estimator", estimator),
            ("pipeline", pipeline),
            ("resume_from", resume_from),
            ("resume_child_runs", resume_child_runs),
        ):
            if value is not None:
                raise UserErrorException(
                    f"HyperDriveConfig({what}=...) is not supported: sweep a ScriptRunConfig "
                    "(run_config=...) or a Python function (function=...)."
                )
        if custom_run_id is not None and (not isinstance(custom_run_id, str) or not custom_run_id):
            raise UserErrorException(
                f"custom_run_id must be a non-empty str, got {custom_run_id!r}."
            )
        self.custom_run_id = custom_run_id
        if (run_config is None) == (function is None):
            raise UserErrorException(
                "HyperDriveConfig needs exactly one of run_config (a ScriptRunConfig) or "
                "function (a Python function f(params, run))."
            )
        if run_config is not None and not isinstance(run_config, ScriptRunConfig):
            raise UserErrorException(
                f"run_config must be a ScriptRunConfig, not {type(run_config).__name__}."
            )
        if function is not None and not callable(function):
            raise UserErrorException("function must be callable as function(params, run).")
        if not isinstance(hyperparameter_sampling, ParameterSampling):
            raise UserErrorException(
                "hyperparameter_sampling must be GridParameterSampling(...) or "
                "RandomParameterSampling(...)."
            )
        if not isinstance(primary_metric_name, str) or not primary_metric_name:
            raise UserErrorException("primary_metric_name must name the metric children log.")
        check_target_argument(compute_target)
        if compute_target is None and run_config is not None:
            compute_target = run_config.compute_target
        self.run_config = run_config
        self.function = function
        self.compute_target = compute_target
        self.hyperparameter_sampling = hyperparameter_sampling
        self.primary_metric_name = primary_metric_name
        self.primary_metric_goal = PrimaryMetricGoal.parse(primary_metric_goal)
        if max_total_runs is None:
            if not isinstance(hyperparameter_sampling, GridParameterSampling):
                raise UserErrorException("max_total_runs is required for random sampling.")
            max_total_runs = hyperparameter_sampling.size
        self.max_total_runs = _positive_int(max_total_runs, "max_total_runs")
        if isinstance(hyperparameter_sampling, GridParameterSampling):
            # A grid runs each combination once: never more children than combinations.
            self.max_total_runs = min(self.max_total_runs, hyperparameter_sampling.size)
        if max_concurrent_runs is None:
            max_concurrent_runs = min(4, self.max_total_runs, os.cpu_count() or 4)
        self.max_concurrent_runs = _positive_int(max_concurrent_runs, "max_concurrent_runs")
        if (
            isinstance(max_duration_minutes, bool)
            or not isinstance(max_duration_minutes, (int, float))
            or not max_duration_minutes > 0
        ):
            raise UserErrorException(
                f"max_duration_minutes must be a positive number, got {max_duration_minutes!r}."
            )
        self.max_duration_minutes = float(max_duration_minutes)
        if policy is not None and not isinstance(policy, EarlyTerminationPolicy):
            raise UserErrorException(
                "policy must be BanditPolicy(...), MedianStoppingPolicy(...) or None."
            )
        self.policy = policy or NoTerminationPolicy()

    @property
    def kind(self) -> str:
        """``script`` or ``function``."""
        return "script" if self.run_config is not None else "function"

    def sweep_settings(self) -> dict[str, Any]:
        """What the sweep driver needs, stored in the parent run's definition."""
        return {
            "kind": self.kind,
            "sampling": self.hyperparameter_sampling.to_json(),
            "primary_metric": {
                "name": self.primary_metric_name,
                "goal": self.primary_metric_goal.value,
            },
            "max_total_runs": self.max_total_runs,
            "max_concurrent_runs": self.max_concurrent_runs,
            "max_duration_minutes": self.max_duration_minutes,
            "policy": self.policy.to_json(),
            "log_scale_parameters": self.hyperparameter_sampling.log_scaled(),
        }

    def __repr__(self) -> str:
        target = self.run_config if self.run_config is not None else self.function
        return (
            f"HyperDriveConfig({target!r}, sampling={self.hyperparameter_sampling.name}, "
            f"primary_metric={self.primary_metric_name!r} {self.primary_metric_goal.value}, "
            f"max_total_runs={self.max_total_runs}, max_concurrent_runs={self.max_concurrent_runs})"
        )
