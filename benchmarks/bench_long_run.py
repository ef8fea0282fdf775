"""Long trainings: a 100-million-point run in RunDetails, on SQLite and on PostgreSQL.

A run of ``--metrics`` metrics × ``--steps`` steps (default 100 × 1,000,000 = 100 M
points, a language-model pre-training's worth) is written the way a training loop's
flusher writes it (one transaction per 5,000 steps of every metric), then, each in a
fresh process so that its memory is its own:

* **open**: ``RunDetails(run)`` of the finished run: kernel CPU (``time.process_time``)
  and wall time of the constructor, which polls and draws every chart of the first page
  (what a notebook shows), and the growth of the process's resident memory;
* **zoom**: ``view.set_x_range(metric, lo, hi)`` over windows of 1,000, 50,000 and
  500,000 steps of the charts on screen (kernel CPU; the exact points when the window
  holds at most 2,000);
* **poll**: the same run while it is live, growing by 1,000 points per metric per poll
  (a separate writer appends them between polls): one ``view.refresh()`` (kernel CPU);
* **storage**: the bytes of the series' points (steps, times, values) and of their
  summaries (blocks and tails);
* **the anchor** (``--anchor``, the default): the same open with run_widgets as it was
  before summaries (the parent of the commit that added them, ``git archive``'d into a
  temporary folder and put first on ``PYTHONPATH``); that code refuses a schema newer
  than its own, so the
  store's schema version is set back to its last one for the anchor's process only (it
  only reads) and restored after;
* **MLflow**: ``MlflowClient.get_metric_history`` of one 1,000,000-point metric (MLflow's
  SQLite store; the rows are inserted with MLflow's own schema, then read through its
  client into numpy);
* **``run.log``** throughput: 2,000,000 ``run.log`` calls in a loop, alternating this code
  and the anchor's (medians).

The load average is recorded with every figure. Everything written goes to temporary
folders (several GB for 100 M points) deleted at the end, and the PostgreSQL server is
stopped.

Usage::

    .venv/bin/python benchmarks/bench_long_run.py [--store sqlite,postgresql] [--quick]
        [--steps N] [--metrics M] [--no-anchor] [--mlflow auto|yes|no] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    Result,
    base_parser,
    finish,
    fmt_ms,
    median,
    progress,
    run_mlflow,
    want_mlflow,
)

STEPS_PER_FLUSH = 5_000
"""Steps of every metric per write transaction (a loop at 10k steps/s flushing each 0.5 s)."""
LIVE_POINTS = 1_000
"""Points each metric gains between two polls of the live run."""
ZOOM_WIDTHS = (1_000, 50_000, 500_000)
"""Zoom windows, in steps."""
FULL = {"steps": 1_000_000, "metrics": 100, "polls": 15, "opens": 3, "log_n": 2_000_000}
QUICK = {"steps": 50_000, "metrics": 20, "polls": 5, "opens": 1, "log_n": 200_000}


def load() -> float:
    """The 1-minute load average now."""
    return os.getloadavg()[0]


# ----------------------------------------------------------------------- workers --
def _workspace(spec: dict[str, Any]) -> Any:
    from run_widgets import Workspace

    if spec["uri"]:
        return Workspace(store=spec["uri"], artifacts=spec["folder"])
    return Workspace(spec["folder"])


def build_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the run: every metric's steps, a transaction per ``STEPS_PER_FLUSH`` steps."""
    from run_widgets.store import AppendPoints, CreateRun, RunStatus

    ws = _workspace(spec)
    store = ws.store
    run_id = spec["run_id"]
    store.write([CreateRun(run_id, "long-run", "interactive", RunStatus.RUNNING)])
    rng = np.random.default_rng(0)
    names = [f"metric_{m:03d}" for m in range(spec["metrics"])]
    level = np.zeros(len(names))
    start = time.perf_counter()
    cpu = time.process_time()
    for first in range(0, spec["steps"], STEPS_PER_FLUSH):
        n = min(STEPS_PER_FLUSH, spec["steps"] - first)
        walk = level[:, None] + np.cumsum(rng.normal(size=(len(names), n)), axis=1)
        level = walk[:, -1]
        spikes = rng.random(walk.shape) < 1e-5
        walk[spikes] += 1000.0  # rare spikes a chart must keep
        now = time.time()
        store.write(
            [
                AppendPoints(
                    run_id=run_id, name=name, kind="scalar", values=walk[m], times=np.full(n, now)
                )
                for m, name in enumerate(names)
            ]
        )
        if first % (spec["steps"] // 10 or 1) < STEPS_PER_FLUSH:
            print(f"  {first / spec['steps']:.0%}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    points = spec["steps"] * len(names)
    ws.close()
    return {
        "points": points,
        "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu,
        "rate": points / elapsed,
    }


def _rss() -> float:
    import psutil

    gc.collect()
    return float(psutil.Process().memory_info().rss)


def view_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Open ``RunDetails`` on the run; then zoom, or poll while another writer appends."""
    from run_widgets import Run, RunDetails

    ws = _workspace(spec)
    run = Run.get(ws, spec["run_id"]) if hasattr(Run, "get") else None
    ws.store.metric_infos([spec["run_id"]])  # the connection is open before measuring
    rss0 = _rss()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    view = RunDetails(run)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    rss1 = _rss()
    shown = list(view.charts.shown)
    points = [view._charts[name].points_shown()[0] for name in shown]
    out: dict[str, Any] = {
        "open_cpu_ms": (cpu1 - cpu0) * 1000,
        "open_wall_ms": (wall1 - wall0) * 1000,
        "rss_growth_mb": (rss1 - rss0) / 2**20,
        "rss_before_mb": rss0 / 2**20,
        "charts_drawn": len(shown),
        "points_per_chart_max": max(points, default=0),
        "load": load(),
    }
    if spec.get("zoom") and hasattr(view, "set_x_range"):
        zooms: list[dict[str, Any]] = []
        rng = np.random.default_rng(1)
        for k in range(spec["zooms"]):
            name = shown[k % len(shown)]
            width = ZOOM_WIDTHS[k % len(ZOOM_WIDTHS)]
            lo = float(rng.integers(0, max(1, spec["steps"] - width)))
            cpu, wall = time.process_time(), time.perf_counter()
            view.set_x_range(name, lo, lo + width - 1)
            zooms.append(
                {
                    "width": width,
                    "cpu_ms": (time.process_time() - cpu) * 1000,
                    "wall_ms": (time.perf_counter() - wall) * 1000,
                    "exact": bool(view.get_widget_data()["charts"][name]["exact"]),
                    "points": view._charts[name].points_shown()[0],
                }
            )
            view.set_x_range(name, None)
        out["zooms"] = zooms
    if spec.get("polls"):
        from run_widgets.store import AppendPoints, open_store

        writer = open_store(spec["uri"] or f"sqlite://{Path(spec['folder']) / 'tracking.db'}")
        names = [info.name for info in writer.metric_infos([spec["run_id"]])]
        rng = np.random.default_rng(2)
        refresh_cpu, refresh_wall = [], []
        for _ in range(spec["polls"]):
            now = time.time()
            writer.write(
                [
                    AppendPoints(
                        run_id=spec["run_id"],
                        name=name,
                        kind="scalar",
                        values=rng.normal(size=LIVE_POINTS),
                        times=np.full(LIVE_POINTS, now),
                    )
                    for name in names
                ]
            )
            cpu, wall = time.process_time(), time.perf_counter()
            changes = view.refresh()
            refresh_cpu.append((time.process_time() - cpu) * 1000)
            refresh_wall.append((time.perf_counter() - wall) * 1000)
            assert len(changes.metrics) == len(names), "a poll missed new points"
        writer.close()
        out["poll_cpu_ms"] = refresh_cpu
        out["poll_wall_ms"] = refresh_wall
        out["rss_after_polls_mb"] = _rss() / 2**20
    out["rss_end_growth_mb"] = (_rss() - rss0) / 2**20
    view.close()
    ws.close()
    return out


def lograte_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """``run.log`` in a loop (one metric, distinct floats, auto steps): points/s."""
    import run_widgets
    from run_widgets import Experiment, Workspace

    values = [i * 1e-3 for i in range(spec["n"])]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        run = Experiment(ws, "log-rate").start_logging(snapshot_directory=None, outputs=False)
        log = run.log
        start = time.perf_counter()
        for value in values:
            log("loss", value)
        rate = spec["n"] / (time.perf_counter() - start)
        run.flush()
        if len(run.get_metric_history("loss")) != spec["n"]:
            raise RuntimeError("lost points")
        run.complete()
        ws.close()
    return {"rate": rate, "code": str(Path(run_widgets.__file__).parent), "load": load()}


WORKERS = {"build": build_worker, "view": view_worker, "lograte": lograte_worker}


def run_worker(task: str, spec: dict[str, Any], anchor: Path | None = None) -> dict[str, Any]:
    """Run a worker in a fresh interpreter (``anchor``: that code first on the path)."""
    env = dict(os.environ)
    if anchor is not None:
        env["PYTHONPATH"] = str(anchor)
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", task, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=7200,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {task} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------- anchor --
ADDED = "run_widgets/store/summaries/__init__.py"
"""The file whose first commit brought summaries: the anchor is that commit's parent."""


def anchor_code(folder: Path) -> Path | None:
    """The package as it was before summaries (the parent of the commit that added them)."""
    added = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--format=%H", "--diff-filter=A", "HEAD", "--", ADDED],
        capture_output=True,
        text=True,
    ).stdout.split()
    if not added:
        return None
    base = f"{added[-1]}^"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", base, "run_widgets", "js"],
        capture_output=True,
        check=True,
    )
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def anchor_schema_version(anchor: Path, postgres: bool) -> int:
    """The newest schema the anchor's code knows (it refuses a newer one)."""
    backend = "postgres" if postgres else "sqlite"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from run_widgets.store.{backend}.schema import SCHEMA_VERSION as v; print(v)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(anchor)},
        cwd=anchor,  # ``-c`` puts the working folder first on the path
    )
    return int(out.stdout.split()[-1])


