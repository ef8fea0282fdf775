"""Zoom in RunDetails (no kernel): a drag or ``set_x_range`` draws the exact points of a range.

Every numeric chart kind zooms: ``log`` over its steps, ``log_list`` over its index,
``log_row``/``log_table`` two-variable lines over a column, a metric over another. The
range survives refreshes while the run grows, "reset zoom" shows the whole run, bad
ranges are refused by name with nothing drawn changed, and ``get_widget_data()["charts"]``
says what each chart draws.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from widget_helpers import append_points, new_run

from run_widgets import Experiment, Run, RunDetails
from run_widgets.exceptions import MetricNotFoundError, UserErrorException
from run_widgets.views.downsample import MAX_POINTS
from run_widgets.views.mapping import RELATIVE

SQLITE_ONLY = "the windows these views read are tested on every backend in test_series_summaries"

N = 20_000


def walk(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(size=n))
    values[12_345] = 500.0  # a spike a chart must keep
    return values


@pytest.fixture
def long_run(exp: Experiment) -> Run:
    run = new_run(exp)
    append_points(run, "loss", walk(N))
    run.log("name_tag", "not a number")
    run.log("note", "once")  # a single value: a property, not a chart
    return run


@pytest.fixture
def view(long_run: Run) -> Iterator[RunDetails]:
    shown = RunDetails(long_run)
    yield shown
    shown.close()


def drawn(view: RunDetails, name: str) -> tuple[np.ndarray, np.ndarray]:
    return view._charts[name].series_shown()[0]


def test_set_x_range_draws_the_exact_points_and_the_axis_spans_the_range(
    view: RunDetails,
) -> None:
    values = walk(N)
    x, y = drawn(view, "loss")
    assert len(x) <= MAX_POINTS and y.max() == 500.0  # the whole run, summarized
    chart = view._charts["loss"]
    assert chart.reset_zoom.layout.display == "none"
    view.set_x_range("loss", 12_000, 12_999)
    x, y = drawn(view, "loss")
    np.testing.assert_array_equal(x, np.arange(12_000, 13_000))
    np.testing.assert_array_equal(y, values[12_000:13_000])
    assert chart.x_scale.min <= 12_000 and chart.x_scale.max >= 12_999
    assert chart.x_scale.max - chart.x_scale.min < 1_500  # the axis is the range, not the run
    assert chart.reset_zoom.layout.display == ""
    assert "12,000" in chart.zoom_label.value and "(summary)" not in chart.zoom_label.value
    data = view.get_widget_data()["charts"]["loss"]
    assert data["x_range"] == [12_000, 12_999] and data["exact"] is True
    assert data["x"] == list(range(12_000, 13_000)) and data["y"] == values[12_000:13_000].tolist()
    assert view.x_range("loss") == (12_000, 12_999)
    # A range holding more than MAX_POINTS: buckets of it, every extreme kept.
    view.set_x_range("loss", 10_000, 19_999)
    x, y = drawn(view, "loss")
    assert len(x) <= MAX_POINTS and x.min() >= 10_000 and x.max() <= 19_999
    assert y.max() == values[10_000:20_000].max() and y.min() == values[10_000:20_000].min()
    assert view.get_widget_data()["charts"]["loss"]["exact"] is False
    assert "(summary)" in chart.zoom_label.value
    # Reset: the whole run again.
    chart.reset_zoom.click()
    assert view.x_range("loss") is None and chart.reset_zoom.layout.display == "none"
    x, y = drawn(view, "loss")
    assert x.min() == 0 and x.max() == N - 1 and y.max() == 500.0


def test_a_drag_over_the_chart_zooms_and_a_click_does_nothing(view: RunDetails) -> None:
    chart = view._charts["loss"]
    # What the front-end sends: brushing starts, the interval moves, brushing ends.
    chart.brush.brushing = True
    chart.brush.selected = np.array([5_000.4, 5_100.6])
    assert view.x_range("loss") is None  # nothing is read while dragging
    with chart.brush.hold_trait_notifications():
        chart.brush.brushing = False
        chart.brush.selected = np.array([5_100.6, 5_000.4])
    assert view.x_range("loss") == (5_001, 5_100)  # whole steps inside the drag
    np.testing.assert_array_equal(drawn(view, "loss")[0], np.arange(5_001, 5_101))
    assert chart.brush.selected is None  # the rectangle is gone: the axis says the range
    # A click (no interval) leaves the zoom as it is.
    chart.brush.brushing = True
    chart.brush.brushing = False
    assert view.x_range("loss") == (5_001, 5_100)


def test_the_zoom_survives_refreshes_while_the_run_grows(long_run: Run, view: RunDetails) -> None:
    view.set_x_range("loss", N - 100, N + 199)
    more = np.linspace(0.0, 1.0, 1_000)
    append_points(long_run, "loss", more)
    view.refresh()
    x, y = drawn(view, "loss")
    np.testing.assert_array_equal(x, np.arange(N - 100, N + 200))  # the new points inside
    np.testing.assert_array_equal(y[100:], more[:200])
    assert view.x_range("loss") == (N - 100, N + 199)
    assert view.get_widget_data()["charts"]["loss"]["exact"] is True


def test_bad_ranges_are_refused_by_name_and_nothing_drawn_changes(view: RunDetails) -> None:
    view.set_x_range("loss", 100, 199)
    before = view.get_widget_data()["charts"]
    shown = [a.copy() for a in drawn(view, "loss")]
    cases = [
        (MetricNotFoundError, "nope", (1, 2), "'nope'"),
        (UserErrorException, "loss", (5, 1), "reversed"),
        (UserErrorException, "loss", (float("nan"), 1), "finite"),
        (UserErrorException, "loss", (0, float("inf")), "finite"),
        (UserErrorException, "loss", (1, None), "both ends"),
        (UserErrorException, "loss", ("a", 2), "number"),
        (UserErrorException, "name_tag", (1, 2), "'name_tag'"),  # strings: a table
        (UserErrorException, "note", (1, 2), "'note'"),  # one value: a property
    ]
    for error, name, (lo, hi), message in cases:
        with pytest.raises(error, match=message):
            view.set_x_range(name, lo, hi)
    assert issubclass(MetricNotFoundError, LookupError)
    assert view.get_widget_data()["charts"] == before
    for old, new in zip(shown, drawn(view, "loss"), strict=True):
        np.testing.assert_array_equal(old, new)
    assert view.x_range("loss") == (100, 199)


def test_every_numeric_chart_kind_zooms(exp: Experiment) -> None:
    run = new_run(exp)
    run.log_list("curve", np.arange(5_000) ** 0.5)
    for i in range(3_000):
        run.log("alpha", i / 100)
        run.log("mse", (i / 100 - 7) ** 2)
    run.log_table("pr", {"recall": np.linspace(0, 1, 4_000), "precision": np.linspace(1, 0, 4_000)})
    view = RunDetails(run)
    try:
        views = view.tracker.views()
        assert views["curve"] == "line" and views["pr"] == "line2"
        # log_list over its index
        view.set_x_range("curve", 10, 19)
        x, y = drawn(view, "curve")
        np.testing.assert_array_equal(x, np.arange(10, 20))
        np.testing.assert_allclose(y, np.arange(10, 20) ** 0.5)
        # a metric over another: the range is of alpha's values
        chart = view._charts["mse"]
        chart.x_select.value = "alpha"
        view.set_x_range("mse", 5.0, 9.0)
        x, y = drawn(view, "mse")
        np.testing.assert_allclose(x, np.arange(500, 901) / 100)
        np.testing.assert_allclose(y, (np.arange(500, 901) / 100 - 7) ** 2)
        data = view.get_widget_data()["charts"]["mse"]
        assert data["x_axis"] == "alpha" and data["exact"] and data["x_range"] == [5.0, 9.0]
        # another x axis: the zoom goes (a range of alpha means nothing over steps)
        chart.x_select.value = "step"
        assert view.x_range("mse") is None
        # a table over a column: every line of the chart zooms
        view.set_x_range("pr", 0.25, 0.5)
        data = view.get_widget_data()["charts"]["pr"]
        recall = np.linspace(0, 1, 4_000)
        inside = (recall >= 0.25) & (recall <= 0.5)
        assert data["x_axis"] == "recall" and data["exact"]
        np.testing.assert_allclose(data["x"], recall[inside])
        np.testing.assert_allclose(data["y"], np.linspace(1, 0, 4_000)[inside])
        assert [line["label"] for line in data["lines"]] == ["precision"]
        json.dumps(view.get_widget_data())  # all of it JSON-able
    finally:
        view.close()


def test_widget_data_says_what_every_chart_draws(view: RunDetails) -> None:
    charts = view.get_widget_data()["charts"]
    assert set(charts) == {"loss"}  # strings and single values are no charts
    loss = charts["loss"]
    assert loss["x_range"] is None and loss["exact"] is False and loss["x_axis"] == "step"
    x, y = drawn(view, "loss")
    assert loss["x"] == x.tolist() and loss["y"] == y.tolist()


def test_zoomed_ticks_print_apart_and_the_axis_is_the_range(view: RunDetails) -> None:
    from run_widgets.views.axes import range_axis, tick_format
    from run_widgets.views.ticks import linear_ticks

    assert range_axis(1_000_100, 1_000_400, integer=True).fmt == ",d"  # not "1M" four times
    assert tick_format(linear_ticks(0, 2_000_000, integer=True), integer=True) == ".3~s"
    assert tick_format(linear_ticks(0.5000001, 0.5000009)) == ",.7~g"
    view.set_x_range("loss", 12_003, 12_977)
    chart = view._charts["loss"]
    assert (chart.x_scale.min, chart.x_scale.max) == (12_003, 12_977)
    assert all(12_003 <= t <= 12_977 for t in chart.x_axis.tick_values)


def test_time_since_start_zooms_in_seconds(exp: Experiment) -> None:
    import time

    from run_widgets.store import AppendPoints

    run = new_run(exp)
    start = time.time()
    times = start + np.arange(5_000) * 0.5  # a point every half second: 2,500 s
    run.workspace.store.write(
        [AppendPoints(run.id, "loss", "scalar", np.sin(np.arange(5_000) / 50), times)]
    )
    view = RunDetails(run)
    try:
        chart = view._charts["loss"]
        chart.x_select.value = RELATIVE
        origin = view.tracker.start_time
        view.set_x_range("loss", 100.0, 400.0)
        assert view.x_range("loss") == pytest.approx((100.0, 400.0), abs=1e-6)
        data = view.get_widget_data()["charts"]["loss"]
        inside = times[(times - origin >= 100.0 - 1e-6) & (times - origin <= 400.0 + 1e-6)]
        assert data["exact"] and data["x"] == pytest.approx((inside - origin).tolist(), abs=1e-6)
        assert chart.reset_zoom.layout.display == ""
        # A drag gives the drawn units (minutes here), the range is kept in seconds.
        assert chart.x_axis.label == "time since start (min)"
        with chart.brush.hold_trait_notifications():
            chart.brush.brushing = False
            chart.brush.selected = np.array([2.0, 2.5])
        assert view.x_range("loss") == pytest.approx((120.0, 150.0), abs=1e-6)
        chart.reset_zoom.click()
        assert view.x_range("loss") is None
        # The unit fits the zoomed width: 100 s read in seconds, not 1.67 to 3.33 min.
        view.set_x_range("loss", 100.0, 200.0)
        assert chart.x_axis.label == "time since start (s)"
        view.set_x_range("loss", None)
        assert view.get_widget_data()["charts"]["loss"]["x_range"] is None
    finally:
        view.close()


# ------------------------------------------------------------- ExperimentDetails --
def test_overlay_charts_zoom_each_run_to_its_exact_points(exp: Experiment) -> None:
    from run_widgets import ExperimentDetails

    runs = []
    for seed in range(3):
        run = new_run(exp, display_name=f"seed {seed}", tags={"team": "a"})
        append_points(run, "loss", walk(N, seed))
        run.complete()
        runs.append(run)
    view = ExperimentDetails(exp)
    try:
        chart = view.charts["loss"]
        whole = chart.data
        assert whole.x_range is None and all(len(line.x) <= MAX_POINTS for line in whole.lines)
        assert chart.zoom.reset.layout.display == "none"
        view.set_x_range("loss", 12_300, 12_400)
        data = view.get_widget_data()["charts"]["loss"]
        assert data["x_range"] == [12_300, 12_400] and data["exact"] is True
        by_run = {line.run_id: line for line in chart.data.lines}
        assert set(by_run) == {run.id for run in runs}
        for seed, run in enumerate(runs):
            np.testing.assert_array_equal(by_run[run.id].x, np.arange(12_300, 12_401))
            np.testing.assert_array_equal(by_run[run.id].y, walk(N, seed)[12_300:12_401])
        assert (chart.x_linear.min, chart.x_linear.max) == (12_300, 12_400)
        assert chart.zoom.reset.layout.display == "" and "12,300" in chart.zoom.label.value
        # A wide range: buckets, every extreme kept (the spike at 12,345 of each run).
        with chart.zoom.brush.hold_trait_notifications():
            chart.zoom.brush.brushing = False
            chart.zoom.brush.selected = np.array([2_000.2, 19_000.7])
        assert view.model.x_ranges["loss"] == (2_001, 19_000)
        assert not chart.data.exact and all(line.y.max() == 500.0 for line in chart.data.lines)
        assert all(len(line.x) <= MAX_POINTS for line in chart.data.lines)
        # Bad input: refused by name, nothing drawn changes.
        before = chart.data
        with pytest.raises(MetricNotFoundError, match="'nope'"):
            view.set_x_range("nope", 1, 2)
        with pytest.raises(UserErrorException, match="reversed"):
            view.set_x_range("loss", 9, 1)
        view.set_charts(x="wall")  # another axis drops the zoom
        assert "loss" not in view.model.x_ranges
        with pytest.raises(UserErrorException, match="step or index"):
            view.set_x_range("loss", 1, 2)
        assert chart.zoom.brush not in (chart.figure.interaction,)  # no drag on a date axis
        view.set_charts(x="step")
        view.set_x_range("loss", 100, 200)
        view.group("team")  # groups: their lines and bands, clipped to the range
        grouped = chart.data
        assert grouped.x_range == (100, 200) and not grouped.exact
        assert all(((line.x >= 100) & (line.x <= 200)).all() for line in grouped.lines)
        assert any(len(line.x) for line in grouped.lines)
        view.group(None)
        chart.zoom.reset.click()
        assert "loss" not in view.model.x_ranges and chart.data.x_range is None
        assert before is not chart.data
    finally:
        view.close()
