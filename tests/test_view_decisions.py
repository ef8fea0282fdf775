"""UI-free decisions the widgets ask views/ for, tested without a kernel or a widget.

x-axis choices and page size of RunDetails' charts (``views.run_charts``), the sweep's
histories, axis label and static part (``views.sweep_state``, ``views.sweep_static``), and
the experiment view's scope, best-run line and across-run chart (``views.experiment_reader``,
``views.experiment_static``, ``views.across``).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from run_widgets import Experiment
from run_widgets.run import create_run
from run_widgets.views import across, run_charts, sweep_static
from run_widgets.views import sweep_state as state
from run_widgets.views.across import AcrossRow
from run_widgets.views.experiment_reader import workspace_scope
from run_widgets.views.mapping import INDEX, RELATIVE, STEP, WALL
from run_widgets.views.reader import run_reader
from run_widgets.views.sweep_state import SweepHistories, SweepSettings
from run_widgets.views.tracker import ChildRow, RunTracker


def test_x_options_are_step_and_lockstep_partners_and_the_choice_survives_a_gap(
    exp: Experiment,
) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    for alpha in (0.1, 0.2, 0.3):
        run.log("alpha", alpha)
        run.log("mse", alpha * 2)
    run.log("other", 1.0)
    run.flush()
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    times = [STEP, INDEX, WALL, RELATIVE]
    assert run_charts.line_x_options(tracker, "mse", STEP) == [*times, "alpha"]
    run.log("alpha", 0.4)  # a flush between the two log calls: briefly one point apart
    run.flush()
    tracker.poll()
    assert run_charts.line_x_options(tracker, "mse", "alpha") == [*times, "alpha"]
    assert run_charts.line_x_options(tracker, "mse", "nothing") == times
    # What the chart draws over each axis: steps, indexes, epoch ms, seconds since start.
    index = run_charts.chart_data(tracker, "mse", INDEX)
    assert index.x_axis == "index" and list(index.lines[0].x) == [0, 1, 2]
    wall = run_charts.chart_data(tracker, "mse", WALL)
    assert abs(wall.lines[0].x[-1] / 1000 - time.time()) < 600
    assert wall.x_kind == "wall" and wall.x_axis == "wall time"
    relative = run_charts.chart_data(tracker, "mse", RELATIVE)
    assert relative.x_kind == "relative" and relative.x_axis == "time since start (s)"
    # Epoch milliseconds back to seconds lose ~2e-7 s at today's epoch (a float64 of 1.8e12).
    assert np.allclose(relative.lines[0].x, wall.lines[0].x / 1000 - tracker.start_time, atol=1e-6)
    assert (relative.lines[0].x >= 0).all() and relative.lines[0].run_id == run.id
    against = run_charts.chart_data(tracker, "mse", "alpha")
    assert against.x_axis == "alpha" and np.allclose(against.lines[0].x, [0.1, 0.2, 0.3])
    run.complete()


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), ("3", TypeError), (True, TypeError)])
def test_charts_per_page_is_checked(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="charts_per_page"):
        run_charts.charts_per_page({"charts_per_page": value})
    assert run_charts.charts_per_page({}) == run_charts.PAGE_SIZE
    assert run_charts.charts_per_page({"charts_per_page": 4}) == 4


def _child(number: int, params: dict[str, object], best: float | None) -> ChildRow:
    row = ChildRow(
        id=f"c{number}",
        number=number,
        display_name=None,
        status="Completed",
        created_at=1000.0 + number,
        start_time=1000.0 + number,
        end_time=1010.0 + number,
        run_type="",
        tags={},
        properties={"hyperparameters": json.dumps(params)},
    )
    if best is not None:
        row.best["mse"] = (best, best)
    return row


SETTINGS = SweepSettings("mse", "MINIMIZE", 2, 4, ("alpha",))


def test_parameter_axis_label_says_log_and_names_categories() -> None:
    children = [_child(1, {"alpha": 0.1}, 3.0), _child(2, {"alpha": 10.0}, 1.0)]
    data = state.parameter_points(children, SETTINGS, "alpha")
    assert state.parameter_axis_label(data) == "alpha (log)"
    many = [_child(i, {"solver": f"s{i}"}, float(i)) for i in range(10)]
    label = state.parameter_axis_label(state.parameter_points(many, SETTINGS, "solver"))
    assert label.startswith("solver (0=s0, 1=s1") and label.endswith("7=s7, ...)")


def test_sweep_histories_read_each_child_once_and_only_what_is_new(exp: Experiment) -> None:
    parent = exp.start_logging(snapshot_directory=None, outputs=False)
    child = create_run(exp, run_id="child-1", parent_id=parent.id)
    child.log("mse", 3.0)
    child.log("loss", 9.0)
    child.flush()
    histories = SweepHistories(run_reader(parent), "mse")
    histories.read({"child-1"})
    child.log("mse", 2.0)
    child.flush()
    histories.read({"child-1"})
    histories.read({"child-1"})  # nothing new: nothing added
    assert histories.values == {"child-1": [3.0, 2.0]}
    child.complete()
    parent.complete()


def test_sweep_static_part_escapes_and_puts_the_best_child_first(exp: Experiment) -> None:
    parent = exp.start_logging(snapshot_directory=None, outputs=False)
    record = exp.workspace.store.get_run(parent.id)
    assert record is not None
    children = [_child(1, {"alpha": "<b>"}, 3.0), _child(2, {"alpha": "x"}, 1.0)]
    html = sweep_static.children_html(record, children, SETTINGS)
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "Best: run 2, mse = 1" in html
    assert html.index(">2<") < html.index(">1<")  # best first (minimize)
    png = sweep_static.chart_png(children, {"c1": [3.0], "c2": [1.0]}, SETTINGS)
    assert png is not None and png.startswith(b"\x89PNG")
    assert sweep_static.static_cell({"best": None}, "best") == ""
    parent.complete()


def test_workspace_scope_of_an_experiment_or_runs_and_bad_input(exp: Experiment) -> None:
    _, scope, title, key = workspace_scope(exp, include_children=False)
    assert scope.experiment_id == exp.id and title == f"Experiment {exp.name}"
    assert key == f"experiment:{exp.id}"
    a = exp.start_logging(snapshot_directory=None, outputs=False)
    _, scope, title, _ = workspace_scope([a, a], include_children=False)
    assert scope.run_ids == (a.id,) and title == f"1 runs of {exp.name}"
    with pytest.raises(TypeError, match="needs an Experiment"):
        workspace_scope("exp", include_children=False)
    with pytest.raises(TypeError, match="needs Runs; got int"):
        workspace_scope([1], include_children=False)
    with pytest.raises(ValueError, match="no runs"):
        workspace_scope([], include_children=False)
    a.complete()


def test_across_scatter_takes_log10_and_names_categories() -> None:
    rows = [
        AcrossRow(f"r{i}", i, f"{i}: r", {"alpha": a, "solver": s}, {"mse": m})
        for i, (a, s, m) in enumerate([(0.001, "lbfgs", 3.0), (1.0, "sag", 1.0), (10.0, "x", 2.0)])
    ]
    data = across.scatter_state(rows, "alpha", "mse", across.MINIMIZE)
    assert data["label"] == "log10(alpha)" and data["title"] == "final mse by alpha"
    assert np.allclose(data["x"], [-3.0, 0.0, 1.0]) and data["best"] == 1
    data = across.scatter_state(rows, "solver", "mse", across.MINIMIZE)
    assert data["label"] == "solver (0=lbfgs, 1=sag, 2=x)"
    assert across.x_options(rows, "mse") == ["alpha", "solver"]
