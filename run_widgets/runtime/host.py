"""The identity of this machine, and of a process on it, as recorded in owner rows.

Liveness checks compare an owner's host with :func:`local_host`: on this host a pid check
decides, on another host only the heartbeat's age can. ``RUN_WIDGETS_HOST_ID`` overrides
the name, so one machine can stand in for two in tests of a shared (team) store.

A pid check must tell the owner process from a newer one that reuses its pid, by when it
started: :func:`process_started_at`. On Linux, psutil computes a process's start from its
start in clock ticks since boot plus the boot time *as the kernel reports it now*
(``/proc/stat`` ``btime``, that is the wall clock minus the uptime), so every step of the
wall clock (NTP setting the time, a virtual machine resumed from a snapshot, ``date -s``)
moves the start of every running process by the step: a live owner then looked like a
newer process and its runs were marked "process lost". Here the boot time is the one
recorded by the first process of this boot on this machine (:func:`boot_epoch`, kept in
``/dev/shm``), so a process's start is the same number in every process and at every moment
of the boot, whatever the wall clock does. Elsewhere (macOS, Windows) psutil reports the
start as the system recorded it at creation, which no step moves.

Layer: runtime (imports nothing of run_widgets).
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import tempfile
import uuid
from pathlib import Path

import psutil

ENV_HOST_ID = "RUN_WIDGETS_HOST_ID"
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - a tmpfs every process of this boot shares


def local_host() -> str:
    """Name of this machine as recorded in owner rows (``$RUN_WIDGETS_HOST_ID`` if set)."""
    return os.environ.get(ENV_HOST_ID) or socket.gethostname()


def process_started_at(process: psutil.Process) -> float:
    """When ``process`` started, in seconds since the epoch, on a clock no step moves.

    Raises:
        psutil.NoSuchProcess: the process is gone.
    """
    created: float = process.create_time()
    if not sys.platform.startswith("linux"):
        return created
    epoch = boot_epoch()
    if epoch is None:
        return created
    since_boot: float = created - psutil.boot_time()  # both from the same btime, read now
    return since_boot + epoch


@functools.lru_cache(maxsize=1)
def boot_epoch() -> float | None:
    """The boot time of this machine as first recorded in this boot (Linux), or ``None``.

    The first process that asks records ``psutil.boot_time()`` in a file named after the
    kernel's boot id; every later process of the same boot reads it. A new boot has a new
    id, so a process of an earlier boot never matches one of this boot.
    """
    try:
        boot_id = BOOT_ID_FILE.read_text(encoding="ascii").strip()
    except OSError:
        return None
    if not boot_id:
        return None
    folder = SHARED_MEMORY if os.access(SHARED_MEMORY, os.W_OK) else Path(tempfile.gettempdir())
    path = folder / f"run_widgets-boot-{boot_id}"
    recorded = _read_epoch(path)
    if recorded is not None:
        return recorded
    draft = folder / f".run_widgets-boot-{boot_id}-{uuid.uuid4().hex}"
    try:
        draft.write_text(repr(psutil.boot_time()), encoding="ascii")
        draft.chmod(0o644)
        os.link(draft, path)  # atomic: the first process to link it wins
    except FileExistsError:
        pass
    except OSError:
        return None
    finally:
        draft.unlink(missing_ok=True)
    return _read_epoch(path)


def _read_epoch(path: Path) -> float | None:
    try:
        return float(path.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
