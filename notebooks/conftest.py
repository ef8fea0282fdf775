"""Settings for validating the notebooks with nbval (``pytest --nbval-lax notebooks``).

Notebook kernels inherit this environment: a throwaway default workspace (so the runs
they create never land in the real one, whatever the user's environment names) and a
short demo run. Every nbval cell carries the ``notebook`` marker and each notebook's cells
share an xdist group (the root conftest.py).
"""

import atexit
import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="rw-notebooks-")
atexit.register(shutil.rmtree, _HOME, True)
os.environ["RUN_WIDGETS_HOME"] = _HOME
for _variable in (
    "RUN_WIDGETS_WORKSPACE",
    "RUN_WIDGETS_STORE",
    "RUN_WIDGETS_ARTIFACTS",
    "RUN_WIDGETS_WORKSPACE_NAME",
    "RUN_WIDGETS_RUN_ID",
):
    os.environ.pop(_variable, None)
os.environ.setdefault("RUN_WIDGETS_DEMO_EPOCHS", "8")
os.environ.setdefault("RUN_WIDGETS_DEMO_DELAY", "0.2")


def _tracked_notebooks() -> set[str] | None:
    """Names of the notebooks git tracks here, or None outside a git checkout."""
    import subprocess
    from pathlib import Path

    here = Path(__file__).resolve().parent
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", "*.ipynb"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {line.rsplit("/", 1)[-1] for line in listed.splitlines() if line}


_TRACKED = _tracked_notebooks()


def pytest_ignore_collect(collection_path, config):
    """Only the project's notebooks are tests, not a scratch notebook saved here.

    A notebook git does not track is not collected (add a new one to git to make it a test).
    """
    if collection_path.suffix == ".ipynb" and _TRACKED is not None:
        return collection_path.name not in _TRACKED or None
    return None
