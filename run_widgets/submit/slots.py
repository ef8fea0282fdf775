"""Node slots of a local compute target: at most ``max_nodes`` of its jobs run at once.

Each slot is a lock file (``compute/.slots/<host>/<target>/<i>.lock`` in the workspace)
held with ``flock`` by the process running a job for as long as it runs. The kernel releases
the lock when that process ends in any way (kill -9 included), so a crashed job never keeps
a node busy, and every process of the machine (several notebooks, sweeps) shares the same
slots.

The slots are **per host** (``RUN_WIDGETS_HOST_ID`` or the host name): ``flock`` on a
network filesystem is not a reliable lock between machines, so on a store shared by
several hosts each host runs up to ``max_nodes`` jobs of a target at once.

Waiting runs start in submission order: each waiter holds a *ticket*, a locked file in
``queue/`` named by its run's creation time, and only the oldest live ticket may take a
free slot. A ticket whose lock nobody holds belongs to a process that died: it is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..runtime.host import local_host

POLL_S = 0.2
QUEUE = "queue"


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


class Ticket:
    """A waiter's place in the queue of ``folder``: a file it keeps locked while waiting."""

    def __init__(self, folder: Path, order: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = f"{order}.{os.getpid()}.{threading.get_ident()}.wait"
        # Locked before it gets its name, so nobody ever sees it unlocked (and stale).
        pending = folder / f".{self.name}.new"
        self.fd = os.open(pending, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.replace(pending, folder / self.name)

    def is_first(self) -> bool:
        """Whether no live ticket is older than this one (stale ones are removed)."""
        for name in sorted(os.listdir(self.folder)):
            if name >= self.name:
                return True
            if name.startswith(".") or not name.endswith(".wait"):
                continue
            if not _stale_removed(self.folder / name):
                return False
        return True

    def release(self) -> None:
        """Leave the queue."""
        with contextlib.suppress(OSError):
            os.unlink(self.folder / self.name)
        os.close(self.fd)


def _stale_removed(path: Path) -> bool:
    """Remove the ticket at ``path`` if its waiter is gone; True if it is gone now."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False  # its waiter holds it
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)
    return True


def wait_for_slot(
    folder: Path, count: int, keep_waiting: Callable[[], bool], order: str = ""
) -> Slot | None:
    """Wait for a free slot, after every older waiter; ``None`` once ``keep_waiting()`` is False.

    ``order``: this waiter's place (sortable text, e.g. its run's creation time); waiters
    get slots in that order.
    """
    slot = try_acquire(folder, count) if not _waiters(folder / QUEUE) else None
    if slot is not None:
        return slot
    ticket = Ticket(folder / QUEUE, order or f"{time.time():020.6f}")
    try:
        while True:
            if ticket.is_first():
                slot = try_acquire(folder, count)
                if slot is not None:
                    return slot
            if not keep_waiting():
                return None
            time.sleep(POLL_S)
    finally:
        ticket.release()


def queue_order(created_at: float, run_id: str) -> str:
    """A run's place among the waiters: its creation time (then its id)."""
    return f"{int(created_at * 1e6):020d}-{run_id}"


def _waiters(queue: Path) -> bool:
    try:
        return any(name.endswith(".wait") for name in os.listdir(queue))
    except FileNotFoundError:
        return False


def node_limit(compute: Mapping[str, Any] | None) -> int | None:
    """``max_nodes`` of a local target that limits its jobs (``None``: no limit here)."""
    if not compute or str(compute.get("type", "")).lower() != "amlcompute":
        return None
    return int(compute.get("properties", {}).get("maxNodes") or 1)


def wait_for_node(
    workspace_folder: Path,
    compute: Mapping[str, Any] | None,
    keep_waiting: Callable[[], bool],
    order: str = "",
) -> tuple[bool, Slot | None]:
    """Wait for a node of the run's target: (go ahead?, the slot held, if any).

    ``order``: the run's place among the waiters (see ``wait_for_slot``).
    """
    limit = node_limit(compute)
    if limit is None or compute is None:
        return True, None
    folder = slots_folder(workspace_folder, str(compute["name"]))
    slot = wait_for_slot(folder, limit, keep_waiting, order)
    return slot is not None, slot
