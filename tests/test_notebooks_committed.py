"""The notebooks as committed: what a new user sees before running anything.

Only the cells nbval checks keep an output (a deterministic text); nothing shows a run the
user never started, and nothing points into the folders of the machine that executed it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_has_no_stale_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in notebook["metadata"]
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = json.dumps(cell.get("outputs", []))
        if "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"]):
            assert cell.get("outputs", []) == [], (path.name, "".join(cell["source"])[:80])
        assert "/tmp" not in text and "file://" not in text, path.name
        assert "widget-view" not in text and "rw-static-snapshot" not in text, path.name


def test_scratch_notebooks_are_not_collected(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    scratch = root / "notebooks" / f"scratch-{tmp_path.name}.ipynb"
    scratch.write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "notebooks"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    finally:
        scratch.unlink()
    assert "demo.ipynb" in listed
    assert scratch.name not in listed
