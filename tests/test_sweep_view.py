"""The sweep view without a kernel: pure ``views.sweep_state`` and RunDetails on sweeps.

Sweeps here are written in-process (parent + children as a driver would store them), so
the view is checked on exact, known data without starting processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import bqplot
import pytest

from run_widgets import Experiment, Run, RunDetails
from run_widgets.run import RunType, create_run
from run_widgets.store import RunStatus
from run_widgets.sweep import (
    HyperDriveConfig,
    HyperDriveRun,
    RandomParameterSampling,
    loguniform,
    randint,
    uniform,
)
from run_widgets.sweep.executor import child_labels
from run_widgets.views import sweep_state as view_state
from run_widgets.views.sweep_state import SweepSettings
from run_widgets.views.tracker import ChildRow
from run_widgets.widgets.panels import panel_state
from run_widgets.widgets.sweep import BEST_COLOR, SweepView

Child = tuple[dict[str, Any], Sequence[float], str]  # params, mse values, final status


def build_sweep(
    exp: Experiment,
    run_id: str,
    children: list[Child],
    goal: str = "MINIMIZE",
    sampling: Any = None,
    finished: bool = True,
) -> HyperDriveRun:
    """A sweep as the driver would have stored it."""
    sampling = sampling or RandomParameterSampling({"--alpha": uniform(0, 1)})
    config = HyperDriveConfig(
        function=lambda params, run: None,
        hyperparameter_sampling=sampling,
        primary_metric_name="mse",
        primary_metric_goal=goal,
        max_total_runs=max(len(children), 1),
        max_concurrent_runs=3,
    )
    parent = create_run(
        exp,
        run_id=run_id,
        run_type=RunType.SWEEP,
        definition={"target": "local", "sweep": config.sweep_settings()},
        tags={
            "max_concurrent_jobs": "3",
            "max_total_jobs": str(config.max_total_runs),
            "primary_metric_config": json.dumps({"name": "mse", "goal": goal}),
        },
    )
    for index, (params, values, status) in enumerate(children):
        tags, properties = child_labels(params)
        child = create_run(
            exp, run_id=f"{run_id}_{index}", parent_id=parent.id, tags=tags, properties=properties
        )
        for value in values:
            child.log("mse", value)
        if status == "Completed":
            child.complete()
        elif status == "Failed":
            child.fail("broken")
        elif status == "Canceled":
            child.cancel()
        else:
            child.flush()
    if finished:
        parent.complete()
    else:
        parent.flush()
    return HyperDriveRun(exp, run_id)


@pytest.fixture
def shown() -> Iterator[list[RunDetails]]:
    """Close every RunDetails a test opened."""
    views: list[RunDetails] = []
    yield views
    for view in views:
        view.close()


def details_of(sweep: Run, shown: list[RunDetails]) -> tuple[RunDetails, SweepView]:
    details = RunDetails(sweep)
    shown.append(details)
    [view] = [e for e in details.extensions if isinstance(e, SweepView)]
    return details, view


def row_ids(details: RunDetails) -> list[str]:
    return [row["id"] for row in panel_state(details.children_table)["rows"]]


ALPHAS = [0.1, 0.2, 0.3, 0.4, 0.5]
MSES = [5.0, 3.0, 1.0, 4.0, 2.0]


# ----------------------------------------------------------------- table and best --
@pytest.mark.parametrize(
    ("goal", "order", "best"),
    [("MINIMIZE", [2, 4, 1, 3, 0], 2), ("MAXIMIZE", [0, 3, 1, 4, 2], 0)],
)
def test_table_sorted_by_goal_best_highlighted(
    exp: Experiment, shown: list[RunDetails], goal: str, order: list[int], best: int
) -> None:
    children: list[Child] = [
        ({"--alpha": a}, [m], "Completed") for a, m in zip(ALPHAS, MSES, strict=False)
    ]
    children.append(({"--alpha": 0.6}, [], "Failed"))  # no metric: last, whatever the goal
    sweep = build_sweep(exp, f"HD_table_{goal}", children, goal=goal)
    details, view = details_of(sweep, shown)
    table = panel_state(details.children_table)
    assert row_ids(details) == [f"HD_table_{goal}_{i}" for i in [*order, 5]]
    assert table["sort_key"] == "best"
    assert table["sort_desc"] is (goal == "MAXIMIZE")
    assert table["best_id"] == f"HD_table_{goal}_{best}"
    assert table["footnote"].startswith("* The best metric field")
    titles = [c["title"] for c in table["columns"]]
    assert titles[:6] == ["Run", "Best Metric*", "Status", "Started", "Duration", "Run Id"]
    assert titles[6:] == ["alpha"]
    rows = {row["id"]: row for row in table["rows"]}
    first = rows[f"HD_table_{goal}_0"]
    assert first["best"] == 5.0 and first["values"]["param:alpha"] == 0.1
    assert rows[f"HD_table_{goal}_5"]["best"] is None
    assert table["cancellable"] is False  # the sweep has ended
    summary = view.summary.summary
    assert summary["counts"] == {"Completed": 5, "Failed": 1}
    assert summary["max_concurrent"] == 3 and summary["max_total"] == 6
    assert summary["best"]["run_id"] == f"HD_table_{goal}_{best}"
    assert summary["best"]["params"] == {"alpha": ALPHAS[best]}
    assert summary["active"] is False
    # The best child is highlighted in the charts too.
    points = [m for m in view.primary_figure.marks if isinstance(m, bqplot.Scatter)]
    best_mark = [m for m in points if list(m.colors) == [BEST_COLOR]]
    assert best_mark and list(best_mark[0].y) == [MSES[best]]
    assert list(view._param_best.x) == [ALPHAS[best]]


def test_best_metric_is_the_min_or_max_of_what_a_child_logged(
    exp: Experiment, shown: list[RunDetails]
) -> None:
    children: list[Child] = [
        ({"--alpha": 0.1}, [3.0, 1.0, 2.0], "Completed"),
        ({"--alpha": 0.2}, [2.5, 1.5, 1.2], "Completed"),
    ]
    low = build_sweep(exp, "HD_minmax_lo", children, goal="MINIMIZE")
    high = build_sweep(exp, "HD_minmax_hi", children, goal="MAXIMIZE")
    for sweep, best, values in ((low, "_0", [1.0, 1.2]), (high, "_0", [3.0, 2.5])):
        details, _ = details_of(sweep, shown)
        rows = panel_state(details.children_table)["rows"]
        assert sorted(r["best"] for r in rows) == sorted(values)
        assert panel_state(details.children_table)["best_id"] == sweep.id + best
        ranking = sweep.get_children_sorted_by_primary_metric()
        assert [i["best_primary_metric"] for i in ranking] == (
            values if sweep is low else sorted(values, reverse=True)
        )


def test_union_of_parameter_names(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--alpha": 0.1, "--l1": 0.5}, [1.0], "Completed"),
        ({"--alpha": 0.2, "--depth": 3}, [2.0], "Completed"),
        ({"--solver": "lbfgs"}, [3.0], "Completed"),
    ]
    details, view = details_of(build_sweep(exp, "HD_union", children), shown)
    table = panel_state(details.children_table)
    param_columns = [c["key"] for c in table["columns"] if c["key"].startswith("param:")]
    assert param_columns == ["param:alpha", "param:l1", "param:depth", "param:solver"]
    row = {r["id"]: r for r in table["rows"]}["HD_union_1"]
    assert row["values"] == {
        "param:alpha": 0.2,
        "param:l1": None,
        "param:depth": 3,
        "param:solver": None,
    }
    assert list(view.param_select.options) == ["alpha", "l1", "depth", "solver"]


# ------------------------------------------------------------------------- charts --
def test_points_mode_with_best_so_far(exp: Experiment, shown: list[RunDetails]) -> None:
    values = [0.9, 0.5, 0.7, 0.2]  # the reference's probe
    children: list[Child] = [
        ({"--alpha": a}, [v], "Completed") for a, v in zip(ALPHAS, values, strict=False)
    ]
    details, view = details_of(build_sweep(exp, "HD_points", children), shown)
    rows = list(details.tracker.children.values())
    data = view_state.primary_series(rows, view.histories, view.settings)
    assert data["mode"] == "points"
    assert data["best_so_far"].tolist() == [0.9, 0.5, 0.5, 0.2]
    assert data["y"].tolist() == values
    assert data["best_index"] == [3]
    assert view.primary_axis_x.label == "run number"
    y_axes = [view.primary_figure.axes[1], view.param_figure.axes[1]]
    assert [axis.side for axis in y_axes] == ["left", "left"]  # vertical y axes
    marks = list(view.primary_figure.marks)
    assert view._best_so_far in marks and view._points in marks
    assert view._best_so_far.y.tolist() == [0.9, 0.5, 0.5, 0.2]
    settings = SweepSettings("mse", "MAXIMIZE", None, None, ())
    assert view_state.primary_series(rows, view.histories, settings)["best_so_far"].tolist() == [
        0.9,
        0.9,
        0.9,
        0.9,
    ]


def test_lines_mode_one_line_per_child(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--alpha": 0.1}, [3.0, 2.0, 1.5], "Completed"),
        ({"--alpha": 0.2}, [2.0, 1.0, 0.5, 0.25], "Completed"),
        ({"--alpha": 0.3}, [4.0], "Canceled"),
    ]
    details, view = details_of(build_sweep(exp, "HD_lines", children), shown)
    data = view_state.primary_series(
        list(details.tracker.children.values()), view.histories, view.settings
    )
    assert data["mode"] == "lines"
    assert [line["id"] for line in data["lines"]] == ["HD_lines_1", "HD_lines_0", "HD_lines_2"]
    assert [line["best"] for line in data["lines"]] == [True, False, False]
    assert data["lines"][0]["y"].tolist() == [2.0, 1.0, 0.5, 0.25]
    assert list(view.primary_box.children) == [view.curves]  # the points chart is not shown
    marks = list(view.curves.figure.marks)
    assert len(marks) == 3 and all(isinstance(m, bqplot.Lines) for m in marks)
    assert list(marks[-1].colors) == [BEST_COLOR]  # the best line drawn on top
    assert marks[-1].y.tolist() == [2.0, 1.0, 0.5, 0.25]
    assert view.curves.x_axis.label == "step"


def test_children_group_by_every_hyperparameter_but_the_seed(
    exp: Experiment, shown: list[RunDetails]
) -> None:
    children: list[Child] = [
        ({"--alpha": alpha, "--seed": seed}, [alpha + seed, alpha + seed / 2], "Completed")
        for alpha in (0.1, 0.5)
        for seed in (1, 2, 3)
    ]
    _, view = details_of(build_sweep(exp, "HD_groups", children), shown)
    label, keys = view.group_select.options[1]
    assert keys == ("alpha",) and label == "alpha (all but the seed)"
    assert [v for _, v in view.group_select.options] == [(), ("alpha",), ("seed",)]
    view.group_select.value = keys
    assert view.band_select.layout.display == ""
    chart = view.curves.data
    assert [line.label for line in chart.lines] == ["alpha=0.1 (n=3)", "alpha=0.5 (n=3)"]
    first = chart.lines[0]
    assert first.y.tolist() == pytest.approx([2.1, 1.1])  # the mean over the 3 seeds
    assert first.upper is not None and first.upper[0] - first.y[0] == pytest.approx(1.0)
    assert len(view.curves.bands) == 2  # one band per group, under the lines
    view.group_select.value = ()
    assert len(view.curves.data.lines) == 6


def test_metric_against_a_hyperparameter_log_x_for_loguniform(
    exp: Experiment, shown: list[RunDetails]
) -> None:
    space = {"--alpha": loguniform(-6, 0), "--l1": uniform(0, 1)}
    sampling = RandomParameterSampling(space, seed=1)
    params = list(sampling.samples(4))
    children: list[Child] = [(p, [float(i + 1)], "Completed") for i, p in enumerate(params)]
    _details, view = details_of(build_sweep(exp, "HD_logx", children, sampling=sampling), shown)
    assert view.settings.log_scale == ("alpha",)
    view.param_select.value = "alpha"
    assert isinstance(view.param_axis_x.scale, bqplot.LogScale)
    assert view.param_axis_x.label == "alpha (log)"
    assert view._param_points.x.tolist() == [p["--alpha"] for p in params]
    assert list(view._param_best.x) == [params[0]["--alpha"]]
    view.param_select.value = "l1"
    assert isinstance(view.param_axis_x.scale, bqplot.LinearScale)
    assert view.param_axis_x.label == "l1"
    assert view._param_points.scales["x"] is view.param_axis_x.scale


def test_parameter_points_categories_and_non_positive_log() -> None:
    settings = SweepSettings("mse", "MINIMIZE", None, None, ("alpha",))
    rows = [
        child_row(0, {"alpha": 0.0, "solver": "b"}, 2.0),
        child_row(1, {"alpha": 0.5, "solver": "a"}, 1.0),
    ]
    alpha = view_state.parameter_points(rows, settings, "alpha")
    assert alpha["log"] is False  # a zero cannot go on a log axis
    solver = view_state.parameter_points(rows, settings, "solver")
    assert solver["categories"] == ["a", "b"] and solver["x"].tolist() == [1.0, 0.0]
    assert solver["best_index"] == [1] and solver["log"] is False


def child_row(
    number: int, params: dict[str, Any], best: float | None, status: str = "Completed"
) -> ChildRow:
    return ChildRow(
        id=f"c{number}",
        number=number,
        display_name=None,
        status=status,
        created_at=1000.0 + number,
        start_time=1000.0 + number,
        end_time=None,
        run_type="interactive",
        tags={},
        properties={"hyperparameters": json.dumps(params)},
        best={} if best is None else {"mse": (best, best)},
    )


def test_parallel_coordinates_need_three_parameters(
    exp: Experiment, shown: list[RunDetails]
) -> None:
    two = [({"--alpha": 0.1, "--l1": 0.2}, [1.0], "Completed")]
    _, view = details_of(build_sweep(exp, "HD_par2", two), shown)
    assert view.parcoords.dimensions == [] and view.parcoords.lines == []
    space = {"--alpha": loguniform(-4, 0), "--l1": uniform(0, 1), "--depth": randint(8)}
    sampling = RandomParameterSampling(space, seed=3)
    children: list[Child] = [
        (p, [v], "Completed") for p, v in zip(sampling.samples(3), [3.0, 1.0, 2.0], strict=False)
    ]
    _, view = details_of(build_sweep(exp, "HD_par3", children, sampling=sampling), shown)
    dims = view.parcoords.dimensions
    assert [d["name"] for d in dims] == ["alpha", "l1", "depth", "mse"]
    assert [d["log"] for d in dims] == [True, False, False, False]
    lines = {line["id"]: line for line in view.parcoords.lines}
    assert [lines[f"HD_par3_{i}"]["best"] for i in range(3)] == [False, True, False]
    assert lines["HD_par3_1"]["quality"] == 1.0 and lines["HD_par3_0"]["quality"] == 0.0
    assert lines["HD_par3_2"]["values"][-1] == 2.0
    state = view_state.parcoords_state(
        [child_row(0, {"a": 1, "b": 2}, 1.0)], SweepSettings("mse", "MINIMIZE", None, None, ())
    )
    assert state == {"dimensions": [], "lines": []}


def test_summary_counts_and_best_while_running() -> None:
    settings = SweepSettings("mse", "MAXIMIZE", 4, 20, ())
    rows = [
        child_row(0, {"alpha": 0.1}, 0.5, "Completed"),
        child_row(1, {"alpha": 0.2}, 0.9, "Running"),
        child_row(2, {"alpha": 0.3}, None, "Queued"),
        child_row(3, {"alpha": 0.4}, 0.7, "Failed"),
    ]
    summary = view_state.summary_state(FakeRecord("Running"), rows, settings)  # type: ignore[arg-type]
    assert summary["counts"] == {"Completed": 1, "Running": 1, "Queued": 1, "Failed": 1}
    assert summary["best"]["run_id"] == "c1" and summary["best"]["value"] == 0.9
    assert summary["active"] is True and summary["cancel_requested"] is False
    table = view_state.table_state(rows, settings)
    assert [r["id"] for r in table["rows"]] == ["c1", "c3", "c0", "c2"]
    assert table["best_id"] == "c1"
    cancelling = view_state.summary_state(FakeRecord("CancelRequested"), rows, settings)  # type: ignore[arg-type]
    assert cancelling["cancel_requested"] is True


class FakeRecord:
    def __init__(self, status: str) -> None:
        self.status = status


# ------------------------------------------------------------------------ intents --
def test_choosing_a_child_opens_its_details(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--alpha": a}, [m], "Completed") for a, m in zip(ALPHAS, MSES, strict=False)
    ]
    details, _ = details_of(build_sweep(exp, "HD_open", children), shown)
    details.children_table.selected_id = "HD_open_2"
    _header, child_view = details.detail.children
    assert isinstance(child_view, RunDetails) and child_view.run.id == "HD_open_2"
    assert not child_view.extensions  # a child is a plain run
    details.children_table.selected_id = ""
    assert details.detail.children == ()


def test_cancel_controls(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--alpha": 0.1}, [1.0], "Completed"),
        ({"--alpha": 0.2}, [2.0], "Running"),
        ({"--alpha": 0.3}, [3.0], "Running"),
    ]
    sweep = build_sweep(exp, "HD_cancel", children, finished=False)
    details, view = details_of(sweep, shown)
    assert view.summary.summary["active"] is True
    assert panel_state(details.children_table)["cancellable"] is True
    # The per-row Cancel button of the child table.
    details._on_table_message(
        details.children_table, {"event": "cancel", "run_id": "HD_cancel_1"}, []
    )
    assert Run.get(exp.workspace, "HD_cancel_1").get_status() == "Canceled"
    assert Run.get(exp.workspace, "HD_cancel_2").get_status() == "Running"
    # "Cancel sweep" in the summary: the parent and every running child.
    view._on_summary_message(view.summary, {"event": "cancel_sweep"}, [])
    assert sweep.get_status() in (RunStatus.CANCELED, RunStatus.CANCEL_REQUESTED)
    assert Run.get(exp.workspace, "HD_cancel_2").get_status() == "Canceled"
    assert Run.get(exp.workspace, "HD_cancel_0").get_status() == "Completed"
    assert view.summary.summary["counts"] == {"Completed": 1, "Canceled": 2}


def test_static_fallback_of_a_finished_sweep(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--alpha": a}, [m], "Completed") for a, m in zip(ALPHAS, MSES, strict=False)
    ]
    details, _ = details_of(build_sweep(exp, "HD_text", children), shown)
    bundle = details._repr_mimebundle_()
    assert "HD_text" in bundle["text/plain"]
    html = bundle["text/html"]
    assert all(f"HD_text_{i}" in html for i in range(5))
    assert "<th>alpha</th>" in html
    # Sorted as the live table: best primary metric first, with the summary above it.
    best_index = min(range(len(MSES)), key=lambda i: MSES[i])
    positions = sorted(range(len(MSES)), key=lambda i: html.index(f"HD_text_{i}<"))
    assert positions[0] == best_index
    assert f"mse = {MSES[best_index]:.6g}" in html
    assert "Best Metric*" in html
    assert bundle["image/png"]  # the sweep's own chart: metric per child and by alpha


def test_live_updates_as_children_log(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--alpha": 0.1}, [3.0], "Running"),
        ({"--alpha": 0.2}, [2.0], "Running"),
    ]
    sweep = build_sweep(exp, "HD_live", children, finished=False)
    details, view = details_of(sweep, shown)
    assert (
        view_state.primary_series(
            list(details.tracker.children.values()), view.histories, view.settings
        )["mode"]
        == "points"
    )
    child = Run.get(exp.workspace, "HD_live_0")
    child.log("mse", 0.5)  # now a series: one line per child
    child.flush()
    details.refresh()
    assert view.histories["HD_live_0"] == [3.0, 0.5]
    assert view.curves.x_axis.label == "step"
    assert panel_state(details.children_table)["best_id"] == "HD_live_0"
    assert view.summary.summary["best"]["value"] == 0.5
    tags, properties = child_labels({"--alpha": 0.3})
    new = create_run(exp, run_id="HD_live_2", parent_id=sweep.id, tags=tags, properties=properties)
    new.log("mse", 0.1)
    new.flush()
    details.refresh()
    assert row_ids(details)[0] == "HD_live_2"
    assert view.summary.summary["counts"] == {"Running": 3}


def test_text_parameter_axis_names_its_categories(exp: Experiment, shown: list[RunDetails]) -> None:
    children: list[Child] = [
        ({"--solver": "sgd", "--alpha": 0.1}, [2.0], "Completed"),
        ({"--solver": "adam", "--alpha": 0.2}, [1.0], "Completed"),
    ]
    _, view = details_of(build_sweep(exp, "HD_text_axis", children), shown)
    view.param_select.value = "solver"
    assert view.param_axis_x.label == "solver (0=adam, 1=sgd)"
    assert view.param_axis_x.tick_values.tolist() == [0.0, 1.0]
    assert view._param_points.x.tolist() == [1.0, 0.0]
    view.param_select.value = "alpha"
    assert view.param_axis_x.label == "alpha"
    assert view.param_axis_x.tick_values.tolist() == [0.1, 0.12, 0.14, 0.16, 0.18, 0.2]  # round
