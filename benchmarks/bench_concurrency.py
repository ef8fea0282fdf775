"""Many writer processes and one polling reader on one store: run_widgets against MLflow.

run_widgets: a parent run; 8 writer processes each open the workspace, create a child run
of it, wait for a common start signal, ``run.log`` their points as fast as they can and
``complete()`` the child (which flushes). A reader process meanwhile polls like the live
sweep view does, only much more often: ``RunTracker.poll()`` of the parent (child table)
plus one incremental ``RunTracker.poll()`` per child (their new points), every 0.2 s.

Reported: total points/s (all points / time from the start signal until the last child is
complete, i.e. durable), points lost (every child's history is compared with what it
logged, value by value), "database is locked"/busy errors (every ``store.write`` of every
writer is wrapped and its exceptions counted, including ones the flusher would retry, plus
every error the reader hits), and the reader's poll latency.

A second run_widgets scenario ("stress") makes each writer ``flush()`` every 100 points,
so the store takes thousands of commits per second from 8 processes.

MLflow (sqlite, its default busy_timeout): 8 writer processes each ``log_metric`` to their
own run, one reader polls ``search_runs`` + 4 ``get_metric_history`` every second (the
method of reference/peer-trackers.md Appendix A). MLflow commits every point, so it gets
far fewer points; compare points/s.

Usage: ``.venv/bin/python benchmarks/bench_concurrency.py [--quick] [--repeats N] [--mlflow no]``
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Result,
    base_parser,
    finish,
    fmt_ms,
    fmt_rate,
    median,
    progress,
    run_mlflow,
    spread,
    want_mlflow,
)

FULL = {
    "writers": 8,
    "per_writer": 250_000,
    "stress_per_writer": 50_000,
    "stress_flush_every": 100,
    "repeats": 3,
    "reader_interval": 0.2,
    "mlflow_per_writer": 150,
    "mlflow_repeats": 3,
}
QUICK = {
    "writers": 4,
    "per_writer": 5_000,
    "stress_per_writer": 2_000,
    "stress_flush_every": 100,
    "repeats": 1,
    "reader_interval": 0.2,
    "mlflow_per_writer": 10,
    "mlflow_repeats": 1,
}
METRIC = "loss"


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def expected_values(index: int, count: int) -> np.ndarray:
    """What writer ``index`` logs: distinct per writer, so mix-ups are caught too."""
    return index * 1e6 + np.arange(count) * 1e-3


# ------------------------------------------------------------------------ processes --
def writer_main(
    workspace: str,
    parent_id: str,
    index: int,
    count: int,
    flush_every: int,
    ready: Any,
    start: Any,
    out: Any,
) -> None:
    """One writer process: a child run, ``count`` ``run.log`` calls, ``complete()``."""
    from run_widgets import Experiment, Run, Workspace

    stats: dict[str, Any] = {"index": index, "write_calls": 0, "lock_errors": 0, "errors": []}
    try:
        ws = Workspace(workspace)
        store = ws.store
        original_write = store.write

        def counted_write(ops: Any) -> int:
            stats["write_calls"] += 1
            try:
                return original_write(ops)
            except Exception as exc:
                stats["lock_errors"] += _is_lock_error(exc)
                stats["errors"].append(repr(exc)[:300])
                raise

        store.write = counted_write  # type: ignore[method-assign]
        exp = Experiment(ws, "bench-concurrency")
        parent = Run(exp, parent_id)
        child = parent.child_run(name=f"writer-{index}")
        values = expected_values(index, count).tolist()
        ready.put(child.id)
        start.wait()
        t0 = time.monotonic()
        log = child.log
        if flush_every:
            for k in range(0, count, flush_every):
                for value in values[k : k + flush_every]:
                    log(METRIC, value)
                child.flush()
        else:
            for value in values:
                log(METRIC, value)
        t_logged = time.monotonic()
        child.complete()
        stats.update(run_id=child.id, t0=t0, t_logged=t_logged, t1=time.monotonic())
    except BaseException as exc:
        stats["lock_errors"] += _is_lock_error(exc)
        stats["errors"].append(traceback.format_exc()[-1500:])
    out.put(stats)


def reader_main(
    workspace: str, parent_id: str, interval: float, start: Any, stop: Any, out: Any
) -> None:
    """The polling reader: the parent's tracker plus one incremental tracker per child."""
    from run_widgets import Experiment, Run, Workspace
    from run_widgets.views.reader import run_reader
    from run_widgets.views.tracker import RunTracker

    result: dict[str, Any] = {"latencies_ms": [], "errors": [], "lock_errors": 0, "seen": 0}
    try:
        ws = Workspace(workspace)
        exp = Experiment(ws, "bench-concurrency")
        tracker = RunTracker(run_reader(Run(exp, parent_id)))
        children: dict[str, RunTracker] = {}

        def poll_all() -> None:
            tracker.poll()
            for child_id in tracker.children:
                if child_id not in children:
                    children[child_id] = RunTracker(run_reader(Run(exp, child_id)))
                children[child_id].poll()

        start.wait()
        while True:
            stopping = stop.is_set()
            t = time.perf_counter()
            try:
                poll_all()
            except Exception as exc:
                result["lock_errors"] += _is_lock_error(exc)
                result["errors"].append(repr(exc)[:300])
            result["latencies_ms"].append((time.perf_counter() - t) * 1000)
            if stopping:
                break
            stop.wait(interval)
        result["seen"] = sum(
            len(c.history(METRIC)) for c in children.values() if METRIC in c.metrics
        )
        result["children_seen"] = len(children)
    except BaseException:
        result["errors"].append(traceback.format_exc()[-1500:])
    out.put(result)


