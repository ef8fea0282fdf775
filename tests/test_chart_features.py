"""Issue 22's chart features without a kernel: groups and bands, summary values, axes
(outliers, relative time, ticks), the metric filter and the exports, on the read models.

The widgets draw what these return; their state is checked in ``test_experiment_view``,
``test_widget_state`` and the browser tests.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from widget_helpers import new_run

from run_widgets import Experiment, Run
from run_widgets.store import RunQuery
from run_widgets.views import axes, export, groups, run_table, summary
from run_widgets.views.experiment_model import ExperimentModel
from run_widgets.views.experiment_reader import StoreExperimentReader
from run_widgets.views.metric_filter import metric_filter

ALPHAS = (0.1, 1.0, 10.0)
SEEDS = (0, 1, 2)


def loss_of(alpha: float, seed: int, step: int) -> float:
    return alpha / (step + 1) + seed * 0.1


def seeded_runs(exp: Experiment, steps: int = 10) -> list[Run]:
    """3 alphas × 3 seeds, logging loss at steps 0..steps-1 (alpha and seed as tags)."""
    runs = []
    for alpha in ALPHAS:
        for seed in SEEDS:
            run = new_run(
                exp,
                display_name=f"a{alpha}-s{seed}",
                tags={"alpha": str(alpha), "seed": str(seed)},
            )
            for step in range(steps):
                run.log("loss", loss_of(alpha, seed, step), step=step)
            run.log("accuracy", 0.5 + alpha / 100)
            run.complete()
            runs.append(run)
    return runs


def model_of(exp: Experiment, **kwargs: object) -> ExperimentModel:
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store), RunQuery(experiment_id=exp.id), **kwargs
    )
    model.poll()
    return model


# ---------------------------------------------------------------------------- bands --
def test_band_is_the_mean_and_sample_std_per_step() -> None:
    x = np.arange(4.0)
    members = [(x, x * 1.0), (x, x * 2.0), (x, x * 3.0)]
    found = groups.band(members)
    assert found.x.tolist() == [0, 1, 2, 3] and found.count.tolist() == [3, 3, 3, 3]
    stacked = np.stack([y for _, y in members])
    assert np.allclose(found.center, stacked.mean(axis=0))
    assert np.allclose(found.upper - found.center, stacked.std(axis=0, ddof=1))
    minmax = groups.band(members, center="median", spread="minmax")
    assert np.allclose(minmax.center, x * 2) and np.allclose(minmax.upper, x * 3)
    assert np.allclose(minmax.lower, x)


def test_band_interpolates_inside_each_members_range_only() -> None:
    # A member logged at even steps, one at odd steps, one stopped early.
    a = (np.array([0.0, 2.0, 4.0]), np.array([0.0, 2.0, 4.0]))
    b = (np.array([1.0, 3.0]), np.array([10.0, 30.0]))
    found = groups.band([a, b])
    assert found.x.tolist() == [0, 1, 2, 3, 4]  # the union of the members' steps
    assert found.count.tolist() == [1, 2, 2, 2, 1]  # b covers 1..3 only: never extrapolated
    assert found.center[2] == pytest.approx((2.0 + 20.0) / 2)  # b interpolated at step 2
    assert found.upper[0] == found.lower[0] == 0.0  # one member: no spread


def test_long_series_share_a_grid_of_bounded_size() -> None:
    x = np.arange(10_000.0)
    found = groups.band([(x, np.sin(x)), (x + 0.5, np.cos(x))])
    assert len(found.x) == groups.GRID_POINTS
    assert groups.band([]).x.size == 0
    with pytest.raises(ValueError, match="band must be one of std, minmax"):
        groups.band([], spread="iqr")


def test_group_keys_options_and_labels() -> None:
    assert groups.parse_group_by(None) == ()
    assert groups.parse_group_by(["alpha", "l1", "alpha"]) == ("alpha", "l1")
    with pytest.raises(TypeError, match="group_by must be a key"):
        groups.parse_group_by(3)
    options = groups.group_options(["seed", "alpha", "l1_ratio"])
    assert options[0] == ("alpha + l1_ratio (all but the seed)", ("alpha", "l1_ratio"))
    assert [label for label, _ in options[1:]] == ["alpha", "l1_ratio", "seed"]
    alone = groups.group_options(["seed", "alpha"])  # alpha alone is the configuration
    assert alone == [("alpha (all but the seed)", ("alpha",)), ("seed", ("seed",))]
    assert groups.group_label(("alpha",), (0.1,)) == "alpha=0.1"
    assert groups.group_label(("alpha",), None) == groups.NONE_GROUP
    assert (
        groups.is_seed("--seed")
        and groups.is_seed("random_state")
        and not groups.is_seed("seeds_x")
    )


# ------------------------------------------------------------------- grouped model --
def test_grouped_model_draws_one_band_per_group_with_counts(exp: Experiment) -> None:
    seeded_runs(exp)
    loner = new_run(exp, display_name="no alpha")
    for step in range(10):
        loner.log("loss", 5.0, step=step)
    loner.complete()
    model = model_of(exp, group_by="alpha")
    assert [g.label for g in model.groups] == ["alpha=0.1", "alpha=1", "alpha=10", "(none)"]
    assert [len(g.members) for g in model.groups] == [3, 3, 3, 1]
    chart = model.chart_data("loss")
    first = chart.lines[0]
    assert first.label == "alpha=0.1 (n=3)" and first.group == "alpha=0.1"
    expected = [np.mean([loss_of(0.1, s, step) for s in SEEDS]) for step in range(10)]
    assert np.allclose(first.y, expected)
    assert first.count is not None and first.count.tolist() == [3] * 10
    assert chart.lines[-1].label == "(none) (n=1)"
    # Members' own lines on request, in their group's colour.
    model.group("alpha", show_members=True)
    lines = model.chart_data("loss").lines
    assert len(lines) == 4 + 10 and {line.color for line in lines[1:4]} == {first.color}
    # The table shows each run in its group's colour.
    state = model.table_state()
    assert state["grouped"] and set(state["colors"].values()) <= {g.color for g in model.groups}


def test_groups_update_live_as_runs_join_and_grow(exp: Experiment) -> None:
    seeded_runs(exp, steps=3)
    model = model_of(exp, group_by="alpha")
    live = new_run(exp, display_name="live", tags={"alpha": "100", "seed": "0"})
    live.log("loss", 1.0, step=0)
    changes = model.poll()
    assert changes.groups and [g.label for g in model.groups][-1] == "alpha=100"
    live.log("loss", 0.5, step=1)
    changes = model.poll()
    assert live.id in changes.grown
    band = model.chart_data("loss").lines[-1]
    assert band.label == "alpha=100 (n=1)" and band.y.tolist() == [1.0, 0.5]
    live.complete()


def test_unknown_key_bad_band_and_non_numeric_metric_are_named(exp: Experiment) -> None:
    seeded_runs(exp, steps=2)
    with pytest.raises(ValueError, match=r"No run has 'alpah'.*keys: alpha, seed"):
        model_of(exp, group_by="alpah")
    model = model_of(exp, group_by="alpha")
    with pytest.raises(ValueError, match="No run has 'nope'"):
        model.group("nope")
    assert model.group_keys == ("alpha",) and len(model.groups) == 3  # unchanged
    with pytest.raises(ValueError, match="group line must be one of mean, median"):
        model.group("alpha", center="mode")
    words = new_run(exp, display_name="words", tags={"alpha": "0.1"})
    words.log("optimizer", "adam")
    words.log("optimizer", "sgd")
    words.complete()
    model.poll()
    chart = model.chart_data("optimizer")
    assert chart.lines == [] and "not numeric" in chart.note


def test_sweep_children_group_by_every_hyperparameter_but_the_seed(exp: Experiment) -> None:
    parent = new_run(exp, display_name="sweep")
    for alpha in (0.1, 1.0):
        for seed in (1, 2):
            child = parent.child_run(f"a{alpha}-s{seed}")
            child.add_properties({"hyperparameters": f'{{"--alpha": {alpha}, "--seed": {seed}}}'})
            child.log("loss", alpha + seed)
            child.log("loss", alpha + seed - 0.5)
            child.complete()
    parent.complete()
    model = ExperimentModel(
        StoreExperimentReader(exp.workspace.store),
        RunQuery(experiment_id=exp.id, include_children=True),
    )
    model.poll()
    label, keys = model.group_options()[0]
    assert keys == ("alpha",) and "all but the seed" in label
    model.group(keys)
    assert [(g.label, len(g.members)) for g in model.groups][:2] == [
        ("alpha=0.1", 2),
        ("alpha=1", 2),
    ]


# ------------------------------------------------------------------------ summaries --
def test_summaries_come_from_the_metric_headers_and_follow_the_goal(exp: Experiment) -> None:
    run = new_run(exp, display_name="r")
    for value in (3.0, 1.0, 2.0):
        run.log("loss", value)
        run.log("val_accuracy", value / 10)
    run.complete()
    model = model_of(exp)
    row = model.table_state()["rows"][0]["values"]
    assert row["metric:loss"] == 2.0 and row["metric:loss@min"] == 1.0
    assert row["metric:loss@max"] == 3.0 and row["metric:loss@best"] == 1.0  # minimize
    assert row["metric:val_accuracy@best"] == pytest.approx(0.3)  # maximized by its name
    goals = {c["title"]: c.get("goal") for c in model.table_state()["columns"]}
    assert goals["loss"] == "minimize" and goals["val_accuracy"] == "maximize"
    model.set_table(stat="min")
    assert model.table_state()["stat"] == "min"
    with pytest.raises(ValueError, match="summary shown must be one of"):
        model.set_table(stat="mean")
    assert summary.guessed_goal("train/f1_macro") == summary.MAXIMIZE


def test_a_metric_column_sorts_by_the_summary_it_shows(exp: Experiment) -> None:
    # a: last 1, min 1 · b: last 5, min 0 · c: last 3, min 3 (loss: best = min).
    for name, values in (("a", [9.0, 1.0]), ("b", [0.0, 5.0]), ("c", [3.0, 3.0])):
        run = new_run(exp, display_name=name)
        for value in values:
            run.log("loss", value)
        run.complete()
    model = model_of(exp)

    def names() -> list[str]:
        return [r.display_name or "" for r in model.page.records]

    model.set_table(sort="metric:loss", descending=False)
    assert names() == ["a", "c", "b"]  # by the last value
    model.set_table(stat="min")
    assert names() == ["b", "a", "c"]  # by the minimum, in the store's query
    model.set_table(stat="max", descending=True)
    assert names() == ["a", "b", "c"]
    model.set_table(stat="best", descending=False)  # loss is minimized: best = min
    assert names() == ["b", "a", "c"]
    assert summary.guessed_goal("mse") == summary.MINIMIZE


# ----------------------------------------------------------------------------- axes --
def test_ticks_read_as_numbers_and_whole_values_get_whole_ticks() -> None:
    layout = axes.linear_axis([np.array([0.0, 4200.0])])
    assert layout is not None and layout.fmt == ",d"  # 5,000 not 5e+3
    epochs = axes.linear_axis([np.array([0.0, 1.0])])  # an epoch column: whole values
    assert epochs is not None and epochs.ticks.tolist() == [0.0, 1.0]
    fractions = axes.linear_axis([np.array([0.0, 0.9])])
    assert fractions is not None and fractions.fmt == ",~g" and 0.2 in fractions.ticks
    assert axes.tick_format(np.array([0.0, 2e6])) == ".3~s"


def test_x_tick_labels_fit_side_by_side_and_neighbours_print_apart() -> None:
    for values in (
        np.linspace(0.00061, 0.00066, 20),  # ran together as 0.000610.00062…
        np.linspace(1.00001, 1.00005, 10),  # printed 1.00002 for 1.000025
        np.array([123456.75, 123457.5]),  # printed 123,457 three times
    ):
        layout = axes.linear_axis([values], label_chars=axes.X_LABEL_CHARS)
        assert layout is not None
        labels = [axes.label_text(float(t), layout.fmt) for t in layout.ticks]
        assert len(set(labels)) == len(labels) >= 2, labels
        assert axes.labels_fit(layout.ticks, layout.fmt, axes.X_LABEL_CHARS), labels
        assert layout.low <= values.min() and layout.high >= values.max()
    steps = axes.linear_axis([np.arange(16.0)], label_chars=axes.X_LABEL_CHARS)
    assert steps is not None and steps.ticks.tolist() == [0, 5, 10, 15]  # unchanged


def test_domains_are_padded_beyond_the_outer_ticks() -> None:
    layout = axes.linear_axis([np.arange(16.0)], integer=True)
    assert layout is not None
    assert layout.low < layout.ticks[0] and layout.high > layout.ticks[-1] >= 15
    log = axes.log_axis([np.array([0.01, 1.0])])
    assert log is not None and log.high > log.ticks[-1] == 1.0 and log.low < log.ticks[0]


def test_ignore_outliers_scales_to_quantiles_and_clips_the_rest() -> None:
    values = np.concatenate([np.linspace(1.0, 2.0, 100), [1000.0]])
    plain = axes.linear_axis([values])
    robust = axes.linear_axis([values], ignore_outliers=True)
    assert plain is not None and robust is not None and plain.clip is None
    assert robust.high < 10 and robust.clip is not None
    drawn = robust.clipped(values)
    assert drawn.max() == pytest.approx(robust.clip[1]) and len(drawn) == len(values)
    flat = axes.linear_axis([np.ones(10)], ignore_outliers=True)
    assert flat is not None and flat.clip is None  # nothing to ignore


def test_relative_time_picks_a_unit_for_the_span() -> None:
    assert axes.time_unit(0.4) == ("ms", 0.001)
    assert axes.relative_time([np.array([0.000615, 0.00065])]) == ("ms", 0.001)
    assert axes.time_unit(90) == ("s", 1.0)
    assert axes.time_unit(30 * 60) == ("min", 60.0)
    assert axes.time_unit(5 * 3600) == ("h", 3600.0)
    assert axes.time_unit(3 * 86400) == ("days", 86400.0)


# ---------------------------------------------------------------- filter and export --
def test_metric_filter_is_a_regex_and_an_invalid_one_is_reported() -> None:
    names = ["loss", "val_loss", "val_acc", "lr"]
    assert metric_filter("^val_").apply(names) == ["val_loss", "val_acc"]
    assert metric_filter("LOSS|lr").apply(names) == ["loss", "val_loss", "lr"]
    bad = metric_filter("val_(")
    assert bad.apply(names) == names and "invalid pattern 'val_('" in bad.error


def test_model_filter_x_metric_and_exports(exp: Experiment, tmp_path: Path) -> None:
    run = new_run(exp, display_name="lockstep")
    for i in range(5):
        run.log("alpha", 0.1 * (i + 1))
        run.log("mse", 1.0 / (i + 1))
        run.log("val_mse", 2.0 / (i + 1))
    run.complete()
    model = model_of(exp)
    model.set_options(pattern="^val")
    assert model.chart_names() == ["val_mse"]
    model.set_options(pattern="(")
    assert model.chart_names() == ["alpha", "mse", "val_mse"] and model.filter.error
    model.set_options(pattern="", x="metric:alpha")
    chart = model.chart_data("mse")
    assert chart.x_axis == "alpha" and np.allclose(chart.lines[0].x, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert ("metric: alpha", "metric:alpha") in model.x_options()
    with pytest.raises(ValueError, match="x must be one of"):
        model.set_options(x="epochs")
    table = export.frame(model.charts())
    assert list(table.columns) == export.COLUMNS
    assert set(table.metric) == {"alpha", "mse", "val_mse"} and set(table.run_id) == {run.id}
    path = export.write_csv(model.charts(), tmp_path / "charts.csv")
    assert path.read_text().splitlines()[0] == ",".join(export.COLUMNS)
    with pytest.raises(OSError, match=r"Cannot write the CSV to '.*missing.*'"):
        export.write_csv(model.charts(), tmp_path / "missing" / "x.csv")
    assert not list(tmp_path.glob("**/.x.csv.*"))  # nothing half-written
    data = model.chart_data("mse").json()
    assert data["lines"][0]["run_id"] == run.id and len(data["lines"][0]["y"]) == 5
    assert all(math.isfinite(v) for v in data["lines"][0]["y"])


# ---------------------------------------------------------------------------- a11y --
def test_charts_have_a_text_alternative_and_a_data_table(exp: Experiment) -> None:
    from run_widgets import RunDetails
    from run_widgets.views import a11y

    run = new_run(exp, display_name="<script>")
    for step in range(10):
        run.log("loss", 2.0 / (step + 1), step=step)
    run.complete()
    view = RunDetails(run)
    try:
        html = view.static_bundle()["text/html"]
        alt = html.split('alt="', 1)[1].split('"', 1)[0]
        assert "loss: 1 line; step 0 to 9; loss 0.2 to 2" in alt
        chart = view.chart_data()[0]
        table = a11y.summary_html(chart)
        assert "<caption>Data of the chart loss: 1 line" in table
        assert '<th scope="row">loss</th><td>10</td><td>0</td><td>9</td>' in table
    finally:
        view.close()
    line = export.SeriesData("<b>", np.array([0.0]), np.array([1.0]))
    assert "&lt;b&gt;" in a11y.summary_html(export.ChartData("m", "step", [line]))
    assert a11y.describe(export.ChartData("m", "step", [])) == "m: no points yet"


def test_a_tag_and_a_metric_of_one_name_get_columns_told_apart() -> None:
    # Seen in the audit screenshots: a run tagged alpha=0.1 that also logs alpha showed two
    # columns titled "alpha".
    columns = run_table.column_specs(["alpha", "seed"], ["alpha", "loss"])
    titles = [c["title"] for c in columns]
    assert titles.count("alpha") == 1 and "alpha (tag)" in titles and "seed" in titles
    metric = next(c for c in columns if c["key"] == "metric:alpha")
    assert metric["title"] == "alpha"
