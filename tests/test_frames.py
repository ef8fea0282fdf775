"""pandas views: a run's metric points (long format) and an experiment's runs."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from run_widgets import Experiment, Run


def _start(exp: Experiment, **kwargs: object) -> Run:
    return exp.start_logging(snapshot_directory=None, outputs=False, **kwargs)


@pytest.fixture
def run(exp: Experiment) -> Iterator[Run]:
    """A running interactive run."""
    started = _start(exp)
    yield started
    started.complete()


def test_metrics_dataframe(run: Run) -> None:
    run.log("loss", 1.0, step=1)
    run.log("loss", 0.5, step=2)
    run.log_row("r", x=1, y=2)
    frame = run.get_metrics_dataframe()
    assert list(frame.columns) == ["run_id", "name", "step", "value", "time"]
    assert set(frame["run_id"]) == {run.id}
    loss = frame[frame["name"] == "loss"]
    assert list(loss["step"]) == [1, 2]
    assert list(loss["value"]) == [1.0, 0.5]
    assert set(frame["name"]) == {"loss", "r.x", "r.y"}
    assert pd.api.types.is_datetime64_any_dtype(frame["time"])


def test_metrics_dataframe_empty_and_filtered(run: Run) -> None:
    assert list(run.get_metrics_dataframe().columns) == ["run_id", "name", "step", "value", "time"]
    run.log("a", 1)
    run.log("b", 2)
    frame = run.get_metrics_dataframe(names=["b"])
    assert list(frame["name"]) == ["b"]


def test_get_runs_dataframe(exp: Experiment) -> None:
    first = _start(exp, display_name="first")
    first.log("acc", 0.5)
    first.log("acc", 0.75)
    first.complete()
    second = _start(exp)
    second.log("loss", 2)
    frame = exp.get_runs_dataframe()
    assert list(frame["run_id"]) == [second.id, first.id]
    for column in ("run_id", "number", "status", "start_time", "tags", "properties"):
        assert column in frame.columns
    assert list(frame["status"]) == ["Running", "Completed"]
    by_id = frame.set_index("run_id")
    assert by_id.loc[first.id, "metric.acc"] == 0.75
    assert by_id.loc[second.id, "metric.loss"] == 2
    assert by_id.loc[first.id, "display_name"] == "first"


def test_empty_runs_dataframe(exp: Experiment) -> None:
    frame = exp.get_runs_dataframe()
    assert len(frame) == 0
    assert "run_id" in frame.columns


def test_metrics_dataframe_list_and_explicit_steps(run: Run) -> None:
    run.log_list("l", [0.1, 0.2, 0.3])
    run.log("s", 1.0, step=10)
    run.log("s", 2.0)
    frame = run.get_metrics_dataframe()
    assert list(frame[frame["name"] == "l"]["step"]) == [0, 1, 2]
    assert list(frame[frame["name"] == "s"]["step"]) == [10, 11]
    assert str(frame["time"].dt.tz) == "UTC"


def test_runs_dataframe_include_children(exp: Experiment) -> None:
    parent = _start(exp)
    child = parent.child_run()
    assert list(exp.get_runs_dataframe()["run_id"]) == [parent.id]
    frame = exp.get_runs_dataframe(include_children=True)
    assert set(frame["run_id"]) == {parent.id, child.id}
    assert frame.set_index("run_id").loc[child.id, "parent_id"] == parent.id
    assert pd.isna(frame.set_index("run_id").loc[parent.id, "end_time"])
    parent.complete()