# ------------------------------------------------------------------------ our side --
def ours_once(writers: int, per_writer: int, flush_every: int, interval: float) -> dict[str, Any]:
    """One run of the scenario; throughput, losses, errors and reader latencies."""
    from run_widgets import Experiment, Run, Workspace

    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        location = str(Path(tmp) / "ws")
        ws = Workspace(location)
        exp = Experiment(ws, "bench-concurrency")
        parent = exp.start_logging(snapshot_directory=None, outputs=False)
        ready, out, reader_out = ctx.Queue(), ctx.Queue(), ctx.Queue()
        start, stop = ctx.Event(), ctx.Event()
        procs = [
            ctx.Process(
                target=writer_main,
                args=(location, parent.id, i, per_writer, flush_every, ready, start, out),
            )
            for i in range(writers)
        ]
        reader = ctx.Process(
            target=reader_main, args=(location, parent.id, interval, start, stop, reader_out)
        )
        for proc in [*procs, reader]:
            proc.start()
        for _ in procs:
            ready.get(timeout=300)
        t_start = time.monotonic()
        start.set()
        stats = [out.get(timeout=1800) for _ in procs]
        stop.set()
        read = reader_out.get(timeout=600)
        for proc in [*procs, reader]:
            proc.join(timeout=60)

        lost = 0
        wrong = 0
        for s in stats:
            if "run_id" not in s:
                lost += per_writer
                continue
            history = Run(exp, s["run_id"]).get_metric_history(METRIC)
            expected = expected_values(s["index"], per_writer)
            lost += max(0, per_writer - len(history))
            if len(history) != per_writer or not np.array_equal(history.values, expected):
                wrong += 1
            if not np.array_equal(history.steps, np.arange(per_writer)):
                wrong += 1
        parent.complete()
        ws.close()
    done = [s for s in stats if "t1" in s]
    t_end = max(s["t1"] for s in done) if done else time.monotonic()
    errors = [e for s in stats for e in s["errors"]] + read["errors"]
    return {
        "rate": writers * per_writer / (t_end - t_start),
        "seconds": t_end - t_start,
        "lost": lost,
        "wrong_series": wrong,
        "lock_errors": sum(s["lock_errors"] for s in stats) + read["lock_errors"],
        "other_errors": len(errors) - sum(s["lock_errors"] for s in stats) - read["lock_errors"],
        "errors": errors[:3],
        "write_calls": sum(s["write_calls"] for s in stats),
        "reader_polls": len(read["latencies_ms"]),
        "reader_median_ms": statistics.median(read["latencies_ms"] or [0.0]),
        "reader_max_ms": max(read["latencies_ms"] or [0.0]),
        "reader_seen": read.get("seen", 0),
        "expected": writers * per_writer,
    }


def ours(
    writers: int, per_writer: int, flush_every: int, interval: float, repeats: int
) -> list[dict[str, Any]]:
    samples = []
    for _ in range(repeats):
        sample = ours_once(writers, per_writer, flush_every, interval)
        progress(
            f"  {fmt_rate(sample['rate'])}, lost {sample['lost']}, lock errors "
            f"{sample['lock_errors']}, other errors {sample['other_errors']}, commits "
            f"{sample['write_calls']}, reader saw {sample['reader_seen']:,}/"
            f"{sample['expected']:,}, poll median {fmt_ms(sample['reader_median_ms'])}"
        )
        for error in sample["errors"]:
            progress(f"  error: {error}")
        samples.append(sample)
    return samples


