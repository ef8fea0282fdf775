"""Helpers shared by the foundation tests (not fixtures: plain functions)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from support import python_env

from run_widgets import Run


def store_state(run: Run) -> dict[str, Any]:
    """Everything the store and the run folder hold for ``run`` (after a flush)."""
    run.flush()
    store = run.workspace.store
    infos = {info.name: (info.kind, info.n_points) for info in store.metric_infos([run.id])}
    chunks = len(store.read_chunks(run.id))
    record = store.get_run(run.id)
    assert record is not None
    return {
        "metrics": infos,
        "chunks": chunks,
        "files": run.get_file_names(),
        "tags": dict(record.tags),
        "properties": dict(record.properties),
        "status": record.status,
    }


def all_files(root: Path) -> set[str]:
    """Every file and link below ``root`` (relative paths), for "nothing written" checks."""
    found: set[str] = set()
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = Path(directory) / name
            if path.is_file() or path.is_symlink():
                found.add(path.relative_to(root).as_posix())
    return found


def run_python(
    code: str,
    *,
    cwd: Path,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a child process that imports run_widgets from this tree."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env or python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result
