"""The MLflow bridge: poll cost of a live view of an MLflow run, and export/import speed.

A real ``mlflow server`` (SQLite backend, temporary folder, free port on 127.0.0.1) holds
a run with 5 metrics × 100,000 points. Each poll, 1,000 new points per metric are logged,
then the view's source syncs (``MlflowMirror.sync_runs``: one ``runs/get`` plus one
``metrics/get-history`` page per metric whose latest point moved, from the offset of the
points already held). The anchor, measured in the same run, is what a view without the
cursor does: re-read every metric's full history (MLflow's pages of 25,000).

Reported per poll: kernel CPU time (``time.process_time`` of this process: JSON decoding
and the arrays), wall time (the server's work included), bytes read and requests; and
export/import throughput in points/s through the same server. The live mirror
(``mirror_run``) copies the same points while they are logged: its throughput, how long
after the run ended its copy was complete, and the logging speed with the mirror on
against the same logging without it (logging must not wait for MLflow).

Needs MLflow in the project venv (``pip install -e '.[mlflow]'``).
Usage: ``.venv/bin/python benchmarks/bench_mlflow_bridge.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' mlflow server helper

FULL = {"points": 100_000, "metrics": 5, "new": 1_000, "polls": 5, "transfer_points": 20_000}
QUICK = {"points": 5_000, "metrics": 5, "new": 1_000, "polls": 3, "transfer_points": 2_000}


def seed(db_uri: str, experiment: str, p: dict[str, int]) -> str:
    """A run with ``metrics`` × ``points`` points, written straight into the server's DB."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(db_uri)
    run_id = str(client.create_run(client.create_experiment(experiment)).info.run_id)
    now = int(time.time() * 1000) - 10_000_000
    for m in range(p["metrics"]):
        key = f"metric_{m}"
        for start in range(0, p["points"], 1000):
            batch = [Metric(key, float(i), now + i, i) for i in range(start, start + 1000)]
            client.log_batch(run_id, metrics=batch)
    return run_id


def log_new(client: Any, run_id: str, p: dict[str, int], start: int) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    for m in range(p["metrics"]):
        batch = [
            Metric(f"metric_{m}", float(i), now + i, i) for i in range(start, start + p["new"])
        ]
        client.log_batch(run_id, metrics=batch)


def measure(p: dict[str, int]) -> dict[str, Any]:
    os.environ.setdefault("RUN_WIDGETS_MLFLOW_TIMEOUT_S", "300")  # a loaded machine is slow
    from mlflow import MlflowClient
    from mlflow_server import MlflowServer

    from run_widgets.mlflow.api import read_api
    from run_widgets.mlflow.history import MetricFollower
    from run_widgets.mlflow.mirror import MlflowMirror

    out: dict[str, Any] = {"params": p}
    with tempfile.TemporaryDirectory(prefix="rw-bench-mlflow-") as tmp:
        server = MlflowServer(Path(tmp) / "server")
        server.start()
        try:
            db_uri = f"sqlite:///{Path(tmp) / 'server' / 'mlflow.db'}"
            t0 = time.perf_counter()
            run_id = seed(db_uri, "bench", p)
            out["seed_s"] = time.perf_counter() - t0
            writer = MlflowClient(db_uri)
            api = read_api(server.url)
            mirror = MlflowMirror(api, "1", "bench")
            mirror.follow(run_id)
            cpu, wall = time.process_time(), time.perf_counter()
            mirror.sync_runs([run_id])
            out["open"] = {
                "cpu_s": time.process_time() - cpu,
                "wall_s": time.perf_counter() - wall,
                "bytes": api.bytes_read,
                "requests": api.requests,
                "points": sum(i.n_points for i in mirror.metric_infos([run_id])),
            }
            polls: list[dict[str, float]] = []
            rereads: list[dict[str, float]] = []
            start = p["points"]
            for _ in range(p["polls"]):
                log_new(writer, run_id, p, start)
                start += p["new"]
                b0, r0 = api.bytes_read, api.requests
                cpu, wall = time.process_time(), time.perf_counter()
                mirror.sync_runs([run_id])
                polls.append(
                    {
                        "cpu_s": time.process_time() - cpu,
                        "wall_s": time.perf_counter() - wall,
                        "bytes": api.bytes_read - b0,
                        "requests": api.requests - r0,
                    }
                )
                b0, r0 = api.bytes_read, api.requests
                cpu, wall = time.process_time(), time.perf_counter()
                n = 0
                for m in range(p["metrics"]):
                    n += len(MetricFollower(api, run_id, f"metric_{m}").read_new())
                rereads.append(
                    {
                        "cpu_s": time.process_time() - cpu,
                        "wall_s": time.perf_counter() - wall,
                        "bytes": api.bytes_read - b0,
                        "requests": api.requests - r0,
                        "points": n,
                    }
                )
            held = sum(i.n_points for i in mirror.metric_infos([run_id]))
            assert held == p["metrics"] * start, (held, start)
            out["poll"] = _medians(polls)
            out["reread"] = _medians(rereads)
            out["transfer"] = transfer(server.url, Path(tmp), p)
        finally:
            server.stop()
    return out


