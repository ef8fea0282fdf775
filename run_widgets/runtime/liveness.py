"""Judging whether the process that owns a run is still there (kill -9, out of memory, reboot).

Every process that owns active runs has an owner row with a heartbeat refreshed every
5 s by its flusher thread. :func:`dead_owners` judges owners:

* on this machine, the owner's pid is not running (or belongs to a newer process, told by
  when it started: ``host.process_started_at``, which no step of the wall clock moves);
* on another machine (a shared workspace folder), no heartbeat for ``heartbeat_timeout()``
  (a forward jump of this process's own wall clock, such as a virtual machine resumed from
  a snapshot, is not counted as time without heartbeat).

It only judges; the runs of a dead owner are ended (or requeued) by
``tracking.reaper`` through ``tracking.lifecycle``. With ``RUN_WIDGETS_LIVENESS_LOG`` set,
every judgement is appended to that file as one JSON line (who judged, the owner row, what
psutil said), so a surprising "process lost" can be explained afterwards.

Layer: runtime (reads owner rows of the store; writes nothing to it).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

import psutil

from ..store import TrackingStore
from ..store.entities import OwnerRecord
from .host import boot_epoch, local_host, process_started_at

ENV_TIMEOUT = "RUN_WIDGETS_HEARTBEAT_TIMEOUT"
ENV_DECISION_LOG = "RUN_WIDGETS_LIVENESS_LOG"
"""A file to which every process appends one JSON line per liveness judgement it makes."""
DEFAULT_TIMEOUT_S = 30.0


def heartbeat_timeout() -> float:
    """Seconds without heartbeat after which a run on another machine counts as lost."""
    return float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S))


_WALL_MINUS_MONOTONIC = time.time() - time.monotonic()
"""This process's wall clock minus its monotonic clock when it started (see ``clock_jump``)."""


def clock_jump() -> float:
    """How far this process's wall clock has jumped forward since it started (seconds).

    A step of the wall clock (or a virtual machine resumed after a pause) moves the wall
    clock but not the monotonic clock.
    """
    return max(0.0, time.time() - time.monotonic() - _WALL_MINUS_MONOTONIC)


def owner_alive(owner: OwnerRecord, now: float | None = None) -> bool:
    """Whether the owner process is still running."""
    now = time.time() if now is None else now
    facts: dict[str, Any] = {}
    if owner.host == local_host():
        try:
            process = psutil.Process(owner.pid)
            started = process_started_at(process)
            status = process.status()
            facts = {"started": started, "create_time": process.create_time(), "status": status}
            # The row's start as this process measures it, or as psutil measures it now (a
            # row written by a version that recorded psutil's create_time).
            same_process = (
                abs(started - owner.pid_started_at) < 1.0
                or abs(process.create_time() - owner.pid_started_at) < 1.0
            )
            alive = bool(same_process and status != psutil.STATUS_ZOMBIE)
        except (psutil.NoSuchProcess, psutil.AccessDenied) as error:
            facts = {"error": type(error).__name__}
            alive = False
    else:
        jump = clock_jump()
        facts = {"clock_jump": jump}
        alive = now - owner.heartbeat_at - jump < heartbeat_timeout()
    _log_decision(owner, alive, now, facts)
    return alive


def _log_decision(owner: OwnerRecord, alive: bool, now: float, facts: dict[str, Any]) -> None:
    """Append the judgement to ``$RUN_WIDGETS_LIVENESS_LOG`` (if set), for diagnosis."""
    path = os.environ.get(ENV_DECISION_LOG)
    if not path:
        return
    entry = {
        "at": now,
        "judge_pid": os.getpid(),
        "judge": " ".join(sys.argv[:3])[-120:],
        "thread": threading.current_thread().name,
        "owner": owner.id,
        "host": owner.host,
        "pid": owner.pid,
        "pid_started_at": owner.pid_started_at,
        "heartbeat_age": round(now - owner.heartbeat_at, 3),
        "alive": alive,
        "btime": _proc_btime(),
        "boot_epoch": boot_epoch(),
        **facts,
    }
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
    except OSError:
        pass


def _proc_btime() -> float | None:
    try:
        return psutil.boot_time()  # type: ignore[no-any-return]
    except Exception:
        return None


def lost_message(owner: OwnerRecord) -> str:
    """Why a run whose process was lost failed."""
    return (
        f"process lost: the process running this run (pid {owner.pid} on {owner.host}) ended "
        "without reporting a final status (killed, out of memory, or the machine restarted). "
        "Metrics and logs written before that are kept."
    )


def dead_owners(store: TrackingStore, owner_ids: Iterable[int]) -> dict[int, OwnerRecord]:
    """The owners among ``owner_ids`` whose process is gone."""
    owners = store.get_owners(owner_ids)
    now = time.time()
    return {owner_id: owner for owner_id, owner in owners.items() if not owner_alive(owner, now)}
