"""The MLflow half of the benchmarks, run under an interpreter that has MLflow.

Usage (the benchmark scripts call it; run by hand only to debug)::

    python _mlflow_worker.py TASK '{"json": "params"}'

It prints one JSON object on its last stdout line. Tasks: ``log_loop``, ``batch``,
``history``, ``history_direct``, ``concurrency``. MLflow uses a ``sqlite:///`` store in a fresh temporary
directory, with its default settings (which include ``busy_timeout=20000``), unless the
parameters carry ``"uris"``: then each repeat uses the next ``postgresql://`` URI (an empty
database on the benchmark's PostgreSQL server; MLflow needs psycopg2 for it).
This file imports neither run_widgets nor the benchmark helpers: the MLflow interpreter
may be a separate venv.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def _quiet() -> None:
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _store(tmp: str, params: dict[str, Any] | None = None) -> tuple[str, str]:
    """The tracking URI and what a plain reader opens: a sqlite file or the same URI."""
    uris = (params or {}).get("uris")
    if uris:
        uri = uris.pop(0)
        return uri, uri
    db = Path(tmp) / "mlflow.db"
    template = os.environ.get(TEMPLATE_VARIABLE)
    if template:
        _copy_of_template(Path(template), db)
    return f"sqlite:///{db}", str(db)


TEMPLATE_VARIABLE = "RUN_WIDGETS_BENCH_MLFLOW_TEMPLATE"


def _copy_of_template(template: Path, db: Path) -> None:
    """Make ``db`` a copy of a new, empty MLflow database kept at ``template``.

    MLflow makes a new sqlite store by running every schema migration: about 3 s per task
    process on a loaded 2-core machine, 0.5 s to open a copy. None of it is measured, so
    the tasks of one benchmark run start from one migrated copy (the first one makes it).
    """
    import fcntl

    with open(template.with_name(template.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            partial = template.with_name(template.name + ".partial")
            partial.unlink(missing_ok=True)
            _client(f"sqlite:///{partial}").search_experiments()  # creates the tables
            _backup(partial, template)
            partial.unlink()
    _backup(template, db)


def _backup(source: Path, target: Path) -> None:
    """A consistent copy of the sqlite database ``source`` (SQLite's backup API)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _count(target: str, where: str = "", args: tuple[Any, ...] = ()) -> int:
    """Rows of MLflow's ``metrics`` table, read with the database's own driver."""
    if target.startswith("postgresql"):
        import psycopg2

        with psycopg2.connect(target.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM metrics " + where.replace("?", "%s"), args)
            return int(cur.fetchone()[0])
    conn = sqlite3.connect(target, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM metrics " + where, args).fetchone()[0])
    finally:
        conn.close()


def _client(uri: str) -> Any:
    _quiet()
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _experiment(client: Any, name: str, tmp: str) -> str:
    return str(client.create_experiment(name, artifact_location=str(Path(tmp) / "artifacts")))


# ----------------------------------------------------------------------- durability --
def reader_main(db: str, run_id: str, key: str, expected: int, timeout: float) -> None:
    """Wait for "go" on stdin, then poll (plain driver) until every point is visible."""
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            count = _count(db, "WHERE run_uuid = ? AND key = ?", (run_id, key))
        except sqlite3.OperationalError:  # a writer holds the lock (rollback journal)
            count = -1
        if count >= expected:
            print(f"seen {time.monotonic():.9f}", flush=True)
            return
        time.sleep(0.001)
    print("timeout", flush=True)


def _start_reader(db: str, run_id: str, key: str, expected: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "_reader", json.dumps([str(db), run_id, key, expected, 120])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("durability reader did not start")
    return proc


def _visible_after(proc: subprocess.Popen[str], t_last: float) -> float | None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    line = proc.stdout.readline().strip()
    proc.wait(timeout=60)
    if not line.startswith("seen "):
        return None
    return float(line.split()[1]) - t_last


# ---------------------------------------------------------------------------- tasks --
def log_loop(params: dict[str, Any]) -> dict[str, Any]:
    """``mlflow.log_metric`` in a loop (synchronous by default, or ``synchronous=False``)."""
    _quiet()
    import mlflow

    n, repeats, synchronous = params["n"], params["repeats"], params.get("synchronous", True)
    rates, durable = [], []
    with tempfile.TemporaryDirectory() as tmp:
        uri, db = _store(tmp, params)
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("bench-log-loop")
        values = [i * 1e-3 for i in range(n)]
        for _ in range(repeats):
            with mlflow.start_run() as run:
                reader = _start_reader(db, run.info.run_id, "loss", n)
                start = time.perf_counter()
                for i, value in enumerate(values):
                    mlflow.log_metric("loss", value, step=i, synchronous=synchronous)
                t_last = time.monotonic()
                rates.append(n / (time.perf_counter() - start))
                latency = _visible_after(reader, t_last)
                durable.append(float("nan") if latency is None else latency * 1000)
                if not synchronous:
                    mlflow.flush_async_logging()
    return {"rates": rates, "durable_ms": durable, "n": n}


def batch(params: dict[str, Any]) -> dict[str, Any]:
    """``MlflowClient.log_batch`` of ``batch_size`` metrics per call (MLflow's limit: 1000)."""
    from mlflow.entities import Metric

    n, size, repeats = params["n"], params.get("batch_size", 1000), params["repeats"]
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        uri, _ = _store(tmp)
        client = _client(uri)
        experiment = _experiment(client, "bench-batch", tmp)
        now = int(time.time() * 1000)
        warm = client.create_run(experiment).info.run_id  # first-call costs, untimed
        client.log_batch(warm, metrics=[Metric("loss", 0.0, now, i) for i in range(10)])
        for _ in range(repeats):
            run_id = client.create_run(experiment).info.run_id
            metrics = [Metric("loss", i * 1e-3, now, i) for i in range(n)]  # built untimed
            start = time.perf_counter()
            for k in range(0, n, size):
                client.log_batch(run_id, metrics=metrics[k : k + size])
            rates.append(n / (time.perf_counter() - start))
            client.set_terminated(run_id)
    return {"rates": rates, "n": n, "batch_size": size}


def history(params: dict[str, Any]) -> dict[str, Any]:
    """``MlflowClient.get_metric_history`` of an ``n``-point metric, into numpy arrays."""
    import numpy as np
    from mlflow.entities import Metric

    n, repeats = params["n"], params["repeats"]
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        uri, _ = _store(tmp, params)
        client = _client(uri)
        run_id = client.create_run(_experiment(client, "bench-history", tmp)).info.run_id
        now = int(time.time() * 1000)
        for k in range(0, n, 1000):
            client.log_batch(
                run_id,
                metrics=[Metric("loss", i * 1e-3, now, i) for i in range(k, min(n, k + 1000))],
            )
        client.get_metric_history(run_id, "loss")  # warm-up, untimed
        for _ in range(repeats):
            start = time.perf_counter()
            points = client.get_metric_history(run_id, "loss")
            steps = np.fromiter((m.step for m in points), dtype=np.int64, count=len(points))
            times = np.fromiter((m.timestamp for m in points), dtype=np.float64, count=len(points))
            values = np.fromiter((m.value for m in points), dtype=np.float64, count=len(points))
            elapsed = time.perf_counter() - start
            if len(values) != n or len(steps) != n or len(times) != n:
                raise RuntimeError(f"history has {len(values)} points, expected {n}")
            rates.append(n / elapsed)
    return {"rates": rates, "n": n}


def history_direct(params: dict[str, Any]) -> dict[str, Any]:
    """``get_metric_history`` of an ``n``-point metric whose rows were inserted directly.

    Logging a million points through MLflow's client takes minutes; the rows are the
    same when inserted into its ``metrics`` table with its own columns (after one
    ``log_metric`` has created the run's latest-value row). The read is MLflow's client.
    """
    import numpy as np

    n, repeats = params["n"], params["repeats"]
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        uri, db = _store(tmp)
        client = _client(uri)
        run_id = client.create_run(_experiment(client, "bench-history-1m", tmp)).info.run_id
        client.log_metric(run_id, "loss", 0.0, step=0)
        now = int(time.time() * 1000)
        conn = sqlite3.connect(db)
        try:
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
                " VALUES ('loss', ?, ?, ?, ?, 0)",
                ((i * 1e-3, now + i, run_id, i) for i in range(1, n)),
            )
            conn.commit()
        finally:
            conn.close()
        for _ in range(repeats):
            start = time.perf_counter()
            points = client.get_metric_history(run_id, "loss")
            values = np.fromiter((m.value for m in points), dtype=np.float64, count=len(points))
            steps = np.fromiter((m.step for m in points), dtype=np.int64, count=len(points))
            seconds.append(time.perf_counter() - start)
            if len(values) != n or len(steps) != n:
                raise RuntimeError(f"history has {len(values)} points, expected {n}")
    return {"seconds": seconds, "n": n}


# ----------------------------------------------------------------------- concurrency --
def _writer(uri: str, experiment: str, count: int, ready: Any, start: Any, out: Any) -> None:
    client = _client(uri)
    run_id = client.create_run(experiment).info.run_id
    ready.put(run_id)
    start.wait()
    t0 = time.monotonic()
    ok = locked = other = 0
    messages: list[str] = []
    for i in range(count):
        try:
            client.log_metric(run_id, "loss", i * 1e-3, step=i)
            ok += 1
        except Exception as exc:
            text = str(exc)
            if "locked" in text.lower():
                locked += 1
            else:
                other += 1
            if len(messages) < 3:
                messages.append(text[:300])
    out.put(
        {
            "run_id": run_id,
            "ok": ok,
            "locked": locked,
            "other": other,
            "t0": t0,
            "t1": time.monotonic(),
            "messages": messages,
        }
    )


def _reader(uri: str, experiment: str, interval: float, start: Any, stop: Any, out: Any) -> None:
    client = _client(uri)
    start.wait()
    latencies: list[float] = []
    errors: list[str] = []
    locked = 0
    while not stop.is_set():
        t = time.perf_counter()
        try:
            runs = client.search_runs([experiment])
            for run in runs[:4]:
                client.get_metric_history(run.info.run_id, "loss")
        except Exception as exc:
            locked += "locked" in str(exc).lower()
            errors.append(str(exc)[:300])
        latencies.append((time.perf_counter() - t) * 1000)
        stop.wait(interval)
    out.put({"latencies_ms": latencies, "errors": errors, "locked": locked})


def concurrency(params: dict[str, Any]) -> dict[str, Any]:
    """``writers`` processes each ``log_metric`` ``per_writer`` times; one polling reader."""
    writers, per_writer = params["writers"], params["per_writer"]
    interval, repeats = params.get("reader_interval", 1.0), params["repeats"]
    ctx = mp.get_context("spawn")
    samples = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            uri, db = _store(tmp, params)
            client = _client(uri)
            experiment = _experiment(client, "bench-concurrency", tmp)
            ready, out, reader_out = ctx.Queue(), ctx.Queue(), ctx.Queue()
            start, stop = ctx.Event(), ctx.Event()
            procs = [
                ctx.Process(target=_writer, args=(uri, experiment, per_writer, ready, start, out))
                for _ in range(writers)
            ]
            reader = ctx.Process(
                target=_reader, args=(uri, experiment, interval, start, stop, reader_out)
            )
            for proc in [*procs, reader]:
                proc.start()
            for _ in procs:
                ready.get(timeout=300)
            t_start = time.monotonic()
            start.set()
            results = [out.get(timeout=3600) for _ in procs]
            t_end = max(r["t1"] for r in results)
            stop.set()
            read = reader_out.get(timeout=300)
            for proc in [*procs, reader]:
                proc.join(timeout=60)
            stored = _count(db)
            expected = writers * per_writer
            samples.append(
                {
                    "rate": sum(r["ok"] for r in results) / (t_end - t_start),
                    "seconds": t_end - t_start,
                    "expected": expected,
                    "stored": stored,
                    "lost": expected - stored,
                    "lock_errors": sum(r["locked"] for r in results) + read["locked"],
                    "other_errors": sum(r["other"] for r in results) + len(read["errors"]),
                    "messages": [m for r in results for m in r["messages"]][:3]
                    + read["errors"][:3],
                    "reader_polls": len(read["latencies_ms"]),
                    "reader_median_ms": statistics.median(read["latencies_ms"] or [0.0]),
                    "reader_max_ms": max(read["latencies_ms"] or [0.0]),
                }
            )
    return {"samples": samples, "writers": writers, "per_writer": per_writer}


TASKS = {
    "log_loop": log_loop,
    "batch": batch,
    "history": history,
    "history_direct": history_direct,
    "concurrency": concurrency,
}


def main() -> None:
    task, raw = sys.argv[1], sys.argv[2]
    if task == "_reader":
        db, run_id, key, expected, timeout = json.loads(raw)
        reader_main(db, run_id, key, expected, timeout)
        return
    import mlflow

    result = TASKS[task](json.loads(raw))
    result["mlflow_version"] = mlflow.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
