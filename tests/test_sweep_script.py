"""Script sweeps: each child is a submitted script run getting its parameters as arguments.

The 20-alpha grid over the seed's Ridge regression is the one slow test of the sweep suite
(a child costs ~1.5 s here, most of it importing scikit-learn); the other script sweeps
use tiny scripts without scikit-learn.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from submit_helpers import fast_env, source_dir, wait_until  # noqa: F401 - fixture
from sweep_helpers import (  # noqa: F401 - fixture
    child_records,
    index_of,
    max_overlap,
    no_leftover_sweeps,
    wait_sweep,
)

from run_widgets import Experiment, Run, ScriptRunConfig
from run_widgets.sweep import (
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    choice,
)

# train_alpha.py: one alpha per run, as the sweep-alphas notebook sweeps it.
SWEEP_DATA = Path(__file__).resolve().parents[1] / "notebooks" / "scripts"
ACTIVE = ("Queued", "Starting", "Running", "Finalizing", "CancelRequested")


def direct_ridge_loop(alphas: list[float]) -> dict[float, float]:
    """What the sweep must find: mse of each alpha, computed here with scikit-learn."""
    features, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(features, y, test_size=0.2, random_state=0)
    result = {}
    for alpha in alphas:
        model = Ridge(alpha=alpha).fit(x_train, y_train)
        result[alpha] = mean_squared_error(model.predict(x_test), y_test)
    return result


@pytest.mark.slow
def test_grid_of_20_alphas_4_at_a_time(exp: Experiment) -> None:
    alphas = np.arange(0.0, 1.0, 0.05)
    expected = direct_ridge_loop(alphas.tolist())
    best_alpha = min(expected, key=expected.__getitem__)
    src = ScriptRunConfig(source_directory=SWEEP_DATA, script="train_alpha.py")
    config = HyperDriveConfig(
        run_config=src,
        hyperparameter_sampling=GridParameterSampling({"--alpha": choice(alphas)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_total_runs=20,
        max_concurrent_runs=4,
        policy=None,
    )
    started = time.monotonic()
    sweep = exp.submit(config)
    assert time.monotonic() - started < 5  # returns at once, the driver does the work
    assert isinstance(sweep, HyperDriveRun) and sweep.type == "hyperdrive"
    assert sweep.get_status() in ("Queued", "Running")

    # Sample the children's statuses while the sweep runs.
    most_running = 0
    most_active = 0

    def sample() -> bool:
        nonlocal most_running, most_active
        statuses = [r.status for r in child_records(sweep)]
        most_running = max(most_running, statuses.count("Running"))
        most_active = max(most_active, sum(s in ACTIVE for s in statuses))
        return sweep.get_status() in ("Completed", "Failed", "Canceled")

    wait_until(sample, timeout=150, interval=0.1, what="the 20-alpha sweep to end")
    assert sweep.get_status() == "Completed"
    assert 1 <= most_running <= 4 and most_active <= 4

    children = child_records(sweep)
    assert len(children) == 20
    assert all(c.status == "Completed" for c in children)
    # Never more than 4 at once, from the recorded start and end times too.
    assert max_overlap([(c.start_time, c.end_time) for c in children]) <= 4  # type: ignore[misc]
    for child in children:
        alpha = alphas.tolist()[index_of(child)]
        assert child.definition["arguments"] == ["--alpha", repr(alpha)]
        assert child.tags["alpha"] == str(alpha)
        assert json.loads(child.properties["hyperparameters"]) == {"alpha": alpha}
        assert child.run_type == "scriptrun"

    best = sweep.get_best_run_by_primary_metric()
    assert best is not None
    metrics = best.get_metrics()
    assert metrics["alpha"] == best_alpha
    assert metrics["mse"] == pytest.approx(expected[best_alpha], rel=1e-12)
    assert best.get_tags()["alpha"] == str(best_alpha)
    assert "--alpha" in best.get_details()["runDefinition"]["arguments"]
    assert f"alpha is {best_alpha:.2f}" in best.get_file_path("logs/driver_log.txt").read_text()
    assert f"outputs/ridge_{best_alpha:.2f}.pkl" in best.get_file_names()

    ranking = sweep.get_children_sorted_by_primary_metric()
    assert [item["best_primary_metric"] for item in ranking] == pytest.approx(
        sorted(expected.values()), rel=1e-12
    )
    assert ranking[0]["run_id"] == best.id
    top3 = sweep.get_children_sorted_by_primary_metric(top=3)
    assert top3 == ranking[:3]
    assert json.loads(top3[0]["hyperparameters"]) == {"alpha": best_alpha}
    assert sweep.get_children_sorted_by_primary_metric(reverse=True)[0] == ranking[-1]

    hyper = sweep.get_hyperparameters()
    assert len(hyper) == 20
    assert sorted(json.loads(v)["alpha"] for v in hyper.values()) == alphas.tolist()
    per_child = sweep.get_metrics()
    assert set(per_child) == {c.id for c in children}
    for _run_id, values in per_child.items():
        assert values["mse"] == pytest.approx(expected[values["alpha"]], rel=1e-12)

    tags = sweep.get_tags()
    assert tags["max_concurrent_jobs"] == "4" and tags["max_total_jobs"] == "20"
    assert tags["best_child_run_id"] == best.id
    assert json.loads(tags["primary_metric_config"]) == {"name": "mse", "goal": "MINIMIZE"}
    # Reopened later, by id, it is still a sweep.
    again = Run.get(exp.workspace, sweep.id)
    assert isinstance(again, HyperDriveRun)
    assert again.get_best_run_by_primary_metric().id == best.id  # type: ignore[union-attr]


FLAKY_SCRIPT = """
import argparse
from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
parser.add_argument("--fail-at", type=float, default=-1)
args = parser.parse_args()
run = Run.get_context()
if args.alpha == args.fail_at:
    raise ValueError(f"no good alpha: {args.alpha}")
