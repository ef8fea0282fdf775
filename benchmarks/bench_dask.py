"""Sweeps on a Dask cluster against local subprocess trials (issue 13's targets).

1. Scheduling overhead per trial: 100 trivial script trials (the script logs one value),
   two at a time, on the local executor and on a real Dask cluster (``dask scheduler`` +
   2 ``dask worker`` processes on 127.0.0.1); per trial, the time from the child's creation
   to its end, median over the trials (each trial's own work is the same in both modes).
   The same for trivial *function* trials (``HyperDriveConfig(function=...)``): on the
   cluster each is forked from the worker's job template; locally a pool of loky processes
   (started once per sweep) runs them.
2. Makespan: 64 trials of a script that sleeps 2 s, on 2 workers × 2 threads with
   ``max_concurrent_runs=4``, against the ideal ``64 × 2 s / 4 = 32 s`` (target ≤ 1.2×).

Usage::

    nice -n 5 .venv/bin/python benchmarks/bench_dask.py  # full run (about 4 minutes)
    .venv/bin/python benchmarks/bench_dask.py --quick    # 10 trials, 8-trial makespan
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dask_helpers import dask_processes

from run_widgets import (
    ComputeTarget,
    DaskCompute,
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    ScriptRunConfig,
    Workspace,
    choice,
)

TRIVIAL = "from run_widgets import Run\nRun.get_context().log('mse', 1.0)\n"
SLEEPY = (
    "import time\nfrom run_widgets import Run\nrun = Run.get_context()\n"
    "time.sleep(2.0)\nrun.log('mse', 1.0)\n"
)


def sweep(exp: Experiment, source: Path, trials: int, concurrent: int, target: object) -> object:
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(
            source_directory=source, script="train.py", compute_target=target
        ),
        hyperparameter_sampling=GridParameterSampling({"--i": choice(list(range(trials)))}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=concurrent,
    )
    run = exp.submit(config)
    run.wait_for_completion()
    return run


def trivial_function(params: dict[str, object], run: object) -> None:
    """A function trial that logs one value (shipped by value: this is ``__main__``)."""
    run.log("mse", 1.0)  # type: ignore[attr-defined]


def function_sweep(exp: Experiment, trials: int, concurrent: int, target: object) -> object:
    config = HyperDriveConfig(
        function=trivial_function,
        hyperparameter_sampling=GridParameterSampling({"i": choice(list(range(trials)))}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=concurrent,
        compute_target=target,
    )
    run = exp.submit(config)
    run.wait_for_completion()
    return run


def per_trial_seconds(ws: Workspace, sweep_id: str) -> list[float]:
    children = ws.store.find_runs(parent_id=sweep_id)
    bad = [c.status for c in children if c.status != "Completed"]
    if bad:
        raise SystemExit(f"{len(bad)} trials did not complete: {bad[:5]}")
    return [float(c.end_time or 0.0) - float(c.created_at) for c in children]


def makespan(ws: Workspace, sweep_id: str) -> float:
    children = ws.store.find_runs(parent_id=sweep_id)
    return max(float(c.end_time or 0.0) for c in children) - min(
        float(c.created_at) for c in children
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    overhead_trials = 10 if args.quick else 100
    makespan_trials = 8 if args.quick else 64
    with tempfile.TemporaryDirectory(prefix="rw-bench-dask-") as tmp:
        folder = Path(tmp)
        for name, code in (("trivial", TRIVIAL), ("sleepy", SLEEPY)):
            (folder / name).mkdir()
            (folder / name / "train.py").write_text(code)
        ws = Workspace(folder / "ws")
        exp = Experiment(ws, "bench-dask")

        started = time.perf_counter()
        local = sweep(exp, folder / "trivial", overhead_trials, 2, None)
        local_wall = time.perf_counter() - started
        local_times = per_trial_seconds(ws, local.id)  # type: ignore[attr-defined]

        with dask_processes(folder / "dask", workers=2, threads=1) as cluster:
            target = ComputeTarget.attach(
                ws, "cluster", DaskCompute.attach_configuration(address=cluster.address)
            )
            started = time.perf_counter()
            remote = sweep(exp, folder / "trivial", overhead_trials, 2, target)
            remote_wall = time.perf_counter() - started
            remote_times = per_trial_seconds(ws, remote.id)  # type: ignore[attr-defined]
            remote_functions = function_sweep(exp, overhead_trials, 2, target)
            remote_function_times = per_trial_seconds(ws, remote_functions.id)  # type: ignore[attr-defined]
        local_functions = function_sweep(exp, overhead_trials, 2, None)
        local_function_times = per_trial_seconds(ws, local_functions.id)  # type: ignore[attr-defined]

        with dask_processes(folder / "dask2", workers=2, threads=2) as cluster:
            target = ComputeTarget.attach(
                ws, "cluster2", DaskCompute.attach_configuration(address=cluster.address)
            )
            long = sweep(exp, folder / "sleepy", makespan_trials, 4, target)
            span = makespan(ws, long.id)  # type: ignore[attr-defined]
        ideal = makespan_trials * 2.0 / 4

    local_median = statistics.median(local_times)
    remote_median = statistics.median(remote_times)
    print("| measure | local executor | Dask cluster (2 workers) | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| trivial trial, creation → end, median of {overhead_trials} | "
        f"{local_median:.2f} s | {remote_median:.2f} s | {remote_median / local_median:.2f}× |"
    )
    local_function = statistics.median(local_function_times)
    remote_function = statistics.median(remote_function_times)
    print(
        f"| trivial function trial, creation → end, median of {overhead_trials} | "
        f"{local_function:.2f} s | {remote_function:.2f} s | "
        f"{remote_function / local_function:.2f}× |"
    )
    print(
        f"| whole {overhead_trials}-trial sweep, 2 at a time | {local_wall:.1f} s | "
        f"{remote_wall:.1f} s | {remote_wall / local_wall:.2f}× |"
    )
    print(
        f"\n{makespan_trials} trials × 2 s on 2 workers × 2 threads: makespan {span:.1f} s, "
        f"ideal {ideal:.0f} s, ratio {span / ideal:.2f} (target ≤ 1.2: "
        f"{'met' if span / ideal <= 1.2 else 'missed'})"
    )
    print(
        f"spread: local {min(local_times):.2f}–{max(local_times):.2f} s, "
        f"Dask {min(remote_times):.2f}–{max(remote_times):.2f} s"
    )
    load_after = os.getloadavg()
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; after "
        + ", ".join(f"{x:.2f}" for x in load_after)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