def set_schema_version(spec: dict[str, Any], version: int) -> None:
    """Set the store's schema version (for the anchor's process, which only reads)."""
    if spec["uri"]:
        import psycopg

        with psycopg.connect(spec["uri"], autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = %s", (version,))
        return
    import sqlite3

    conn = sqlite3.connect(Path(spec["folder"]) / "tracking.db")
    try:
        conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        conn.close()


def storage(spec: dict[str, Any]) -> dict[str, float]:
    """Bytes of the points (steps, times, values) and of their summaries."""
    queries = (
        "SELECT SUM(LENGTH(steps) + LENGTH(times) + LENGTH(vals)) FROM chunks",
        "SELECT SUM(LENGTH(data)) FROM summaries",
        "SELECT SUM(COALESCE(LENGTH(summary_tail), 0)) FROM metrics",
    )
    if spec["uri"]:
        import psycopg

        with psycopg.connect(spec["uri"]) as conn:
            values = [float(conn.execute(q).fetchone()[0] or 0) for q in queries]
            database = float(
                conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            )
    else:
        import sqlite3

        path = Path(spec["folder"]) / "tracking.db"
        conn = sqlite3.connect(path)
        try:
            values = [float(conn.execute(q).fetchone()[0] or 0) for q in queries]
        finally:
            conn.close()
        database = float(path.stat().st_size)
    points, blocks, tails = values
    return {"points_bytes": points, "summary_bytes": blocks + tails, "database_bytes": database}


# ------------------------------------------------------------------------ scenario --
def scenario(
    backend: str, uri: str | None, folder: Path, params: dict[str, Any], anchor: Path | None
) -> tuple[list[Result], dict[str, Any]]:
    """Build the run on one backend and measure it (see the module docstring)."""
    spec = {
        "uri": uri,
        "folder": str(folder),
        "run_id": "long-run-1",
        "steps": params["steps"],
        "metrics": params["metrics"],
    }
    total = params["steps"] * params["metrics"]
    progress(f"[{backend}] writing {total:,} points (load {load():.1f})")
    built = run_worker("build", spec)
    size = storage(spec)
    progress(f"[{backend}] live run: open, then {params['polls']} polls (load {load():.1f})")
    live = run_worker("view", {**spec, "polls": params["polls"]})
    from run_widgets.store import RunStatus, UpdateRun, open_store

    store = open_store(uri or f"sqlite://{folder / 'tracking.db'}")
    store.write([UpdateRun(spec["run_id"], status=RunStatus.COMPLETED, end_time=time.time())])
    store.close()
    opens = []
    for k in range(params["opens"]):
        progress(
            f"[{backend}] open the finished run ({k + 1}/{params['opens']}, load {load():.1f})"
        )
        opens.append(run_worker("view", {**spec, "zoom": k == 0, "zooms": 9}))
    before: dict[str, Any] | None = None
    if anchor is not None:
        progress(f"[{backend}] the anchor: the same open before summaries (load {load():.1f})")
        from run_widgets.store.postgres.schema import SCHEMA_VERSION as PG_VERSION
        from run_widgets.store.sqlite.schema import SCHEMA_VERSION as SQLITE_VERSION

        current = PG_VERSION if uri else SQLITE_VERSION
        set_schema_version(spec, anchor_schema_version(anchor, postgres=bool(uri)))
        try:
            before = run_worker("view", spec, anchor=anchor)
        except RuntimeError as error:
            progress(f"[{backend}] the anchor failed: {str(error)[-300:]}")
        finally:
            set_schema_version(spec, current)
    cpu = median([o["open_cpu_ms"] for o in opens])
    rss = median([o["rss_growth_mb"] for o in opens])
    zooms = opens[0].get("zooms", [])
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    rows = [
        Result(
            f"{backend}_open",
            f"{label}: open the finished {total / 1e6:g} M-point run in RunDetails, kernel CPU",
            "ms",
            cpu,
            target=1000.0,
            target_text="≤ 1,000 ms",
            higher_is_better=False,
            ours_detail=f"wall {fmt_ms(median([o['open_wall_ms'] for o in opens]))}; "
            f"{opens[0]['charts_drawn']} charts drawn, ≤ {opens[0]['points_per_chart_max']} "
            f"points each; load {opens[0]['load']:.1f}"
            + (
                f"; before: {fmt_ms(before['open_cpu_ms'])} CPU, {before['rss_growth_mb']:,.0f} MB"
                if before
                else ""
            ),
            samples={"cpu_ms": [o["open_cpu_ms"] for o in opens]},
        ),
        Result(
            f"{backend}_memory",
            f"{label}: kernel memory growth of that open",
            "MB",
            rss,
            target=200.0,
            target_text="≤ 200 MB",
            higher_is_better=False,
            ours_detail=f"after {params['polls']} polls of the live run: "
            f"{live['rss_end_growth_mb']:,.0f} MB",
        ),
        Result(
            f"{backend}_poll",
            f"{label}: one poll of the live run (+{LIVE_POINTS:,} points × "
            f"{params['metrics']} metrics), kernel CPU",
            "ms",
            median(live["poll_cpu_ms"]),
            target=20.0,
            target_text="≤ 20 ms",
            higher_is_better=False,
            ours_detail=f"wall {fmt_ms(median(live['poll_wall_ms']))}; "
            f"min {fmt_ms(min(live['poll_cpu_ms']))} max {fmt_ms(max(live['poll_cpu_ms']))}; "
            f"load {live['load']:.1f}",
            samples={"cpu_ms": live["poll_cpu_ms"]},
        ),
        Result(
            f"{backend}_storage",
            f"{label}: summary storage / the series' points",
            "%",
            100.0 * size["summary_bytes"] / max(1.0, size["points_bytes"]),
            target=10.0,
            target_text="≤ 10 %",
            higher_is_better=False,
            ours_detail=f"{size['summary_bytes'] / 2**20:,.0f} MB of summaries for "
            f"{size['points_bytes'] / 2**20:,.0f} MB of points; database "
            f"{size['database_bytes'] / 2**30:,.2f} GB; written at "
            f"{built['rate'] / 1e6:.2f} M points/s",
        ),
    ]
    if zooms:
        rows.append(
            Result(
                f"{backend}_zoom",
                f"{label}: a zoom (set_x_range over {', '.join(f'{w:,}' for w in ZOOM_WIDTHS)}"
                " steps), kernel CPU",
                "ms",
                median([z["cpu_ms"] for z in zooms]),
                target=200.0,
                target_text="≤ 200 ms",
                higher_is_better=False,
                ours_detail="; ".join(
                    f"{w:,} steps: {fmt_ms(median([z['cpu_ms'] for z in zooms if z['width'] == w]))}"
                    f" ({'exact' if all(z['exact'] for z in zooms if z['width'] == w) else 'buckets'})"
                    for w in ZOOM_WIDTHS
                ),
                samples={"cpu_ms": [z["cpu_ms"] for z in zooms]},
            )
        )
    raw = {"built": built, "storage": size, "live": live, "opens": opens, "anchor": before}
    return rows, raw


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite,postgresql", help="backends, comma-separated")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--metrics", type=int, default=None)
    parser.add_argument("--no-anchor", action="store_true", help="skip the before-summaries code")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        task, raw = args.worker
        print(json.dumps(WORKERS[task](json.loads(raw))))
        return
    params = dict(QUICK if args.quick else FULL)
    params.update({k: v for k, v in (("steps", args.steps), ("metrics", args.metrics)) if v})
    with_mlflow = want_mlflow(args)
    backends = [b.strip() for b in args.store.split(",") if b.strip()]
    results: list[Result] = []
    raw: dict[str, Any] = {"params": params, "load_start": load()}
    with tempfile.TemporaryDirectory(prefix="rw-long-run-") as tmp:
        anchor = None if args.no_anchor else anchor_code(Path(tmp) / "anchor")
        if "sqlite" in backends:
            folder = Path(tmp) / "sqlite"
            folder.mkdir()
            rows, raw["sqlite"] = scenario("sqlite", None, folder, params, anchor)
            results += rows
            for leftover in folder.glob("tracking.db*"):
                leftover.unlink()  # free the disk before the next backend
        if "postgresql" in backends:
            from run_widgets.store.postgres.local_server import LocalPostgres

            with LocalPostgres(fsync=True) as server:
                os.environ["PGPASSWORD"] = server.password
                uri = server.create_database("longrun")
                folder = Path(tmp) / "pg-artifacts"
                folder.mkdir()
                rows, raw["postgresql"] = scenario("postgresql", uri, folder, params, anchor)
                results += rows
        progress(
            f"run.log loop, {params['log_n']:,} calls, this code and the anchor (load {load():.1f})"
        )
        ours, theirs = [], []
        for _ in range(3):
            ours.append(run_worker("lograte", {"n": params["log_n"]}))
            if anchor is not None:
                theirs.append(run_worker("lograte", {"n": params["log_n"]}, anchor=anchor))
        ours_rate = median([r["rate"] for r in ours])
        theirs_rate = median([r["rate"] for r in theirs]) if theirs else None
        results.append(
            Result(
                "log_rate",
                "`run.log` in a loop (summaries kept by the flusher)",
                "points/s",
                ours_rate,
                target=1_000_000.0,
                target_text="≥ 1 M points/s, ≥ 0.9 × before",
                ours_detail=(
                    f"before summaries: {theirs_rate / 1e6:.2f} M points/s, ratio "
                    f"{ours_rate / theirs_rate:.2f}"
                    if theirs_rate
                    else ""
                )
                + f"; load {median([r['load'] for r in ours]):.1f}",
                samples={"ours": [r["rate"] for r in ours], "before": [r["rate"] for r in theirs]},
                met_override=ours_rate >= 1_000_000
                and (theirs_rate is None or ours_rate >= 0.9 * theirs_rate),
            )
        )
        if with_mlflow:
            progress(f"MLflow get_metric_history of 1,000,000 points (load {load():.1f})")
            ml = run_mlflow("history_direct", {"n": 1_000_000, "repeats": 3})
            results.append(
                Result(
                    "mlflow_history",
                    "MLflow 3 (SQLite): get_metric_history of one 1 M-point metric",
                    "ms",
                    median(ml["seconds"]) * 1000,
                    ours_detail=f"MLflow {ml.get('mlflow_version', '?')}; load {load():.1f}",
                )
            )
    raw["load_end"] = load()
    finish(
        results, args, f"Long trainings ({params['metrics']} metrics × {params['steps']:,} steps)"
    )
    if args.json is not None:
        args.json.with_suffix(".raw.json").write_text(json.dumps(raw, indent=1, default=str))


if __name__ == "__main__":
    main()
