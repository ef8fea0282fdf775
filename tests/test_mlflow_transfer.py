"""export_runs / import_runs against a real ``mlflow server`` (and a ``sqlite:///`` store)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow_helpers import log_mlflow_parent, png_bytes
from support import python_env

from run_widgets import Experiment, Run, Workspace
from run_widgets.mlflow import TransferReport, export_runs, import_runs

pytestmark = pytest.mark.slow


def _logged_tree(ws: Workspace, name: str, tmp_path: Path) -> Run:
    exp = Experiment(ws, name)
    run = exp.start_logging(display_name="parent run")
    run.description = "the parent"
    for i in range(30):
        run.log("loss", 1.0 / (i + 1), step=i * 2)
    run.log_list("curve", [0.1, 0.2, 0.4])
    run.log("phase", "warmup")
    run.log("phase", "train")
    run.log_row("roc", fpr=0.0, tpr=0.0)
    run.log_row("roc", fpr=0.5, tpr=0.8)
    run.log_table("table", {"x": [1, 2], "label": ["a", "b"]})
    image = tmp_path / f"{name}.png"
    image.write_bytes(png_bytes())
    run.log_image("plot", path=str(image))
    run.log_confusion_matrix(
        "cm", {"schema_type": "confusion_matrix", "data": {"class_labels": ["a"], "matrix": [[1]]}}
    )
    run.tag("team", "vision")
    run.tag("flag")
    run.add_properties({"dataset": "iris", "bad name!": "kept"})
    run.upload_file("outputs/model.txt", _text_file(tmp_path / "model.txt", "weights"))
    for n in range(2):
        child = run.child_run(name=f"child {n}")
        child.log("score", float(n))
        child.log("score", float(n) + 0.5)
        child.add_properties({"hyperparameters": json.dumps({"--alpha": 0.1 * (n + 1)})})
        if n == 0:
            child.complete()
        else:
            child.fail(error_details="diverged")
    run.complete()
    return run


def _text_file(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _run_of(client: MlflowClient, report: TransferReport, source_id: str) -> Any:
    return client.get_run(report.created.get(source_id) or report.skipped[source_id])


@pytest.fixture(scope="module")
def exported(
    mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Run, TransferReport, Path]]:
    """A run_widgets run with children, exported once to the server (shared: it is slow)."""
    tmp_path = tmp_path_factory.mktemp("exported")
    ws = Workspace(tmp_path / "ws")
    run = _logged_tree(ws, "exp-tree", tmp_path)
    yield run, export_runs(Experiment(ws, "exp-tree"), tracking_uri=mlflow_server.url), tmp_path
    ws.close()


def test_export_tree_reads_back_with_mlflow_client(
    mlflow_server: Any, exported: tuple[Run, TransferReport, Path]
) -> None:
    run, report, _ = exported
    children = sorted(run.get_children(), key=lambda r: r.number)
    assert set(report.created) == {run.id, *(c.id for c in children)}
    client = MlflowClient(mlflow_server.url)
    parent = _run_of(client, report, run.id)
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == "parent run"
    assert parent.data.tags["team"] == "vision"
    assert parent.data.tags["flag"] == ""
    assert parent.data.tags["mlflow.note.content"] == "the parent"
    assert parent.data.params == {"dataset": "iris"}
    assert any("bad name!" in line for line in report.unmapped)
    assert any("'phase'" in line for line in report.unmapped)
    history = client.get_metric_history(parent.info.run_id, "loss")
    ours = run.get_metric_history("loss")
    assert [m.step for m in history] == ours.steps.tolist()
    assert [m.value for m in history] == pytest.approx(ours.values.tolist())
    assert [m.timestamp for m in history] == (ours.times * 1000).round().astype(int).tolist()
    assert [m.value for m in client.get_metric_history(parent.info.run_id, "curve")] == [
        0.1,
        0.2,
        0.4,
    ]
    files = _artifact_paths(client, parent.info.run_id)
    assert "outputs/model.txt" in files
    assert any(f.startswith("images/") and f.endswith(".png") for f in files)
    assert "tables/roc.json" in files and "run_widgets/manifest.json" in files
    nested = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert sorted(r.info.status for r in nested) == ["FAILED", "FINISHED"]
    child0 = _run_of(client, report, children[0].id)
    assert child0.data.params["alpha"] == "0.1"
    assert [m.value for m in client.get_metric_history(child0.info.run_id, "score")] == [0.0, 0.5]


def _artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found: list[str] = []
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            found += _artifact_paths(client, run_id, entry.path)
        else:
            found.append(entry.path)
    return found


def test_export_again_does_not_duplicate(
    mlflow_server: Any, exported: tuple[Run, TransferReport, Path]
) -> None:
    run, first, _ = exported
    second = export_runs(run.experiment, tracking_uri=mlflow_server.url)
    assert len(first.created) == 3 and not second.created
    assert second.skipped == first.created
    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("exp-tree")
    assert len(client.search_runs([experiment.experiment_id])) == 3


def test_import_round_trip_restores_the_runs(
    mlflow_server: Any, exported: tuple[Run, TransferReport, Path], ws: Workspace
) -> None:
    run = exported[0]
    target = ws  # on each store backend
    report = import_runs(target, "exp-tree", tracking_uri=mlflow_server.url)
    assert len(report.created) == 3 and not report.unmapped
    back = target.get_run(run.id)  # an exported run comes back under its own id
    assert back.get_status() == "Completed"
    assert back.display_name == "parent run" and back.description == "the parent"
    assert back.get_metrics() == run.get_metrics()
    for name in ("loss", "roc", "phase"):
        ours, theirs = run.get_metric_history(name), back.get_metric_history(name)
        assert theirs.steps.tolist() == ours.steps.tolist()
        assert np.allclose(theirs.times, ours.times, atol=1e-3)
    tags = back.get_tags()
    assert (
        tags["mlflow.run_id"]
        and {k: v for k, v in tags.items() if not k.startswith("mlflow.")} == run.get_tags()
    )
    assert back.get_properties() == run.get_properties()
    assert back.get_file_names() == run.get_file_names()
    assert back.get_file_path("outputs/model.txt").read_text() == "weights"
    kids = {c.id: c for c in back.get_children()}
    assert set(kids) == {c.id for c in run.get_children()}
    assert sorted(c.get_status() for c in kids.values()) == ["Completed", "Failed"]
    again = import_runs(target, "exp-tree", tracking_uri=mlflow_server.url)
    assert not again.created and len(again.skipped) == 3


def test_import_runs_logged_by_mlflow(
    mlflow_server: Any, ws: Workspace, backend: str, tmp_path: Path
) -> None:
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment(f"native-import-{backend}")
    ids = log_mlflow_parent(client, experiment_id, tmp_path)
    report = import_runs(ws, experiment_id, tracking_uri=mlflow_server.url)
    assert set(report.created) == {ids["parent"], *ids["children"]}
    parent = ws.get_run(report.created[ids["parent"]])
    assert parent.display_name == "parent" and parent.description == "a note"
    assert parent.get_properties() == {"alpha": "0.5"}
    assert parent.get_tags()["team"] == "vision"
    assert parent.get_tags()["mlflow.run_id"] == ids["parent"]
    loss = parent.get_metric_history("loss")
    assert loss.steps.tolist() == [i * 10 for i in range(50)]
    assert loss.values.tolist() == pytest.approx([1.0 / (i + 1) for i in range(50)])
    assert set(parent.get_file_names()) == {"images/plot.png", "logs/train.log"}
    statuses = sorted(c.get_status() for c in parent.get_children())
    assert statuses == ["Completed", "Failed"]
    assert import_runs(ws, f"native-import-{backend}", tracking_uri=mlflow_server.url).created == {}


def test_cli_exports_and_imports_with_a_sqlite_store(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    exp = Experiment(ws, "cli")
    with exp.start_logging() as run:
        run.log("x", 1.0)
        run.log("x", 2.0)
    ws.close()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "run_widgets.mlflow", *args, "--tracking-uri", uri],
            capture_output=True,
            text=True,
            env=python_env(),
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "1 run(s) written" in cli("export", "--workspace", str(ws.folder), "--experiment", "cli")
    assert "0 run(s) written, 1 already there" in cli(
        "export", "--workspace", str(ws.folder), "--experiment", "cli"
    )
    out = cli("import", "--workspace", str(tmp_path / "back"), "--mlflow-experiment", "cli")
    assert "1 run(s) written" in out
    back = Workspace(tmp_path / "back")
    assert back.get_run(run.id).get_metrics() == {"x": [1.0, 2.0]}
    back.close()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="runs_or_experiment"):
        export_runs("not a run", tracking_uri="sqlite:///unused.db")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="workspace"):
        import_runs("nope", "exp")  # type: ignore[arg-type]
