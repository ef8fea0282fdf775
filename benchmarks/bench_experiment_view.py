"""Cost of the experiment view (``ExperimentDetails``) over a big experiment.

Scenario: one experiment with 10,000 top-level runs, 3 scalar metrics each (``loss``,
``accuracy``, ``lr``), 1,000 points per metric (30 M points), tagged with ``alpha`` and
``seed``; the 10 newest runs are still Running. It is written straight through the
store's batch primitive (as 10,000 training scripts would have, only faster).

* **first render**: a new workspace object, then ``ExperimentDetails(experiment)``: the
  first poll (columns, the table's first page, the 5 newest runs' histories, the
  across-run rows) and every widget built (table page, one overlay chart per metric,
  across-run chart and parallel coordinates). No kernel: this is the kernel time.
* **poll**: each of the 10 active runs appends 100 points to each metric (one flush),
  then one ``refresh()`` (what the poller thread does) is timed.
* **payload**: the most points any run's line holds in an overlay chart after the polls
  (the active runs' histories have grown past 2,000), and the rows sent for the table.
* **sort / filter**: a sort by a metric's last value and a text filter over the 10,000
  runs, answered by the store (one new page).
* **grouped** (issue 22): ``ExperimentDetails(experiment, group_by="alpha")`` over the same
  runs: every run's group (7 alphas of ~1,430 runs), one line with a ± std band per group
  over its first ``MAX_GROUP_MEMBERS`` members' series, per metric; first render and poll
  timed as above (the active runs are members of their groups, so their bands move), and
  reported as ratios against the ungrouped view measured in the same run.
* anchor: ``experiment.get_runs_dataframe()`` on the same experiment (what one did before
  this view to see every run's last metric values), timed once.

The targets are on kernel time, measured as the process CPU time (median): on a shared
machine the wall-clock time also counts other processes' turns (the development machine
runs at a load average of 15–25 on 2 cores), so the wall-clock medians are reported beside
them, not judged.

``--store postgresql`` runs the same on a throwaway local PostgreSQL server (Debian's
``postgresql`` package, fsync on; the team store), with the runs' files in a temporary
folder.

Usage: ``.venv/bin/python benchmarks/bench_experiment_view.py [--quick] [--store postgresql]``
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, base_parser, finish, fmt_ms, median, progress, spread

FULL = {"runs": 10_000, "points": 1_000, "active": 10, "polls": 15, "opens": 3, "batch": 250}
QUICK = {"runs": 300, "points": 200, "active": 4, "polls": 3, "opens": 1, "batch": 100}
METRICS = ("loss", "accuracy", "lr")
NEW_POINTS = 100


def build(ws: Any, p: dict[str, int]) -> tuple[Any, list[str]]:
    """The experiment, written in batches; returns it and the active runs' ids."""
    from run_widgets import Experiment
    from run_widgets.store import CreateRun, UpdateRun

    exp = Experiment(ws, "big")
    store = ws.store
    n, points = p["runs"], p["points"]
    steps = np.arange(points, dtype=np.int64)
    start = time.time() - n * 60.0
    active: list[str] = []
    rng = np.random.default_rng(0)
    for first in range(0, n, p["batch"]):
        ops: list[Any] = []
        for i in range(first, min(n, first + p["batch"])):
            run_id = f"bench-{i:05d}"
            created = start + i * 60.0
            alpha = 10.0 ** (i % 7 - 3)
            ops.append(
                CreateRun(
                    run_id=run_id,
                    experiment_name="big",
                    run_type="interactive",
                    status="Running",
                    display_name=f"ridge-{i}",
                    created_at=created,
                    tags={"alpha": repr(alpha), "seed": str(i % 5)},
                )
            )
            times = created + steps * 0.05
            base = 1.0 + (np.log10(alpha) + 1) ** 2
            ops.append(
                _points(run_id, "loss", base / (steps + 1) + rng.random(points) * 0.01, times)
            )
            ops.append(_points(run_id, "accuracy", 1 - 1 / (steps + 2), times))
            ops.append(_points(run_id, "lr", np.full(points, alpha), times))
            if i >= n - p["active"]:
                active.append(run_id)
            else:
                ops.append(
                    UpdateRun(
                        run_id=run_id,
                        status="Completed",
                        start_time=created,
                        end_time=created + points * 0.05,
                    )
                )
        store.write(ops)
        if first % (p["batch"] * 8) == 0:
            progress(f"  {min(n, first + p['batch']):,} / {n:,} runs written")
    return exp, active


def _points(run_id: str, name: str, values: np.ndarray, times: np.ndarray) -> Any:
    from run_widgets.store import AppendPoints

    return AppendPoints(
        run_id=run_id,
        name=name,
        kind="scalar",
        values=np.asarray(values, dtype=np.float64),
        times=times,
    )


