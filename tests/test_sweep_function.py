"""Function sweeps (loky workers calling ``f(params, run)``): reproducible random sampling,
failing children, cancel, early termination, and the parent's v1 queries."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import cloudpickle
import pytest
from submit_helpers import wait_until
from sweep_helpers import (  # noqa: F401 - fixture
    child_records,
    function_sweep,
    index_of,
    max_overlap,
    no_leftover_sweeps,
    sweep_drivers,
    wait_sweep,
)

from run_widgets import Experiment, Run
from run_widgets.store import RunStatus
from run_widgets.sweep import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveRun,
    MedianStoppingPolicy,
    RandomParameterSampling,
    choice,
    loguniform,
    quniform,
    randint,
    uniform,
)

# The workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def quadratic(params, run):
    """mse is smallest at alpha = 0.3."""
    run.log("alpha", params["alpha"])
    run.log("mse", (params["alpha"] - 0.3) ** 2)


def test_function_grid_sweep_and_parent_queries(exp: Experiment) -> None:
    alphas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    config = function_sweep(
        quadratic,
        GridParameterSampling({"alpha": choice(alphas)}),
        max_total_runs=5,
        custom_run_id="HD_quadratic",
    )
    sweep = exp.submit(config)
    assert isinstance(sweep, HyperDriveRun) and sweep.id == "HD_quadratic"
    with pytest.raises(ValueError, match="already the id of a run"):
        exp.submit(config)
    assert wait_sweep(sweep) == "Completed"
    children = child_records(sweep)
    assert len(children) == 5  # max_total_runs caps the grid, in grid order
    assert sorted(index_of(c) for c in children) == [0, 1, 2, 3, 4]
    assert max_overlap([(c.start_time, c.end_time) for c in children]) <= 2  # type: ignore[misc]
    for child in children:
        alpha = alphas[index_of(child)]
        assert child.tags == {"alpha": str(alpha)}
        assert json.loads(child.properties["hyperparameters"]) == {"alpha": alpha}
        assert child.status == "Completed"
    best = sweep.get_best_run_by_primary_metric()
    assert best is not None and best.get_metrics() == {"alpha": 0.3, "mse": 0.0}
    ranking = sweep.get_children_sorted_by_primary_metric()
    assert [json.loads(i["hyperparameters"])["alpha"] for i in ranking][:2] == [0.3, 0.2]
    assert [json.loads(i["hyperparameters"])["alpha"] for i in ranking][-1] == 0.0
    assert sweep.get_children_sorted_by_primary_metric(top=2) == ranking[:2]
    assert set(sweep.get_metrics()) == {c.id for c in children}
    assert sweep.get_metrics(name="mse")[best.id] == {"mse": 0.0}


def noisy(params, run):
    run.log("mse", params["alpha"] + params["l1"] + params["depth"] + params["step"])


SPACE = {
    "--alpha": loguniform(-6, 0),
    "--l1": uniform(0, 1),
    "--depth": randint(10),
    "--step": quniform(0, 1, 0.25),
}


def test_random_sweep_with_a_seed_is_reproducible(exp: Experiment) -> None:
    runs = 5
    sweeps = [
        exp.submit(function_sweep(noisy, sampling, max_total_runs=runs))
        for sampling in (
            RandomParameterSampling(SPACE, seed=11),
            RandomParameterSampling(SPACE, properties={"rndseed": 11}),
            RandomParameterSampling(SPACE, seed=12),
        )
    ]
    for sweep in sweeps:
        assert wait_sweep(sweep) == "Completed"

    def parameters(sweep: HyperDriveRun) -> list[dict]:
        by_index = {index_of(c): c for c in child_records(sweep)}
        assert sorted(by_index) == list(range(runs))
        return [json.loads(by_index[i].properties["hyperparameters"]) for i in range(runs)]

    first, second, other = (parameters(s) for s in sweeps)
    assert first == second
    assert first != other
    expected = [
        {k.lstrip("-"): v for k, v in p.items()}
        for p in RandomParameterSampling(SPACE, seed=11).samples(runs)
    ]
    assert first == expected
    for params in first:
        assert math.exp(-6) <= params["alpha"] <= 1 and params["depth"] in range(10)
    # The parameters reached the function: each child's mse is their sum.
    by_id = sweeps[0].get_hyperparameters()
    for run_id, metrics in sweeps[0].get_metrics().items():
        assert metrics["mse"] == pytest.approx(sum(json.loads(by_id[run_id]).values()))


def fails_at_02(params, run):
    if params["alpha"] == 0.2:
        raise ValueError("no good alpha: 0.2")
    print("trying", params["alpha"])
    run.log("mse", (params["alpha"] - 0.3) ** 2)


def always_fails(params, run):
    raise RuntimeError(f"broken for {params['alpha']}")


def crashes_at_02(params, run):
    if params["alpha"] == 0.2:
        os._exit(3)  # the worker process dies: loky breaks its pool
    run.log("mse", params["alpha"])


def test_failing_children(exp: Experiment) -> None:
    grid = GridParameterSampling({"alpha": choice(0.1, 0.2, 0.3, 0.4)})
    some = exp.submit(function_sweep(fails_at_02, grid))
    every = exp.submit(function_sweep(always_fails, grid, max_total_runs=3))
    crash = exp.submit(function_sweep(crashes_at_02, grid, max_concurrent_runs=1))
    assert wait_sweep(some) == "Completed"
    by_index = {index_of(c): c for c in child_records(some)}
    statuses = [by_index[i].status for i in range(4)]
    assert statuses == ["Completed", "Failed", "Completed", "Completed"]
    failed = Run.get(exp.workspace, by_index[1].id)
    assert "no good alpha: 0.2" in failed.get_details()["error"]["error"]["message"]
    assert "ValueError" in failed.get_file_path("logs/driver_log.txt").read_text()
    assert (
        "trying 0.3"
        in Run.get(exp.workspace, by_index[2].id).get_file_path("logs/driver_log.txt").read_text()
    )
    assert some.get_best_run_by_primary_metric().id == by_index[2].id  # type: ignore[union-attr]

    assert wait_sweep(every) == "Failed"
    children = child_records(every)
    assert len(children) == 3 and all(c.status == "Failed" for c in children)
    details = every.get_details()
    assert details["error"]["error"]["code"] == "AllChildrenFailed"
    assert every.get_best_run_by_primary_metric() is None
    assert all(
        i["best_primary_metric"] is None for i in every.get_children_sorted_by_primary_metric()
    )

    # A worker that dies fails its child only; the sweep goes on with a fresh pool.
    assert wait_sweep(crash) == "Completed"
    by_index = {index_of(c): c for c in child_records(crash)}
    statuses = [by_index[i].status for i in range(4)]
    assert statuses == ["Completed", "Failed", "Completed", "Completed"]
    assert by_index[1].error["error"]["code"] in ("ProcessLost", "TrialLost")  # type: ignore[index]


def slow_logger(params, run):
    for step in range(400):
        run.log("mse", params["alpha"] + 1 / (step + 1))
        time.sleep(0.05)


def test_cancel_mid_sweep(exp: Experiment) -> None:
    grid = GridParameterSampling({"alpha": choice(1, 2, 3, 4, 5, 6)})
    sweep = exp.submit(function_sweep(slow_logger, grid))
    store = exp.workspace.store

    def two_running_and_logging() -> bool:
        children = child_records(sweep)
        return len(children) == 2 and all(
            c.status == "Running" and store.metric_infos([c.id]) for c in children
        )

    wait_until(two_running_and_logging, timeout=30, what="two children running and logging")
    asked = time.time()
    sweep.cancel()
    assert sweep.get_status() in ("CancelRequested", "Canceled")
    assert wait_sweep(sweep, timeout=30) == "Canceled"
    children = child_records(sweep)
    assert len(children) == 2  # no new child started
    assert [c.status for c in children] == ["Canceled", "Canceled"]
    for child in children:
        assert child.end_time is not None and child.end_time - asked < 10
        assert store.metric_infos([child.id])[0].n_points < 400
    assert all(c.created_at < asked for c in children)
    sweep.cancel()  # cancelling an ended sweep is a no-op
    assert sweep.get_status() == "Canceled"


def converging(params, run):
    """Children report 30 values; a higher level is worse for MINIMIZE."""
    for step in range(30):
        run.log("mse", params["level"] + 1 / (step + 1))
        time.sleep(0.1)


@pytest.mark.parametrize(
    "policy",
    [
        BanditPolicy(slack_amount=1.0, delay_evaluation=3),
        MedianStoppingPolicy(delay_evaluation=3),
    ],
    ids=["bandit", "median"],
)
def test_early_termination(exp: Experiment, policy) -> None:
    grid = GridParameterSampling({"level": choice(1.0, 1.05, 1.1, 5.0)})
    sweep = exp.submit(function_sweep(converging, grid, max_concurrent_runs=4, policy=policy))
    assert wait_sweep(sweep, timeout=60) == "Completed"
    store = exp.workspace.store
    by_index = {index_of(c): c for c in child_records(sweep)}
    bad = by_index[3]
    assert bad.status == "Canceled"
    assert bad.tags.get("early_terminated") == "True"
    assert 3 <= store.metric_infos([bad.id])[0].n_points < 30
    for i in range(3):
        good = by_index[i]
        assert good.status == "Completed", good.id
        assert "early_terminated" not in good.tags
        assert store.metric_infos([good.id])[0].n_points == 30
    assert sweep.get_best_run_by_primary_metric().id == by_index[0].id  # type: ignore[union-attr]
    assert json.loads(sweep.get_properties()["policy_config"])["name"] == policy.name


def test_trials_run_in_the_submitting_directory(
    exp: Experiment, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the notebook: relative files and modules next to it work in the workers."""
    here = os.getcwd()
    with open("factor.txt", "w") as handle:
        handle.write("10")
    with open("localmod.py", "w") as handle:
        handle.write("def penalty(alpha):\n    return alpha * 2\n")
    monkeypatch.syspath_prepend(here)
    monkeypatch.delitem(sys.modules, "localmod", raising=False)  # forgotten after the test
    import localmod

    def uses_the_folder(params, run):
        with open("factor.txt") as handle:
            factor = float(handle.read())
        run.log("mse", factor + localmod.penalty(params["alpha"]))  # by reference: imported
        run.tag("cwd", os.getcwd())

    sweep = exp.submit(
        function_sweep(uses_the_folder, GridParameterSampling({"alpha": choice(1, 2)}))
    )
    assert wait_sweep(sweep) == "Completed", sweep.get_children_sorted_by_primary_metric()
    assert sorted(m["mse"] for m in sweep.get_metrics().values()) == [12.0, 14.0]
    assert {c.tags["cwd"] for c in child_records(sweep)} == {here}


