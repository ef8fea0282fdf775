"""A team's load on one PostgreSQL store: 32 writer processes and 16 live views, for 10 minutes.

One throwaway PostgreSQL server (Debian's binaries, fsync on, loopback only) holds the
store; an administrator's connection sets up the roles of issue 24 (a writer role for
the writers, a viewer role for the views), so row-level security is in the path as it
would be in a team.

* **writers**: ``--writers`` processes (32), each its own Python interpreter like a
  training script: it opens the workspace by URI (writer role), starts a run in the
  experiment ``load`` and, every ``--step-interval`` seconds (0.05), logs
  ``--metrics`` (5) scalar metrics with ``run.log`` (a training loop at 20 steps/s:
  100 points/s a writer), for ``--minutes`` (10); then it completes the run and says how
  many points it logged.
* **views**: ``--views`` (16) live views, half ``RunDetails`` (of a writer's run each),
  half ``ExperimentDetails`` (of the whole experiment), spread over ``--view-processes``
  (4) processes, as notebooks in 4 kernels. Each view refreshes on its own thread every
  ``--interval`` seconds (2; the widgets' default is 12) with the widget's own
  ``refresh()``, what its poller runs; wall and thread-CPU time of every refresh are kept.
* every second the coordinator counts the server's connections (``pg_stat_activity``, by
  role) and reads the load average.

At the end every run's stored history is read back and compared point by point with
what its writer logged: **points lost** must be 0. Printed: points logged and lost,
points/s, p50/p95/max of a refresh (wall and CPU) per view kind, connections used
(maximum and median, writers / viewers / total), the load average before, during and
after. ``--json FILE`` keeps everything.

Usage::

    .venv/bin/python benchmarks/bench_team_load.py                # the 10-minute run
    .venv/bin/python benchmarks/bench_team_load.py --quick        # 8 writers, 4 views, 40 s
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXPERIMENT = "load"
WRITER_ROLE = "bench_writer"
VIEWER_ROLE = "bench_viewer"
ROLE_PASSWORD_ENV = "RW_BENCH_ROLE_PASSWORD"


def value(step: int, metric: int) -> float:
    """The value a writer logs at ``step`` for metric number ``metric`` (checked at the end)."""
    return float(step * 10 + metric) / 7.0


# ------------------------------------------------------------------------- a writer --
def writer_main(args: argparse.Namespace) -> None:
    """One writer process: log ``metrics`` scalars every step until the deadline."""
    from run_widgets import Experiment, Workspace

    ws = Workspace.from_config()
    run = Experiment(ws, EXPERIMENT).start_logging(snapshot_directory=None, outputs=False)
    print(json.dumps({"run_id": run.id}), flush=True)
    start_at = float(args.start_at)
    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + args.seconds
    names = [f"m{i}" for i in range(args.metrics)]
    step = 0
    next_step = time.monotonic()
    while time.time() < deadline:
        for index, name in enumerate(names):
            run.log(name, value(step, index))
        step += 1
        next_step += args.step_interval
        pause = next_step - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    run.complete()
    print(json.dumps({"run_id": run.id, "steps": step}), flush=True)


# ------------------------------------------------------------------ a view process --
def views_main(args: argparse.Namespace) -> None:
    """One "kernel": its views refresh on their own threads until the deadline."""
    from run_widgets import Experiment, ExperimentDetails, Run, RunDetails, Workspace

    ws = Workspace.from_config()
    exp = Experiment(ws, EXPERIMENT)
    run_ids = json.loads(args.run_ids)
    views: list[tuple[str, Any]] = []
    for index in range(args.run_views):
        run = Run(exp, run_ids[index % len(run_ids)])
        views.append(("RunDetails", RunDetails(run, refresh_interval=args.interval)))
    for _ in range(args.experiment_views):
        views.append(("ExperimentDetails", ExperimentDetails(exp, refresh_interval=args.interval)))
    samples: list[dict[str, Any]] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = float(args.until)

    def poll(kind: str, view: Any, offset: float) -> None:
        time.sleep(offset)  # the views of a kernel do not all tick at once
        while time.time() < deadline:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                view.refresh()
            except Exception as exc:  # counted, and the view polls on (as the poller does)
                with lock:
                    errors.append(f"{kind}: {exc!r}"[:300])
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            with lock:
                samples.append({"kind": kind, "wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3})
            time.sleep(max(0.0, args.interval - wall))
        ws.store.release_thread_resources()

    threads = [
        threading.Thread(
            target=poll, args=(kind, view, i * args.interval / len(views)), daemon=True
        )
        for i, (kind, view) in enumerate(views)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _, view in views:
        view.close()
    print(json.dumps({"samples": samples, "errors": errors}), flush=True)


# ---------------------------------------------------------------------- coordinator --
def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def set_up_roles(admin_uri: str, password: str) -> None:
    """The store (as the administrator, its owner) and the writer and viewer roles."""
    import psycopg

    from run_widgets.store.postgres import roles

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        roles.ensure_store(conn)
        plan = roles.RolePlan(conn)
        roles.plan_login(plan, WRITER_ROLE, password)
        roles.plan_grant(plan, "writer", WRITER_ROLE)
        plan.run()
        plan = roles.RolePlan(conn)
        roles.plan_login(plan, VIEWER_ROLE, password)
        roles.plan_grant(plan, "viewer", VIEWER_ROLE)
        plan.run()


class Sampler(threading.Thread):
    """Every second: the server's connections by role, and the load average."""

    def __init__(self, admin_uri: str) -> None:
        super().__init__(daemon=True)
        self.admin_uri = admin_uri
        self.rows: list[dict[str, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            while not self.stop.wait(1.0):
                counts = dict(
                    conn.execute(
                        "SELECT usename, count(*) FROM pg_stat_activity"
                        " WHERE backend_type = 'client backend' GROUP BY usename"
                    ).fetchall()
                )
                self.rows.append(
                    {
                        "t": time.time(),
                        "writers": float(counts.get(WRITER_ROLE, 0)),
                        "viewers": float(counts.get(VIEWER_ROLE, 0)),
                        "total": float(sum(counts.values())),
                        "load1": os.getloadavg()[0],
                    }
                )


def spawn(role: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """This script again, as a writer or a views process."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), f"--role={role}", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def role_env(server: Any, role: str, password: str, artifacts: Path) -> dict[str, str]:
    """The environment of a process of ``role`` (store URI without the password)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["RUN_WIDGETS_STORE"] = f"postgresql://{role}@{server.host}:{server.port}/postgres"
    env["RUN_WIDGETS_ARTIFACTS"] = str(artifacts)
    env["PGPASSWORD"] = password
    return env


def check_runs(admin_uri: str, artifacts: Path, logged: dict[str, int], metrics: int) -> int:
    """Points missing or wrong in the store, comparing every run with what was logged."""
    import numpy as np

    from run_widgets import Experiment, Run, Workspace

    ws = Workspace(store=admin_uri, artifacts=artifacts)
    lost = 0
    try:
        exp = Experiment(ws, EXPERIMENT)
        for run_id, steps in logged.items():
            run = Run(exp, run_id)
            for index in range(metrics):
                history = run.get_metric_history(f"m{index}")
                expected = np.array([value(s, index) for s in range(steps)])
                shared = min(steps, len(history.values))
                lost += abs(steps - len(history.values))  # missing (or extra) points
                lost += int(np.sum(history.values[:shared] != expected[:shared]))  # wrong ones
                lost += int(np.sum(history.steps[:shared] != np.arange(shared)))
            if run.get_status() != "Completed":
                lost += 1
    finally:
        ws.close()
    return lost


def coordinate(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, the writers and the views; measure; check; return the report."""
    import secrets

    from run_widgets.store.postgres.local_server import LocalPostgres

    seconds = args.minutes * 60
    password = secrets.token_hex(12)
    report: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count()}
    folder = Path(tempfile.mkdtemp(prefix="rw-team-load-"))
    server = LocalPostgres(fsync=True)
    try:
        server.start()
        set_up_roles(server.uri(), password)
        artifacts = folder / "artifacts"
        writer_env = role_env(server, WRITER_ROLE, password, artifacts)
        viewer_env = role_env(server, VIEWER_ROLE, password, artifacts)
        start_at = time.time() + args.writers * 0.6 + 10  # every writer has started by then
        print(f"[{time.strftime('%H:%M:%S')}] starting {args.writers} writers", file=sys.stderr)
        writers = [
            spawn(
                "writer",
                [
                    f"--start-at={start_at}",
                    f"--seconds={seconds}",
                    f"--metrics={args.metrics}",
                    f"--step-interval={args.step_interval}",
                ],
                writer_env,
            )
            for _ in range(args.writers)
        ]
        run_ids = [json.loads(w.stdout.readline())["run_id"] for w in writers]  # type: ignore[union-attr]
        time.sleep(max(0.0, start_at - time.time()))
        sampler = Sampler(server.uri())
        sampler.start()
        print(
            f"[{time.strftime('%H:%M:%S')}] writers logging; starting {args.views} views",
            file=sys.stderr,
        )
        per_process = args.views // args.view_processes
        viewers = [
            spawn(
                "views",
                [
                    f"--run-ids={json.dumps(run_ids[p :: args.view_processes])}",
                    f"--run-views={per_process // 2}",
                    f"--experiment-views={per_process - per_process // 2}",
                    f"--interval={args.interval}",
                    f"--until={start_at + seconds}",
                ],
                viewer_env,
            )
            for p in range(args.view_processes)
        ]
        view_results = []
        for process in viewers:
            out, err = process.communicate(timeout=seconds + 600)
            if process.returncode != 0:
                raise RuntimeError(f"a views process failed: {err[-2000:]}")
            view_results.append(json.loads(out.strip().splitlines()[-1]))
        logged: dict[str, int] = {}
        writer_errors = []
        for process in writers:
            out, err = process.communicate(timeout=600)
            if process.returncode != 0:
                raise RuntimeError(f"a writer failed: {err[-2000:]}")
            final = json.loads(out.strip().splitlines()[-1])
            logged[final["run_id"]] = final["steps"]
            writer_errors += [line for line in err.splitlines() if "run_widgets:" in line]
        sampler.stop.set()
        sampler.join()
        report["load_after"] = os.getloadavg()
        print(f"[{time.strftime('%H:%M:%S')}] checking every point", file=sys.stderr)
        report["points_logged"] = sum(logged.values()) * args.metrics
        report["points_lost"] = check_runs(server.uri(), artifacts, logged, args.metrics)
        report["points_per_s"] = report["points_logged"] / seconds
        report["writer_warnings"] = writer_errors
        samples = [s for result in view_results for s in result["samples"]]
        report["view_errors"] = [e for result in view_results for e in result["errors"]]
        report["polls"] = {}
        for kind in ("RunDetails", "ExperimentDetails"):
            mine = [s for s in samples if s["kind"] == kind]
            report["polls"][kind] = {
                "n": len(mine),
                **{
                    f"{measure}_{name}": percentile([s[measure] for s in mine], q)
                    for measure in ("wall_ms", "cpu_ms")
                    for name, q in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))
                },
            }
        rows = sampler.rows
        report["connections"] = {
            key: {
                "max": max(r[key] for r in rows),
                "median": statistics.median(r[key] for r in rows),
            }
            for key in ("writers", "viewers", "total")
        }
        report["load_during"] = {
            "median": statistics.median(r["load1"] for r in rows),
            "max": max(r["load1"] for r in rows),
        }
    finally:
        server.cleanup()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    report["settings"] = {
        "writers": args.writers,
        "views": args.views,
        "view_processes": args.view_processes,
        "minutes": args.minutes,
        "metrics": args.metrics,
        "step_interval_s": args.step_interval,
        "interval_s": args.interval,
    }
    return report


def summary(report: dict[str, Any]) -> str:
    """The report as a short markdown text."""
    s = report["settings"]
    lines = [
        f"## Team load: {s['writers']} writers + {s['views']} live views, {s['minutes']:g} min, "
        f"one PostgreSQL server ({report['cores']} cores)",
        "",
        f"- points logged: {report['points_logged']:,} ({report['points_per_s']:,.0f} points/s;"
        f" {s['metrics']} metrics every {s['step_interval_s']} s a writer); "
        f"**points lost: {report['points_lost']}**",
        "",
        "| view (refresh every {:g} s) | refreshes | p50 wall | p95 wall | max wall | p50 CPU | p95 CPU |".format(
            s["interval_s"]
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, p in report["polls"].items():
        lines.append(
            f"| {kind} | {p['n']} | {p['wall_ms_p50']:.1f} ms | {p['wall_ms_p95']:.1f} ms |"
            f" {p['wall_ms_max']:.0f} ms | {p['cpu_ms_p50']:.1f} ms | {p['cpu_ms_p95']:.1f} ms |"
        )
    c = report["connections"]
    lines += [
        "",
        f"- server connections (max / median): writers {c['writers']['max']:.0f} / "
        f"{c['writers']['median']:.0f}, viewers {c['viewers']['max']:.0f} / "
        f"{c['viewers']['median']:.0f}, total {c['total']['max']:.0f} / {c['total']['median']:.0f}",
        f"- load average (1 min): {report['load_before'][0]:.2f} before, median "
        f"{report['load_during']['median']:.2f} (max {report['load_during']['max']:.2f}) during, "
        f"{report['load_after'][0]:.2f} after",
        f"- view errors: {len(report['view_errors'])}; writer warnings: "
        f"{len(report['writer_warnings'])}",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The command line (``--role`` is how the script starts its own workers)."""
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--quick", action="store_true", help="8 writers, 4 views, 40 s")
    cli.add_argument("--writers", type=int, default=32)
    cli.add_argument("--views", type=int, default=16)
    cli.add_argument("--view-processes", type=int, default=4)
    cli.add_argument("--minutes", type=float, default=10.0)
    cli.add_argument("--metrics", type=int, default=5)
    cli.add_argument("--step-interval", type=float, default=0.05)
    cli.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    cli.add_argument("--json", type=Path, help="write the whole report here")
    cli.add_argument("--role", choices=["coordinator", "writer", "views"], default="coordinator")
    for hidden in ("--start-at", "--seconds", "--run-ids", "--until"):
        cli.add_argument(hidden, help=argparse.SUPPRESS)
    cli.add_argument("--run-views", type=int, default=0, help=argparse.SUPPRESS)
    cli.add_argument("--experiment-views", type=int, default=0, help=argparse.SUPPRESS)
    return cli


def main() -> None:
    """Run the benchmark (or, with ``--role``, one of its processes)."""
    args = parser().parse_args()
    if args.role == "writer":
        args.seconds = float(args.seconds)
        writer_main(args)
        return
    if args.role == "views":
        views_main(args)
        return
    if args.quick:
        args.writers, args.views, args.view_processes, args.minutes = 8, 4, 2, 40 / 60
    report = coordinate(args)
    print(summary(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
