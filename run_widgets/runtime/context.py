"""The environment side of ``Run.get_context()``: is this process a submitted job, and of what.

Inside a script started by ``experiment.submit`` the supervisor sets ``RUN_WIDGETS_RUN_ID``,
``RUN_WIDGETS_RUN_WORKSPACE`` and ``RUN_WIDGETS_RUN_EXPERIMENT``: :func:`submitted_job`
reads them. ``RUN_WIDGETS_OFFLINE=1`` asks for v1's offline run outside a job, and a run
recorded outside a job goes to an experiment named after the script
(:func:`experiment_name`). The run objects themselves are made above (``run_widgets._context``);
the one this process hands out is kept in :class:`ContextSlot` (``RUNTIME.context``).

Layer: runtime (imports nothing of run_widgets).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_RUN_ID = "RUN_WIDGETS_RUN_ID"
ENV_WORKSPACE_DIR = "RUN_WIDGETS_RUN_WORKSPACE"
ENV_EXPERIMENT = "RUN_WIDGETS_RUN_EXPERIMENT"
ENV_OFFLINE = "RUN_WIDGETS_OFFLINE"


@dataclass(frozen=True)
class SubmittedJob:
    """The run a submitted script executes, as its supervisor described it."""

    run_id: str
    workspace_folder: str
    experiment_name: str

    def environ(self) -> dict[str, str]:
        """The variables that describe it to the job's process."""
        return {
            ENV_RUN_ID: self.run_id,
            ENV_WORKSPACE_DIR: self.workspace_folder,
            ENV_EXPERIMENT: self.experiment_name,
        }


def submitted_job(environ: Mapping[str, str] | None = None) -> SubmittedJob | None:
    """The job this process runs, or ``None`` outside a submitted script."""
    environ = os.environ if environ is None else environ
    run_id = environ.get(ENV_RUN_ID)
    if not run_id:
        return None
    return SubmittedJob(run_id, environ[ENV_WORKSPACE_DIR], environ[ENV_EXPERIMENT])


def offline_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``RUN_WIDGETS_OFFLINE`` asks for an offline run outside a job."""
    environ = os.environ if environ is None else environ
    return environ.get(ENV_OFFLINE, "") not in ("", "0")


def experiment_name(argv: list[str] | None = None) -> str:
    """The experiment of a run recorded outside a job: the script's name, made valid."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).stem if argv and argv[0] else ""
    if not script or script in ("ipykernel_launcher", "-c", "__main__", "pytest"):
        return "interactive"
    name = re.sub(r"[^\w\-]", "-", script, flags=re.ASCII).strip("-_") or "interactive"
    return name if name[0].isalnum() else f"run-{name}"


class ContextSlot:
    """The run ``Run.get_context()`` hands out in this process (made once, then reused)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: Any = None

    def get(self, make: Callable[[Any], Any]) -> Any:
        """The kept run, or ``make(kept)`` (kept or ``None``) made now and kept."""
        with self._lock:
            run = make(self._run)
            self._run = run
            return run

    @property
    def current(self) -> Any:
        """The kept run, or ``None``."""
        return self._run

    def reset(self) -> None:
        """Forget the kept run (tests, and forked children)."""
        self._run = None
