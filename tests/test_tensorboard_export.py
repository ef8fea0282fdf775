"""``export_to_tensorboard``: event files that TensorBoard's own reader loads back with the
same values and steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from run_widgets import Experiment, UserErrorException, export_to_tensorboard


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def test_export_run_with_children_as_v1_sample(exp: Experiment, tmp_path: Path) -> None:
    root_run = exp.start_logging(snapshot_directory=None, outputs=False)
    for alpha in (0.1, 0.2, 0.3):
        with root_run.child_run("alpha" + str(alpha)) as child:
            child.log("mse", 3000.5 * alpha)
        root_run.log("alpha", alpha)
        root_run.log("mse", 3000.5 * alpha)
    root_run.log("loss", 0.5, step=10)
    root_run.log("loss", 0.25, step=20)
    root_run.log_list("curve", [1, 2, 4])
    root_run.log_row("table", epoch=1, acc=0.5)
    root_run.log_row("table", epoch=2, acc=0.75)
    root_run.log("note", "strings are not charted")
    root_run.complete()

    export_to_tensorboard(root_run, tmp_path / "logs")

    children = list(root_run.get_children())
    folders = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert folders == sorted([root_run.id, *(c.id for c in children)])
    scalars = _scalars(tmp_path / "logs" / root_run.id)
    assert set(scalars) == {"alpha", "mse", "loss", "curve", "table.epoch", "table.acc"}
    assert scalars["loss"] == [(10, 0.5), (20, 0.25)]
    assert [s for s, _ in scalars["alpha"]] == [0, 1, 2]
    assert [v for _, v in scalars["alpha"]] == pytest.approx([0.1, 0.2, 0.3])
    assert [v for _, v in scalars["mse"]] == pytest.approx([300.05, 600.1, 900.15], rel=1e-6)
    assert [v for _, v in scalars["curve"]] == [1.0, 2.0, 4.0]
    assert scalars["table.acc"] == [(0, 0.5), (1, 0.75)]
    for child in children:
        assert [v for _, v in _scalars(tmp_path / "logs" / child.id)["mse"]] == pytest.approx(
            [child.get_metrics()["mse"]], rel=1e-6
        )


def test_export_experiment_or_list_without_children(exp: Experiment, tmp_path: Path) -> None:
    runs = []
    for value in (1.0, 2.0):
        run = exp.start_logging(snapshot_directory=None, outputs=False)
        run.child_run("c").complete()
        run.log("v", value)
        run.complete()
        runs.append(run)
    export_to_tensorboard(runs, tmp_path / "list", recursive=False)
    assert sorted(p.name for p in (tmp_path / "list").iterdir()) == sorted(r.id for r in runs)
    export_to_tensorboard(exp, tmp_path / "all")
    assert len(list((tmp_path / "all").iterdir())) == 4  # two runs and their children
    assert _scalars(tmp_path / "all" / runs[1].id) == {"v": [(0, 2.0)]}


def test_bad_run_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserErrorException, match="cannot be empty list"):
        export_to_tensorboard([], tmp_path)
    with pytest.raises(TypeError, match="must be a Run, a list of runs or an Experiment"):
        export_to_tensorboard("run-id", tmp_path)  # type: ignore[arg-type]
