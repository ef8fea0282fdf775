"""The local model registry (v1 ``Model`` and ``run.register_model``) and registered
environments: versions, lineage, filters, files, errors, and nothing half-registered.

Every test runs on SQLite and on a real PostgreSQL server (the registry tables are a
migration of each backend; the files live in the workspace's artifacts folder)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from submit_helpers import source_dir, wait_terminal

from run_widgets import (
    CondaDependencies,
    Environment,
    Experiment,
    Model,
    ModelNotFoundException,
    Run,
    ScriptRunConfig,
    UserErrorException,
    Workspace,
)


@contextmanager
def _sql(ws: Workspace) -> Iterator[Any]:
    """A separate connection to the workspace's database (another process's view)."""
    if ws.store.uri.startswith("postgresql"):
        import psycopg

        with psycopg.connect(ws.store.uri, autocommit=True) as conn:
            yield conn
    else:
        with sqlite3.connect(ws.folder / "tracking.db") as conn:
            yield conn


def _workspace_args(ws: Workspace) -> list[str]:
    """Command-line arguments a child process reopens ``ws`` from (store URI, artifacts)."""
    return [ws.store.uri, str(ws.folder)]


_REOPEN = "ws = Workspace(store=sys.argv[1], artifacts=sys.argv[2])"


def _run_with_outputs(exp: Experiment, files: dict[str, bytes]) -> Run:
    with exp.start_logging(snapshot_directory=None) as run:
        for name, data in files.items():
            path = Path("outputs") / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return run


def test_register_model_from_a_run_counts_versions_with_lineage(exp: Experiment) -> None:
    run = _run_with_outputs(exp, {"ridge_0.40.pkl": b"model-1"})
    model = run.register_model(
        model_name="best_ridge_model",
        model_path="./outputs/ridge_0.40.pkl",  # as Microsoft's train-on-local wrote it
        tags={"alpha": "0.4"},
        properties={"mse": "3000"},
        description="ridge on diabetes",
    )
    assert (model.name, model.version, model.id) == ("best_ridge_model", 1, "best_ridge_model:1")
    assert model.run_id == run.id and model.experiment_name == exp.name
    assert model.tags == {"alpha": "0.4"} and model.properties == {"mse": "3000"}
    assert model.description == "ridge on diabetes"
    path = Path(model.url.removeprefix("file://"))
    assert path.read_bytes() == b"model-1"
    assert path.is_relative_to(exp.workspace.folder / "models" / "best_ridge_model")

    second = run.register_model("best_ridge_model", "outputs/ridge_0.40.pkl")
    assert second.version == 2
    assert Model(exp.workspace, "best_ridge_model").version == 2
    assert Model(exp.workspace, "best_ridge_model", version=1) == model
    assert Model(exp.workspace, id="best_ridge_model:1").tags == {"alpha": "0.4"}
    assert [m.id for m in Model.list(exp.workspace, name="best_ridge_model")] == [
        "best_ridge_model:2",
        "best_ridge_model:1",
    ]


def test_register_a_folder_and_from_anywhere(exp: Experiment, tmp_path: Path) -> None:
    run = _run_with_outputs(exp, {"m/weights.bin": b"w", "m/config.json": b"{}", "other.txt": b""})
    folder_model = run.register_model("net", "outputs/m")
    downloaded = Path(folder_model.download(tmp_path / "dl"))
    assert downloaded == tmp_path / "dl" / "m"
    assert sorted(p.name for p in downloaded.iterdir()) == ["config.json", "weights.bin"]
    with pytest.raises(UserErrorException, match="already exists; pass exist_ok=True"):
        folder_model.download(tmp_path / "dl")
    assert folder_model.download(tmp_path / "dl", exist_ok=True) == str(downloaded)

    local = tmp_path / "sklearn_regression_model.pkl"
    local.write_bytes(b"local")
    registered = Model.register(
        workspace=exp.workspace, model_path=str(local), model_name="sklearn-regression"
    )
    assert registered.run_id is None
    assert (
        Path(Model.get_model_path("sklearn-regression", _workspace=exp.workspace)).read_bytes()
        == b"local"
    )
    local.write_bytes(b"changed")  # the registry holds a copy
    assert Path(registered.download(tmp_path / "again")).read_bytes() == b"local"


def test_list_filters_and_tags(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "m.pkl"
    source.write_bytes(b"x")
    Model.register(ws, source, "a", tags={"stage": "dev", "team": "x"})
    Model.register(ws, source, "a", tags={"stage": "prod"}, properties={"k": "v"})
    Model.register(ws, source, "b", tags={"stage": "prod"})
    assert [m.id for m in Model.list(ws, tags=[["stage", "prod"]])] == ["b:1", "a:2"]
    assert [m.id for m in Model.list(ws, tags=["team"])] == ["a:1"]
    assert [m.id for m in Model.list(ws, properties={"k": "v"})] == ["a:2"]
    assert sorted(m.id for m in Model.list(ws, latest=True)) == ["a:2", "b:1"]
    assert sorted(ws.models) == ["a", "b"] and ws.models["a"].version == 2

    model = Model(ws, "a", version=1)
    model.add_tags({"reviewed": "yes"})
    model.remove_tags(["team"])
    assert Model(ws, "a", version=1).tags == {"stage": "dev", "reviewed": "yes"}
    model.add_properties({"p": "1"})
    with pytest.raises(UserErrorException, match="cannot be changed once set"):
        model.add_properties({"p": "2"})
    assert Model(ws, "a", version=1).properties == {"p": "1"}


def test_unknown_names_and_versions_are_named(
    exp: Experiment, ws: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(
        ModelNotFoundException, match=r"no model named 'nope'.*no registered models"
    ):
        Model(ws, "nope")
    source = tmp_path / "m.pkl"
    source.write_bytes(b"x")
    Model.register(ws, source, "known")
    with pytest.raises(
        ModelNotFoundException, match=r"'known' has no version 3; its versions are \[1\]"
    ):
        Model(ws, "known", version=3)
    with pytest.raises(ModelNotFoundException, match=r"registered models: \['known'\]"):
        Model.get_model_path("nope", _workspace=ws)
    with pytest.raises(UserErrorException, match=r"model_path .* does not exist"):
        Model.register(ws, tmp_path / "missing.pkl", "m")
    with pytest.raises(UserErrorException, match="Model name 'bad name'"):
        Model.register(ws, source, "bad name")
    run = _run_with_outputs(exp, {"model.pkl": b"x"})
    with pytest.raises(
        UserErrorException, match=r"Could not locate the provided model_path outputs/nope\.pkl"
    ):
        run.register_model("m", "outputs/nope.pkl")
    assert Model.list(ws, name="m") == []


def test_nothing_half_registered_when_the_store_write_fails(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "m.pkl"
    source.write_bytes(b"x")
    Model.register(ws, source, "kept")
    with _sql(ws) as conn:  # another process breaks the table
        conn.execute("ALTER TABLE models RENAME TO models_gone")
    with pytest.raises(Exception, match=r'no such table|relation "models" does not exist'):
        Model.register(ws, source, "lost")
    assert not (ws.folder / "models" / "lost").exists() or not any(
        (ws.folder / "models" / "lost").iterdir()
    )
    with _sql(ws) as conn:
        conn.execute("ALTER TABLE models_gone RENAME TO models")
    assert [m.id for m in Model.list(ws)] == ["kept:1"]


def test_nothing_half_registered_when_the_copy_fails(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "m.pkl"
    source.write_bytes(b"x")
    (ws.folder / "models").mkdir(parents=True)
    (ws.folder / "models" / "blocked").write_text("a file where the model's folder goes")
    with pytest.raises(OSError):
        Model.register(ws, source, "blocked")
    assert Model.list(ws) == []


def test_registered_model_is_found_inside_a_submitted_run(exp: Experiment, tmp_path: Path) -> None:
    source = tmp_path / "m.pkl"
    source.write_bytes(b"weights")
    Model.register(exp.workspace, source, "scorer")
    folder = source_dir(
        tmp_path,
        {
            "score.py": """
                from pathlib import Path
                from run_widgets import Model, Run

                run = Run.get_context()
                run.log("model", Path(Model.get_model_path("scorer")).read_text())
            """
        },
    )
    run = exp.submit(ScriptRunConfig(folder, "score.py"))
    assert wait_terminal(run) == "Completed", run.get_details().get("error")
    assert run.get_metrics() == {"model": "weights"}


def test_registry_survives_reopening_in_another_process(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "m.pkl"
    source.write_bytes(b"x")
    Model.register(ws, source, "shared", tags={"t": "1"})
    code = (
        f"import sys; from run_widgets import Workspace, Model; {_REOPEN}; "
        "m = Model(ws, 'shared'); print(m.id, m.tags)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *_workspace_args(ws)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "shared:1 {'t': '1'}"


def test_concurrent_registrations_get_distinct_versions(ws: Workspace, tmp_path: Path) -> None:
    """Two processes registering one name at once: versions 1..2n, each with its own files."""
    per_process = 4
    go = tmp_path / "go"
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from run_widgets import Model, Workspace
        {_REOPEN}
        source = Path(sys.argv[3])
        source.write_text(sys.argv[4])
        Model(ws, "warmup", version=1)  # connected and migrated before the start signal
        print("ready", flush=True)
        while not Path(sys.argv[5]).exists():
            time.sleep(0.005)
        for _ in range({per_process}):
            Model.register(ws, source, "shared", tags={{"writer": sys.argv[4]}})
        """
    )
    warmup = tmp_path / "warmup.pkl"
    warmup.write_text("w")
    Model.register(ws, warmup, "warmup")
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                *_workspace_args(ws),
                str(tmp_path / f"{w}.pkl"),
                w,
                str(go),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in ("a", "b")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    go.touch()
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    models = Model.list(ws, name="shared")
    assert sorted(m.version for m in models) == list(range(1, 2 * per_process + 1))
    for model in models:  # every row points at complete files of the writer that made it
        assert Path(model.url.removeprefix("file://")).read_text() == model.tags["writer"]
    assert sorted(m.tags["writer"] for m in models) == ["a"] * per_process + ["b"] * per_process