# ------------------------------------------------------------------------- measure --
def measure(quick: bool, repeats: int | None, with_mlflow: bool) -> list[Result]:
    p = dict(QUICK if quick else FULL)
    if repeats is not None:
        p["repeats"] = p["mlflow_repeats"] = repeats
    w = p["writers"]
    ml: dict[str, Any] | None = None
    if with_mlflow:
        progress(f"MLflow: {w} writers x {p['mlflow_per_writer']} log_metric + 1 reader")
        ml = run_mlflow(
            "concurrency",
            {
                "writers": w,
                "per_writer": p["mlflow_per_writer"],
                "repeats": p["mlflow_repeats"],
                "reader_interval": 1.0,
            },
        )
    progress(f"run_widgets: {w} writers x {p['per_writer']:,} run.log + 1 reader")
    samples = ours(w, p["per_writer"], 0, p["reader_interval"], p["repeats"])
    progress(
        f"run_widgets stress: {w} writers x {p['stress_per_writer']:,} run.log, flush() every "
        f"{p['stress_flush_every']} points"
    )
    stress = ours(
        w, p["stress_per_writer"], p["stress_flush_every"], p["reader_interval"], p["repeats"]
    )
    ml_samples = ml["samples"] if ml else []

    def worst(items: list[dict[str, Any]], key: str) -> float | None:
        return float(max(s[key] for s in items)) if items else None

    rates = [s["rate"] for s in samples]
    ml_rates = [s["rate"] for s in ml_samples]
    reader = [s["reader_median_ms"] for s in samples]
    who = f"{w} writers + 1 reader"
    ml_text = (
        f"{w} × {p['mlflow_per_writer']} `log_metric`, reader every 1 s: "
        f"{spread(ml_rates, fmt_rate)}; reader poll median "
        f"{fmt_ms(median([s['reader_median_ms'] for s in ml_samples]))}"
        if ml_samples
        else ""
    )
    results = [
        Result(
            key="concurrency_rate",
            operation=f"{who}: total points/s",
            unit="points/s",
            ours=median(rates),
            mlflow=median(ml_rates) if ml_rates else None,
            target=100_000,
            target_text="≥ 100,000 points/s",
            ours_detail=(
                f"{w} × {p['per_writer']:,} `run.log` + complete(), reader every "
                f"{p['reader_interval']} s: {spread(rates, fmt_rate)}; reader poll median "
                f"{fmt_ms(median(reader))}, max {fmt_ms(worst(samples, 'reader_max_ms'))}; "
                f"commits {samples[0]['write_calls']}"
            ),
            mlflow_detail=ml_text,
            samples={"ours": rates, "mlflow": ml_rates},
        ),
        Result(
            key="concurrency_lost",
            operation=f"{who}: points lost (worst run)",
            unit="count",
            ours=worst(samples, "lost"),
            mlflow=worst(ml_samples, "lost"),
            target=0,
            target_text="0",
            higher_is_better=False,
            ours_detail=(
                f"every child's history compared value by value; wrong series: "
                f"{worst(samples, 'wrong_series'):.0f}; other errors: "
                f"{worst(samples, 'other_errors'):.0f}"
            ),
        ),
        Result(
            key="concurrency_locked",
            operation=f"{who}: 'database is locked' errors (worst run)",
            unit="count",
            ours=worst(samples, "lock_errors"),
            mlflow=worst(ml_samples, "lock_errors"),
            target=0,
            target_text="0",
            higher_is_better=False,
            ours_detail="every store.write of every writer counted, retried ones included",
        ),
    ]
    stress_rates = [s["rate"] for s in stress]
    stress_ok = worst(stress, "lost") == 0 and worst(stress, "lock_errors") == 0
    results.append(
        Result(
            key="concurrency_stress",
            operation=f"stress: {who}, `flush()` every {p['stress_flush_every']} points",
            unit="points/s",
            ours=median(stress_rates),
            target=100_000,
            target_text="≥ 100,000 points/s, 0 lost, 0 locked",
            met_override=bool(stress_ok and median(stress_rates) >= 100_000),
            ours_detail=(
                f"{w} × {p['stress_per_writer']:,} points, {stress[0]['write_calls']:,} commits: "
                f"{spread(stress_rates, fmt_rate)}; lost {worst(stress, 'lost'):.0f}, lock "
                f"errors {worst(stress, 'lock_errors'):.0f}, reader poll median "
                f"{fmt_ms(median([s['reader_median_ms'] for s in stress]))}"
            ),
            mlflow_cell="(no equivalent)",
            samples={"ours": stress_rates},
        )
    )
    return results


def main(argv: list[str] | None = None) -> int:
    args = base_parser(__doc__.splitlines()[0]).parse_args(argv)
    results = measure(args.quick, args.repeats, want_mlflow(args))
    finish(results, args, "Concurrent writers" + (" (--quick)" if args.quick else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