def test_a_function_that_cannot_be_pickled(exp: Experiment) -> None:
    import threading

    lock = threading.Lock()

    def holds_a_lock(params, run):
        with lock:
            run.log("mse", 1.0)

    grid = GridParameterSampling({"alpha": choice(1, 2)})
    with pytest.raises(ValueError, match="cannot be sent to worker processes"):
        exp.submit(function_sweep(holds_a_lock, grid))
    assert list(exp.get_runs(include_children=True)) == []  # nothing half-written


def stuck(params, run):
    run.log("mse", params["alpha"])
    while True:  # never logs again: only killing its worker stops it
        time.sleep(0.05)


def test_stuck_trials_and_a_stopped_driver_do_not_hang_the_sweep(exp: Experiment) -> None:
    grid = GridParameterSampling({"alpha": choice(1, 2, 3)})
    cancelled = exp.submit(function_sweep(stuck, grid))
    terminated = exp.submit(function_sweep(slow_logger, grid))
    store = exp.workspace.store

    def two_running_and_logging(sweep: HyperDriveRun) -> bool:
        children = child_records(sweep)
        return len(children) == 2 and all(
            c.status == "Running" and store.metric_infos([c.id]) for c in children
        )

    wait_until(lambda: two_running_and_logging(cancelled), timeout=30)
    wait_until(lambda: two_running_and_logging(terminated), timeout=30)
    cancelled.cancel()
    [driver] = [d for d in sweep_drivers(exp.workspace) if terminated.id in d.cmdline()]
    driver.terminate()  # SIGTERM
    assert wait_sweep(cancelled, timeout=30) == "Canceled"
    assert [c.status for c in child_records(cancelled)] == ["Canceled", "Canceled"]
    assert wait_sweep(terminated, timeout=30) == "Failed"
    error = terminated.get_details()["error"]["error"]
    assert error["code"] == "SweepDriverError" and "SIGTERM" in error["message"]
    assert [c.status for c in child_records(terminated)] == ["Canceled", "Canceled"]
    wait_until(lambda: not sweep_drivers(exp.workspace), timeout=20, what="drivers to exit")


