"""Shared fixtures: every test gets its own workspace, home and working directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_support import (  # noqa: F401  (pg_server, pg_uri: fixtures)
    BACKEND_PARAMS,
    drop_database,
    new_database,
    pg_server,
    pg_uri,
)

from run_widgets import Experiment, Workspace
from run_widgets.store import TrackingStore, open_store

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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that gets a store or workspace once per store backend.

    A test using ``backend`` (through ``store``, ``store_uri``, ``ws``, ``exp`` or directly)
    runs as ``[sqlite]`` and ``[postgresql]`` (Optuna's ``STORAGE_MODES`` idea), unless its
    module sets ``SQLITE_ONLY = "<why, in one line>"``.
    """
    if "backend" in metafunc.fixturenames and not getattr(metafunc.module, "SQLITE_ONLY", ""):
        metafunc.parametrize("backend", BACKEND_PARAMS, indirect=True)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark ``postgres`` every test that uses the PostgreSQL server directly."""
    if "pg_server" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("postgres"):
        item.add_marker(pytest.mark.postgres)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this test: ``sqlite`` or ``postgresql`` (see BACKEND_PARAMS)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def store_uri(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URI of a new, empty store of the test's backend."""
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_uri"))
    folder = tmp_path / "store"
    folder.mkdir()
    return f"sqlite://{folder / 'tracking.db'}"


@pytest.fixture
def store(store_uri: str) -> Iterator[TrackingStore]:
    """A new, empty tracking store of the test's backend, closed after the test."""
    opened = open_store(store_uri)
    yield opened
    opened.close()


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
def make_ws(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Workspace]]:
    """Makes more fresh workspaces on the test's backend (``make_ws("other")``), all closed
    after the test."""
    made: list[Workspace] = []
    databases: list[str] = []

    def make(name: str) -> Workspace:
        if backend == "postgresql":
            databases.append(new_database(request.getfixturevalue("pg_server")))
            workspace = Workspace(store=databases[-1], artifacts=tmp_path / name)
        else:
            workspace = Workspace(tmp_path / name)
        made.append(workspace)
        return workspace

    yield make
    for workspace in made:
        workspace.close()
    for uri in databases:
        drop_database(request.getfixturevalue("pg_server"), uri)


@pytest.fixture
def folder_ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace in a folder, as ``Workspace(path)`` makes it: its store is the folder's
    SQLite file (for tests of that form; ``ws`` is the one that runs on every backend)."""
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
