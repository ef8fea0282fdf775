"""Workspace: where ``from_config()`` looks, explicit paths, repr and config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from run_widgets import Experiment, UserErrorException, Workspace
from run_widgets.store.registry import STORE_FILE


def _close(ws: Workspace) -> Path:
    location = ws.folder
    ws.close()
    return location


def test_from_config_without_config_uses_default_under_home(tmp_path: Path) -> None:
    ws = Workspace.from_config()
    try:
        assert ws.folder == (tmp_path / "home" / "default").resolve()
        assert (ws.folder / STORE_FILE).is_file()
        assert ws.name == "default"
    finally:
        ws.close()


def test_workspace_none_is_the_default(tmp_path: Path) -> None:
    ws = Workspace()
    assert _close(ws) == (tmp_path / "home" / "default").resolve()


def test_config_file_found_upward_with_relative_path(tmp_path: Path) -> None:
    project = tmp_path / "cwd" / "project"
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    (project / "run_widgets.json").write_text(
        json.dumps({"workspace": "./tracking", "name": "team"}), encoding="utf-8"
    )
    import os

    os.chdir(deep)
    ws = Workspace.from_config()
    try:
        # relative to the config file, not to the cwd
        assert ws.folder == (project / "tracking").resolve()
        assert ws.name == "team"
        assert (project / "tracking" / STORE_FILE).is_file()
        assert not (deep / "tracking").exists()
    finally:
        ws.close()


def test_config_in_dot_folder_resolves_relative_to_project(tmp_path: Path) -> None:
    project = tmp_path / "cwd"
    (project / ".run_widgets").mkdir()
    (project / ".run_widgets" / "config.json").write_text(
        json.dumps({"workspace": "ws-here"}), encoding="utf-8"
    )
    ws = Workspace.from_config()
    assert _close(ws) == (project / "ws-here").resolve()


def test_from_config_with_explicit_file(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere" / "cfg.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"workspace": "w"}), encoding="utf-8")
    ws = Workspace.from_config(config)
    assert _close(ws) == (config.parent / "w").resolve()


def test_from_config_with_missing_explicit_path_is_clear(tmp_path: Path) -> None:
    with pytest.raises(UserErrorException, match="No workspace config file"):
        Workspace.from_config(tmp_path / "nope.json")


def test_env_var_overrides_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cwd" / "run_widgets.json").write_text(
        json.dumps({"workspace": "from-file"}), encoding="utf-8"
    )
    monkeypatch.setenv("RUN_WIDGETS_WORKSPACE", str(tmp_path / "from-env"))
    ws = Workspace.from_config()
    assert _close(ws) == (tmp_path / "from-env").resolve()
    assert not (tmp_path / "cwd" / "from-file").exists()


def test_explicit_path_creates_folder_and_store(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "a" / "b")
    try:
        assert ws.folder == (tmp_path / "a" / "b").resolve()
        assert (ws.folder / STORE_FILE).is_file()
        assert ws.name == "b"
        assert ws == Workspace(str(tmp_path / "a" / "b"))
    finally:
        ws.close()


def test_workspace_path_of_wrong_type() -> None:
    with pytest.raises(TypeError, match="Workspace path must be a str or path"):
        Workspace(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", json.dumps({"workspace": 5})],
    ids=["bad-json", "not-an-object", "workspace-not-str"],
)
def test_bad_config_file_gives_clear_error(tmp_path: Path, content: str) -> None:
    config = tmp_path / "cwd" / "run_widgets.json"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(UserErrorException) as info:
        Workspace.from_config()
    assert str(config) in str(info.value)
    assert not (tmp_path / "home" / "default").exists()


def test_config_without_workspace_key_uses_default_with_name(tmp_path: Path) -> None:
    (tmp_path / "cwd" / "run_widgets.json").write_text(
        json.dumps({"name": "mine"}), encoding="utf-8"
    )
    ws = Workspace.from_config()
    try:
        assert ws.name == "mine"
        assert ws.folder == (tmp_path / "home" / "default").resolve()
    finally:
        ws.close()


def test_repr(folder_ws: Workspace) -> None:
    assert repr(folder_ws) == f"Workspace(name='ws', folder={str(folder_ws.folder)!r})"


def test_experiments_and_get_run(ws: Workspace) -> None:
    exp = Experiment(ws, "one")
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    assert list(ws.experiments) == ["one"]
    assert ws.get_run(run.id) == run
    run.complete()


def test_two_workspace_objects_share_one_store(folder_ws: Workspace) -> None:
    other = Workspace(folder_ws.folder)
    assert other.store is folder_ws.store


def test_v1_workspace_arguments_pick_a_named_local_workspace(tmp_path: Path) -> None:
    ws = Workspace(subscription_id="sub", resource_group="rg", workspace_name="team-ws")
    try:
        assert ws.folder == (tmp_path / "home" / "team-ws").resolve()
        assert ws.name == "team-ws"
        assert Workspace.get("team-ws") == ws
    finally:
        ws.close()
    with pytest.raises(UserErrorException, match="Workspace name"):
        Workspace(workspace_name="../escape")
