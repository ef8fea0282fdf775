"""RunDetails without a kernel: every panel's synced state for runs logged in every way.

Widgets are built kernel-free (ipywidgets falls back to a dummy comm) and read through
``get_state()``; the pure ``view_state`` functions are checked directly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import bqplot
import numpy as np
import pytest
from widget_helpers import log_every_way, new_run

from run_widgets import Experiment, Run, RunDetails
from run_widgets.views import view_state
from run_widgets.views.downsample import MAX_POINTS
from run_widgets.views.mapping import INDEX, RELATIVE, STEP, WALL, lockstep_partners
from run_widgets.views.reader import run_reader
from run_widgets.views.tracker import RunTracker
from run_widgets.widgets.charts import MetricChart
from run_widgets.widgets.panels import panel_state


@pytest.fixture
def logged(exp: Experiment) -> Run:
    run = new_run(exp, display_name="every way")
    log_every_way(run)
    run.tag("team", "vision")
    run.add_properties({"dataset": "mnist"})
    return run


@pytest.fixture
def details(logged: Run) -> RunDetails:
    view = RunDetails(logged)
    yield view
    view.close()


def rows_dict(details: RunDetails) -> dict[str, str]:
    return {row[0]: row[1] for row in panel_state(details.properties)["rows"]}


# ------------------------------------------------------------------------- mapping --
def test_every_way_of_logging_gets_the_seed_article_view(details: RunDetails) -> None:
    assert dict(details.tracker.views()) == {
        "acc_list": "line",  # log_list numeric: 1-variable line over the index
        "colour": "table",  # a string series
        "confusion": "artifact",
        "loss": "line",  # repeated log: 1-variable line over step
        "note": "property",  # a string logged once
        "numeric_table": "line2",  # log_table with 2 numeric columns
        "plot": "image",
        "roc": "line2",  # repeated log_row
        "row_once": "property",
        "scalar_once": "property",
        "string_table": "table",  # only one numeric column
    }
    assert sorted(details._charts) == ["acc_list", "loss", "numeric_table", "roc"]
    titles = [c.figure.title for c in details.charts.grid.children if isinstance(c, MetricChart)]
    assert titles == ["acc_list", "loss", "numeric_table", "roc"]  # sorted, lower-cased
    assert details.charts.grid.children[0] is details.properties  # the first card


def test_single_values_go_to_the_properties_panel(details: RunDetails) -> None:
    rows = rows_dict(details)
    assert rows["scalar_once"] == "0.5"
    assert rows["row_once"] == "x=1, y=0.4"
    assert rows["note"] == "hello"
    assert rows["tag: team"] == "vision"
    assert rows["property: dataset"] == "mnist"
    for charted in ("loss", "acc_list", "roc", "colour", "plot"):
        assert charted not in rows
    labels = [row[0] for row in panel_state(details.properties)["rows"]]
    assert labels[:7] == [
        "Status",
        "Experiment",
        "Run Id",
        "Run Number",
        "Start Time",
        "Duration",
        "Arguments",
    ]
    assert rows["Status"] == "Running"
    assert rows["Arguments"] == "N/A"
    assert all(isinstance(v, str) for v in rows.values())  # plain text for textContent


def test_header_state(details: RunDetails, logged: Run) -> None:
    state = panel_state(details.header)
    header = state["header"]
    assert header["status"] == "Running"
    assert header["display_name"] == "every way"
    assert header["run_id"] == logged.id
    assert header["experiment"] == "test-exp"
    assert header["number"] == logged.number
    assert header["end"] is None
    assert header["portal_url"].startswith("file://")
    assert header["kind_label"] == "Run"
    assert state["error"] == ""
    logged.complete()
    details.refresh()
    header = panel_state(details.header)["header"]
    assert header["status"] == "Completed"
    assert header["end"] >= header["start"]


def test_series_chart_is_drawn_over_step(details: RunDetails, logged: Run) -> None:
    chart = details._charts["loss"]
    assert chart.x_choice == STEP
    assert chart.x_axis.label == STEP
    line = chart.lines[0]
    np.testing.assert_array_equal(line.x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(line.y, [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    logged.log("loss", 0.1, step=10)  # explicit steps are kept
    details.refresh()
    np.testing.assert_array_equal(chart.series_shown()[0][0], [0, 1, 2, 3, 4, 10])
    # Appended points travel alone, in the tail mark (from the body's last point).
    np.testing.assert_array_equal(chart.lines[0].x, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(chart.tails[0].x, [4, 10])


def test_log_list_chart_is_drawn_over_the_index(details: RunDetails) -> None:
    line = details._charts["acc_list"].lines[0]
    np.testing.assert_array_equal(line.x, [0, 1, 2, 3])
    np.testing.assert_allclose(line.y, [0.1, 0.2, 0.3, 0.4])


def test_row_and_table_charts_have_a_selectable_x_column(details: RunDetails) -> None:
    roc = details._charts["roc"]
    assert roc.x_values == ["fpr", "tpr", "thr", STEP, WALL, RELATIVE]
    assert roc.x_choice == "fpr"  # the first numeric column
    assert [line.labels for line in roc.lines] == [["tpr"], ["thr"]]
    np.testing.assert_allclose(roc.lines[0].x, [0, 0.25, 0.5, 0.75])
    assert roc.lines[0].display_legend  # two lines: a legend tells them apart
    roc.x_select.value = "thr"  # the user's choice
    assert roc.x_axis.label == "thr"
    assert [line.labels for line in roc.figure.marks if line.labels] == [["fpr"], ["tpr"]]
    np.testing.assert_allclose(roc.figure.marks[0].x, [1, 0.75, 0.5, 0.25])
    table = details._charts["numeric_table"]
    assert table.x_values == ["epoch", "train", STEP, WALL, RELATIVE]
    np.testing.assert_array_equal(table.lines[0].x, [1, 2, 3])
    np.testing.assert_allclose(table.lines[0].y, [0.9, 0.5, 0.3])


def test_log_row_once_then_many_becomes_a_chart(exp: Experiment) -> None:
    run = new_run(exp)
    run.log_row("curve", x=1, y=2)
    view = RunDetails(run)
    try:
        assert view.tracker.views()["curve"] == "property"
        assert "curve" not in view._charts
        run.log_row("curve", x=2, y=3)
        view.refresh()
        assert view.tracker.views()["curve"] == "line2"
        assert "curve" not in rows_dict(view)
        np.testing.assert_array_equal(view._charts["curve"].lines[0].y, [2, 3])
    finally:
        view.close()


def test_lockstep_metrics_can_be_plotted_against_each_other(exp: Experiment) -> None:
    run = new_run(exp)
    alphas = [0.1, 0.2, 0.4, 0.8]
    for alpha in alphas:
        run.log("alpha", alpha)
        run.log("mse", 2 * alpha)
    run.log("other", 1.0)
    run.log("other", 2.0)  # not in lockstep: 2 points
    view = RunDetails(run)
    try:
        assert lockstep_partners(view.tracker.infos(), "mse") == ["alpha"]
        chart = view._charts["mse"]
        assert chart.x_values == [STEP, INDEX, WALL, RELATIVE, "alpha"]
        assert view._charts["other"].x_values == [STEP, INDEX, WALL, RELATIVE]
        chart.x_select.value = "alpha"
        assert chart.x_axis.label == "alpha"
        np.testing.assert_allclose(chart.lines[0].x, alphas)
        np.testing.assert_allclose(chart.lines[0].y, [0.2, 0.4, 0.8, 1.6])
        # A flush between the two log calls: alpha is one point ahead for one poll.
        run.log("alpha", 1.6)
        view.refresh()
        assert chart.x_choice == "alpha"  # the user's choice survives
        run.log("mse", 3.2)
        view.refresh()
        assert chart.x_choice == "alpha"
        x, y = chart.series_shown()[0]
        np.testing.assert_allclose(x, [*alphas, 1.6])
        np.testing.assert_allclose(y, [0.2, 0.4, 0.8, 1.6, 3.2])
    finally:
        view.close()


def test_gallery_holds_images_string_tables_and_artifacts(details: RunDetails) -> None:
    state = panel_state(details.gallery)
    assert [image["name"] for image in state["images"]] == ["plot"]
    assert state["images"][0]["src"].startswith("data:image/png;base64,")
    assert state["images"][0]["title"].startswith("images/")
    tables = {table["name"]: table for table in state["tables"]}
    assert tables["colour"] == {
        "name": "colour",
        "columns": ["step", "value"],
        "rows": [[0, "red"], [1, "green"], [2, "blue"]],
    }
    assert tables["string_table"]["columns"] == ["name", "size"]
    assert tables["string_table"]["rows"] == [["a", 1], ["b", 2]]
    assert tables["confusion"]["columns"] == ["true \\ predicted", "cat", "dog"]
    assert tables["confusion"]["rows"] == [["cat", 5, 1], ["dog", 2, 7]]


def test_string_series_table_keeps_the_latest_rows(exp: Experiment) -> None:
    run = new_run(exp)
    for i in range(view_state.MAX_TABLE_ROWS + 5):
        run.log("msg", f"m{i}")
    view = RunDetails(run)
    try:
        (table,) = panel_state(view.gallery)["tables"]
        assert len(table["rows"]) == view_state.MAX_TABLE_ROWS
        assert table["rows"][-1] == [
            view_state.MAX_TABLE_ROWS + 4,
            f"m{view_state.MAX_TABLE_ROWS + 4}",
        ]
    finally:
        view.close()


# -------------------------------------------------------------------------- charts --
def spiky_series(n: int = 1_000_000) -> np.ndarray:
    y = np.sin(np.arange(n) / 5000.0)
    y[123_457] = 50.0  # a spike up next to a spike down: one LTTB bucket
    y[123_458] = -40.0
    return y


def test_metric_chart_of_a_million_points_is_bounded_and_keeps_spikes(exp: Experiment) -> None:
    run = new_run(exp)
    run.log_list("big", spiky_series())
    view = RunDetails(run)
    try:
        chart = view._charts["big"]
        (shown,) = chart.points_shown()
        assert 500 <= shown <= MAX_POINTS
        line = chart.lines[0]
        assert line.y.max() == 50.0 and line.y.min() == -40.0
        assert line.x.dtype == np.float64 and line.y.dtype == np.float64
        state = line.get_state()
        for key in ("x", "y"):
            assert isinstance(state[key]["value"], memoryview)  # a binary buffer
            assert state[key]["dtype"] == "float64"
            assert state[key]["shape"] == (shown,)
        # New points: the spike is still there and the budget still holds.
        run.log_list("big", np.linspace(0, 1, 5000))
        view.refresh()
        (shown,) = chart.points_shown()
        assert shown <= MAX_POINTS
        y = chart.series_shown()[0][1]
        assert y.max() == 50.0 and y.min() == -40.0
    finally:
        view.close()


def test_metric_chart_direct_api() -> None:
    chart = MetricChart("m", x_options=[STEP, "alpha"])
    x = np.arange(10.0)
    chart.set_series(STEP, [("m", x, x * 2)])
    assert chart.points_shown() == [10]
    assert chart.figure.title == "m"
    assert chart.lines[0].marker == "circle"  # few points: markers
    chart.set_series(STEP, [("m", np.arange(100.0), np.arange(100.0))])
    assert chart.lines[0].marker is None
    assert not chart.lines[0].display_legend
    chosen: list[str] = []
    chart2 = MetricChart("n", [STEP, "a"], on_x_change=lambda c, x: chosen.append(x))
    chart2.set_x_options([STEP, "a", "b"])  # programmatic: not reported
    chart2.x_select.value = "b"
    assert chosen == ["b"]
    assert chart2.set_x_options([STEP]) is True  # "b" went away
    assert chart2.x_choice == STEP
    assert chosen == ["b"]
    chart.close()
    chart2.close()


def test_log_scale_toggle_hides_non_positive_values() -> None:
    chart = MetricChart("loss")
    x = np.arange(6.0)
    y = np.array([-1.0, 0.0, 0.5, 2.0, -3.0, 4.0])
    chart.set_series(STEP, [("loss", x, y)])
    assert isinstance(chart.lines[0].scales["y"], bqplot.LinearScale)
    chart.log_toggle.value = True
    line = chart.lines[0]
    assert isinstance(line.scales["y"], bqplot.LogScale)
    assert chart.y_axis.scale is line.scales["y"]
    np.testing.assert_array_equal(line.x, [2, 3, 5])
    np.testing.assert_array_equal(line.y, [0.5, 2.0, 4.0])
    chart.set_series(STEP, [("loss", x, y + 1)])  # new data while on log: still filtered
    np.testing.assert_array_equal(line.y, [1.0, 1.5, 3.0, 5.0])
    chart.log_toggle.value = False
    assert isinstance(line.scales["y"], bqplot.LinearScale)
    assert chart.points_shown() == [6]
    chart.close()


# ---------------------------------------------------------------------------- logs --
def write_log(run: Run, text: str, name: str = "user_log.txt") -> Path:
    path = run.files_dir / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return path


def log_panel(view: RunDetails) -> dict[str, Any]:
    return panel_state(view.logs)


def test_log_panel_while_running_without_logs(exp: Experiment) -> None:
    view = RunDetails(new_run(exp))
    try:
        assert log_panel(view)["text"] == (
            "Your job is submitted and we are monitoring to get logs..."
        )
        assert view.logs.layout.display == "none"  # nothing to show yet
    finally:
        view.close()


def test_log_panel_follows_the_log_and_closes_with_v1_text(exp: Experiment) -> None:
    run = new_run(exp)
    write_log(run, "epoch 1\nepoch 2")  # the last line is not finished yet
    view = RunDetails(run)
    try:
        state = log_panel(view)
        assert state["files"] == ["logs/user_log.txt"]
        assert state["selected"] == "logs/user_log.txt"
        assert state["follow"] is True
        assert state["text"] == "epoch 1\n"
        assert view.logs.layout.display == ""
        write_log(run, "\nepoch 3\n")
        view.refresh()
        assert log_panel(view)["text"] == "epoch 1\nepoch 2\nepoch 3\n"
        run.complete()
        view.refresh()
        assert log_panel(view)["text"] == "epoch 1\nepoch 2\nepoch 3\n\nRun is completed."
    finally:
        view.close()


def test_log_panel_of_a_canceled_run(exp: Experiment) -> None:
    run = new_run(exp)
    write_log(run, "started\n")
    run.cancel()
    view = RunDetails(run)
    try:
        assert log_panel(view)["text"] == "started\n\nRun is canceled."
    finally:
        view.close()


def test_log_panel_of_a_failed_run_shows_the_error(exp: Experiment) -> None:
    run = new_run(exp)
    write_log(run, "Traceback ...")
    run.fail("disk full")
    view = RunDetails(run)
    try:
        assert log_panel(view)["text"] == "Traceback ...\n\nError occurred: disk full\n"
    finally:
        view.close()
    quiet = new_run(exp)
    quiet.fail("no logs at all")
    view = RunDetails(quiet)
    try:
        assert log_panel(view)["text"] == "\nError occurred: no logs at all\n"
        assert view.logs.layout.display == ""  # the error is worth showing
    finally:
        view.close()


def test_log_panel_of_a_finished_run_without_logs(exp: Experiment) -> None:
    run = new_run(exp)
    run.complete()
    view = RunDetails(run)
    try:
        assert log_panel(view)["text"] == "Log is empty or no log files found."
    finally:
        view.close()


def test_log_panel_choice_of_file_and_follow(exp: Experiment) -> None:
    run = new_run(exp)
    write_log(run, "driver\n", "driver_log.txt")
    write_log(run, "user\n", "user_log.txt")
    view = RunDetails(run)
    try:
        assert log_panel(view)["selected"] == "logs/driver_log.txt"  # the active log
        view.logs.follow = False  # what the JS sets when the user picks a file
        view.logs.selected = "logs/user_log.txt"
        assert log_panel(view)["text"] == "user\n"
        write_log(run, "more\n", "driver_log.txt")
        view.refresh()
        assert log_panel(view)["selected"] == "logs/user_log.txt"  # not followed away
        assert log_panel(view)["text"] == "user\n"
    finally:
        view.close()


# ------------------------------------------------------------------------ children --
def test_child_table_rows_columns_paging_and_sorting(exp: Experiment) -> None:
    parent = new_run(exp)
    children = []
    for alpha in (0.1, 0.2, 0.3):
        child = parent.child_run()
        child.tag("alpha", str(alpha))
        child.log("mse", alpha * 2)
        children.append(child)
    children[0].complete()
    children[1].fail("diverged")
    view = RunDetails(parent)
    try:
        state = panel_state(view.children_table)
        keys = [c["key"] for c in state["columns"]]
        titles = [c["title"] for c in state["columns"]]
        assert titles[:5] == ["Run Number", "Status", "Started", "Duration", "Run Id"]
        assert state["columns"][3]["tooltip"] == "Duration in hh:mm:ss"
        assert "p:alpha" in keys and "m:mse" in keys
        assert state["sort_key"] in keys
        assert state["page_size"] >= 5
        rows = state["rows"]
        assert [r["id"] for r in rows] == [c.id for c in children]  # by run number
        assert [r["status"] for r in rows] == ["Completed", "Failed", "Running"]
        assert rows[0]["values"] == {
            "p:alpha": 0.1,
            "m:mse": 0.2,  # the last value; the table can show the others instead
            "m:mse@min": 0.2,
            "m:mse@max": 0.2,
            "m:mse@best": 0.2,
        }
        mse = next(c for c in state["columns"] if c["key"] == "m:mse")
        assert mse["stats"] and mse["goal"] == "minimize" and state["stat"] == "last"
        assert rows[2]["end"] is None and rows[0]["end"] is not None
        for row in rows:
            for key in keys:  # every column has a value the JS can sort on
                assert key in row or key == "duration" or key in row["values"]
        view.children_table.page_size = 2
        assert panel_state(view.children_table)["page_size"] == 2
        children[2].complete()
        view.refresh()
        assert [r["status"] for r in panel_state(view.children_table)["rows"]] == [
            "Completed",
            "Failed",
            "Completed",
        ]
    finally:
        view.close()


def test_choosing_a_child_opens_its_view(exp: Experiment) -> None:
    parent = new_run(exp)
    child = parent.child_run()
    child.log("loss", 1.0)
    child.log("loss", 0.5)
    view = RunDetails(parent)
    try:
        view.children_table.selected_id = child.id  # a click on the row
        inner = view._child_view
        assert inner is not None and inner.run.id == child.id
        assert "loss" in inner._charts
        view.children_table.selected_id = ""
        assert view._child_view is None and view.detail.children == ()
    finally:
        view.close()


# ---------------------------------------------------------------------- whole view --
def test_get_widget_data_has_the_v1_keys(details: RunDetails, logged: Run) -> None:
    data = details.get_widget_data()
    for key in (
        "status",
        "run_id",
        "workbench_run_details_uri",
        "run_properties",
        "run_metrics",
        "child_runs",
        "run_logs",
    ):
        assert key in data
    assert data["status"] == "Running"
    assert data["run_id"] == logged.id
    metrics = {m["name"]: m for m in data["run_metrics"]}
    assert metrics["loss"] == {"name": "loss", "view": "line", "points": 5}
    import json

    json.dumps(data)  # JSON-able


def test_tracker_views_are_the_same_without_widgets(logged: Run) -> None:
    tracker = RunTracker(run_reader(logged))
    tracker.poll()
    state = view_state.properties_state(tracker)
    assert ["scalar_once", "0.5"] in state
    assert view_state.header_state(tracker)["status"] == "Running"


def test_v1_log_folders_are_listed_and_the_highest_group_is_followed(exp: Experiment) -> None:
    run = new_run(exp)
    for name in ("55_azureml-execution.txt", "65_job_prep.txt", "70_driver_log_1.txt"):
        write_log(run, f"{name}\n", f"../azureml-logs/{name}")
    write_log(run, "driver\n", "../azureml-logs/70_driver_log.txt")
    write_log(run, "std\n", "../user_logs/std_log.txt")
    view = RunDetails(run)
    try:
        state = log_panel(view)
        assert state["files"] == [
            "azureml-logs/55_azureml-execution.txt",
            "azureml-logs/65_job_prep.txt",
            "azureml-logs/70_driver_log.txt",
            "azureml-logs/70_driver_log_1.txt",
            "user_logs/std_log.txt",
        ]
        assert state["selected"] == "azureml-logs/70_driver_log.txt"
        assert state["text"] == "driver\n"
        write_log(run, "ours\n", "driver_log.txt")  # a run_widgets driver log wins
        view.refresh()
        assert log_panel(view)["selected"] == "logs/driver_log.txt"
    finally:
        view.close()


def test_a_series_mixing_numbers_and_strings_charts_its_numbers(exp: Experiment) -> None:
    run = new_run(exp)
    run.log("mixed", 1.0)
    run.log("mixed", "diverged")  # one string in a numeric series
    run.log("mixed", 3.0)
    run.log("odd", float("nan"))
    run.log("odd", float("inf"))
    run.log("odd", 2.0)
    run.log_row("sparse", a=1, b=2)
    run.log_row("sparse", a=2, c=3)  # columns come and go
    run.log_row("sparse", a=3, b=4, c=5)
    view = RunDetails(run)
    try:
        line = view._charts["mixed"].lines[0]
        np.testing.assert_array_equal(line.x, [0, 2])
        np.testing.assert_array_equal(line.y, [1.0, 3.0])
        odd = view._charts["odd"].lines[0]  # NaN and inf cannot be drawn
        np.testing.assert_array_equal(odd.y, [2.0])
        sparse = view._charts["sparse"]
        assert sparse.x_values[:3] == ["a", "b", "c"]
        b, c = sparse.lines
        np.testing.assert_array_equal(b.x, [1, 3])
        np.testing.assert_array_equal(c.x, [2, 3])
    finally:
        view.close()


def test_a_refresh_where_only_time_passed_sends_no_header_or_properties(exp: Experiment) -> None:
    import time as time_module

    run = new_run(exp)
    run.log("loss", 1.0)
    view = RunDetails(run)
    try:
        sent: list[str] = []
        view.header.observe(lambda change: sent.append("header"), names="header")
        view.properties.observe(lambda change: sent.append("rows"), names="rows")
        time_module.sleep(1.1)  # the running duration's text and the kernel clock move
        view.refresh()
        assert sent == []  # the browser ticks the duration itself
        run.tag("note", "x")  # a real change is sent
        run.flush()
        view.refresh()
        assert "rows" in sent
        rows = {r[0]: r for r in view.properties.rows}
        assert rows["Duration"][2]["now"] is not None  # the clock travels with a change
    finally:
        view.close()


def test_chart_grid_redraws_only_the_cards_in_view_once_the_page_says_which() -> None:
    from run_widgets.widgets.charts import ChartGrid

    drawn: list[str] = []
    grid = ChartGrid(lambda chart: drawn.append(chart.name))
    grid.add(["a", "b", "c"])
    charts = [grid.charts[name] for name in ("a", "b", "c")]
    assert sorted(drawn) == ["a", "b", "c"]  # no report yet: every chart on the page
    assert [c._dom_classes[-1] for c in charts] == ["rw-card-0", "rw-card-1", "rw-card-2"]
    drawn.clear()
    grid.visibility.visible = ["0"]  # the front-end: only card 0 is in or near the window
    for name in ("a", "b", "c"):
        grid.changed(name)
    assert drawn == ["a"]
    grid.visibility.visible = ["0", "2"]  # c scrolled into view: drawn at once
    assert drawn == ["a", "c"]
    grid.draw_all()  # a finished run: the rest too
    assert drawn == ["a", "c", "b"]
    grid.close()


def test_chart_grid_pager_follows_the_filter_and_answers_before_the_charts_are_built() -> None:
    from run_widgets.widgets.charts import ChartGrid, MetricChart

    seen: list[tuple[str, bool, str]] = []  # (chart built, ▶ disabled, label) at each build
    grid: ChartGrid

    def build(name: str) -> MetricChart:
        seen.append((name, bool(grid.next.disabled), str(grid.page_label.value)))
        return MetricChart(name)

    grid = ChartGrid(lambda chart: None, build=build)
    grid.add([f"m{i}" for i in range(30)])
    assert grid.shown == [f"m{i}" for i in range(12)]
    assert not grid.next.disabled and grid.previous.disabled
    assert grid.page_label.value == "charts 1–12 of 30"
    grid.filter.value = "m2"
    assert grid.shown == ["m2", *(f"m{i}" for i in range(20, 30))]
    assert grid.next.disabled and grid.previous.disabled
    assert grid.page_label.value == "charts 1–11 of 11 (of 30)"
    seen.clear()
    grid.filter.value = ""  # cleared: the first page of every chart again
    assert grid.shown == [f"m{i}" for i in range(12)] and grid.page == 0
    assert not grid.next.disabled and grid.page_label.value == "charts 1–12 of 30"
    # The pager was already right when the first chart of the page was built.
    assert seen[0] == ("m0", False, "charts 1–12 of 30")
    grid.next.click()
    assert grid.shown == [f"m{i}" for i in range(12, 24)] and not grid.previous.disabled
    grid.close()


def test_chart_grid_catches_up_one_off_screen_chart_per_refresh_the_longest_waiting() -> None:
    from run_widgets.widgets.charts import ChartGrid

    drawn: list[str] = []
    grid = ChartGrid(lambda chart: drawn.append(chart.name))
    grid.add(["a", "b", "c", "d"])
    grid.visibility.visible = ["0"]
    drawn.clear()
    for name in ("c", "b", "a", "d"):  # c has waited longest, then b; d is marked last
        grid.changed(name)
    assert drawn == ["a"]
    grid.catch_up()
    grid.catch_up()
    assert drawn == ["a", "c", "b"]
    grid.changed("c")  # c changed again: it waits behind d now
    grid.catch_up()
    grid.catch_up()
    grid.catch_up()  # nothing left to draw
    assert drawn == ["a", "c", "b", "d", "c"]
    grid.close()


def test_off_screen_charts_of_a_running_run_lag_at_most_one_refresh_per_chart(
    exp: Experiment,
) -> None:
    # What a notebook saved mid-run keeps is what the charts' models hold.
    run = new_run(exp, display_name="many charts")
    names = [f"m{i}" for i in range(4)]
    for name in names:
        run.log(name, 0.0)
        run.log(name, 0.0)  # two points: a chart (one is a property)
    run.flush()
    view = RunDetails(run)
    try:
        assert sorted(view.charts.shown) == names
        view.charts.visibility.visible = [view.charts._card["m0"]]  # only m0 is in the window
        for step in range(1, 4):
            for name in names:
                run.log(name, float(step))
            run.flush()
            view.refresh()
        shown = {name: view._charts[name].points_shown()[0] for name in names}
        assert shown["m0"] == 5  # in view: every refresh
        assert sorted(shown[name] for name in names[1:]) == [3, 4, 5]  # one caught up per refresh
        view.refresh()
        view.refresh()  # no new points: the last two catch up
        assert all(view._charts[name].points_shown() == [5] for name in names)
    finally:
        run.complete()
        view.close()


def test_only_the_charts_of_the_page_are_widgets_and_a_page_left_keeps_its_state(
    exp: Experiment,
) -> None:
    # 31 charts, 12 a page: widgets for the page only; zoom, x axis, log y and the filter
    # hold for charts whose widgets do not exist (yet, or any more).
    from ipywidgets.widgets.widget import _instances

    run = new_run(exp, display_name="many charts")
    names = [f"m{i}" for i in range(30)]
    for step in range(4):
        for name in names:
            run.log(name, float(step))
    run.log_table("pr", {"recall": [0.0, 0.5, 1.0], "precision": [1.0, 0.5, 0.0]})
    run.flush()
    models = len(_instances)
    view = RunDetails(run)
    try:
        assert view.charts.shown == names[:12] and sorted(view._charts) == sorted(names[:12])
        per_page = len(_instances) - models
        # A metric on page 3 zooms: kept in the view, drawn when its chart is built.
        view.set_x_range("m25", 1, 2)
        assert "m25" not in view._charts and view.x_range("m25") == (1, 2)
        data = view.get_widget_data()["charts"]
        assert sorted(data) == sorted([*names, "pr"])  # every metric, built or not
        assert data["m25"]["x_range"] == [1, 2] and data["m25"]["x"] == [1, 2]
        assert data["pr"]["x_axis"] == "recall"  # what its chart would show first
        first = view._charts["m0"]
        first.log_toggle.value = True
        view._charts["m1"].x_select.value = RELATIVE
        view.charts.show_page(2)
        assert view.charts.shown == [*names[24:], "pr"]
        assert first.comm is None and first.figure.comm is None and first.lines[0].comm is None
        assert first.x_scale.comm is None and first.layout.comm is None
        assert "m0" not in view._charts
        assert len(_instances) - models <= per_page  # the page left is closed: no growth
        zoomed = view._charts["m25"]
        x, _ = zoomed.series_shown()[0]
        np.testing.assert_array_equal(x, [1, 2])
        assert "1–2" in zoomed.zoom_label.value
        assert view._charts["pr"].x_choice == "recall"
        assert view.get_widget_data()["charts"]["m1"]["x_axis"].startswith("time since")
        view.charts.show_page(0)
        assert view._charts["m0"].log_toggle.value  # log y kept while its page was away
        assert view._charts["m1"].x_choice == RELATIVE
        view.charts.outliers.value = True  # every chart, built or not
        view.charts.filter.value = "^m2[5-9]$"
        assert view.charts.shown == ["m25", "m26", "m27", "m28", "m29"]
        assert all(view._charts[n].ignore_outliers for n in view.charts.shown)
        assert set(view._charts) == set(view.charts.shown)
    finally:
        view.close()
    assert len(_instances) - models < per_page // 2  # the charts' models are closed


# ------------------------------------------------------------------- issue 22 parts --
def test_chart_axes_outliers_filter_and_exports(details: RunDetails, tmp_path: Path) -> None:
    import json

    loss = details._charts["loss"]
    loss.x_select.value = WALL  # a date axis over the points' wall times
    assert loss.x_axis.scale is loss.x_date and loss.lines[0].x.dtype.kind == "M"
    loss.x_select.value = RELATIVE  # time since the start, in the unit that fits (ms here)
    assert loss.x_axis.scale is loss.x_scale
    assert re.fullmatch(r"time since start \((ms|s)\)", loss.x_axis.label), loss.x_axis.label
    assert loss.x_axis.tick_values[0] == 0 and loss.x_scale.min < 0  # from the run's start
    loss.x_select.value = INDEX
    np.testing.assert_array_equal(loss.lines[0].x, [0, 1, 2, 3, 4])
    # Ignore outliers for every chart: the grid's toggle sets each chart's menu.
    details.charts.outliers.value = True
    assert all(chart.ignore_outliers for chart in details._charts.values())
    # The filter is a regular expression; an invalid one is said and filters nothing.
    details.charts.filter.value = "^(acc|roc)"
    assert details.charts.shown == ["acc_list", "roc"]
    details.charts.filter.value = "acc("
    assert "invalid pattern" in details.charts.filter_error.value
    assert len(details.charts.shown) == len(details._charts)
    details.charts.filter.value = ""
    # What the charts draw: get_widget_data()["charts"], to_dataframe, to_csv.
    data = details.get_widget_data()
    json.dumps(data)
    line = data["charts"]["loss"]["lines"][0]
    assert line["run_id"] == details.tracker.run_id and line["y"][0] == 1.0
    assert data["charts"]["loss"]["x_axis"] == "index"
    assert {ln["label"] for ln in data["charts"]["roc"]["lines"]} == {"tpr", "thr"}
    frame = details.to_dataframe()
    assert set(frame.metric) == set(details._charts) and set(frame.run_id) == {line["run_id"]}
    assert details.to_csv(tmp_path / "run.csv").read_text().startswith("metric,x_axis,run_id")
    with pytest.raises(OSError, match="Cannot write the CSV"):
        details.to_csv(tmp_path)  # a folder
    assert "<caption>" in loss.summary.value and "loss" in loss.summary.value


def test_whole_x_values_get_whole_ticks_and_large_y_values_grouped_digits(exp: Experiment) -> None:
    run = new_run(exp)
    for epoch in range(3):
        run.log_row("learning rate", epoch=epoch, lr=0.1 / (epoch + 1))
        run.log("samples", 2500.0 * epoch)
    view = RunDetails(run)
    try:
        rate = view._charts["learning rate"]
        assert rate.x_axis.tick_values.tolist() == [0.0, 1.0, 2.0]  # not 0, 0.2 … 2
        samples = view._charts["samples"]
        assert samples.y_axis.tick_format == ",d"  # 5,000, not 5e+3
        # The domain is padded past the outer ticks: labels clear of the axis' ends.
        assert samples.y_linear.min < samples.y_axis.tick_values[0]
        assert samples.y_linear.max > samples.y_axis.tick_values[-1]
    finally:
        view.close()
