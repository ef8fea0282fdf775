"""Store registry by URI, Workspace(store=, artifacts=), and the workspace description."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from support import python_env

from run_widgets import Experiment, UserErrorException, Workspace
from run_widgets.exceptions import StoreError
from run_widgets.store import SqliteStore, TrackingStore, open_store, redact, register_store
from run_widgets.store.artifacts import LocalArtifactStore
from run_widgets.store.description import ENV_STORE, WorkspaceDescription
from run_widgets.store.registry import STORE_FILE, normalize_uri, registered_schemes


def test_folder_path_and_sqlite_uri_name_the_same_store(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    assert normalize_uri(folder) == f"sqlite://{folder.resolve() / STORE_FILE}"
    assert normalize_uri(f"sqlite://{folder / STORE_FILE}") == normalize_uri(folder)
    assert normalize_uri(f"sqlite:///{folder / STORE_FILE}") == normalize_uri(folder)  # 4 slashes
    store = open_store(folder)  # a folder is created, as Workspace(path) always did
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == folder.resolve() / STORE_FILE
        assert store.uri == normalize_uri(folder)
    finally:
        store.close()


def test_relative_sqlite_uri_and_unknown_scheme_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="absolute path"):
        open_store("sqlite://relative.db")
    with pytest.raises(StoreError, match="No tracking-store backend for 'nosuch://h/db'"):
        open_store("nosuch://h/db")
    assert "sqlite" in registered_schemes() and "postgresql" in registered_schemes()


def test_register_store_routes_a_scheme_to_its_builder(tmp_path: Path) -> None:
    opened: list[str] = []

    def builder(uri: str) -> TrackingStore:
        opened.append(uri)
        return SqliteStore(tmp_path / "other.db")

    register_store("testscheme", builder)
    store = open_store("testscheme://anything/x")
    try:
        assert opened == ["testscheme://anything/x"]
        assert isinstance(store, SqliteStore)
    finally:
        store.close()
    with pytest.raises(ValueError, match="scheme"):
        register_store("not a scheme", builder)


def test_redact_hides_the_password_only() -> None:
    assert redact("postgresql://me:s3cret@db:5433/t") == "postgresql://me:***@db:5433/t"
    assert redact("postgresql://me@db/t") == "postgresql://me@db/t"
    assert redact("/plain/folder") == "/plain/folder"


def test_workspace_with_separate_sqlite_store_and_artifacts(tmp_path: Path) -> None:
    db = tmp_path / "db" / "team.db"
    db.parent.mkdir()
    files = tmp_path / "files"
    ws = Workspace(store=f"sqlite://{db}", artifacts=files, name="team")
    try:
        assert ws.folder == files.resolve()
        assert isinstance(ws.artifacts, LocalArtifactStore)
        assert ws.store_uri == f"sqlite://{db.resolve()}"
        assert f"store='sqlite://{db.resolve()}'" in repr(ws)
        run = Experiment(ws, "e").start_logging(snapshot_directory=None)
        run.log("x", 1.0)
        run.upload_file("a.txt", _text(tmp_path / "a.txt", "hello"))
        run.complete()
        assert db.is_file() and not (files / STORE_FILE).exists()
        assert (files / "runs" / run.id / "a.txt").read_text() == "hello"
        assert ws.artifacts.read_bytes(run.id, "a.txt", offset=2) == b"llo"
        assert ws.artifacts.list_files(run.id, prefix="a") == ["a.txt"]
    finally:
        ws.close()


def test_sqlite_store_alone_keeps_files_beside_it(tmp_path: Path) -> None:
    db = tmp_path / "tracking.db"
    ws = Workspace(store=f"sqlite://{db}")
    try:
        assert ws.folder == tmp_path.resolve()
        assert ws == Workspace(tmp_path)  # the same store and folder as Workspace(path)
        assert "store=" not in repr(ws)
    finally:
        ws.close()


def test_server_store_needs_an_artifacts_folder() -> None:
    with pytest.raises(
        UserErrorException, match=r"me:\*\*\*@127.0.0.1:1/db.*needs artifacts="
    ) as info:
        Workspace(store="postgresql://me:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(info.value)


def test_description_round_trips_by_pickle_and_environment(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    ws = Workspace(store=f"sqlite://{db}", artifacts=tmp_path / "files", name="n")
    try:
        description = ws.description()
        assert pickle.loads(pickle.dumps(description)) == description
        again = Workspace.from_description(description)
        assert again == ws and again.name == "n"
        code = (
            "import sys, json; from run_widgets import Workspace\n"
            "ws = Workspace.for_child_process(sys.argv[1])\n"
            "print(json.dumps([ws.store_uri, str(ws.folder), ws.name]))\n"
        )
        env = {**python_env(), **description.environ()}
        out = subprocess.run(
            [sys.executable, "-c", code, description.artifacts],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out) == [ws.store_uri, str(ws.folder), "n"]
    finally:
        ws.close()


def test_child_process_without_description_uses_the_folder_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_STORE, f"sqlite://{tmp_path / 'unrelated.db'}")
    described = WorkspaceDescription.from_environ(str(tmp_path / "w"))
    assert described.store == normalize_uri(tmp_path / "w")  # env was for another folder


def test_config_file_with_store_and_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "db").mkdir()
    (project / "run_widgets.json").write_text(
        json.dumps({"store": "db", "artifacts": "files", "name": "cfg"}), encoding="utf-8"
    )
    monkeypatch.chdir(project)
    ws = Workspace.from_config()
    try:
        assert ws.folder == (project / "files").resolve()
        assert ws.store_uri == normalize_uri(project / "db")
        assert ws.name == "cfg"
    finally:
        ws.close()


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_workspace_on_a_postgresql_store_by_uri(pg_uri: str, tmp_path: Path) -> None:
    files = tmp_path / "shared"
    ws = Workspace(store=pg_uri, artifacts=files, name="team")
    try:
        assert type(ws.store).__name__ == "PostgresStore"
        password = pg_uri.split("@")[0].rsplit(":", 1)[-1]
        assert password not in repr(ws) and "***" in repr(ws)
        run = Experiment(ws, "e").start_logging(snapshot_directory=None)
        run.log("x", 2.0)
        run.complete()
        again = Workspace.from_description(ws.description())
        assert again.store is ws.store  # one open store per URI in a process
        assert again.get_run(run.id).get_metrics() == {"x": 2.0}
        assert ws.artifacts.list_files(run.id) == []
    finally:
        ws.close()


def test_a_server_workspace_is_named_after_its_database(pg_uri: str, tmp_path: Path) -> None:
    """Not after its artifacts folder, which is typically called "artifacts" or "runs"."""
    ws = Workspace(store=pg_uri, artifacts=tmp_path / "artifacts")
    try:
        database = pg_uri.rsplit("/", 1)[1]
        assert ws.name == database != "artifacts"
        assert f"name={database!r}" in repr(ws)
        assert Workspace.from_description(ws.description()).name == database
    finally:
        ws.close()
    sqlite = Workspace(store=f"sqlite://{tmp_path / 'tracking.db'}", artifacts=tmp_path / "f")
    try:
        assert sqlite.name == "f"  # a local store: the folder's name, as before
    finally:
        sqlite.close()


OPEN_IN_A_FRESH_PROCESS = """
import os, sys
from run_widgets.store import open_store, registry
assert "psycopg" not in sys.modules, "a driver was imported before a store needed it"
print(" ".join(registry.registered_schemes()))
store = open_store(os.environ["RW_TEST_STORE"])
store.write([])
print(type(store).__name__, store.current_seq())
"""


def _open_in_a_fresh_process(uri: str, extra_path: str = "") -> list[str]:
    env = {**python_env(), "RW_TEST_STORE": uri}  # not on the command line: a password
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + env["PYTHONPATH"]
    result = subprocess.run(
        [sys.executable, "-c", OPEN_IN_A_FRESH_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_every_postgresql_uri_form_opens_in_a_fresh_process(pg_uri: str, scheme: str) -> None:
    uri = scheme + pg_uri[len("postgresql") :]
    schemes, opened = _open_in_a_fresh_process(uri)
    assert {"sqlite", "postgresql", "postgres", "postgresql+psycopg"} <= set(schemes.split())
    assert opened == "PostgresStore 1"


@pytest.mark.parametrize("form", ["sqlite:///abs", "sqlite:////abs", "folder"])
def test_every_sqlite_uri_form_opens_in_a_fresh_process(tmp_path: Path, form: str) -> None:
    db = tmp_path / "tracking.db"  # an absolute path: "sqlite://" + "/tmp/..."
    uri = {
        "sqlite:///abs": f"sqlite://{db}",
        "sqlite:////abs": f"sqlite:///{db}",  # SQLAlchemy's spelling
        "folder": str(tmp_path / "folder"),  # created on first use
    }[form]
    _, opened = _open_in_a_fresh_process(uri)
    assert opened == "SqliteStore 1"


def test_a_missing_driver_names_the_extra_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None  # as if psycopg were not installed\n"
        "from run_widgets.store import open_store\n"
        "open_store('postgresql://me@127.0.0.1:1/db')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "StoreError: The 'postgresql' store backend is not available" in result.stderr
    assert "pip install 'run_widgets[postgres]'" in result.stderr


def test_another_package_declares_a_backend_by_entry_point(tmp_path: Path) -> None:
    """A package that is installed (here: its metadata on sys.path) adds a scheme without
    anyone importing it: the registry finds its entry point and imports it on first use."""
    site = tmp_path / "site"
    info = site / "fakedb_backend-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedb-backend\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[run_widgets.store_backends]\nfakedb = fakedb_backend:open_fake\n"
    )
    (site / "fakedb_backend.py").write_text(
        "from run_widgets.store import SqliteStore\n"
        "def open_fake(uri):\n"
        "    return SqliteStore(uri[len('fakedb://'):])\n"
    )
    schemes, opened = _open_in_a_fresh_process(f"fakedb://{tmp_path / 'f.db'}", str(site))
    assert "fakedb" in schemes.split()
    assert opened == "SqliteStore 1"


def test_a_password_given_as_a_uri_parameter_is_redacted_too() -> None:
    uri = (
        "postgresql://me@127.0.0.1:1/db?sslmode=verify-full&password=s3cr%2Ft&sslrootcert=/c/ca.crt"
    )
    assert redact(uri) == (
        "postgresql://me@127.0.0.1:1/db?sslmode=verify-full&password=***&sslrootcert=/c/ca.crt"
    )
    with pytest.raises(StoreError) as info:
        open_store(uri)  # nothing listens on port 1
    assert "s3cr" not in str(info.value) and "ca.crt" not in str(info.value)
