"""mirror_run: a run copied to a real ``mlflow server`` while it logs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow_server import free_port
from support import python_env

from run_widgets import Experiment, Workspace
from run_widgets.exceptions import UserErrorException
from run_widgets.mlflow import export_runs, mirror_run

pytestmark = pytest.mark.slow


def eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """``check()``'s first truthy value, polled until ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def history(client: MlflowClient, run_id: str, key: str) -> list[Any]:
    return list(client.get_metric_history(run_id, key))


def test_a_run_shows_in_mlflow_while_it_logs_and_ends_as_an_export_would(
    mlflow_server: Any, ws: Workspace, backend: str, tmp_path: Path
) -> None:
    run = Experiment(ws, f"mirrored-{backend}").start_logging(display_name="live run")
    client = MlflowClient(mlflow_server.url)
    with mirror_run(run, tracking_uri=mlflow_server.url, interval=0.2) as mirror:
        for i in range(50):
            run.log("loss", 1.0 / (i + 1), step=i)
        run.tag("team", "vision")
        run.add_properties({"alpha": "0.5"})
        run.flush()
        copy = eventually(lambda: mirror.mlflow_run_id, "the MLflow copy")

        def caught_up() -> Any:
            # Each sync sends tags, params, then points: any of them may come a sync later.
            got = client.get_run(copy)
            data = got.data
            if data.tags.get("team") != "vision" or data.params != {"alpha": "0.5"}:
                return None
            return got if len(history(client, copy, "loss")) == 50 else None

        live = eventually(caught_up, "the tag, the param and the first 50 points")
        assert live.info.status == "RUNNING" and live.info.run_name == "live run"
        page = f"{mlflow_server.url}/#/experiments/{live.info.experiment_id}/runs/{copy}"
        assert mirror.url == page and f'href="{page}"' in mirror._repr_html_()
        child = run.child_run(name="child")
        child.log("score", 0.25)
        child.log("score", 0.5)
        child.flush()

        def nested() -> list[Any]:
            return list(
                client.search_runs(
                    [live.info.experiment_id],
                    filter_string=f"tags.mlflow.parentRunId = '{copy}'",
                )
            )

        (child_copy,) = eventually(nested, "the nested run")
        eventually(lambda: len(history(client, child_copy.info.run_id, "score")) == 2, "score")
        for i in range(50, 100):
            run.log("loss", 1.0 / (i + 1), step=i)
        run.log("phase", "train")  # not a number: written at the end, as export does
        (tmp_path / "model.txt").write_text("weights")
        run.upload_file("outputs/model.txt", str(tmp_path / "model.txt"))
        run.tag("team", "vision-2")  # tags change: the copy follows
        child.complete()
        run.complete()
    assert mirror.complete, mirror.error
    done = client.get_run(copy)
    assert done.info.status == "FINISHED"
    assert done.data.tags["run_widgets.export_complete"] == "true"
    assert done.data.tags["team"] == "vision-2"
    points = history(client, copy, "loss")
    ours = run.get_metric_history("loss")
    assert [m.step for m in points] == ours.steps.tolist()  # each point once, in order
    assert [m.value for m in points] == pytest.approx(ours.values.tolist())
    assert [m.timestamp for m in points] == (ours.times * 1000).round().astype(int).tolist()
    files = [f.path for f in client.list_artifacts(copy, "outputs")]
    assert files == ["outputs/model.txt"]
    assert [f.path for f in client.list_artifacts(copy, "run_widgets/metrics")]  # "phase"
    assert client.get_run(child_copy.info.run_id).info.status == "FINISHED"
    assert mirror.points_sent == 102
    # A later export finds complete copies and writes nothing.
    again = export_runs(run, tracking_uri=mlflow_server.url)
    assert not again.created and again.skipped == {run.id: copy, child.id: child_copy.info.run_id}


def test_a_stopped_mirror_leaves_a_copy_that_the_next_export_replaces(
    mlflow_server: Any, tmp_path: Path
) -> None:
    ws = Workspace(tmp_path / "ws")
    run = Experiment(ws, "stopped-mirror").start_logging()
    run.log_list("loss", [0.5, 0.25])
    run.flush()
    mirror = mirror_run(run, tracking_uri=mlflow_server.url, interval=0.2)
    client = MlflowClient(mlflow_server.url)
    copy = eventually(lambda: mirror.mlflow_run_id, "the MLflow copy")
    eventually(lambda: len(history(client, copy, "loss")) == 2, "the points")
    mirror.stop()
    assert not mirror.complete and "live" not in repr(mirror)
    run.complete()
    report = export_runs(run, tracking_uri=mlflow_server.url)
    assert report.replaced == [run.id]
    assert report.created[run.id] != copy
    experiment = client.get_experiment_by_name("stopped-mirror")
    assert [r.info.run_id for r in client.search_runs([experiment.experiment_id])] == [
        report.created[run.id]
    ]
    ws.close()


def test_a_server_away_is_reported_and_logging_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    ws = Workspace(tmp_path / "ws")
    run = Experiment(ws, "away").start_logging()
    mirror = mirror_run(run, tracking_uri=f"http://127.0.0.1:{free_port()}", interval=0.1)
    try:
        error = eventually(lambda: mirror.error, "the mirror's error")
        assert "Connection" in error or "connect" in error, error
        run.log_list("loss", [float(i) for i in range(10_000)])  # logging does not wait
        run.complete()
        assert run.get_metrics()["loss"][-1] == 9999.0
        assert not mirror.complete and mirror.mlflow_run_id is None
    finally:
        mirror.stop()
        ws.close()


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = Experiment(ws, "bad").start_logging()
    with pytest.raises(TypeError, match="run must be a Run"):
        mirror_run("run-id")  # type: ignore[arg-type]
    for interval in (0, -1, float("nan"), "5", True):
        with pytest.raises(UserErrorException, match="interval must be a positive number"):
            mirror_run(run, interval=interval)  # type: ignore[arg-type]
    with pytest.raises(UserErrorException, match="experiment_name must be a non-empty str"):
        mirror_run(run, experiment_name="")
    run.complete()
    ws.close()


def test_cli_mirrors_a_run_until_its_copy_is_complete(mlflow_server: Any, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = Experiment(ws, "cli-mirror").start_logging()
    run.log_list("loss", [0.5, 0.25, 0.125])
    run.complete()
    ws.close()
    command = ["mirror", "--workspace", str(ws.folder), "--run", run.id, "--interval", "0.2"]
    result = subprocess.run(
        [sys.executable, "-m", "run_widgets.mlflow", *command, "--tracking-uri", mlflow_server.url],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 run(s) written" in result.stdout and "3 metric point(s)" in result.stdout
    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("cli-mirror")
    (copy,) = client.search_runs([experiment.experiment_id])
    assert copy.info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(copy.info.run_id, "loss")] == [
        0.5,
        0.25,
        0.125,
    ]
