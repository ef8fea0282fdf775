"""Hyperparameter sweeps with the v1 HyperDrive names.

Example::

    from run_widgets.sweep import GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal, choice

    sampling = GridParameterSampling({"--alpha": choice(*alphas)})
    config = HyperDriveConfig(run_config=src, hyperparameter_sampling=sampling,
                              primary_metric_name="mse",
                              primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
                              max_total_runs=20, max_concurrent_runs=4)
    sweep = experiment.submit(config)      # returns at once; RunDetails(sweep).show()

Layer: sweep, above the API façades and ``submit``; importing it registers
``HyperDriveConfig`` submission and the ``hyperdrive`` run class. No widget here: the sweep
view is ``widgets.sweep``, which registers itself as the ``hyperdrive`` view kind.
"""

from ..experiment import register_submit_function
from .config import HyperDriveConfig, PrimaryMetricGoal
from .executor import FunctionExecutor, ScriptExecutor, TrialExecutor
from .parent import HyperDriveRun, submit_sweep
from .policy import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    TruncationSelectionPolicy,
)
from .space import (
    GridParameterSampling,
    ParameterSampling,
    RandomParameterSampling,
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)

register_submit_function(HyperDriveConfig, submit_sweep)

__all__ = [
    "BanditPolicy",
    "EarlyTerminationPolicy",
    "FunctionExecutor",
    "GridParameterSampling",
    "HyperDriveConfig",
    "HyperDriveRun",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "ParameterSampling",
    "PrimaryMetricGoal",
    "RandomParameterSampling",
    "ScriptExecutor",
    "TrialExecutor",
    "TruncationSelectionPolicy",
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "qlognormal",
    "qloguniform",
    "qnormal",
    "quniform",
    "randint",
    "submit_sweep",
    "uniform",
]
