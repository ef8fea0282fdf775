"""Cost of the live view's refresh and of reopening a big run (run_widgets only).

Scenario: a parent run logging 4 metrics (1,000 points per flush: 250 per metric, as a
training loop flushed every 0.5 s) with 1,000 child runs (each with two single-value
metrics; 990 Completed, 10 Running and still logging).

* **poll**: the parent history is grown to 10k, 100k and 1M points. At each size a new
  view is opened, then, repeatedly, the same amount of new data arrives (1,000 new
  points in the parent, a new value in 2 running children) and one refresh is timed.
  The cost must stay ≤ 20 ms at 1M points + 1,000 children and must not grow with the
  history (the 1M/10k ratio is reported).
* **open**: the run is completed, the workspace reopened, and a new view's first
  refresh plus one chart for every charted metric is timed (target ≤ 1 s).

What is timed is a *target* with three methods, so any view can be measured by the same
scenario:

    class Target:
        name: str
        def open(self, run) -> state     # build the view: first poll + every chart
        def refresh(self, state) -> None  # one periodic refresh after new data
        def close(self, state) -> None    # release it (untimed)

Built in: ``tracker`` (``RunTracker.poll()``; open = first poll + ``chart_xy(name, "step")``
of every charted metric), ``tracker+charts`` (refresh also recomputes the chart arrays of
changed metrics) and ``details`` (the ``RunDetails`` widget: its constructor and its
``refresh()``, which the poller thread calls; no kernel, no poller thread). The default is
``tracker,details``. ``--target package.module:factory`` measures any other target (a
zero-argument callable returning one).

MLflow has no equivalent (its UI is a separate server), so there is no MLflow column.

Usage: ``.venv/bin/python benchmarks/bench_widget_poll.py [--quick] [--target NAME[,NAME]]``
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Result,
    base_parser,
    finish,
    fmt_ms,
    median,
    progress,
    spread,
)

FULL = {
    "levels": (10_000, 100_000, 1_000_000),
    "children": 1_000,
    "running_children": 10,
    "metrics": ("loss", "accuracy", "learning_rate", "grad_norm"),
    "per_flush": 250,  # points per metric per flush
    "polls": 15,
    "opens": 5,
    "fine_per_flush": 10,  # a slow loop: 20 steps/s flushed every 0.5 s
}
QUICK = {
    "levels": (1_000, 4_000, 16_000),
    "children": 50,
    "running_children": 4,
    "metrics": ("loss", "accuracy", "learning_rate", "grad_norm"),
    "per_flush": 250,
    "polls": 3,
    "opens": 1,
    "fine_per_flush": 10,
}


# --------------------------------------------------------------------------- targets --
class Target(Protocol):
    """What is measured: building a view of a run, and refreshing it."""

    name: str

    def open(self, run: Any) -> Any: ...

    def refresh(self, state: Any) -> None: ...

    def close(self, state: Any) -> None: ...


def draw_all_charts(tracker: Any) -> int:
    """``chart_xy`` for every charted metric, as the live view and static fallback do."""
    from run_widgets.views.mapping import STEP

    drawn = 0
    for name, view in tracker.views().items():
        if view == "line":
            tracker.chart_xy(name, STEP)
            drawn += 1
        elif view == "line2":
            columns = tracker.table_columns(name)
            for column in columns[1:]:
                tracker.chart_xy(name, columns[0], column)
                drawn += 1
    return drawn


class TrackerTarget:
    """The incremental reader under the widget: ``RunTracker``."""

    name = "tracker"

    def open(self, run: Any) -> Any:
        from run_widgets.views.reader import run_reader
        from run_widgets.views.tracker import RunTracker

        tracker = RunTracker(run_reader(run))
        tracker.poll()
        draw_all_charts(tracker)
        return tracker

    def refresh(self, state: Any) -> None:
        if not state.poll().metrics:
            raise RuntimeError("the refresh did not see the new points")

    def close(self, state: Any) -> None:
        pass


class TrackerChartsTarget(TrackerTarget):
    """``RunTracker.poll()`` plus new chart arrays for every metric that changed."""

    name = "tracker+charts"

    def refresh(self, state: Any) -> None:
        from run_widgets.views.mapping import STEP

        changes = state.poll()
        views = state.views()
        for name in changes.metrics:
            if views.get(name) == "line":
                state.chart_xy(name, STEP)


class DetailsTarget:
    """The widget itself: ``RunDetails(run)`` (first poll, panels, bqplot charts) and its
    ``refresh()`` (what the poller thread calls), without a kernel or a poller thread."""

    name = "details"

    def open(self, run: Any) -> Any:
        from run_widgets import RunDetails

        return RunDetails(run)

    def refresh(self, state: Any) -> None:
        if not state.refresh().metrics:
            raise RuntimeError("the refresh did not see the new points")

    def close(self, state: Any) -> None:
        state.close()


TARGETS: dict[str, Callable[[], Target]] = {
    "tracker": TrackerTarget,
    "tracker+charts": TrackerChartsTarget,
    "details": DetailsTarget,
}


def load_target(spec: str) -> Target:
    """A built-in target by name, or ``package.module:factory``."""
    if spec in TARGETS:
        return TARGETS[spec]()
    module, _, attr = spec.partition(":")
    if not attr:
        raise SystemExit(f"unknown target {spec!r}: use {sorted(TARGETS)} or module:factory")
    factory = getattr(importlib.import_module(module), attr)
    return factory()  # type: ignore[no-any-return]


# -------------------------------------------------------------------------- scenario --
class Scenario:
    """The parent run, its children, and the writer that adds data between polls."""

    def __init__(self, location: Path, p: dict[str, Any]) -> None:
        from run_widgets import Experiment, Workspace

        self.p = p
        self.location = location
        self.ws = Workspace(location)
        self.exp = Experiment(self.ws, "bench-widget")
        self.run = self.exp.start_logging(snapshot_directory=None, outputs=False)
        self.points = 0
        self.step = 0
        progress(f"creating {p['children']:,} child runs")
        children = []
        for start in range(0, p["children"], 100):
            children += self.run.create_children(count=min(100, p["children"] - start))
        for index, child in enumerate(children):
            child.log("alpha", 10.0 ** (-3 + 6 * index / len(children)))
            child.log("mse", 1.0 / (1 + index))
        self.running = children[: p["running_children"]]
        for child in children[p["running_children"] :]:
            child.complete()  # flushes its two points, then marks it Completed
        for child in self.running:
            child.flush()

    def grow_to(self, total: int) -> None:
        """Log parent points, one flush per ``per_flush`` points of every metric."""
        while self.points < total:
            self.add_flush()

    def add_flush(self) -> None:
        metrics, per = self.p["metrics"], self.p["per_flush"]
        log = self.run.log
        base = self.step
        for i in range(per):
            x = (base + i) * 1e-4
            for name in metrics:
                log(name, x)
        self.step += per
        self.points += per * len(metrics)
        self.run.flush()

    def new_data(self, poll_index: int) -> None:
        """What arrives between two polls: 1,000 parent points, a value in 2 children."""
        self.add_flush()
        for child in (self.running[poll_index % len(self.running)], self.running[0]):
            child.log("mse", 1.0 / (2 + poll_index))
            child.flush()

    def finish(self) -> None:
        for child in self.running:
            child.complete()
        self.run.complete()
        self.ws.close()

    def reopen(self) -> Any:
        """A new workspace object (new connection), and the finished run from it."""
        from run_widgets import Experiment, Run, Workspace

        ws = Workspace(self.location)
        return ws, Run(Experiment(ws, "bench-widget"), self.run.id)


# ------------------------------------------------------------------------- measure --
def open_finished(scenario: Scenario, target: Target, repeats: int) -> list[float]:
    """Milliseconds to open the finished run from a new workspace object, per repeat."""
    opens = []
    for _ in range(repeats):
        ws, run = scenario.reopen()
        start = time.perf_counter()
        state = target.open(run)
        opens.append((time.perf_counter() - start) * 1000)
        target.close(state)
        ws.close()
    progress(f"open finished run ({target.name}): {spread(opens, fmt_ms)}")
    return opens


def measure(quick: bool, repeats: int | None, targets: list[Target]) -> list[Result]:
    p = dict(QUICK if quick else FULL)
    if repeats is not None:
        p["polls"] = max(repeats, 1)
        p["opens"] = max(repeats, 1)
    levels = p["levels"]
    polls: dict[tuple[str, int], list[float]] = {}
    opens_running: dict[tuple[str, int], float] = {}
    opens: dict[str, list[float]] = {}
    fine_opens: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Scenario(Path(tmp) / "ws", p)
        for level in levels:
            scenario.grow_to(level)
            for target in targets:
                key = (target.name, level)
                progress(f"history {scenario.points:,} points: opening a view ({target.name})")
                start = time.perf_counter()
                state = target.open(scenario.run)
                opens_running[key] = (time.perf_counter() - start) * 1000
                scenario.new_data(0)
                target.refresh(state)  # warm-up (first-use imports, caches), untimed
                times = []
                for k in range(1, p["polls"] + 1):
                    scenario.new_data(k)
                    start = time.perf_counter()
                    target.refresh(state)
                    times.append((time.perf_counter() - start) * 1000)
                target.close(state)
                polls[key] = times
                progress(
                    f"  open {fmt_ms(opens_running[key])}; refresh median "
                    f"{fmt_ms(median(times))} ({spread(times, fmt_ms)})"
                )
        final_points = scenario.points
        scenario.finish()
        for target in targets:
            opens[target.name] = open_finished(scenario, target, p["opens"])
    fine = dict(p, per_flush=p["fine_per_flush"])
    with tempfile.TemporaryDirectory() as tmp:
        progress(f"same run flushed every {fine['per_flush']} points per metric")
        scenario = Scenario(Path(tmp) / "ws", fine)
        scenario.grow_to(levels[-1])
        fine_points = scenario.points
        fine_chunks = len(scenario.ws.store.read_chunks(scenario.run.id))
        scenario.finish()
        for target in targets:
            fine_opens[target.name] = open_finished(scenario, target, p["opens"])

    children = p["children"]
    new = p["per_flush"] * len(p["metrics"])
    results = []
    for target in targets:
        name = target.name
        prefix = "" if name == "tracker" else f"{name}."
        for level in levels:
            big = level == levels[-1]
            key = (name, level)
            results.append(
                Result(
                    key=f"{prefix}poll_{level}",
                    operation=(
                        f"widget refresh (`{name}`), {level:,}-point history, "
                        f"{children:,} children, +{new:,} new points"
                    ),
                    unit="ms",
                    ours=median(polls[key]),
                    target=20 if big else None,
                    target_text="≤ 20 ms" if big else "",
                    higher_is_better=False,
                    ours_detail=(
                        f"{spread(polls[key], fmt_ms)}; opening the view at this size took "
                        f"{fmt_ms(opens_running[key])}"
                    ),
                    mlflow_cell="(no equivalent)",
                    samples={"ours": polls[key]},
                )
            )
        growth = median(polls[name, levels[-1]]) / max(median(polls[name, levels[0]]), 1e-9)
        results.append(
            Result(
                key=f"{prefix}poll_growth",
                operation=(
                    f"refresh cost growth (`{name}`), {levels[0]:,} → {levels[-1]:,}-point history"
                ),
                unit="x",
                ours=growth,
                target=2.0,
                target_text="≤ 2× (O(new data), not history)",
                higher_is_better=False,
                ours_detail="ratio of the two medians above; same new data per refresh",
                mlflow_cell="(no equivalent)",
            )
        )
        results.append(
            Result(
                key=f"{prefix}open_finished",
                operation=(
                    f"open a finished {final_points:,}-point run ({children:,} children), "
                    f"`{name}`: first poll + every chart"
                ),
                unit="ms",
                ours=median(opens[name]),
                target=1000,
                target_text="≤ 1 s",
                higher_is_better=False,
                ours_detail=(
                    f"{spread(opens[name], fmt_ms)}; {p['per_flush']} points per metric per flush"
                ),
                mlflow_cell="(no equivalent)",
                samples={"ours": opens[name]},
            )
        )
        results.append(
            Result(
                key=f"{prefix}open_finished_fine",
                operation=(
                    f"… same, `{name}`, flushed every {fine['per_flush']} points per metric "
                    f"({fine_chunks:,} chunks)"
                ),
                unit="ms",
                ours=median(fine_opens[name]),
                target=1000,
                target_text="≤ 1 s",
                higher_is_better=False,
                ours_detail=(
                    f"{fine_points:,} points, as a loop logging 4 metrics at 20 steps/s writes "
                    f"them: {spread(fine_opens[name], fmt_ms)}"
                ),
                mlflow_cell="(no equivalent)",
                samples={"ours": fine_opens[name]},
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--target",
        default="tracker,details",
        help=(
            f"what to time, comma-separated: {', '.join(TARGETS)} or package.module:factory"
            " (default: tracker,details)"
        ),
    )
    args = parser.parse_args(argv)
    targets = [load_target(spec) for spec in args.target.split(",") if spec]
    results = measure(args.quick, args.repeats, targets)
    finish(results, args, "Widget poll and open" + (" (--quick)" if args.quick else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
