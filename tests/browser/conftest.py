"""Fixtures for the real-browser tests: a notebook folder, an isolated workspace home.

Every test here carries the ``browser`` marker (applied by the root conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .harness import CHROMIUM

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
