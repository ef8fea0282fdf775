"""Helpers shared by the script-submission tests (tests/test_submit*.py).

Each test writes its scripts into a temporary source folder, submits them into the
test's own workspace, and waits on conditions with timeouts (never on fixed long sleeps).
The ``no_leftover_processes`` fixture kills whatever a failed test left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from run_widgets import Experiment, Run, ScriptRunConfig, Workspace
from run_widgets.store import RunRecord

T = TypeVar("T")
TERMINAL = ("Completed", "Failed", "Canceled")
ORDER = ["Queued", "Starting", "Running", "Finalizing", "Completed"]


def write(folder: Path, name: str, code: str) -> Path:
    """Write ``code`` (dedented) to ``folder/name`` and return the path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code).lstrip(), encoding="utf-8")
    return path


def source_dir(tmp_path: Path, files: dict[str, str], name: str = "src") -> Path:
    """A source folder holding ``files`` (name → code)."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, code in files.items():
        write(folder, file_name, code)
    return folder


def submit(
    exp: Experiment,
    tmp_path: Path,
    code: str,
    *,
    name: str = "src",
    arguments: list[Any] | None = None,
    extra: dict[str, str] | None = None,
    **kwargs: Any,
) -> Run:
    """Submit ``code`` as ``train.py`` from a fresh source folder."""
    folder = source_dir(tmp_path, {"train.py": code, **(extra or {})}, name)
    config = ScriptRunConfig(source_directory=folder, script="train.py", arguments=arguments)
    return exp.submit(config, **kwargs)


def wait_until(
    condition: Callable[[], T], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what or condition}")
        time.sleep(interval)


def wait_terminal(run: Run, timeout: float = 30.0) -> str:
    """Wait until ``run`` has a terminal status and return it."""
    return wait_until(
        lambda: run.get_status() if run.get_status() in TERMINAL else "",
        timeout,
        what=f"run {run.id} to end (status {run.get_status()})",
    )


def wait_for_file(path: Path, timeout: float = 20.0) -> str:
    """Wait until ``path`` exists with content; return the stripped text."""
    return wait_until(
        lambda: path.read_text().strip() if path.is_file() else "",
        timeout,
        what=f"{path} to be written",
    )


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def supervisors(workspace: Workspace) -> list[psutil.Process]:
    """Supervisor processes working for ``workspace``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "run_widgets.submit.supervisor" in cmdline and str(workspace.folder) in cmdline:
            found.append(process)
    return found


def driver_log(run: Run) -> str:
    """The run's ``logs/driver_log.txt`` text."""
    return run.get_file_path("logs/driver_log.txt").read_text(encoding="utf-8")


@pytest.fixture
def fast_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short cancel grace period for supervisors started by the test."""
    monkeypatch.setenv("RUN_WIDGETS_CANCEL_GRACE_S", "1")


@pytest.fixture(autouse=True)
def no_leftover_processes(ws: Workspace) -> Iterator[None]:
    """After the test, kill supervisors (and their jobs) the test left running."""
    yield
    for supervisor in supervisors(ws):
        with contextlib.suppress(psutil.Error):
            tree = [supervisor, *supervisor.children(recursive=True)]
            for process in tree:
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(psutil.Error):
                    process.kill()


def python() -> str:
    """The interpreter running the tests (the venv's)."""
    return sys.executable


def record_of(run: Run) -> RunRecord:
    """The run's record as stored now (start/end times, owner)."""
    record = run.workspace.store.get_run(run.id)
    assert record is not None
    return record
