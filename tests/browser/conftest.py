"""Fixtures for the real-browser tests: a notebook folder, an isolated workspace home.

Every test here carries the ``browser`` marker (applied by the root conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Generator
from pathlib import Path

import pytest

from .harness import CHROMIUM, RUNNING_SERVER_LOGS, server_log_excerpt

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture
def lab_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A server root holding a copy of notebooks/ (scripts included)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    root = tmp_path / "lab"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("outputs", "*.py"))
    shutil.copytree(ROOT / "notebooks" / "scripts", root / "scripts", dirs_exist_ok=True)
    monkeypatch.setenv("RUN_WIDGETS_HOME", str(tmp_path / "home"))
    return root


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots are kept (git-ignored; the README's picture is copied by hand)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test reports what its Jupyter servers logged (kernel errors too).

    A kernel's exception in a widget callback shows nowhere on the page; its traceback is
    in the server's log, in a temporary folder gone after the run.
    """
    report = yield
    if report.failed and call.when == "call":
        for log in RUNNING_SERVER_LOGS:
            if log.exists():
                report.sections.append((f"Jupyter server log {log.name}", server_log_excerpt(log)))
    return report
