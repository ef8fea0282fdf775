"""scripts/demo's working copy of notebooks/: up to date, and never losing a user's edit.

``./scripts/demo`` serves ``demo-notebooks/`` (git-ignored) so that JupyterLab's autosave
never changes a tracked notebook; scripts/demo_notebooks.py keeps that copy in step with
notebooks/.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "demo_notebooks", ROOT / "scripts" / "demo_notebooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load()


def notebook(*sources: str, outputs: list[object] | None = None) -> str:
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": outputs or [],
            "source": source,
        }
        for source in sources
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git checkout holding notebooks/ with a notebook, a script and the test settings."""
    root = tmp_path / "project"
    source = root / "notebooks"
    (source / "scripts").mkdir(parents=True)
    (source / "demo.ipynb").write_text(notebook("print(1)"))
    (source / "scripts" / "train.py").write_text("print('train')\n")
    (source / "conftest.py").write_text("")
    (source / "scratch.ipynb").write_text(notebook("untracked"))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(
        [
            "git",
            "add",
            "notebooks/demo.ipynb",
            "notebooks/scripts/train.py",
            "notebooks/conftest.py",
        ],
        cwd=root,
        check=True,
    )
    return source


def test_first_start_copies_the_tracked_notebooks_and_scripts(project: Path) -> None:
    work = project.parent / "demo-notebooks"
    said = demo.sync(project, work)
    assert sorted(said) == ["copied demo.ipynb", "copied scripts/train.py"]
    assert (work / "demo.ipynb").read_text() == (project / "demo.ipynb").read_text()
    assert (work / "scripts" / "train.py").exists()
    assert not (work / "conftest.py").exists()  # test settings, not for users
    assert not (work / "scratch.ipynb").exists()  # not the project's
    assert demo.sync(project, work) == []  # nothing changed, nothing done


def test_a_run_and_autosaved_notebook_follows_the_project(project: Path) -> None:
    work = project.parent / "demo-notebooks"
    demo.sync(project, work)
    # The user ran it: outputs and widget state saved, sources as copied.
    (work / "demo.ipynb").write_text(notebook("print(1)", outputs=[{"text": "1"}]))
    (project / "demo.ipynb").write_text(notebook("print(2)"))

    assert demo.sync(project, work) == ["updated demo.ipynb (the project's version changed)"]
    assert (work / "demo.ipynb").read_text() == notebook("print(2)")


def test_an_edited_notebook_is_kept_and_the_new_version_put_beside_it(project: Path) -> None:
    work = project.parent / "demo-notebooks"
    demo.sync(project, work)
    mine = notebook("print('my own change')")
    (work / "demo.ipynb").write_text(mine)
    (project / "demo.ipynb").write_text(notebook("print(2)"))

    said = demo.sync(project, work)
    assert len(said) == 1 and "kept your edited demo.ipynb" in said[0], said
    assert "demo.project.ipynb" in said[0]
    assert (work / "demo.ipynb").read_text() == mine
    assert (work / "demo.project.ipynb").read_text() == notebook("print(2)")
    assert demo.sync(project, work) == []  # said once, not at every start
    assert (work / "demo.ipynb").read_text() == mine


def test_an_edited_script_is_kept_too(project: Path) -> None:
    work = project.parent / "demo-notebooks"
    demo.sync(project, work)
    (work / "scripts" / "train.py").write_text("print('mine')\n")
    (project / "scripts" / "train.py").write_text("print('new')\n")

    said = demo.sync(project, work)
    assert said and "scripts/train.project.py" in said[0]
    assert (work / "scripts" / "train.py").read_text() == "print('mine')\n"
    assert (work / "scripts" / "train.project.py").read_text() == "print('new')\n"


def test_an_edit_without_a_project_change_is_left_alone(project: Path) -> None:
    work = project.parent / "demo-notebooks"
    demo.sync(project, work)
    mine = notebook("print('mine')")
    (work / "demo.ipynb").write_text(mine)
    assert demo.sync(project, work) == []
    assert (work / "demo.ipynb").read_text() == mine


def test_a_deleted_copy_is_restored_from_the_project(project: Path) -> None:
    work = project.parent / "demo-notebooks"
    demo.sync(project, work)
    (work / "demo.ipynb").write_text(notebook("print('mine')"))
    (work / "demo.ipynb").unlink()
    assert demo.sync(project, work) == ["restored demo.ipynb"]
    assert (work / "demo.ipynb").read_text() == (project / "demo.ipynb").read_text()


def test_a_copy_made_before_the_record_is_never_overwritten(project: Path) -> None:
    """No record of what was copied (e.g. a folder made by hand): different means mine."""
    work = project.parent / "demo-notebooks"
    work.mkdir()
    (work / "demo.ipynb").write_text(notebook("print('made by hand')"))
    said = demo.sync(project, work)
    assert any("kept your edited demo.ipynb" in line for line in said), said
    assert (work / "demo.ipynb").read_text() == notebook("print('made by hand')")


def test_the_demo_serves_the_working_copy_which_git_ignores() -> None:
    script = (ROOT / "scripts" / "demo").read_text()
    assert "scripts/demo_notebooks.py notebooks demo-notebooks" in script
    assert "--ServerApp.root_dir=demo-notebooks" in script
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "demo-notebooks/demo.ipynb"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "demo-notebooks/ must be git-ignored"
