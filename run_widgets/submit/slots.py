"""Node slots of a local compute target: at most ``max_nodes`` of its jobs run at once.

Each slot is a lock file (``compute/.slots/<host>/<target>/<i>.lock`` in the workspace)
held with ``flock`` by the process running a job for as long as it runs. The kernel releases
the lock when that process ends in any way (kill -9 included), so a crashed job never keeps
a node busy, and every process of the machine (several notebooks, sweeps) shares the same
slots.

The slots are **per host** (``RUN_WIDGETS_HOST_ID`` or the host name): ``flock`` on a
network filesystem is not a reliable lock between machines, so on a store shared by
several hosts each host runs up to ``max_nodes`` jobs of a target at once.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._host import local_host

POLL_S = 0.2


class Slot:
    """A held node slot; ``release()`` (or the process ending) frees it."""

    def __init__(self, fd: int, index: int) -> None:
        self.fd = fd
        self.index = index

    def release(self) -> None:
        """Free the slot."""
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


def slots_folder(workspace_folder: Path, target: str) -> Path:
    """Where the lock files of ``target``'s slots on this host live."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", local_host()).lstrip(".") or "host"
    return workspace_folder / "compute" / ".slots" / host / target


def try_acquire(folder: Path, count: int) -> Slot | None:
    """A free slot among ``count``, or ``None`` if all are held."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        fd = os.open(folder / f"{index}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Slot(fd, index)
    return None


def wait_for_slot(folder: Path, count: int, keep_waiting: Callable[[], bool]) -> Slot | None:
    """Wait for a free slot; ``None`` as soon as ``keep_waiting()`` says to give up."""
    while True:
        slot = try_acquire(folder, count)
        if slot is not None:
            return slot
        if not keep_waiting():
            return None
        time.sleep(POLL_S)


def node_limit(compute: Mapping[str, Any] | None) -> int | None:
    """``max_nodes`` of a local target that limits its jobs (``None``: no limit here)."""
    if not compute or str(compute.get("type", "")).lower() != "amlcompute":
        return None
    return int(compute.get("properties", {}).get("maxNodes") or 1)


def wait_for_node(
    workspace_folder: Path,
    compute: Mapping[str, Any] | None,
    keep_waiting: Callable[[], bool],
) -> tuple[bool, Slot | None]:
    """Wait for a node of the run's target: (go ahead?, the slot held, if any)."""
    limit = node_limit(compute)
    if limit is None or compute is None:
        return True, None
    slot = wait_for_slot(slots_folder(workspace_folder, str(compute["name"])), limit, keep_waiting)
    return slot is not None, slot
