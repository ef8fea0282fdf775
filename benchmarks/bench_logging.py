"""Logging and reading throughput: run_widgets against MLflow (sqlite) in one run.

Measures, each repeated and reported as the median:

* ``run.log`` in a loop (one metric, distinct float values, auto steps) in points/s, and
  how long after the last ``run.log`` call *another process* sees every point without
  anyone calling ``flush()`` (durability latency). MLflow: ``mlflow.log_metric`` in a
  loop, synchronous (its default) and, as a second row, ``synchronous=False``.
* batch logging: ``run.log_list`` of large numpy arrays and of large Python lists,
  including the ``flush()`` that makes them durable. MLflow: ``log_batch`` of 1,000
  metrics per call (its limit), ``Metric`` objects built outside the timer.
* reading a metric history into numpy: ``run.get_metric_history(name)`` of 1M points,
  stored in a few large chunks and in 250-point chunks (as a long training loop flushes
  them). MLflow: ``get_metric_history`` plus conversion of the points to numpy arrays.

MLflow is slow (~200 ``log_metric``/s), so it gets fewer points; both sides are reported in
points/s, which does not depend on the count for these operations.

Usage: ``.venv/bin/python benchmarks/bench_logging.py [--quick] [--repeats N] [--mlflow no]``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
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
    "loop_n": 2_000_000,
    "loop_repeats": 5,
    "variant_n": 1_000_000,
    "variant_repeats": 3,
    "batch_arrays": (10, 1_000_000),
    "batch_lists": (2, 1_000_000),
    "batch_repeats": 5,
    "history_n": 1_000_000,
    "history_chunk": 250,
    "history_fine": (250_000, 10),
    "history_repeats": 7,
    "mlflow_loop_n": 500,
    "mlflow_async_n": 2_000,
    "mlflow_batch_n": 20_000,
    "mlflow_history_n": 10_000,
    "mlflow_repeats": 3,
}
QUICK = {
    "loop_n": 100_000,
    "loop_repeats": 1,
    "variant_n": 50_000,
    "variant_repeats": 1,
    "batch_arrays": (2, 100_000),
    "batch_lists": (1, 100_000),
    "batch_repeats": 1,
    "history_n": 100_000,
    "history_chunk": 250,
    "history_fine": (20_000, 10),
    "history_repeats": 1,
    "mlflow_loop_n": 30,
    "mlflow_async_n": 200,
    "mlflow_batch_n": 2_000,
    "mlflow_history_n": 2_000,
    "mlflow_repeats": 1,
}


# ------------------------------------------------------------------ durability reader --
def reader_main(workspace: str, run_id: str, name: str, expected: int, timeout: float) -> None:
    """Another process: wait for "go" on stdin, then poll until all points are visible.

    It reads through run_widgets' store interface (the metric header's point count), the
    way any reader of the workspace would; it never flushes anything.
    """
    from run_widgets import Workspace

    store = Workspace(workspace).store
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = sum(i.n_points for i in store.metric_infos([run_id]) if i.name == name)
        if seen >= expected:
            print(f"seen {time.monotonic():.9f}", flush=True)
            return
        time.sleep(0.001)
    print("timeout", flush=True)


class DurabilityProbe:
    """A reader process started before the timed loop and told "go" right after it."""

    def __init__(self, workspace: Path, run_id: str, name: str, expected: int) -> None:
        args = json.dumps([str(workspace), run_id, name, expected, 60])
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "_reader", args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the durability reader did not start")

    def latency_after(self, t_last: float) -> float | None:
        """Seconds from ``t_last`` (time.monotonic, shared by processes) until all seen."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        self.proc.wait(timeout=60)
        return float(line.split()[1]) - t_last if line.startswith("seen ") else None


# ------------------------------------------------------------------------ our side --
def _workspace(tmp: str) -> Any:
    from run_widgets import Experiment, Workspace

    ws = Workspace(Path(tmp) / "ws")
    return ws, Experiment(ws, "bench-logging")


