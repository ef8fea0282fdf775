"""ExperimentDetails without a kernel: the read model, the pure view functions and the
widget's synced state (``get_state()``), over a real workspace."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pytest
from widget_helpers import XSS, new_run, wait_until

from run_widgets import Experiment, ExperimentDetails, Run, Workspace, compare
from run_widgets.store import RunQuery
from run_widgets.views import across, overlay
from run_widgets.views.experiment_model import ExperimentModel
from run_widgets.views.experiment_reader import StoreExperimentReader
from run_widgets.widgets.poller import poll_threads

ALPHAS = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]


def _ridge_runs(exp: Experiment, alphas: list[float] = ALPHAS, points: int = 12) -> list[Run]:
    runs = []
    for i, alpha in enumerate(alphas):
        run = new_run(exp, display_name=f"ridge {alpha}", tags={"alpha": str(alpha)})
        for step in range(points):
            run.log("mse", (1 + (np.log10(alpha) + 1) ** 2) / (step + 1))  # best: 0.1
        run.log("r2", 1 - 0.1 * i)
        run.complete()
        runs.append(run)
    return runs


def _state(widget: Any) -> dict[str, Any]:
    return dict(widget.get_state())


# ----------------------------------------------------------------------------- model --
def test_model_first_poll_reads_page_columns_and_newest_selection(exp: Experiment) -> None:
    runs = _ridge_runs(exp)
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id)
    )
    changes = model.poll()
    assert changes.table and changes.selection and changes.columns
    assert model.page.total == 6
    assert [r.id for r in model.page.records] == [r.id for r in reversed(runs)]
    assert model.metric_columns == ["mse", "r2"] and model.tag_columns == ["alpha"]
    assert model.selected == [r.id for r in reversed(runs)][:5]  # the 5 newest
    assert len(set(model.colors.values())) == 5
    assert model.chart_names() == ["mse"]  # r2 was logged once per run: a value, not a curve
    lines = model.chart_lines("mse")
    assert [len(line.x) for line in lines] == [12] * 5
    assert model.poll().anything is False  # nothing new: nothing changes


def test_best_selection_follows_metric_and_goal(exp: Experiment) -> None:
    runs = _ridge_runs(exp)
    reader = StoreExperimentReader(exp.workspace.store)
    model = ExperimentModel(
        reader,
        RunQuery(experiment_id=exp.id),
        selection="best",
        metric="r2",
        goal="maximize",
        default_runs=2,
    )
    model.poll()
    assert model.selected == [runs[0].id, runs[1].id]
    model.choose_default("best", "r2", "minimize")
    assert model.selected == [runs[5].id, runs[4].id]
    best = across.best_run(model.across_list(), "mse", "minimize")
    assert best is not None and best.run_id == runs[2].id  # alpha 0.1


def test_colours_stay_with_their_runs(exp: Experiment) -> None:
    runs = _ridge_runs(exp)
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id)
    )
    model.poll()
    kept = {r: model.colors[r] for r in model.selected[1:3]}
    model.select([*kept, runs[0].id])
    assert {r: model.colors[r] for r in kept} == kept
    assert model.colors[runs[0].id] not in kept.values()
    model.select([r.id for r in runs] * 3)
    assert len(model.selected) == 6  # duplicates dropped
    with pytest.raises(ValueError, match="selection"):
        model.choose_default("random")


def test_live_poll_reads_only_changed_runs(exp: Experiment) -> None:
    _ridge_runs(exp, ALPHAS[:3])
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id)
    )
    model.poll()
    live = new_run(exp, display_name="live", tags={"alpha": "0.5", "stage": "new"})
    live.log("mse", 2.0)
    changes = model.poll()
    assert changes.table and changes.columns  # a new run with a new tag key
    assert model.page.records[0].id == live.id
    assert model.selected[0] == live.id  # default selection follows new runs
    for step in range(1, 40):
        live.log("mse", 2.0 / (step + 1))
    changes = model.poll()
    assert changes.grown == {live.id: {"mse"}}
    x, _ = model.series[live.id].arrays("mse")
    assert len(x) == 40
    model.select([live.id])  # the user chose: new runs no longer change the selection
    new_run(exp, display_name="later").log("mse", 1.0)
    model.poll()
    assert model.selected == [live.id]
    live.complete()


def test_table_settings_requery_the_store(exp: Experiment) -> None:
    runs = _ridge_runs(exp)
    runs[1].tag("group", "b")
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id)
    )
    model.poll()
    model.set_table(sort="metric:r2", descending=False)
    assert [r.id for r in model.page.records][:2] == [runs[5].id, runs[4].id]
    model.set_table(tag="group=b")
    assert [r.id for r in model.page.records] == [runs[1].id]
    model.set_table(tag="", text="ridge 10")
    assert {r.display_name for r in model.page.records} == {"ridge 10.0", "ridge 100.0"}
    model.set_table(text="", page_size=4, page=1)
    assert len(model.page.records) == 2 and model.table_state()["pages"] == 2
    model.set_table(page=99)  # clamped to the last page
    assert model.settings.page == 1
    with pytest.raises(ValueError, match="sort runs by"):
        model.set_table(sort="nonsense")
    with pytest.raises(ValueError, match="Unknown table setting"):
        model.set_table(colour="red")


# ---------------------------------------------------------------------- pure helpers --
def test_ema_in_pieces_equals_whole() -> None:
    values = np.random.default_rng(1).normal(size=500)
    whole, _ = overlay.ema(values, 0.9)
    first, state = overlay.ema(values[:137], 0.9)
    second, _ = overlay.ema(values[137:], 0.9, state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole)
    reference = []
    last = 0.0
    for i, v in enumerate(values[:50]):
        last = 0.9 * last + 0.1 * v
        reference.append(last / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(whole[:50], reference)
    np.testing.assert_array_equal(overlay.ema(values, 0.0)[0], values)


def test_long_histories_are_downsampled_per_run(exp: Experiment) -> None:
    run = new_run(exp)
    run.log_list("noise", list(np.sin(np.arange(100_000) / 500.0)))
    for step in range(30_000):
        run.log("loss", 1.0 / (step + 1), step=step)
    run.complete()
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id)
    )
    model.poll()
    for mode in overlay.X_MODES:
        for smoothing in (0.0, 0.8):
            for line in model.chart_lines("loss", mode, smoothing):
                assert 0 < len(line.x) <= 2000
    assert model.chart_names() == ["loss", "noise"]
    (line,) = model.chart_lines("noise", "index")
    assert len(line.x) <= 2000 and line.y.max() == pytest.approx(1.0, abs=1e-6)


def test_parameters_from_arguments_hyperparameters_and_tags() -> None:
    assert across.argument_pairs(["--alpha", "0.1", "--fit", "--n=3", "-k", "-2"]) == {
        "alpha": 0.1,
        "fit": True,
        "n": 3,
        "k": -2,
    }
    assert across.wants_log([0.001, 0.1, 10.0]) and not across.wants_log([1.0, 50.0])
    assert not across.wants_log([-1.0, 100.0])


def test_metric_vs_param_log_x_categories_and_best(exp: Experiment) -> None:
    runs = _ridge_runs(exp)
    runs[0].tag("solver", "svd")
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id)
    )
    model.poll()
    rows = model.across_list()
    data = across.metric_vs_param(rows, "alpha", "mse", "minimize")
    assert data["log"] and sorted(data["x"]) == ALPHAS
    assert data["ids"][data["best"]] == runs[2].id
    text = across.metric_vs_param(rows, "solver", "mse", "minimize")
    assert text["categories"] == ["svd"] and len(text["x"]) == 1
    state = across.parcoords_state(rows, "mse", "minimize", ["mse", "r2"])
    assert [d["name"] for d in state["dimensions"]] == ["alpha", "r2", "mse"]
    assert state["dimensions"][0]["log"]
    assert sum(line["best"] for line in state["lines"]) == 1


def test_compare_returns_a_tidy_frame(exp: Experiment) -> None:
    runs = _ridge_runs(exp, ALPHAS[:3], points=5)
    frame = compare(exp, "mse")
    assert list(frame.columns[:7]) == [
        "run_id",
        "number",
        "display_name",
        "status",
        "step",
        "index",
        "value",
    ]
    assert len(frame) == 15 and set(frame.run_id) == {r.id for r in runs}
    assert frame.groupby("run_id").step.max().tolist() == [4, 4, 4]
    assert (frame.relative_time >= 0).all()
    assert compare(runs[:1], "missing").empty
    assert len(compare(exp.get_runs(), "r2")) == 3
    with pytest.raises(TypeError, match="compare needs"):
        compare("exp", "mse")
    with pytest.raises(TypeError, match="metric must be"):
        compare(runs, 3)  # type: ignore[arg-type]


# --------------------------------------------------------------------- widget state --
def test_across_runs_explains_itself_when_there_is_nothing_to_compare_by(
    exp: Experiment,
) -> None:
    for n in range(3):
        with exp.start_logging(snapshot_directory=None) as run:
            run.log("mse", 1.0 / (n + 1))
    view = ExperimentDetails(exp, metric="mse")
    try:
        view.across_box.selected_index = 0
        assert view.across_hint.layout.display is None  # the hint shows
        assert view.across_figure.layout.display == "none"  # no empty axes
        assert view.param.layout.display == "none"
        with exp.start_logging(snapshot_directory=None, tags={"alpha": "0.1"}) as run:
            run.log("mse", 0.5)
        view.refresh()
        # One run has alpha: a key every compared run shares (or one run alone) separates
        # nothing, so the hint stays instead of a chart with every point at one x.
        assert view.across_hint.layout.display is None
        with exp.start_logging(snapshot_directory=None, tags={"alpha": "1.0"}) as run:
            run.log("mse", 0.25)
        view.refresh()
        assert view.param.options == ("alpha",) and view.param.value == "alpha"
        assert view.across_hint.layout.display == "none"
        assert view.across_figure.layout.display is None
    finally:
        view.close()


def test_widget_state_table_charts_and_across(exp: Experiment) -> None:
    runs = _ridge_runs(exp)
    view = ExperimentDetails(exp)
    try:
        table = _state(view.table)
        assert table["total"] == 6 and len(table["rows"]) == 6
        assert [c["key"] for c in table["columns"]] == [
            "number",
            "display_name",
            "status",
            "start",
            "duration",
            "tag:alpha",  # no run has arguments: no Arguments column
            "metric:mse",
            "metric:r2",
        ]
        assert table["rows"][0]["values"]["tag:alpha"] == "100.0"
        assert len(table["selected"]) == 5 and table["best_id"] == runs[2].id
        assert sorted(view.charts) == ["mse"]
        chart = view.charts["mse"]
        assert chart.points_shown() == [12] * 5
        colors = [line.colors[0] for line in chart.lines[:5]]
        assert colors == [table["colors"][r] for r in table["selected"]]
        assert chart.lines[0].labels == [f"{runs[5].number}: ridge 100.0"]
        assert view.across_box.x_axis.label == "log10(alpha)"  # alphas span five decades
        assert sorted(view.across_box.points.x) == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
        assert len(view.parcoords.lines) == 6
        # Intents from the browser arrive as messages.
        view._on_table_message(
            view.table, {"event": "sort", "key": "metric:mse", "desc": False}, []
        )
        assert view.table.rows[0]["id"] == runs[2].id and view.table.sort_desc is False
        view._on_table_message(
            view.table, {"event": "filter", "status": "", "tag": "", "text": "ridge 0.0"}, []
        )
        assert view.table.total == 2 and view.table.text_filter == "ridge 0.0"
        view._on_table_message(view.table, {"event": "select", "ids": [runs[0].id]}, [])
        assert view.charts["mse"].points_shown() == [12]
        view._on_table_message(view.table, {"event": "sort", "key": "bogus"}, [])
        assert "Cannot sort runs by 'bogus'" in view.table.error
        view._on_table_message(view.table, {"event": "open", "id": runs[1].id}, [])
        assert view.table.opened_id == runs[1].id
        assert view.detail.children[1].run.id == runs[1].id
        view._on_table_message(view.table, {"event": "open", "id": ""}, [])
        assert view.detail.children == ()
        view.x_mode.value = "wall"
        assert str(view.charts["mse"].lines[0].x.dtype) == "datetime64[ms]"
        view.x_mode.value = "relative"
        view.smooth.value = 0.9
        view.log_y.value = True
        assert view.charts["mse"].points_shown() == [12]
    finally:
        view.close()


def test_widget_grows_live_and_polls_stop_on_close(exp: Experiment) -> None:
    _ridge_runs(exp, ALPHAS[:2])
    live = new_run(exp, display_name="live")
    live.log("mse", 1.0)
    view = ExperimentDetails(exp, refresh_interval=0.1)
    before = set(poll_threads())
    view.start_polling()
    try:
        for step in range(1, 25):
            live.log("mse", 1.0 / (step + 1))
        wait_until(lambda: view.charts["mse"].points_shown()[0] == 25, 20, "the live line grows")
        late = new_run(exp, display_name="late")
        late.log("mse", 0.5)
        wait_until(lambda: view.table.rows[0]["id"] == late.id, 20, "the new run appears")
        late.complete()
    finally:
        live.complete()
        view.close()
    assert view.poller is None
    wait_until(lambda: set(poll_threads()) <= before, 10, "no poller left")


def test_fixed_run_list_stops_when_every_run_ended(exp: Experiment) -> None:
    runs = _ridge_runs(exp, ALPHAS[:2])
    live = new_run(exp)
    live.log("mse", 1.0)
    view = ExperimentDetails([*runs, live], refresh_interval=0.1)
    assert view.table.total == 3
    poller = view.start_polling()
    live.complete()
    wait_until(lambda: not poller.alive, 20, "the poller ends")
    assert poller.finished
    view.close()


def test_bad_input_is_named(exp: Experiment, ws: Workspace, tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="needs an Experiment"):
        ExperimentDetails("exp")
    with pytest.raises(ValueError, match="no runs"):
        ExperimentDetails([])
    with pytest.raises(TypeError, match="needs Runs"):
        ExperimentDetails([1, 2])
    with pytest.raises(ValueError, match="goal"):
        ExperimentDetails(exp, goal="up")
    other = Workspace(tmp_path / "other")
    try:
        with pytest.raises(ValueError, match="one workspace"):
            ExperimentDetails([new_run(exp), new_run(Experiment(other, "o"))])
    finally:
        other.close()


def test_static_snapshot_and_report_escape_user_strings(exp: Experiment, tmp_path: Any) -> None:
    run = new_run(exp, display_name=XSS, tags={"<b>k": XSS})
    for step in range(5):
        run.log("mse", 1.0 / (step + 1))
    run.complete()
    view = ExperimentDetails(exp.get_runs())
    try:
        bundle = view.static_bundle()
        assert "image/png" in bundle and "<img src=x" not in bundle["text/html"]
        assert "&lt;img src=x onerror=alert(1)&gt;" in bundle["text/html"]
        assert bundle["text/plain"].startswith("ExperimentDetails: 1 runs of test-exp")
        path = view.write_report(tmp_path / "report.html")
        text = path.read_text()
        assert "<img src=x" not in text and "data:image/png;base64," in text
        default = view.write_report()
        assert default.parent == exp.workspace.reports_dir
    finally:
        view.close()


def test_show_outside_a_kernel_prints_a_summary(exp: Experiment, capsys: Any) -> None:
    _ridge_runs(exp, ALPHAS[:2])
    view = ExperimentDetails(exp)
    view.show()
    out = capsys.readouterr().out
    assert out.startswith("ExperimentDetails: Experiment test-exp\nRuns: 2")
    # The table page as text: run numbers, display names, status, the metric columns.
    header, *rows = out.splitlines()[2:5]
    assert header.split() == ["#", "name", "status", "mse", "r2"]
    assert rows[0].split()[:4] == ["2", "ridge", "0.01", "Completed"]
    assert rows[1].split()[:4] == ["1", "ridge", "0.001", "Completed"]
    assert view.poller is None and not [t for t in threading.enumerate() if "experiment" in t.name]
    view.close()


def test_best_run_follows_changes_and_across_rows_load_on_demand(exp: Experiment) -> None:
    runs = _ridge_runs(exp, ALPHAS[:3])
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store),
        RunQuery(experiment_id=exp.id),
        metric="mse",
        across_views=False,
    )
    model.poll()
    assert model.best is not None and model.best.run_id == runs[2].id
    assert model.across_rows == {}
    live = new_run(exp)
    live.log("mse", 0.0001)
    model.poll()
    assert model.best.run_id == live.id and model.table_state()["best_id"] == live.id
    live.log("mse", 1e6)  # the best run got worse: the store is asked again
    model.poll()
    assert model.best.run_id == runs[2].id
    model.choose_default("best", "mse", "maximize")
    assert model.best.run_id == live.id and model.selected[0] == live.id
    model.enable_across()
    assert len(model.across_rows) == 4
    live.complete()


def test_grouped_widget_state_exports_and_widget_data(exp: Experiment, tmp_path: Any) -> None:
    for alpha in (0.1, 1.0):
        for seed in range(2):
            run = new_run(exp, display_name=f"a{alpha} s{seed}", tags={"alpha": str(alpha)})
            for step in range(6):
                run.log("loss", alpha / (step + 1) + seed * 0.1, step=step)
            run.complete()
    view = ExperimentDetails(exp, group_by="alpha", band="minmax")
    try:
        assert view.group_select.value == ("alpha",) and view.band.value == "minmax"
        chart = view.charts["loss"]
        assert len(chart.bands) == 2 and all(b.fill == "between" for b in chart.bands)
        assert [m.labels[0] for m in chart.figure.marks if m.display_legend] == [
            "alpha=0.1 (n=2)",
            "alpha=1 (n=2)",
        ]
        assert _state(view.table)["grouped"] and view.selection.disabled
        assert "n=2" in chart.summary.value and "rw-sr-only" in chart.summary.value
        # Members' own lines, then no groups again.
        view.group("alpha", show_members=True)
        assert len(chart.figure.marks) == 2 + 2 + 4
        view.group(None)
        assert view.group_select.value == () and not _state(view.table)["grouped"]
        assert view.center.layout.display == "none"
        # Charts: a metric as x, an invalid filter said, not raised.
        view.set_charts(filter="lo(")
        assert "invalid pattern" in view.filter_error.value and "loss" in view.charts
        view.set_charts(filter="^nothing")
        assert view.charts == {}
        view.set_charts(filter="", x="relative", ignore_outliers=True)
        assert view.charts["loss"].x_axis.label.startswith("time since start (")
        assert view.charts["loss"].menu.ignore_outliers
        with pytest.raises(ValueError, match="x must be one of"):
            view.set_charts(x="epochs")
        # Exports: what the charts draw, with run ids; a bad path is named, the view goes on.
        view.group("alpha", show_members=False)
        view.set_charts(x="step")
        frame = view.to_dataframe()
        assert set(frame.group) == {"alpha=0.1", "alpha=1"} and frame.lower.notna().all()
        path = view.to_csv(tmp_path / "charts.csv")
        assert path.read_text().count("\n") == len(frame) + 1
        with pytest.raises(OSError, match="nowhere"):
            view.to_csv(tmp_path / "nowhere" / "charts.csv")
        assert view.refresh() is not None
        csv_sent: list[Any] = []
        chart = view.charts["loss"]
        chart.menu.send = csv_sent.append  # what the menu's "Save CSV" answers the browser
        chart.menu._on_message(chart.menu, {"event": "csv"}, [])
        assert csv_sent[0]["filename"] == "loss.csv" and "alpha=0.1" in csv_sent[0]["csv"]
        # Everything the view shows, JSON-able.
        data = view.get_widget_data()
        json.dumps(data)
        assert [g["label"] for g in data["groups"]] == ["alpha=0.1", "alpha=1"]
        assert data["groups"][0]["count"] == 2 and len(data["runs"]) == 4
        assert set(data["runs"][0]["metrics"]["loss"]) == {"last", "min", "max", "best"}
        (line, _) = data["charts"]["loss"]["lines"]
        assert line["group"] == "alpha=0.1" and len(line["x"]) == len(line["lower"]) == 6
        with pytest.raises(ValueError, match="No run has 'alpah'"):
            view.group("alpah")
        assert view.model.group_keys == ("alpha",)  # unchanged
    finally:
        view.close()
