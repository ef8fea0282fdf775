"""The notebooks as committed: what a new user sees before running anything.

Only the cells nbval checks keep an output (a deterministic text); nothing shows a run the
user never started, and nothing points into the folders of the machine that executed it.

What is checked is what git holds for each tracked notebook (the staged version: the
commit as it stands, plus whatever ``git add`` put in it), never the file in the working
tree: a notebook that JupyterLab autosaved in notebooks/ is not what a clone gets. Outside
a git checkout (an unpacked sdist) the files themselves are what is shipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["pytester"]


def _git(root: Path, *args: str) -> str | None:
    """``git args`` in the checkout at ``root``, or None when it is not one."""
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def committed_notebooks(root: Path = ROOT) -> list[str]:
    """Paths (relative to ``root``) of the notebooks git tracks in notebooks/."""
    listed = _git(root, "ls-files", "--", "notebooks/*.ipynb")
    if listed is None:
        return sorted(p.relative_to(root).as_posix() for p in (root / "notebooks").glob("*.ipynb"))
    return sorted(line for line in listed.splitlines() if line)


def committed_text(path: str, root: Path = ROOT) -> str:
    """The file at ``path`` as git holds it (the index), else the file on disk."""
    text = _git(root, "show", f":{path}")
    return text if text is not None else (root / path).read_text(encoding="utf-8")


NOTEBOOKS = committed_notebooks()


def test_the_notebooks_are_found() -> None:
    assert "notebooks/demo.ipynb" in NOTEBOOKS
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.rsplit("/", 1)[-1] for p in NOTEBOOKS])
def test_committed_notebook_has_no_stale_outputs(path: str) -> None:
    notebook = json.loads(committed_text(path))
    assert "widgets" not in notebook["metadata"]
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = json.dumps(cell.get("outputs", []))
        if "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"]):
            assert cell.get("outputs", []) == [], (path, "".join(cell["source"])[:80])
        assert "/tmp" not in text and "file://" not in text, path
        assert "widget-view" not in text and "rw-static-snapshot" not in text, path


def test_what_git_holds_is_read_not_an_autosaved_file(tmp_path: Path) -> None:
    clean = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks").mkdir()
    path = tmp_path / "notebooks" / "demo.ipynb"
    path.write_text(json.dumps(clean))
    assert _git(tmp_path, "init", "-q") is not None
    assert _git(tmp_path, "add", "notebooks/demo.ipynb") is not None
    path.write_text(json.dumps({**clean, "metadata": {"widgets": {"state": {}}}}))  # autosave

    assert committed_notebooks(tmp_path) == ["notebooks/demo.ipynb"]
    assert json.loads(committed_text("notebooks/demo.ipynb", tmp_path)) == clean


def test_scratch_notebooks_are_not_collected(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbval collects the notebooks git tracks in notebooks/, not one saved there to try
    something (notebooks/conftest.py, run in this process on a copy)."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    notebook = json.dumps(
        {"cells": [{**cell, "source": "1"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    )
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider --import-mode=importlib\n")
    pytester.makeconftest((ROOT / "notebooks" / "conftest.py").read_text())
    (pytester.path / "demo.ipynb").write_text(notebook)
    (pytester.path / "scratch.ipynb").write_text(notebook)
    assert _git(pytester.path, "init", "-q") is not None
    assert _git(pytester.path, "add", "demo.ipynb") is not None
    for variable in os.environ:  # the conftest sets the kernels' environment: undone after
        if variable.startswith("RUN_WIDGETS_"):
            monkeypatch.setenv(variable, os.environ[variable])
    for variable in ("RUN_WIDGETS_HOME", "RUN_WIDGETS_DEMO_EPOCHS", "RUN_WIDGETS_DEMO_DELAY"):
        monkeypatch.delenv(variable, raising=False)

    listed = pytester.runpytest_inprocess("--collect-only", "-q", "--nbval-lax").stdout.str()
    assert "demo.ipynb" in listed
    assert "scratch.ipynb" not in listed