def ours_log_loop(n: int, repeats: int) -> tuple[list[float], list[float]]:
    """``run.log`` ``n`` times per repeat; rates and durability latencies (ms)."""
    rates, durable = [], []
    values = [i * 1e-3 for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        ws, exp = _workspace(tmp)
        for _ in range(repeats):
            run = exp.start_logging(snapshot_directory=None, outputs=False)
            probe = DurabilityProbe(ws.folder, run.id, "loss", n)
            log = run.log
            start = time.perf_counter()
            for value in values:
                log("loss", value)
            t_last = time.monotonic()
            rates.append(n / (time.perf_counter() - start))
            latency = probe.latency_after(t_last)
            durable.append(float("nan") if latency is None else latency * 1000)
            history = run.get_metric_history("loss")
            if len(history) != n or history.values[-1] != values[-1]:
                raise RuntimeError(f"lost points: {len(history)} of {n} stored")
            run.complete()
        ws.close()
    return rates, durable


def ours_log_variant(variant: str, n: int, repeats: int) -> list[float]:
    """``run.log`` loops as users often write them: ``step=i``, or numpy float64 values."""
    rates = []
    values: Any = np.arange(n) * 1e-3  # numpy float64 scalars when iterated
    if variant == "step":
        values = values.tolist()
    with tempfile.TemporaryDirectory() as tmp:
        ws, exp = _workspace(tmp)
        for _ in range(repeats):
            run = exp.start_logging(snapshot_directory=None, outputs=False)
            log = run.log
            start = time.perf_counter()
            if variant == "step":
                for i, value in enumerate(values):
                    log("loss", value, step=i)
            else:
                for value in values:
                    log("loss", value)
            rates.append(n / (time.perf_counter() - start))
            if len(run.get_metric_history("loss")) != n:
                raise RuntimeError("lost points")
            run.complete()
        ws.close()
    return rates


def ours_batch(count: int, size: int, repeats: int, as_list: bool) -> list[float]:
    """``run.log_list`` of ``count`` blocks of ``size`` points, plus ``flush()``."""
    rates = []
    block: Any = np.random.default_rng(0).random(size)
    if as_list:
        block = block.tolist()
    with tempfile.TemporaryDirectory() as tmp:
        ws, exp = _workspace(tmp)
        for _ in range(repeats):
            run = exp.start_logging(snapshot_directory=None, outputs=False)
            start = time.perf_counter()
            for _ in range(count):
                run.log_list("batch", block)
            run.flush()
            rates.append(count * size / (time.perf_counter() - start))
            run.complete()
        ws.close()
    return rates


def ours_history(n: int, chunk: int | None, repeats: int) -> list[float]:
    """``run.get_metric_history`` of an ``n``-point metric.

    ``chunk=None``: logged in one loop (the background flusher makes a few big chunks);
    else ``flush()`` every ``chunk`` points, as a training loop that logs slowly would.
    """
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        ws, exp = _workspace(tmp)
        run = exp.start_logging(snapshot_directory=None, outputs=False)
        values = (np.arange(n) * 1e-3).tolist()
        step = chunk or n
        for k in range(0, n, step):
            for value in values[k : k + step]:
                run.log("loss", value)
            if chunk:
                run.flush()
        run.complete()
        chunks = len(ws.store.read_chunks(run.id, names=["loss"]))
        run.get_metric_history("loss")  # warm-up (page cache), untimed
        for _ in range(repeats):
            start = time.perf_counter()
            history = run.get_metric_history("loss")
            rates.append(n / (time.perf_counter() - start))
            if len(history) != n:
                raise RuntimeError(f"history has {len(history)} points, expected {n}")
        ws.close()
    progress(f"history of {n:,} points in {chunks:,} chunks: {fmt_rate(median(rates))}")
    return rates


# ------------------------------------------------------------------------- measure --
def measure(quick: bool, repeats: int | None, with_mlflow: bool) -> list[Result]:
    p = dict(QUICK if quick else FULL)
    if repeats is not None:
        for key in (
            "loop_repeats",
            "variant_repeats",
            "batch_repeats",
            "history_repeats",
            "mlflow_repeats",
        ):
            p[key] = repeats
    ml: dict[str, dict[str, Any]] = {}
    if with_mlflow:
        r = p["mlflow_repeats"]
        progress("MLflow: log_metric loop (synchronous)")
        ml["loop"] = run_mlflow("log_loop", {"n": p["mlflow_loop_n"], "repeats": r})
        progress("MLflow: log_metric loop (synchronous=False)")
        ml["async"] = run_mlflow(
            "log_loop", {"n": p["mlflow_async_n"], "repeats": r, "synchronous": False}
        )
        progress("MLflow: log_batch")
        ml["batch"] = run_mlflow("batch", {"n": p["mlflow_batch_n"], "repeats": r})
        progress("MLflow: get_metric_history")
        ml["history"] = run_mlflow("history", {"n": p["mlflow_history_n"], "repeats": max(r, 3)})

    def ml_rate(key: str) -> float | None:
        return median(ml[key]["rates"]) if key in ml else None

    def ml_detail(key: str, what: str) -> str:
        if key not in ml:
            return ""
        return f"{what}, {ml[key]['n']:,} points, {spread(ml[key]['rates'], fmt_rate)}"

    results: list[Result] = []

    progress(f"run_widgets: run.log loop, {p['loop_n']:,} points x {p['loop_repeats']}")
    rates, durable = ours_log_loop(p["loop_n"], p["loop_repeats"])
    results.append(
        Result(
            key="log_loop",
            operation="`run.log` in a loop (1 metric)",
            unit="points/s",
            ours=median(rates),
            mlflow=ml_rate("loop"),
            target=500_000,
            target_text="≥ 500,000 points/s",
            ours_detail=f"{p['loop_n']:,} points, {spread(rates, fmt_rate)}",
            mlflow_detail=ml_detail("loop", "`mlflow.log_metric` (synchronous)"),
            samples={"ours": rates, "mlflow": ml.get("loop", {}).get("rates", [])},
        )
    )
    ml_durable = median(ml["loop"]["durable_ms"]) if "loop" in ml else None
    results.append(
        Result(
            key="log_durable",
            operation="… last `run.log` → visible to another process (no flush)",
            unit="ms",
            ours=median(durable),
            mlflow=ml_durable,
            target=1000,
            target_text="≤ 1 s",
            higher_is_better=False,
            ours_detail=f"{spread(durable, fmt_ms)}; flusher interval 0.5 s",
            mlflow_detail=(
                "synchronous: each log_metric commits before returning"
                if ml_durable is not None
                else ""
            ),
            samples={"ours": durable, "mlflow": ml.get("loop", {}).get("durable_ms", [])},
        )
    )
    if "async" in ml:
        async_durable = median(ml["async"]["durable_ms"])
        results.append(
            Result(
                key="log_loop_async",
                operation="`run.log` loop vs MLflow `log_metric(synchronous=False)`",
                unit="points/s",
                ours=median(rates),
                mlflow=ml_rate("async"),
                target=500_000,
                target_text="≥ 500,000 points/s",
                ours_detail="same run_widgets figure as above",
                mlflow_detail=(
                    f"async, {ml['async']['n']:,} points, {spread(ml['async']['rates'], fmt_rate)};"
                    f" visible to another process {fmt_ms(async_durable)} after the last call"
                ),
                samples={"ours": rates, "mlflow": ml["async"]["rates"]},
            )
        )

    for variant, label, ml_key in (
        ("step", "`run.log(name, v, step=i)` in a loop", "loop"),
        ("numpy", "`run.log(name, np.float64)` in a loop", None),
    ):
        progress(f"run_widgets: {label}, {p['variant_n']:,} points x {p['variant_repeats']}")
        v_rates = ours_log_variant(variant, p["variant_n"], p["variant_repeats"])
        results.append(
            Result(
                key=f"log_loop_{variant}",
                operation=label,
                unit="points/s",
                ours=median(v_rates),
                mlflow=ml_rate(ml_key) if ml_key else None,
                target=500_000,
                target_text="≥ 500,000 points/s",
                ours_detail=f"{p['variant_n']:,} points, {spread(v_rates, fmt_rate)}",
                mlflow_detail=(
                    "same MLflow figure as the first row (it always passes step=i)"
                    if ml_key and ml_key in ml
                    else ""
                ),
                samples={"ours": v_rates},
            )
        )

    count, size = p["batch_arrays"]
    progress(f"run_widgets: log_list of numpy arrays, {count} x {size:,} points")
    arrays = ours_batch(count, size, p["batch_repeats"], as_list=False)
    results.append(
        Result(
            key="batch_array",
            operation="batch: `run.log_list(np.ndarray)` + flush vs `log_batch`",
            unit="points/s",
            ours=median(arrays),
            mlflow=ml_rate("batch"),
            target=1_000_000,
            target_text="≥ 1,000,000 points/s",
            ours_detail=f"{count} × {size:,}-point float64 arrays, {spread(arrays, fmt_rate)}",
            mlflow_detail=ml_detail("batch", "`MlflowClient.log_batch`, 1,000 metrics per call"),
            samples={"ours": arrays, "mlflow": ml.get("batch", {}).get("rates", [])},
        )
    )
    count, size = p["batch_lists"]
    progress(f"run_widgets: log_list of Python lists, {count} x {size:,} points")
    lists = ours_batch(count, size, p["batch_repeats"], as_list=True)
    results.append(
        Result(
            key="batch_list",
            operation="batch: `run.log_list(list[float])` + flush vs `log_batch`",
            unit="points/s",
            ours=median(lists),
            mlflow=ml_rate("batch"),
            target=1_000_000,
            target_text="≥ 1,000,000 points/s",
            ours_detail=f"{count} × {size:,}-float lists, {spread(lists, fmt_rate)}",
            mlflow_detail="same MLflow figure as above" if "batch" in ml else "",
            samples={"ours": lists, "mlflow": ml.get("batch", {}).get("rates", [])},
        )
    )

    n, chunk = p["history_n"], p["history_chunk"]
    progress(f"run_widgets: get_metric_history of {n:,} points")
    bulk = ours_history(n, None, p["history_repeats"])
    chunked = ours_history(n, chunk, p["history_repeats"])
    n_fine, fine_chunk = p["history_fine"]
    fine = ours_history(n_fine, fine_chunk, p["history_repeats"])
    for key, label, rates_, how, points in (
        (
            "history_bulk",
            "read history → numpy (few large chunks)",
            bulk,
            "logged in one loop",
            n,
        ),
        (
            "history_chunked",
            f"read history → numpy ({chunk}-point chunks)",
            chunked,
            f"flushed every {chunk} points ({n // chunk:,} chunks)",
            n,
        ),
        (
            "history_fine",
            f"read history → numpy ({fine_chunk}-point chunks)",
            fine,
            f"flushed every {fine_chunk} points ({n_fine // fine_chunk:,} chunks), as a loop"
            " logging 20 steps/s is flushed every 0.5 s",
            n_fine,
        ),
    ):
        results.append(
            Result(
                key=key,
                operation=f"{label} vs `get_metric_history`",
                unit="points/s",
                ours=median(rates_),
                mlflow=ml_rate("history"),
                target=5_000_000,
                target_text="≥ 5,000,000 points/s",
                ours_detail=(
                    f"`run.get_metric_history`, {points:,} points {how}, {spread(rates_, fmt_rate)}"
                ),
                mlflow_detail=ml_detail("history", "`get_metric_history` + numpy conversion"),
                samples={"ours": rates_, "mlflow": ml.get("history", {}).get("rates", [])},
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_reader"]:
        reader_main(*json.loads(argv[1]))
        return 0
    args = base_parser(__doc__.splitlines()[0]).parse_args(argv)
    results = measure(args.quick, args.repeats, want_mlflow(args))
    finish(results, args, "Logging and history reads" + (" (--quick)" if args.quick else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
