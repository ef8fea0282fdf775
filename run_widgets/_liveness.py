"""Detecting runs whose process died without reporting (kill -9, out of memory, reboot).

Every process that owns active runs has an owner row with a heartbeat refreshed every
5 s by its flusher thread. A reader that sees an active run asks :func:`reap_lost` whether
its owner is gone:

* on this machine, the owner's pid is not running (or belongs to a newer process);
* on another machine (a shared workspace folder), no heartbeat for ``heartbeat_timeout()``.

Lost runs are marked Failed with a "process lost" error in a conditional update, so two
readers racing, or a late final status from a live process, never conflict.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import psutil

from . import _attempts, lifecycle
from ._details import error_dict
from ._host import local_host
from .store import RunRecord, RunStatus, TrackingStore
from .store.entities import OwnerRecord

ENV_TIMEOUT = "RUN_WIDGETS_HEARTBEAT_TIMEOUT"
ENV_DECISION_LOG = "RUN_WIDGETS_LIVENESS_LOG"
"""A file to which every process appends one JSON line per liveness judgement it makes."""
DEFAULT_TIMEOUT_S = 30.0
ACTIVE = lifecycle.ACTIVE


def heartbeat_timeout() -> float:
    """Seconds without heartbeat after which a run on another machine counts as lost."""
    return float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S))


def owner_alive(owner: OwnerRecord, now: float | None = None) -> bool:
    """Whether the owner process is still running."""
    now = time.time() if now is None else now
    facts: dict[str, Any] = {}
    if owner.host == local_host():
        try:
            process = psutil.Process(owner.pid)
            created = process.create_time()
            status = process.status()
            facts = {"create_time": created, "status": status}
            same_process = abs(created - owner.pid_started_at) < 1.0
            alive = bool(same_process and status != psutil.STATUS_ZOMBIE)
        except (psutil.NoSuchProcess, psutil.AccessDenied) as error:
            facts = {"error": type(error).__name__}
            alive = False
    else:
        alive = now - owner.heartbeat_at < heartbeat_timeout()
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


def lost_error(owner: OwnerRecord) -> dict[str, object]:
    """The error recorded on a run whose process was lost."""
    return error_dict(lost_message(owner), "ProcessLost")


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


def mark_lost(
    store: TrackingStore, run_id: str, owner: OwnerRecord, record: RunRecord | None = None
) -> None:
    """Mark one run Failed ("process lost") unless it ended or changed owner meanwhile.

    A run whose compute target allows retries goes back to Queued instead, as a new
    attempt (see ``_attempts``).
    """
    record = store.get_run(run_id) if record is None else record
    if record is not None and _attempts.max_retries(record.definition) > 0:
        _attempts.lose_run(store, record, lost_message(owner), only_if_owner=owner.id)
        return
    store.write(
        [lifecycle.end_op(run_id, RunStatus.FAILED, lost_error(owner), only_if_owner=owner.id)]
    )


def reap_lost(store: TrackingStore, runs: Sequence[RunRecord]) -> list[RunRecord]:
    """Mark runs whose owner died as Failed; return ``runs`` with fresh records for those."""
    candidates = [r for r in runs if r.status in ACTIVE and r.owner_id is not None]
    if not candidates:
        return list(runs)
    dead = dead_owners(store, {r.owner_id for r in candidates if r.owner_id is not None})
    updated: dict[str, RunRecord] = {}
    for run in candidates:
        owner = dead.get(run.owner_id) if run.owner_id is not None else None
        if owner is None:
            continue
        mark_lost(store, run.id, owner, run)
        fresh = store.get_run(run.id)
        if fresh is not None:
            updated[run.id] = fresh
    return [updated.get(r.id, r) for r in runs]
