"""Stress: repeat the local script sweep of ``bench_dask.py`` and log every liveness verdict.

Issue 19 saw the first phase of ``bench_dask.py`` (100 trivial script trials, two at a time,
``experiment.submit(HyperDriveConfig(...))`` then ``wait_for_completion()``) fail once with
``ProcessLost`` on the sweep's parent run while the sweep's driver was working. This script
repeats that sweep and has every process involved (this one, the sweep driver, the trial
supervisors and scripts) append each liveness judgement it makes to one JSON-lines file
(``RUN_WIDGETS_LIVENESS_LOG``): who judged, which owner row (pid, pid_started_at, host,
heartbeat age), what psutil said (create_time, status, boot time) and the verdict.

At the end it prints, per repeat, the sweep's status and duration, and every verdict that
judged an owner dead, grouped by judge; a parent run that did not complete prints its
error and the tail of the driver's control log. Exit status 1 if any sweep failed.

``--clock-step S`` replays the cause found (see ``run_widgets.runtime.host``): ``--step-at``
seconds into each sweep, this process (the one waiting for the sweep, which judges its
parent's owner) sees the wall clock stepped by ``S`` seconds, as after ``date -s``, NTP, or
a virtual machine resumed from a snapshot. What a step changes for the pid check is the
boot time the kernel reports (``/proc/stat`` btime = wall clock - uptime), which psutil adds
to every process's start since boot; the script shifts that reading in this process only.

Usage::

    nice -n 10 .venv/bin/python benchmarks/stress_sweep_liveness.py --repeats 10
    .venv/bin/python benchmarks/stress_sweep_liveness.py --repeats 1 --trials 20  # a smoke run
    .venv/bin/python benchmarks/stress_sweep_liveness.py --repeats 3 --trials 20 --clock-step 30
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from run_widgets import (
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    ScriptRunConfig,
    Workspace,
    choice,
)

TRIVIAL = "from run_widgets import Run\nRun.get_context().log('mse', 1.0)\n"
ENV_LOG = "RUN_WIDGETS_LIVENESS_LOG"


def simulate_clock_step(seconds: float) -> None:
    """From now on this process sees the wall clock stepped by ``seconds`` (Linux).

    As the kernel does after a step: ``/proc/stat`` btime (read by psutil's ``boot_time``
    and added to every process's start since boot by ``Process.create_time``) moves by it.
    """
    from psutil import _pslinux

    reported = _pslinux.boot_time
    _pslinux.boot_time = lambda: reported() + seconds


def one_sweep(
    folder: Path, trials: int, concurrent: int, step: float = 0.0, step_at: float = 5.0
) -> dict[str, Any]:
    """Run the sweep once in a fresh workspace; what happened."""
    source = folder / "src"
    source.mkdir(parents=True)
    (source / "train.py").write_text(TRIVIAL)
    ws = Workspace(folder / "ws")
    exp = Experiment(ws, "stress")
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=source, script="train.py"),
        hyperparameter_sampling=GridParameterSampling({"--i": choice(list(range(trials)))}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=concurrent,
    )
    started = time.monotonic()
    run = exp.submit(config)
    if step:
        timer = threading.Timer(step_at, simulate_clock_step, args=(step,))
        timer.daemon = True
        timer.start()
    details = run.wait_for_completion(raise_on_error=False)
    children = ws.store.find_runs(parent_id=run.id)
    result = {
        "run_id": run.id,
        "status": details["status"],
        "seconds": round(time.monotonic() - started, 1),
        "children": collections.Counter(c.status for c in children),
        "error": details.get("error"),
    }
    if details["status"] != "Completed":
        control = ws.folder / "runs" / run.id / "logs" / "control_log.txt"
        result["control_log_tail"] = control.read_text(errors="replace").splitlines()[-15:]
    ws.close()
    return result


def verdicts(path: Path) -> list[dict[str, Any]]:
    """The liveness judgements logged so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=2)
    parser.add_argument("--log", type=Path, default=None, help="keep the verdicts in this file")
    parser.add_argument("--clock-step", type=float, default=0.0, help="simulate a step (s)")
    parser.add_argument("--step-at", type=float, default=5.0, help="seconds into each sweep")
    args = parser.parse_args()
    if args.clock_step:
        print(f"psutil.boot_time() before any step: {psutil.boot_time()}", flush=True)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="rw-stress-liveness-") as tmp:
        log = args.log or Path(tmp) / "liveness.jsonl"
        os.environ[ENV_LOG] = str(log)  # inherited by the driver, supervisors and scripts
        for repeat in range(1, args.repeats + 1):
            result = one_sweep(
                Path(tmp) / f"r{repeat}",
                args.trials,
                args.concurrent,
                args.clock_step,
                args.step_at,
            )
            ok = result["status"] == "Completed"
            failures += not ok
            print(
                f"repeat {repeat}: {result['status']} in {result['seconds']} s, children "
                f"{dict(result['children'])}",
                flush=True,
            )
            if not ok:
                print(json.dumps(result, indent=2, default=str), flush=True)
        judged = verdicts(log)
        dead = [v for v in judged if not v["alive"]]
        by_judge = collections.Counter(v["judge"] for v in judged)
        print(f"\n{len(judged)} liveness verdicts, {len(dead)} dead; by judge:")
        for judge, count in by_judge.most_common():
            print(f"  {count:7d}  {judge}")
        for verdict in dead:
            print("dead:", json.dumps(verdict))
        mismatched = [
            v
            for v in judged
            if "create_time" in v
            and abs(v.get("started", v["create_time"]) - v["pid_started_at"]) >= 0.01
        ]
        moved = [v for v in judged if "create_time" in v and v["create_time"] != v.get("started")]
        print(f"{len(mismatched)} verdicts saw the process start differ from pid_started_at")
        print(f"{len(moved)} verdicts saw psutil's create_time moved by a clock step")
        for verdict in mismatched[:20]:
            print("mismatch:", json.dumps(verdict))
    print(f"\n{failures} of {args.repeats} sweeps did not complete")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