def test_a_trial_caught_unstarted_in_a_broken_pool_runs_on_a_fresh_one(
    exp: Experiment, tmp_path: Path
) -> None:
    # One worker, two trials handed over at once: the second waits in the pool while the
    # first kills the worker, and loky fails every call of the broken pool, the second's
    # too, though its function never ran (as when the driver hands a trial over between a
    # crash and loky noticing it). It must run on a fresh pool, not end TrialLost.
    from run_widgets.sweep.executor import FunctionExecutor

    function_file = tmp_path / "function.pkl"
    function_file.write_bytes(cloudpickle.dumps(crashes_at_02))
    parent = exp.start_logging()
    executor = FunctionExecutor(exp, function_file, 1, cwd=os.getcwd())
    store = exp.workspace.store
    try:
        crashed = executor.launch(parent, {"alpha": 0.2}, 0)
        waiting = executor.launch(parent, {"alpha": 0.3}, 1)

        def both_ended() -> bool:
            executor.check()
            records = [store.get_run(crashed), store.get_run(waiting)]
            return all(r is not None and r.status in RunStatus.TERMINAL for r in records)

        wait_until(both_ended, 120, what="both trials ended")
        assert store.get_run(crashed).status == RunStatus.FAILED  # type: ignore[union-attr]
        assert store.get_run(waiting).status == RunStatus.COMPLETED  # type: ignore[union-attr]
        assert Run.get(exp.workspace, waiting).get_metrics()["mse"] == 0.3
    finally:
        executor.close()
        parent.complete()
