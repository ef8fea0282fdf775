"""The team store: run_widgets on PostgreSQL against MLflow's SQLAlchemy store on the same server.

One throwaway PostgreSQL server (Debian's binaries, default durability: fsync on) is
started in a temporary folder on a free port; every scenario gets a fresh database on it,
for run_widgets and for MLflow alike.

* ``run.log`` loop: ``run.log("loss", v)`` in a loop (background flusher running); and how
  long until a *separate process* reading the store sees every point (durable). MLflow:
  ``mlflow.log_metric`` in a loop (synchronous), same visibility probe (psycopg2 count).
* history read: ``run.get_metric_history("loss")`` of the 1M points just logged (numpy).
  MLflow: ``get_metric_history`` of 10,000 points + conversion to numpy.
* 8 writer processes: each opens the workspace by URI, starts a run, waits for a common
  start signal, ``run.log``s its points and ``complete()``s (durable). Lost = points
  missing when every history is read back and compared value by value. MLflow: 8
  processes ``log_metric`` to their own runs, one polling reader.
* widget poll: ``RunTracker.poll()`` (what the RunDetails poller runs) of the 1M-point
  run after 1,000 new points arrived (run_widgets only).

Usage: ``.venv/bin/python benchmarks/bench_postgres.py [--quick] [--repeats N] [--mlflow no]``
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
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
    "log_n": 1_000_000,
    "repeats": 3,
    "writers": 8,
    "per_writer": 250_000,
    "poll_repeats": 15,
    "mlflow_log_n": 500,
    "mlflow_history_n": 10_000,
    "mlflow_per_writer": 150,
}
QUICK = {
    "log_n": 50_000,
    "repeats": 1,
    "writers": 4,
    "per_writer": 5_000,
    "poll_repeats": 3,
    "mlflow_log_n": 50,
    "mlflow_history_n": 1_000,
    "mlflow_per_writer": 10,
}
METRIC = "loss"

_PROBE = """
import sys, time
import psycopg
uri, run_id, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = psycopg.connect(uri, autocommit=True)
print("ready", flush=True)
sys.stdin.readline()
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    row = conn.execute(
        "SELECT n_points FROM metrics WHERE run_id = %s AND name = 'loss'", (run_id,)
    ).fetchone()
    if row and row[0] >= expected:
        print(f"seen {time.monotonic():.9f}", flush=True)
        break
    time.sleep(0.001)
else:
    print("timeout", flush=True)
