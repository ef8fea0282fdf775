"""Helpers shared by test modules (imported as ``support``; "conftest" is ambiguous once
pytest also collects notebooks/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path


def python_env() -> dict[str, str]:
    """Environment for child Python processes (they import run_widgets from this tree)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
