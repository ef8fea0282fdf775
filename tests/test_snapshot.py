"""``start_logging``: Running status, snapshots (limits, ignore files), outputs folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from run_widgets import Experiment, Run, SnapshotException, Workspace
from run_widgets.run import SNAPSHOT_PROPERTY


def _zip_names(ws: Workspace, run: Run) -> list[str]:
    snapshot_id = run.get_snapshot_id()
    assert snapshot_id
    with zipfile.ZipFile(ws.snapshots_dir / f"{snapshot_id}.zip") as archive:
        return sorted(archive.namelist())


def test_start_logging_is_running_with_snapshot_of_cwd(ws: Workspace, exp: Experiment) -> None:
    Path("train.py").write_text("print('hi')\n", encoding="utf-8")
    Path("data").mkdir()
    Path("data", "x.csv").write_text("1,2\n", encoding="utf-8")
    run = exp.start_logging()
    assert run.get_status() == "Running"
    assert run.type == "interactive"
    assert SNAPSHOT_PROPERTY in run.get_properties()
    assert _zip_names(ws, run) == ["data/x.csv", "train.py"]
    details = run.get_details()
    assert details["startTimeUtc"] and "endTimeUtc" not in details
    run.complete()


def test_ignore_files_are_honoured(ws: Workspace, exp: Experiment) -> None:
    Path("keep.py").write_text("x", encoding="utf-8")
    Path("big.bin").write_bytes(b"0" * 10)
    Path("cache").mkdir()
    Path("cache", "c.txt").write_text("x", encoding="utf-8")
    Path(".gitignore").write_text("*.bin\ncache/\n", encoding="utf-8")
    Path("__pycache__").mkdir()
    Path("__pycache__", "m.pyc").write_bytes(b"x")
    run = exp.start_logging()
    assert _zip_names(ws, run) == [".gitignore", "keep.py"]
    run.complete()


def test_amlignore_wins_over_gitignore(ws: Workspace, exp: Experiment) -> None:
    Path("a.txt").write_text("x", encoding="utf-8")
    Path("b.txt").write_text("x", encoding="utf-8")
    Path(".amlignore").write_text("a.txt\n", encoding="utf-8")
    Path(".gitignore").write_text("b.txt\n", encoding="utf-8")
    run = exp.start_logging()
    assert _zip_names(ws, run) == [".amlignore", ".gitignore", "b.txt"]
    run.complete()


def test_snapshot_file_count_limit(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUN_WIDGETS_SNAPSHOT_MAX_FILES", "3")
    for i in range(4):
        Path(f"f{i}.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SnapshotException) as info:
        exp.start_logging()
    message = str(info.value)
    assert "4 files, more than the limit of 3" in message
    assert ".amlignore" in message and "RUN_WIDGETS_SNAPSHOT_MAX_FILES" in message
    assert "Pass snapshot_directory=None to start_logging" in message
    assert list(exp.get_runs()) == []
    Path(".amlignore").write_text("f3.txt\nf2.txt\n", encoding="utf-8")
    run = exp.start_logging()  # ignoring files brings it under the limit
    run.complete()


def test_snapshot_size_limit(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUN_WIDGETS_SNAPSHOT_MAX_MB", "0.5")
    Path("big.bin").write_bytes(b"0" * 600_000)
    with pytest.raises(SnapshotException, match="MB, more than the limit") as info:
        exp.start_logging()
    assert "RUN_WIDGETS_SNAPSHOT_MAX_MB" in str(info.value)
    assert list(exp.get_runs()) == []


def test_snapshot_directory_none_skips(
    ws: Workspace, exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_WIDGETS_SNAPSHOT_MAX_FILES", "0")
    Path("a.txt").write_text("x", encoding="utf-8")
    run = exp.start_logging(snapshot_directory=None)
    assert run.get_snapshot_id() is None
    assert not ws.snapshots_dir.exists() or not any(ws.snapshots_dir.iterdir())
    run.complete()


def test_snapshot_of_missing_directory(exp: Experiment, tmp_path: Path) -> None:
    with pytest.raises(SnapshotException, match="Failed to take a snapshot"):
        exp.start_logging(snapshot_directory=tmp_path / "missing")


def test_snapshot_excludes_workspace_inside_cwd(exp: Experiment) -> None:
    Path("a.txt").write_text("x", encoding="utf-8")
    inner = Workspace("inner-ws")
    try:
        run = Experiment(inner, "e").start_logging()
        assert _zip_names(inner, run) == ["a.txt"]
        run.complete()
    finally:
        inner.close()


def test_snapshots_are_content_addressed_and_restorable(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    Path("a.txt").write_text("content", encoding="utf-8")
    first = exp.start_logging()
    second = exp.start_logging()
    assert first.get_snapshot_id() == second.get_snapshot_id()
    restored = Path(first.restore_snapshot(path=tmp_path / "restored", extract=True))
    assert (restored / "a.txt").read_text(encoding="utf-8") == "content"
    as_zip = Path(first.restore_snapshot(path=tmp_path / "s.zip"))
    assert zipfile.ZipFile(as_zip).namelist() == ["a.txt"]
    with pytest.raises(SnapshotException, match="already has one"):
        first.take_snapshot(".")
    first.complete()
    second.complete()


def test_take_snapshot_once(exp: Experiment, tmp_path: Path) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    assert run.get_snapshot_id() is None
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x", encoding="utf-8")
    snapshot_id = run.take_snapshot(tmp_path / "src")
    assert run.get_snapshot_id() == snapshot_id
    with pytest.raises(SnapshotException, match="Cannot take snapshot as the run already has one"):
        run.take_snapshot(tmp_path / "src")
    run.complete()


def test_restore_snapshot_rejects_bad_ids(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    with pytest.raises(SnapshotException, match="has no snapshot"):
        run.restore_snapshot()
    with pytest.raises(SnapshotException, match="not a snapshot id"):
        run.restore_snapshot("../../etc")
    run.complete()


def test_outputs_folder_created_and_uploaded_on_complete(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    outputs = Path.cwd() / "outputs"
    assert outputs.is_dir()  # created at once, as v1
    (outputs / "model.pkl").write_bytes(b"model")
    (outputs / "sub").mkdir()
    (outputs / "sub" / "m.txt").write_text("m", encoding="utf-8")
    assert run.get_file_names() == []
    run.complete()
    assert run.get_file_names() == ["outputs/model.pkl", "outputs/sub/m.txt"]


def test_outputs_false_and_named_folder(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    assert not (Path.cwd() / "outputs").exists()
    run.complete()
    named = exp.start_logging(snapshot_directory=None, outputs="results")
    (Path.cwd() / "results" / "r.txt").write_text("r", encoding="utf-8")
    named.complete()
    assert named.get_file_names() == ["results/r.txt"]


def test_outputs_uploaded_on_fail_too(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    (Path.cwd() / "outputs" / "partial.txt").write_text("p", encoding="utf-8")
    run.fail("boom")
    assert run.get_file_names() == ["outputs/partial.txt"]


def test_display_name_description_and_tags(exp: Experiment) -> None:
    run = exp.start_logging(
        snapshot_directory=None,
        outputs=False,
        display_name="my run",
        description="about it",
        tags={"k": "v"},
    )
    assert run.display_name == "my run"
    assert run.description == "about it"
    assert run.get_tags() == {"k": "v"}
    run.display_name = "renamed"
    assert Run(exp, run.id).display_name == "renamed"
    with pytest.raises(ValueError, match="display_name"):
        run.display_name = 5  # type: ignore[assignment]
    run.complete()


def test_start_logging_with_explicit_run_id(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False, run_id="my-id-1")
    assert run.id == "my-id-1"
    with pytest.raises(ValueError, match="already exists"):
        exp.start_logging(snapshot_directory=None, outputs=False, run_id="my-id-1")
    run.complete()


def test_outputs_that_cannot_be_uploaded_still_complete_with_a_warning(exp: Experiment) -> None:
    from run_widgets.exceptions import RunWidgetsWarning

    run = exp.start_logging(snapshot_directory=None)
    run.upload_file("outputs", Path(__file__))  # a file where the outputs folder goes
    (Path.cwd() / "outputs" / "m.txt").write_text("m", encoding="utf-8")
    with pytest.warns(RunWidgetsWarning, match="outputs folder .* was not uploaded"):
        run.complete()
    assert run.get_status() == "Completed"
