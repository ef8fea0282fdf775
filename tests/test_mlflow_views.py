"""MLflow runs in the live views, against a real ``mlflow server`` (kernel-free state checks)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow_helpers import log_mlflow_parent

from run_widgets import ExperimentDetails, RunDetails
from run_widgets.mlflow import TrackingServerUnreachable, open_experiment, open_run
from run_widgets.mlflow.api import RestApi, StoreApi, read_api
from run_widgets.mlflow.history import MetricFollower
from run_widgets.views.mapping import WALL

pytestmark = pytest.mark.slow


def _log(client: MlflowClient, run_id: str, key: str, start: int, n: int) -> None:
    now = int(time.time() * 1000)
    client.log_batch(
        run_id, metrics=[Metric(key, float(i), now + i, i) for i in range(start, start + n)]
    )


def test_follower_reads_only_new_points_over_rest(mlflow_server: Any) -> None:
    client = MlflowClient(mlflow_server.url)
    run_id = client.create_run(client.create_experiment("follower")).info.run_id
    _log(client, run_id, "loss", 0, 250)
    api = read_api(mlflow_server.url)
    assert isinstance(api, RestApi)
    follower = MetricFollower(api, run_id, "loss", page_size=100)
    first = follower.read_new()
    assert first.steps.tolist() == list(range(250)) and follower.mode == "offset"
    full_bytes = api.bytes_read
    assert follower.read_new().steps.tolist() == []
    _log(client, run_id, "loss", 250, 20)
    before = api.bytes_read
    new = follower.read_new()
    assert new.steps.tolist() == list(range(250, 270))
    assert new.values.tolist() == [float(i) for i in range(250, 270)]
    assert api.bytes_read - before < full_bytes / 5  # the new points, not the history


def test_follower_over_a_sqlite_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("direct")).info.run_id
    _log(client, run_id, "acc", 0, 30)
    api = read_api(uri)
    assert isinstance(api, StoreApi)
    follower = MetricFollower(api, run_id, "acc", page_size=10)
    assert len(follower.read_new()) == 30
    _log(client, run_id, "acc", 30, 5)
    assert follower.read_new().steps.tolist() == [30, 31, 32, 33, 34]


def test_open_run_maps_an_active_mlflow_run(mlflow_server: Any, tmp_path: Path) -> None:
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment("open-run")
    ids = log_mlflow_parent(client, experiment_id, tmp_path, finish=False)
    source = open_run(ids["parent"], tracking_uri=mlflow_server.url)
    record = source.record
    assert record is not None
    assert record.status == "Running" and record.display_name == "parent"
    assert record.properties == {"alpha": "0.5"}
    assert record.definition["arguments"] == ["alpha=0.5"]
    assert record.tags["team"] == "vision" and record.description == "a note"
    mirror = source.mirror
    children = mirror.find_runs(parent_id=ids["parent"])
    assert {c.id for c in children} == set(ids["children"])
    assert sorted(c.status for c in children) == ["Completed", "Failed"]
    chunks = mirror.read_chunks(ids["parent"])
    loss = [c for c in chunks if c.metric_name == "loss"]
    assert loss[0].steps.tolist() == [i * 10 for i in range(50)]
    cursor = max(c.id for c in chunks)
    _log(client, ids["parent"], "loss", 1000, 7)
    seq = mirror.current_seq()
    mirror.sync_runs([ids["parent"]], children_of=[ids["parent"]])
    assert mirror.current_seq() > seq
    new = mirror.read_chunks(ids["parent"], after_chunk_id=cursor)
    assert [c.metric_name for c in new] == ["loss"] and new[0].steps.tolist() == list(
        range(1000, 1007)
    )
    assert new[0].first_index == 50
    reader = source.run_reader()  # the run view's reader (RunReader protocol)
    reader.flush()
    assert reader.run() is not None and reader.run().id == ids["parent"]  # type: ignore[union-attr]
    assert {c.id for c in reader.changed_children(0)} == set(ids["children"])
    assert not reader.changed_children(reader.current_seq())
    kinds = {i.name: i.kind for i in reader.metric_infos()}
    assert kinds == {"loss": "scalar", "acc": "scalar", "images/plot.png": "image"}
    assert {i.name for i in reader.metric_infos(ids["children"])} == {"score"}
    assert reader.file_names() == ["images/plot.png", "logs/train.log"]
    assert reader.file_names("logs") == ["logs/train.log"]
    assert reader.file_size("logs/train.log") == len("epoch 1\nepoch 2\n")
    assert reader.read_file("logs/train.log", offset=8) == b"epoch 2\n"
    # The log grows: the next read asks the server for the new tail only (HTTP range).
    grown = "epoch 1\nepoch 2\n" + "".join(f"epoch {i} {'x' * 200}\n" for i in range(3, 40))
    client.log_text(ids["parent"], grown, "logs/train.log")
    reader.flush()
    before = mirror.api.bytes_read
    assert reader.read_file("logs/train.log", offset=16) == grown[16:].encode()
    assert mirror.api.bytes_read - before == len(grown) - 16  # the tail, not the whole file
    assert reader.read_file("logs/train.log") == grown.encode()
    assert reader.read_file("images/plot.png")[:8] == b"\x89PNG\r\n\x1a\n"
    client.set_terminated(ids["parent"], status="KILLED")
    mirror.sync_runs([ids["parent"]])
    assert mirror.get_run(ids["parent"]).status == "Canceled"  # type: ignore[union-attr]


def test_experiment_details_over_an_mlflow_experiment(mlflow_server: Any, tmp_path: Path) -> None:
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment("exp-view")
    ids = log_mlflow_parent(client, experiment_id, tmp_path, finish=False)
    view = ExperimentDetails(
        open_experiment("exp-view", tracking_uri=mlflow_server.url), include_children=True
    )
    try:
        state = view.model.table_state()
        assert view.model.page.total == 3
        ids_shown = {r.id for r in view.model.page.records}
        assert ids_shown == {ids["parent"], *ids["children"]}
        assert "MLflow experiment exp-view" in view.title
        _log(client, ids["parent"], "loss", 2000, 5)
        client.set_terminated(ids["parent"], status="FINISHED")
        changes = view.refresh()
        assert changes.anything
        parent = next(r for r in view.model.page.records if r.id == ids["parent"])
        assert parent.status == "Completed"
        assert state["rows"]
        assert view.model.chart_names()  # the selected runs' metric charts
        # A click on a row opens that MLflow run's RunDetails below the table.
        view._on_table_message(view.table, {"event": "open", "id": ids["children"][0]}, [])
        detail = view.detail.children[1]
        assert isinstance(detail, RunDetails) and detail.run.id == ids["children"][0]
        assert detail.tracker.record.id == ids["children"][0]
        assert detail.get_widget_data()["run_metrics"]  # its metrics, read from MLflow
        view._on_table_message(view.table, {"event": "open", "id": ""}, [])
        assert view.detail.children == ()
    finally:
        view.close()


def test_server_away_is_reported_and_retried(mlflow_server: Any, tmp_path: Path) -> None:
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment("away")
    log_mlflow_parent(client, experiment_id, tmp_path, finish=False)
    view = ExperimentDetails(open_experiment("away", tracking_uri=mlflow_server.url))
    try:
        view.refresh_interval = 0.2
        mlflow_server.stop()
        with pytest.raises(TrackingServerUnreachable, match="did not answer"):
            view.refresh()
        poller = view.start_polling()
        deadline = time.monotonic() + 60
        while "did not answer" not in view.table.error and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "TrackingServerUnreachable" in view.table.error
        assert "next try in" in view.table.error
        assert "Traceback" not in view.table.error
        assert poller.interval >= 0.2
    finally:
        mlflow_server.start()
    deadline = time.monotonic() + 120
    while view.table.error and time.monotonic() < deadline:
        time.sleep(0.5)
    assert view.table.error == ""  # the next success clears it
    view.close()


def test_run_details_over_an_active_mlflow_run(mlflow_server: Any, tmp_path: Path) -> None:
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment("run-details")
    ids = log_mlflow_parent(client, experiment_id, tmp_path, finish=False)
    view = RunDetails(open_run(ids["parent"], tracking_uri=mlflow_server.url))
    try:
        data = view.get_widget_data()
        assert data["status"] == "Running" and data["run_id"] == ids["parent"]
        rows = {row[0]: row[1] for row in data["properties"]}
        assert rows["Arguments"] == "alpha=0.5" and rows["tag: team"] == "vision"
        metrics = {m["name"]: m for m in data["run_metrics"]}
        assert metrics["loss"]["view"] == "line" and metrics["loss"]["points"] == 50
        assert len(data["child_runs"]) == 2
        assert "epoch 2" in data["run_logs"]
        assert view.tracker.log_files == ["logs/train.log"]
        _log(client, ids["parent"], "loss", 500, 10)
        client.set_terminated(ids["parent"], status="FINISHED")
        changes = view.refresh()
        assert "loss" in changes.metrics
        data = view.get_widget_data()
        assert data["status"] == "Completed"
        assert {m["name"]: m["points"] for m in data["run_metrics"]}["loss"] == 60
    finally:
        view.close()


def test_a_long_metric_is_drawn_and_zoomed_from_step_ranges(mlflow_server: Any) -> None:
    """A metric past LONG_METRIC_STEPS is never read from its start: its chart is MLflow's
    step-range read (exact when the range holds few points), new points by step."""
    from run_widgets.mlflow import history
    from run_widgets.views.reader import RunReader
    from run_widgets.views.tracker import RunTracker

    client = MlflowClient(mlflow_server.url)
    run_id = client.create_run(client.create_experiment("long-metric")).info.run_id
    n = history.LONG_METRIC_STEPS + 500
    for start in range(0, n, 1000):
        _log(client, run_id, "loss", start, min(1000, n - start))
    source = open_run(run_id, tracking_uri=mlflow_server.url)
    reader: RunReader = source.run_reader()
    api = source.mirror.api
    tracker = RunTracker(reader)
    tracker.poll()
    before = api.bytes_read
    x, y = tracker.chart_xy("loss", "step")
    assert 1000 < len(x) <= 2000 and x[0] == 0 and x[-1] == n - 1  # MLflow's even sample
    assert not tracker.chart_line("loss", "step").exact
    assert api.bytes_read - before < 400_000  # a sample, not the 50,500-point history
    tracker.set_x_range("loss", 1000, 1999)
    x, y = tracker.chart_xy("loss", "step")
    assert tracker.chart_line("loss", "step").exact
    assert x.tolist() == list(range(1000, 2000)) and y.tolist() == [
        float(i) for i in range(1000, 2000)
    ]
    tracker.set_x_range("loss", n - 10, n + 100)  # the range reaches past the end: grows
    _log(client, run_id, "loss", n, 5)
    reader.flush()
    tracker.poll()
    x, y = tracker.chart_xy("loss", "step")
    assert x.tolist() == list(range(n - 10, n + 5))
    with pytest.raises(ValueError, match="drawn over its steps only"):
        reader.read_series_window("loss", "index")
    # In the view: another x axis is refused by name, the chart stays over its steps.
    view = RunDetails(source)
    try:
        chart = view._charts["loss"]
        chart.x_select.value = WALL
        assert chart.x_choice == "step" and "steps only" in view.header.error
        assert view.get_widget_data()["charts"]["loss"]["x_axis"] == "step"
    finally:
        view.close()