def grow(ws: Any, active: list[str], step: int) -> None:
    """Each active run flushes 100 new points of every metric."""
    from run_widgets.store import AppendPoints

    ops: list[Any] = []
    now = time.time()
    for run_id in active:
        for name in METRICS:
            ops.append(
                AppendPoints(
                    run_id=run_id,
                    name=name,
                    kind="scalar",
                    values=np.linspace(0.5, 0.4, NEW_POINTS) / (step + 1),
                    times=np.full(NEW_POINTS, now),
                )
            )
    ws.store.write(ops)


@contextlib.contextmanager
def workspaces(store: str, folder: Path) -> Iterator[Callable[[], Any]]:
    """A factory of workspace objects on one store: the SQLite file or a PostgreSQL server."""
    from run_widgets import Workspace

    if store == "sqlite":
        yield lambda: Workspace(folder / "ws")
        return
    from run_widgets.store.postgres.local_server import LocalPostgres

    with LocalPostgres(fsync=True) as server:
        uri = server.create_database("bench_experiment_view")
        progress(f"PostgreSQL at 127.0.0.1:{server.port} (fsync on)")
        yield lambda: Workspace(store=uri, artifacts=folder / "artifacts")


def run(p: dict[str, int], store: str = "sqlite") -> list[Result]:
    from run_widgets import Experiment, ExperimentDetails

    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="rw-bench-exp-") as tmp,
        workspaces(store, Path(tmp)) as workspace,
    ):
        ws = workspace()
        began = time.perf_counter()
        _, active = build(ws, p)
        total_points = p["runs"] * len(METRICS) * p["points"]
        progress(
            f"wrote {p['runs']:,} runs, {total_points:,} points in "
            f"{time.perf_counter() - began:.0f} s"
        )
        ws.close()

        opens: list[float] = []
        opens_cpu: list[float] = []
        view = None
        for _ in range(p["opens"]):
            if view is not None:
                view.close()
            fresh = workspace()
            began, cpu = time.perf_counter(), time.process_time()
            view = ExperimentDetails(Experiment(fresh, "big"))
            opens.append((time.perf_counter() - began) * 1000)
            opens_cpu.append((time.process_time() - cpu) * 1000)
        assert view is not None
        progress(f"first render: {spread(opens, fmt_ms)}")
        charts = sorted(view.charts)
        table_rows = len(view.table.rows)

        polls: list[float] = []
        polls_cpu: list[float] = []
        step = 0
        for step in range(p["polls"]):
            grow(fresh, active, step)
            began, cpu = time.perf_counter(), time.process_time()
            changes = view.refresh()
            polls.append((time.perf_counter() - began) * 1000)
            polls_cpu.append((time.process_time() - cpu) * 1000)
            assert changes.grown, "the active runs' lines must grow"
        progress(f"poll: {spread(polls, fmt_ms)}")
        shown = max(n for c in view.charts.values() for n in c.points_shown())
        grown = p["points"] + p["polls"] * NEW_POINTS

        grouped_opens: list[float] = []
        grouped_opens_cpu: list[float] = []
        grouped = None
        for _ in range(p["opens"]):
            if grouped is not None:
                grouped.close()
            fresh_grouped = workspace()
            began, cpu = time.perf_counter(), time.process_time()
            grouped = ExperimentDetails(Experiment(fresh_grouped, "big"), group_by="alpha")
            grouped_opens.append((time.perf_counter() - began) * 1000)
            grouped_opens_cpu.append((time.process_time() - cpu) * 1000)
        assert grouped is not None
        groups = grouped.model.groups
        assert len(groups) == min(7, p["runs"]) and all(len(g.members) for g in groups)
        band = grouped.model.chart_data("loss").lines[0]
        assert band.lower is not None and len(band.x) >= p["points"]
        progress(f"grouped first render: {spread(grouped_opens, fmt_ms)}")
        grouped_polls: list[float] = []
        grouped_polls_cpu: list[float] = []
        for more in range(p["polls"]):
            grow(fresh, active, step + 1 + more)
            began, cpu = time.perf_counter(), time.process_time()
            changes = grouped.refresh()
            grouped_polls.append((time.perf_counter() - began) * 1000)
            grouped_polls_cpu.append((time.process_time() - cpu) * 1000)
            assert changes.grown, "the active members' bands must move"
        progress(f"grouped poll: {spread(grouped_polls, fmt_ms)}")
        members = sum(len(g.band_members) for g in grouped.model.shown_groups())
        grouped.close()

        sorts: list[float] = []
        filters: list[float] = []
        for _ in range(3):
            began = time.perf_counter()
            view.set_table(sort="metric:loss", descending=False)
            sorts.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            view.set_table(text="ridge-99")
            filters.append((time.perf_counter() - began) * 1000)
            view.set_table(text="", sort="number", descending=True)
        view.close()

        began = time.process_time()
        frame = Experiment(fresh, "big").get_runs_dataframe()
        anchor = (time.process_time() - began) * 1000
        assert len(frame) == p["runs"]
        fresh.close()

    runs = f"{p['runs']:,} runs × {len(METRICS)} metrics × {p['points']:,} points"
    if store != "sqlite":
        runs += f", {store}"
    open_ratio = median(grouped_opens_cpu) / median(opens_cpu)
    poll_ratio = median(grouped_polls_cpu) / median(polls_cpu)
    results += [
        Result(
            key="experiment_first_render",
            operation=f"ExperimentDetails first render ({runs}): table page + overlay of 5 runs "
            "(kernel CPU time)",
            unit="ms",
            ours=median(opens_cpu),
            mlflow=anchor,
            target=1000,
            target_text="≤ 1 s",
            higher_is_better=False,
            ours_detail=f"kernel CPU time; wall median {fmt_ms(median(opens))} "
            f"({spread(opens, fmt_ms)}); "
            f"charts {', '.join(charts)}; {table_rows} table rows sent",
            mlflow_cell=f"anchor, get_runs_dataframe(): {fmt_ms(anchor)} CPU",
            samples={"ours": opens},
        ),
        Result(
            key="experiment_poll",
            operation=f"ExperimentDetails poll, {p['active']} active runs adding "
            f"{NEW_POINTS} points to each metric (kernel CPU time)",
            unit="ms",
            ours=median(polls_cpu),
            target=50,
            target_text="≤ 50 ms",
            higher_is_better=False,
            ours_detail=f"kernel CPU time; wall median {fmt_ms(median(polls))} "
            f"({spread(polls, fmt_ms)})",
            mlflow_cell="(no in-notebook view)",
            samples={"ours": polls},
        ),
        Result(
            key="experiment_grouped_first_render",
            operation=f"ExperimentDetails(group_by='alpha') first render ({runs}): "
            f"{len(groups)} groups, bands over {members} members × {len(METRICS)} metrics "
            "(kernel CPU time)",
            unit="ms",
            ours=median(grouped_opens_cpu),
            target=1000,
            target_text="≤ 1 s",
            higher_is_better=False,
            ours_detail=f"kernel CPU time, {open_ratio:.2f}× the ungrouped first render; "
            f"wall median {fmt_ms(median(grouped_opens))} ({spread(grouped_opens, fmt_ms)})",
            mlflow_cell="(no grouped in-notebook view)",
            samples={"ours": grouped_opens},
        ),
        Result(
            key="experiment_grouped_poll",
            operation=f"grouped poll, {p['active']} active members adding {NEW_POINTS} "
            "points to each metric (kernel CPU time)",
            unit="ms",
            ours=median(grouped_polls_cpu),
            target=50,
            target_text="≤ 50 ms",
            higher_is_better=False,
            ours_detail=f"kernel CPU time, {poll_ratio:.2f}× the ungrouped poll; "
            f"wall median {fmt_ms(median(grouped_polls))} ({spread(grouped_polls, fmt_ms)})",
            mlflow_cell="(no grouped in-notebook view)",
            samples={"ours": grouped_polls},
        ),
        Result(
            key="experiment_payload",
            operation=f"points per run per overlay chart (histories grown to {grown:,})",
            unit="points",
            ours=float(shown),
            target=2000,
            target_text="≤ 2,000",
            higher_is_better=False,
            mlflow_cell="(no in-notebook view)",
        ),
        Result(
            key="experiment_sort",
            operation=f"sort the {p['runs']:,}-run table by a metric's last value "
            f"(store query{'' if store == 'sqlite' else ', ' + store})",
            unit="ms",
            ours=median(sorts),
            higher_is_better=False,
            ours_detail=spread(sorts, fmt_ms),
            mlflow_cell="(no in-notebook view)",
        ),
        Result(
            key="experiment_filter",
            operation=f"filter the {p['runs']:,}-run table by text "
            f"(store query{'' if store == 'sqlite' else ', ' + store})",
            unit="ms",
            ours=median(filters),
            higher_is_better=False,
            ours_detail=spread(filters, fmt_ms),
            mlflow_cell="(no in-notebook view)",
        ),
    ]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--store", choices=("sqlite", "postgresql"), default="sqlite", help="the tracking store"
    )
    args = parser.parse_args(argv)
    params = dict(QUICK if args.quick else FULL)
    if args.repeats is not None:
        params["polls"] = params["opens"] = max(1, args.repeats)
    results = run(params, args.store)
    title = f"Experiment view ({args.store})" + (" (--quick)" if args.quick else "")
    finish(results, args, title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
