"""``get_metrics`` shapes: the v1 table (reference b2) with the deliberate fixes of DESIGN.md."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from run_widgets import Experiment, Run
from run_widgets.exceptions import RunWidgetsWarning


@pytest.fixture
def run(exp: Experiment) -> Iterator[Run]:
    """A running interactive run."""
    started = exp.start_logging(snapshot_directory=None, outputs=False)
    yield started
    started.complete()


def test_v1_shape_table(run: Run) -> None:
    run.log("once", 0.5)
    for v in (1.0, 2.0, 3.0):
        run.log("many", v)
    run.log("int", 7)
    run.log("bool", True)
    run.log("str", "hello")
    run.log("none", None)
    with pytest.warns(RunWidgetsWarning):
        run.log("dict", {"k": 1})
    run.log_list("list", [1, 2, 3])
    run.log_list("promoted", [1, 2.5])
    run.log_list("one", [0.7])
    run.log_list("twice", [1])
    run.log_list("twice", [2, 3])
    run.log_row("row1", x=1, y=0.4)
    for i in range(3):
        run.log_row("rows", x=i, y=i / 10)
    run.log_table("table", {"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    run.log_table("table1", {"x": [1], "y": ["a"]})
    run.log_confusion_matrix("cm", {"a": 1})
    expected = {
        "once": 0.5,
        "many": [1.0, 2.0, 3.0],
        "int": 7,
        "bool": True,
        "str": "hello",
        "none": None,
        "dict": "{'k': 1}",
        "list": [1, 2, 3],
        "promoted": [1.0, 2.5],
        "one": [0.7],
        "twice": [1, 2, 3],
        "row1": {"x": 1, "y": 0.4},
        "rows": {"x": [0, 1, 2], "y": [0.0, 0.1, 0.2]},
        "table": {"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]},
        "table1": {"x": [1], "y": ["a"]},
    }
    metrics = run.get_metrics()
    cm = metrics.pop("cm")
    assert metrics == expected
    assert list(metrics) == list(expected)  # in logging order
    assert cm.startswith(f"aml://artifactId/ExperimentRun/dcid.{run.id}/")
    assert type(metrics["many"][0]) is float
    assert type(metrics["list"][0]) is int


def test_series_keeps_native_type_per_value(run: Run) -> None:
    run.log("m", 1)
    run.log("m", 2.5)
    run.log("m", "x")
    run.log("m", None)
    run.log("m", True)
    values = run.get_metrics()["m"]
    assert values == [1, 2.5, "x", None, True]
    assert [type(v) for v in values] == [int, float, str, type(None), bool]


def test_series_across_several_flushes(run: Run) -> None:
    for i in range(5):
        run.log("m", float(i))
        run.flush()
    run.log("m", 5)
    assert run.get_metrics()["m"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5]


def test_get_metrics_name(run: Run) -> None:
    run.log("a", 1)
    run.log("b", 2)
    assert run.get_metrics(name="a") == {"a": 1}
    assert run.get_metrics(name="missing") == {}


def test_get_metrics_reads_pending_points(run: Run) -> None:
    run.log("a", 1)
    # no explicit flush: reads flush this process's points first
    assert run.get_metrics() == {"a": 1}


def test_recursive_includes_self_and_omits_runs_without_metrics(run: Run) -> None:
    run.log("top", 1)
    child = run.child_run("c1")
    child.log("c", 2)
    quiet = run.child_run("quiet")
    grandchild = child.child_run("g")
    grandchild.log("g", 3)
    result = run.get_metrics(recursive=True)
    assert result == {run.id: {"top": 1}, child.id: {"c": 2}, grandchild.id: {"g": 3}}
    assert quiet.id not in result
    assert run.get_metrics(name="c", recursive=True) == {child.id: {"c": 2}}
    assert child.get_metrics(recursive=True) == {child.id: {"c": 2}, grandchild.id: {"g": 3}}


def test_recursive_without_own_metrics(run: Run) -> None:
    child = run.child_run()
    child.log("c", 1)
    assert run.get_metrics(recursive=True) == {child.id: {"c": 1}}
    assert run.get_metrics() == {}


def test_recursive_run_type_filters_descendants(run: Run) -> None:
    child = run.child_run()
    child.log("c", 1)
    assert run.get_metrics(recursive=True, run_type="scriptrun") == {}
    assert run.get_metrics(recursive=True, run_type="interactive") == {child.id: {"c": 1}}


def test_populate_resolves_artifacts_only(run: Run) -> None:
    run.log("plain", 1)
    run.log_confusion_matrix("cm", {"a": [1, 2]})
    populated = run.get_metrics(populate=True)
    assert populated["plain"] == 1
    assert populated["cm"] == {
        "schema_type": "confusion_matrix",
        "schema_version": "1.0.0",
        "data": {"a": [1, 2]},
    }


def test_populate_with_several_images_gives_a_list(run: Run) -> None:
    run.log_confusion_matrix("cm", {"a": 1})
    run.log_confusion_matrix("cm", {"a": 2})
    assert [p["data"] for p in run.get_metrics(populate=True)["cm"]] == [{"a": 1}, {"a": 2}]
    assert len(run.get_metrics()["cm"]) == 2


def test_metric_history_numpy(run: Run) -> None:
    run.log_list("l", np.arange(1000, dtype=np.float64))
    hist = run.get_metric_history("l")
    assert hist.values.dtype == np.float64
    assert len(hist) == 1000
    np.testing.assert_array_equal(hist.steps, np.arange(1000))
    frame = hist.to_frame()
    assert list(frame.columns) == ["step", "time", "value"]


def test_metric_history_unknown_name_lists_known(run: Run) -> None:
    run.log("a", 1)
    with pytest.raises(ValueError, match=r"has no metric 'b'; it has \['a'\]"):
        run.get_metric_history("b")


def test_nan_in_numeric_history_and_frame(run: Run) -> None:
    run.log("x", 1.0)
    run.log("x", math.nan)
    hist = run.get_metric_history("x")
    assert hist.values[0] == 1.0 and math.isnan(hist.values[1])


def test_log_list_types_do_not_depend_on_flush_timing(run: Run) -> None:
    run.log_list("same_flush", [1, 2])
    run.log_list("same_flush", [0.5])
    run.log_list("two_flushes", [1, 2])
    run.flush()
    run.log_list("two_flushes", [0.5])
    metrics = run.get_metrics()
    assert metrics["same_flush"] == metrics["two_flushes"] == [1, 2, 0.5]
    assert [type(v) for v in metrics["same_flush"]] == [int, int, float]
    assert [type(v) for v in metrics["two_flushes"]] == [int, int, float]