"""


# ------------------------------------------------------------------------ our side --
def _password(uri: str) -> str:
    return urlsplit(uri).password or ""


def _workspace(uri: str | None, folder: str) -> Any:
    """The PostgreSQL workspace (``uri``), or with ``None`` a SQLite one (control rows)."""
    from run_widgets import Workspace

    return Workspace(folder) if uri is None else Workspace(store=uri, artifacts=folder)


def log_loop_once(uri: str | None, folder: str, n: int) -> dict[str, Any]:
    """``run.log`` n times; rate, time until another process sees every point, history read."""
    from run_widgets import Experiment

    ws = _workspace(uri, folder)
    run = Experiment(ws, "bench-pg-log").start_logging(snapshot_directory=None, outputs=False)
    probe = None
    if uri is not None:
        probe = subprocess.Popen(
            [sys.executable, "-c", _PROBE, uri.replace(f":{_password(uri)}@", "@"), run.id, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert probe.stdout is not None and probe.stdin is not None
        if probe.stdout.readline().strip() != "ready":
            raise RuntimeError("visibility probe did not start")
    values = (np.arange(n) * 1e-3).tolist()
    log = run.log
    start = time.perf_counter()
    for value in values:
        log(METRIC, value)
    elapsed = time.perf_counter() - start
    t_last = time.monotonic()
    durable_ms = None
    if probe is not None:
        assert probe.stdout is not None and probe.stdin is not None
        probe.stdin.write("go\n")
        probe.stdin.flush()
        line = probe.stdout.readline().strip()
        probe.wait(timeout=60)
        if line.startswith("seen"):
            durable_ms = (float(line.split()[1]) - t_last) * 1000
    run.complete()
    start = time.perf_counter()
    history = run.get_metric_history(METRIC)
    read_s = time.perf_counter() - start
    if len(history) != n or float(history.values[-1]) != values[-1]:
        raise RuntimeError(f"history has {len(history)} points, expected {n}")
    return {
        "rate": n / elapsed,
        "durable_ms": durable_ms,
        "read_rate": n / read_s,
        "run_id": run.id,
    }


def poll_once(uri: str | None, folder: str, repeats: int) -> list[float]:
    """One widget poll (``RunTracker.poll()``) of a live 1M-point run after 1,000 new points."""
    from run_widgets import Experiment
    from run_widgets.views.reader import run_reader
    from run_widgets.views.tracker import RunTracker

    ws = _workspace(uri, folder)
    run = Experiment(ws, "bench-pg-poll").start_logging(snapshot_directory=None, outputs=False)
    for k in range(4):  # the 1M-point history, in four flushes
        run.log_list(METRIC, np.arange(k * 250_000, (k + 1) * 250_000, dtype=float))
        run.flush()
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    times = []
    step = 1_000_000
    for _ in range(repeats + 1):
        run.log_list(METRIC, np.arange(step, step + 1000, dtype=float))
        step += 1000
        run.flush()
        start = time.perf_counter()
        changes = tracker.poll()
        times.append((time.perf_counter() - start) * 1000)
        if not changes.metrics:
            raise RuntimeError("the poll did not see the new points")
    run.complete()
    ws.close()
    return times[1:]  # the first poll after opening pays first-use costs


def writer_main(
    uri: str, folder: str, index: int, count: int, ready: Any, start: Any, out: Any
) -> None:
    """One writer process: a run, ``count`` ``run.log`` calls, ``complete()``."""
    from run_widgets import Experiment

    stats: dict[str, Any] = {"index": index, "errors": []}
    try:
        ws = _workspace(uri, folder)
        run = Experiment(ws, "bench-pg-writers").start_logging(
            snapshot_directory=None, outputs=False
        )
        values = (index * 1e6 + np.arange(count) * 1e-3).tolist()
        ready.put(run.id)
        start.wait()
        t0 = time.monotonic()
        log = run.log
        for value in values:
            log(METRIC, value)
        run.complete()
        stats.update(run_id=run.id, t0=t0, t1=time.monotonic())
    except BaseException:
        stats["errors"].append(traceback.format_exc()[-1500:])
    out.put(stats)


def _await_ready(ready: Any, out: Any, procs: list[Any], timeout: float) -> None:
    """Wait until every writer is ready; raise at once with the error of one that failed."""
    deadline = time.monotonic() + timeout
    pending = len(procs)
    while pending:
        try:
            ready.get(timeout=1)
            pending -= 1
            continue
        except queue.Empty:
            pass
        if not out.empty():
            raise RuntimeError("writer failed before starting:\n" + "".join(out.get()["errors"]))
        dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"writers not ready: {pending} missing, exit codes {dead}")


def writers_once(uri: str, folder: str, writers: int, per_writer: int) -> dict[str, Any]:
    """``writers`` processes log to their own runs at once; throughput and points lost."""
    from run_widgets import Experiment, Run

    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    start = ctx.Event()
    procs = [
        ctx.Process(target=writer_main, args=(uri, folder, i, per_writer, ready, start, out))
        for i in range(writers)
    ]
    for proc in procs:
        proc.start()
    _await_ready(ready, out, procs, timeout=300)
    t_start = time.monotonic()
    start.set()
    results = [out.get(timeout=1800) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [e for r in results for e in r["errors"]]
    if errors:
        raise RuntimeError("writer failed:\n" + errors[0])
    t_end = max(r["t1"] for r in results)
    ws = _workspace(uri, folder)
    exp = Experiment(ws, "bench-pg-writers")
    lost = 0
    for r in results:
        values = Run(exp, r["run_id"]).get_metric_history(METRIC).values
        expected = r["index"] * 1e6 + np.arange(per_writer) * 1e-3
        if len(values) != per_writer:
            lost += per_writer - len(values)
        else:
            lost += int(np.count_nonzero(np.asarray(values, dtype=float) != expected))
    ws.close()
    return {"rate": writers * per_writer / (t_end - t_start), "lost": lost}


# --------------------------------------------------------------------------- main --
def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    params = dict(QUICK if args.quick else FULL)
    if args.repeats:
        params["repeats"] = args.repeats
    with_mlflow = want_mlflow(args)
    sys.path.insert(0, str(ROOT))
    from run_widgets.store.postgres.local_server import LocalPostgres

    with LocalPostgres(fsync=True) as server, tempfile.TemporaryDirectory() as tmp:
        names = iter(range(1, 1000))

        def database() -> str:
            return server.create_database(f"bench{next(names)}")

        def mlflow_database() -> str:  # SQLAlchemy's psycopg2 dialect, as MLflow documents
            name = database().rsplit("/", 1)[1]
            return server.uri(name, password=False).replace(
                "postgresql://", "postgresql+psycopg2://", 1
            )

        # Subprocesses (the probe, MLflow) get the password from the environment, never
        # on their command line.
        os.environ["PGPASSWORD"] = server.password

        progress(f"PostgreSQL at 127.0.0.1:{server.port} (fsync on)")
        logs = []
        for k in range(params["repeats"]):
            progress(f"run.log loop, {params['log_n']:,} points ({k + 1}/{params['repeats']})")
            uri = database()
            logs.append(log_loop_once(uri, str(Path(tmp) / f"log{k}"), params["log_n"]))
        progress("same run.log loop on SQLite (the machine's load, for comparison)")
        sqlite_logs = [
            log_loop_once(None, str(Path(tmp) / f"sqlite{k}"), params["log_n"])
            for k in range(params["repeats"])
        ]
        progress("widget poll of a live 1M-point run")
        polls = poll_once(database(), str(Path(tmp) / "poll"), params["poll_repeats"])
        sqlite_polls = poll_once(None, str(Path(tmp) / "poll-sqlite"), params["poll_repeats"])
        writer_runs = []
        for k in range(params["repeats"]):
            progress(f"{params['writers']} writer processes ({k + 1}/{params['repeats']})")
            writer_runs.append(
                writers_once(
                    database(), str(Path(tmp) / f"w{k}"), params["writers"], params["per_writer"]
                )
            )

        mlflow: dict[str, Any] = {}
        if with_mlflow:
            progress("MLflow log_metric loop on the same server")
            mlflow["log"] = run_mlflow(
                "log_loop", {"n": params["mlflow_log_n"], "repeats": 3, "uris": [mlflow_database()]}
            )
            progress("MLflow history read")
            mlflow["history"] = run_mlflow(
                "history",
                {"n": params["mlflow_history_n"], "repeats": 3, "uris": [mlflow_database()]},
            )
            progress("MLflow 8 writer processes")
            mlflow["concurrency"] = run_mlflow(
                "concurrency",
                {
                    "writers": params["writers"],
                    "per_writer": params["mlflow_per_writer"],
                    "repeats": 1,
                    "reader_interval": 1.0,
                    "uris": [mlflow_database()],
                },
            )

    rates = [r["rate"] for r in logs]
    sqlite_rates = [r["rate"] for r in sqlite_logs]
    sqlite_reads = [r["read_rate"] for r in sqlite_logs]
    durable = [r["durable_ms"] for r in logs if r["durable_ms"] is not None]
    reads = [r["read_rate"] for r in logs]
    writer_rates = [r["rate"] for r in writer_runs]
    lost = sum(r["lost"] for r in writer_runs)
    ml_log = mlflow.get("log", {})
    ml_hist = mlflow.get("history", {})
    ml_conc = mlflow.get("concurrency", {}).get("samples", [{}])
    results = [
        Result(
            "pg_log_loop",
            "PostgreSQL: `run.log` in a loop (buffered)",
            "points/s",
            median(rates),
            median(ml_log["rates"]) if ml_log else None,
            target=500_000,
            target_text="≥ 500k points/s",
            ours_detail=(
                f"{params['log_n']:,} points; {spread(rates, fmt_rate)}; same loop on SQLite"
                f" in this run: {fmt_rate(median(sqlite_rates))}"
            ),
            mlflow_detail=f"{ml_log.get('n', 0)} points, synchronous log_metric" if ml_log else "",
            samples={"ours": rates, "mlflow": ml_log.get("rates", [])},
        ),
        Result(
            "pg_durable",
            "PostgreSQL: … visible to another process after the last call",
            "ms",
            median(durable) if durable else None,
            median(ml_log["durable_ms"]) if ml_log else None,
            target=1000,
            target_text="≤ 1 s",
            higher_is_better=False,
            ours_detail=spread(durable, fmt_ms) if durable else "probe timed out",
            samples={"ours": durable, "mlflow": ml_log.get("durable_ms", [])},
        ),
        Result(
            "pg_history",
            "PostgreSQL: read a metric history → numpy",
            "points/s",
            median(reads),
            median(ml_hist["rates"]) if ml_hist else None,
            target=5_000_000,
            target_text="≥ 5M points/s",
            ours_detail=(
                f"{params['log_n']:,} points; {spread(reads, fmt_rate)}; from SQLite in this"
                f" run: {fmt_rate(median(sqlite_reads))}"
            ),
            mlflow_detail=f"{ml_hist.get('n', 0):,} points" if ml_hist else "",
            samples={"ours": reads, "mlflow": ml_hist.get("rates", [])},
        ),
        Result(
            "pg_writers",
            f"PostgreSQL: {params['writers']} writer processes, total",
            "points/s",
            median(writer_rates),
            ml_conc[0].get("rate") if ml_conc and ml_conc[0] else None,
            target=200_000,
            target_text="≥ 200k points/s, 0 lost",
            met_override=(median(writer_rates) >= 200_000 and lost == 0),
            ours_detail=(
                f"{params['per_writer']:,} points per writer; lost {lost}; "
                f"{spread(writer_rates, fmt_rate)}"
            ),
            mlflow_detail=(
                f"{params['mlflow_per_writer']} points per writer; lost {ml_conc[0].get('lost')}"
                if ml_conc and ml_conc[0]
                else ""
            ),
            samples={"ours": writer_rates},
        ),
        Result(
            "pg_poll",
            "PostgreSQL: one widget poll of a live 1M-point run (+1,000 new points)",
            "ms",
            median(polls),
            None,
            target=30,
            target_text="≤ 30 ms",
            higher_is_better=False,
            ours_detail=(
                f"{spread(polls, fmt_ms)}; the same poll on SQLite in this run:"
                f" {fmt_ms(median(sqlite_polls))}"
            ),
            mlflow_cell="no live view",
            samples={"ours": polls},
        ),
    ]
    finish(results, args, "PostgreSQL team store vs MLflow (SQLAlchemy) on the same server")
    if args.json is None:
        print(json.dumps({r.key: r.ours for r in results}))


if __name__ == "__main__":
    main()