run.log("mse", (args.alpha - 0.3) ** 2)
"""


def test_a_failing_child_does_not_stop_the_sweep(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(tmp_path, {"train.py": FLAKY_SCRIPT})
    src = ScriptRunConfig(source_directory=folder, script="train.py", arguments=["--fail-at", 0.2])
    config = HyperDriveConfig(
        run_config=src,
        hyperparameter_sampling=GridParameterSampling({"--alpha": choice(0.1, 0.2, 0.3, 0.4)}),
        primary_metric_name="mse",
        primary_metric_goal="minimize",
        max_concurrent_runs=4,
    )
    sweep = exp.submit(config)
    assert wait_sweep(sweep) == "Completed"
    by_index = {index_of(c): c for c in child_records(sweep)}
    assert [by_index[i].status for i in range(4)] == [
        "Completed",
        "Failed",
        "Completed",
        "Completed",
    ]
    assert by_index[1].definition["arguments"] == ["--fail-at", "0.2", "--alpha", "0.2"]
    failed = Run.get(exp.workspace, by_index[1].id)
    assert "no good alpha: 0.2" in failed.get_details()["error"]["error"]["message"]
    best = sweep.get_best_run_by_primary_metric()
    assert best is not None and best.id == by_index[2].id
    ranking = sweep.get_children_sorted_by_primary_metric()
    assert ranking[-1]["run_id"] == by_index[1].id and ranking[-1]["best_primary_metric"] is None
    assert len(sweep.get_children_sorted_by_primary_metric(discard_no_metric=True)) == 3


SLOW_SCRIPT = """
import argparse, time
from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
args = parser.parse_args()
run = Run.get_context()
for step in range(600):
    run.log("mse", args.alpha + 1 / (step + 1))
    time.sleep(0.05)
"""


@pytest.mark.usefixtures("fast_env")
def test_cancel_a_script_sweep(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(tmp_path, {"train.py": SLOW_SCRIPT})
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=folder, script="train.py"),
        hyperparameter_sampling=GridParameterSampling({"--alpha": choice(1, 2, 3, 4, 5)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=2,
    )
    sweep = exp.submit(config)
    store = exp.workspace.store

    def two_running_and_logging() -> bool:
        children = child_records(sweep)
        return len(children) == 2 and all(
            c.status == "Running" and store.metric_infos([c.id]) for c in children
        )

    wait_until(two_running_and_logging, timeout=30, what="two children running and logging")
    sweep.cancel()
    assert wait_sweep(sweep, timeout=30) == "Canceled"
    children = child_records(sweep)
    assert len(children) == 2  # nothing new started after the cancel
    assert [c.status for c in children] == ["Canceled", "Canceled"]
    for child in children:
        assert store.metric_infos([child.id])[0].n_points < 600
