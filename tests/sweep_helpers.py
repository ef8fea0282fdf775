"""Helpers shared by the sweep tests (tests/test_sweep_*.py).

Sweeps run in their own driver process (``python -m run_widgets.sweep.driver``) with loky
workers or script supervisors below it; ``no_leftover_sweeps`` kills whatever a failed
test left running for its workspace. Tests wait on conditions with timeouts, never on
fixed sleeps.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from submit_helpers import TERMINAL, supervisors, wait_until

from run_widgets import Workspace
from run_widgets.store import RunRecord
from run_widgets.sweep import HyperDriveConfig, HyperDriveRun, PrimaryMetricGoal

DRIVER_MODULE = "run_widgets.sweep.driver"


def sweep_drivers(workspace: Workspace) -> list[psutil.Process]:
    """Sweep driver processes working for ``workspace``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if DRIVER_MODULE in cmdline and str(workspace.folder) in cmdline:
            found.append(process)
    return found


def kill_tree(process: psutil.Process) -> None:
    """SIGKILL a process with everything below it (its process group too)."""
    with contextlib.suppress(psutil.Error):
        tree = [process, *process.children(recursive=True)]
        for member in tree:
            with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
                os.killpg(member.pid, signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                member.kill()


@pytest.fixture(autouse=True)
def no_leftover_sweeps(ws: Workspace) -> Iterator[None]:
    """After the test, kill the sweep drivers, workers and supervisors it left running."""
    yield
    for process in sweep_drivers(ws) + supervisors(ws):
        kill_tree(process)


def wait_sweep(sweep: HyperDriveRun, timeout: float = 60.0) -> str:
    """Wait until the sweep's parent run ended; its final status."""
    return wait_until(
        lambda: sweep.get_status() if sweep.get_status() in TERMINAL else "",
        timeout,
        interval=0.1,
        what=f"sweep {sweep.id} to end (status {sweep.get_status()})",
    )


def child_records(sweep: HyperDriveRun) -> list[RunRecord]:
    """The sweep's children as stored, by run number."""
    return sorted(sweep.workspace.store.find_runs(parent_id=sweep.id), key=lambda r: r.number)


def index_of(record: RunRecord) -> int:
    """A child's index in the sampler's order (its id ends in ``_<index>``)."""
    return int(record.id.rsplit("_", 1)[1])


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of [start, end] intervals open at the same moment."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    # At equal times the end comes first (-1 sorts before 1): touching is not overlapping.
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def function_sweep(function: Any, sampling: Any, **changes: Any) -> HyperDriveConfig:
    """A function sweep minimising ``mse``."""
    kwargs: dict[str, Any] = {
        "function": function,
        "hyperparameter_sampling": sampling,
        "primary_metric_name": "mse",
        "primary_metric_goal": PrimaryMetricGoal.MINIMIZE,
        "max_concurrent_runs": 2,
    }
    kwargs.update(changes)
    return HyperDriveConfig(**kwargs)