def test_environment_register_get_list(ws: Workspace) -> None:
    env = Environment("myenv")
    conda = CondaDependencies()
    conda.add_conda_package("scikit-learn")
    conda.add_pip_package("pillow==10.4.0")
    env.python.conda_dependencies = conda
    first = env.register(workspace=ws)
    assert first.version == "1"
    env.environment_variables = {"A": "1"}
    assert env.register(ws).version == "2"
    restored = Environment.get(workspace=ws, name="myenv", version="1")
    assert restored.version == "1"
    assert restored.environment_variables == {}
    assert restored.python.conda_dependencies == conda
    assert Environment.get(ws, "myenv").environment_variables == {"A": "1"}
    assert {name: e.version for name, e in ws.environments.items()} == {"myenv": "2"}
    assert Environment.list(ws)["myenv"].version == "2"
    with pytest.raises(
        UserErrorException, match=r"'myenv' has no version 9; its versions are \[1, 2\]"
    ):
        Environment.get(ws, "myenv", version=9)
    with pytest.raises(
        UserErrorException, match=r"No environment named 'other'.*registered: \['myenv'\]"
    ):
        Environment.get(ws, "other")
    with pytest.raises(UserErrorException, match="reserved for curated"):
        Environment("AzureML-Minimal").register(ws)
    bad = Environment("gpu")
    bad.python.conda_dependencies = CondaDependencies.create(conda_packages=["cudatoolkit"])
    with pytest.raises(UserErrorException, match="no pip equivalent"):
        bad.register(ws)
    assert "gpu" not in ws.environments


def test_lineage_shows_in_the_run_view_and_report(exp: Experiment) -> None:
    from run_widgets.views.reader import run_reader
    from run_widgets.views.report import build_report
    from run_widgets.views.static import properties_rows
    from run_widgets.views.tracker import RunTracker

    run = _run_with_outputs(exp, {"model.pkl": b"x"})
    run.register_model("ridge", "outputs/model.pkl")
    run.register_model("ridge", "outputs/model.pkl")
    tracker = RunTracker(run_reader(Run(exp, run.id)))
    tracker.poll()
    assert ("Registered models", "ridge:1, ridge:2") in properties_rows(tracker)
    report = build_report(run_reader(Run(exp, run.id)))
    assert "<td>Registered models</td><td>ridge:1, ridge:2</td>" in report
