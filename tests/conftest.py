"""Shared fixtures: every test gets its own workspace, home and working directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_support import pg_server, pg_uri  # noqa: F401  (fixtures of the PostgreSQL tests)

from run_widgets import Experiment, Workspace

# Inputs of the porting tests (v1-style notebooks that import azureml), not notebooks to run.
collect_ignore = ["v1_notebooks"]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the real default workspace, and each runs in an empty directory."""
    monkeypatch.setenv("RUN_WIDGETS_HOME", str(tmp_path / "home"))
    for variable in (
        "RUN_WIDGETS_WORKSPACE",
        "RUN_WIDGETS_STORE",
        "RUN_WIDGETS_ARTIFACTS",
        "RUN_WIDGETS_WORKSPACE_NAME",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("RUN_WIDGETS_RUN_ID", raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


BACKENDS = ("sqlite", "postgresql")
"""Store backends that tests marked ``both_backends`` run on (like Optuna's STORAGE_MODES)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests of modules marked ``both_backends`` once per store backend."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this test: ``sqlite`` unless the test is marked both_backends."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def ws(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """A fresh workspace (on the test's store backend), closed after the test."""
    if backend == "postgresql":
        uri = request.getfixturevalue("pg_uri")
        workspace = Workspace(store=uri, artifacts=tmp_path / "ws")
    else:
        workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def exp(ws: Workspace) -> Experiment:
    """An experiment in the fresh workspace."""
    return Experiment(ws, "test-exp")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real ``mlflow server`` (SQLite backend, temp folder, free port), for the session."""
    from mlflow_server import MlflowServer

    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    yield server
    server.stop()
