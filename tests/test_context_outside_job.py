"""``Run.get_context()`` outside a submitted job: a recorded run, or an offline one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from foundation_helpers import run_python
from support import python_env

from run_widgets import Experiment, Run, RunEnvironmentException, Workspace, _context
from run_widgets._context import OfflineRun
from run_widgets.runtime import RUNTIME


@pytest.fixture(autouse=True)
def fresh_context() -> Iterator[None]:
    """No cached context run leaks between tests; workspaces opened here are closed."""
    _context.reset()
    yield
    cached = RUNTIME.context.current
    _context.reset()
    if cached is not None:
        if cached.get_status() == "Running":
            cached.complete()
        cached.workspace.close()


def test_outside_a_job_logs_to_a_recorded_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run.get_context()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert run.id in lines[0]
    assert str((tmp_path / "home" / "default").resolve()) in lines[0]
    assert run.get_status() == "Running"
    assert run.workspace.folder == (tmp_path / "home" / "default").resolve()
    run.log("a", 1)
    assert Run(run.experiment, run.id).get_metrics() == {"a": 1}
    assert not isinstance(run, OfflineRun)


def test_same_object_on_repeated_calls(capsys: pytest.CaptureFixture[str]) -> None:
    first = Run.get_context()
    second = Run.get_context()
    assert first is second
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if line.strip()]) == 1  # printed once


def test_context_uses_configured_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUN_WIDGETS_WORKSPACE", str(tmp_path / "configured"))
    run = Run.get_context()
    assert run.workspace.folder == (tmp_path / "configured").resolve()


def test_allow_offline_false_raises() -> None:
    with pytest.raises(RunEnvironmentException, match="Could not load a submitted run"):
        Run.get_context(allow_offline=False)


def test_offline_run_prints_v1_lines_and_keeps_metrics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run.get_context(offline=True)
    assert isinstance(run, OfflineRun)
    assert run.id.startswith("OfflineRun_")
    run.log("acc", 0.5)
    run.log_list("l", [1, 2])
    run.log_row("r", x=1)
    run.log_table("t", {"x": [1]})
    run.tag("k", "v")
    run.log_confusion_matrix("cm", {"a": 1})
    out = capsys.readouterr().out
    assert "Attempted to log scalar metric acc:\n0.5" in out
    assert "Attempted to log list metric l:\n[1, 2]" in out
    assert "Attempted to log row metric r:" in out
    assert "Attempted to log table metric t:" in out
    assert "Attempted to add tag k with value v" in out
    assert "Attempted to log confusion_matrix metric cm:" in out
    metrics = run.get_metrics()
    assert metrics["acc"] == 0.5
    assert metrics["l"] == [1, 2]
    assert Run.get_context(offline=True) is run


def test_offline_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUN_WIDGETS_OFFLINE", "1")
    assert isinstance(Run.get_context(), OfflineRun)


def test_offline_context_manager_prints(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.get_context(offline=True)
    with run:
        pass
    out = capsys.readouterr().out
    assert f"[START] Run {run.id} context" in out
    assert f"[STOP] Run {run.id} context" in out


def test_script_context_names_experiment_after_script(tmp_path: Path, ws: Workspace) -> None:
    script = Path("my_train.py")
    script.write_text(
        "from run_widgets import Run\n"
        "run = Run.get_context()\n"
        "run.log('loss', 0.25)\n"
        "print(run.id)\n",
        encoding="utf-8",
    )
    env_code = """
        import runpy, sys
        sys.argv = ["my_train.py"]
        runpy.run_path("my_train.py", run_name="__main__")
    """
    env = {**python_env(), **ws.description().environ()}  # RUN_WIDGETS_WORKSPACE, _STORE...
    result = run_python(env_code, cwd=Path.cwd(), env=env, check=True)
    run_id = result.stdout.split()[-1]
    assert "not inside a submitted run" in result.stderr
    run = Run(Experiment(ws, "my_train"), run_id)
    # the process ended normally: the context run is completed, its points durable
    assert run.get_status() == "Completed"
    assert json.loads(json.dumps(run.get_metrics())) == {"loss": 0.25}