def transfer(url: str, tmp: Path, p: dict[str, int]) -> dict[str, float]:
    """Export a run_widgets run with 5 metrics to the server, then import it back."""
    import numpy as np

    from run_widgets import Experiment, Workspace
    from run_widgets.mlflow import export_runs, import_runs, mirror_run

    ws = Workspace(tmp / "ws")

    def log_all(run: Any) -> float:
        """Log the points; the seconds the logging took."""
        t0 = time.perf_counter()
        for m in range(p["metrics"]):
            for start in range(0, p["transfer_points"], 1000):
                run.log_list(f"metric_{m}", np.arange(start, start + 1000, dtype=np.float64))
        return time.perf_counter() - t0

    run = Experiment(ws, "transfer").start_logging()
    log_plain_s = log_all(run)
    run.complete()
    total = p["metrics"] * p["transfer_points"]
    # The same run logged with a live mirror: logging must not wait for MLflow.
    mirrored = Experiment(ws, "mirrored").start_logging()
    mirror_start = time.perf_counter()
    mirror = mirror_run(mirrored, tracking_uri=url, interval=1.0)
    log_mirrored_s = log_all(mirrored)
    mirrored.complete()
    ended = time.perf_counter()
    assert mirror.wait(3600) and mirror.points_sent == total, repr(mirror)
    mirror_done = time.perf_counter()
    t0 = time.perf_counter()
    report = export_runs(run, tracking_uri=url)
    export_s = time.perf_counter() - t0
    assert report.points == total, report.summary()
    target = Workspace(tmp / "back")
    t0 = time.perf_counter()
    back = import_runs(target, "transfer", tracking_uri=url)
    import_s = time.perf_counter() - t0
    assert back.points == total, back.summary()
    ws.close()
    target.close()
    return {
        "points": total,
        "export_points_per_s": total / export_s,
        "import_points_per_s": total / import_s,
        "mirror_points_per_s": total / (mirror_done - mirror_start),
        "mirror_behind_s": mirror_done - ended,
        "log_points_per_s": total / log_plain_s,
        "log_points_per_s_mirrored": total / log_mirrored_s,
    }


def _medians(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rows) for key in rows[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    out = measure(QUICK if args.quick else FULL)
    p, poll, reread = out["params"], out["poll"], out["reread"]
    history = p["metrics"] * p["points"]
    print(
        f"MLflow bridge: {p['metrics']} metrics × {p['points']:,} points, {p['new']:,} new per metric per poll"
    )
    print(
        f"  open (full read of {history:,} points): cpu {out['open']['cpu_s']:.2f} s, "
        f"wall {out['open']['wall_s']:.2f} s, {out['open']['bytes'] / 1e6:.1f} MB, {out['open']['requests']} requests"
    )
    print(
        f"  poll, incremental : cpu {poll['cpu_s'] * 1000:.1f} ms, wall {poll['wall_s'] * 1000:.0f} ms, "
        f"{poll['bytes'] / 1e3:.0f} kB, {poll['requests']:.0f} requests"
    )
    print(
        f"  poll, full re-read: cpu {reread['cpu_s'] * 1000:.1f} ms, wall {reread['wall_s'] * 1000:.0f} ms, "
        f"{reread['bytes'] / 1e3:.0f} kB, {reread['requests']:.0f} requests"
    )
    print(
        f"  ratio (re-read / incremental): cpu {reread['cpu_s'] / poll['cpu_s']:.0f}×, "
        f"wall {reread['wall_s'] / poll['wall_s']:.1f}×, bytes {reread['bytes'] / poll['bytes']:.0f}×"
    )
    t = out["transfer"]
    print(
        f"  export {t['export_points_per_s']:,.0f} points/s, import {t['import_points_per_s']:,.0f} points/s "
        f"({t['points']:,} points through the server)"
    )
    print(
        f"  live mirror {t['mirror_points_per_s']:,.0f} points/s, complete "
        f"{t['mirror_behind_s']:.1f} s after the run ended; logging "
        f"{t['log_points_per_s_mirrored']:,.0f} points/s mirrored against "
        f"{t['log_points_per_s']:,.0f} points/s alone"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
