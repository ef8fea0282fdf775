"""Run status transitions, built in one place.

Every change of a run's status (and of the fields that go with it: start/end time, error,
owner) is one of the :class:`~run_widgets.store.UpdateRun` operations built here, with
the conditions that make it safe when several processes race: a reader marking a lost run
Failed, a supervisor taking a run over, a late "Completed" after a cancel. The store
applies them (terminal statuses are sticky: see :mod:`run_widgets.store.rules`).

Two kinds of names:

* op builders (``start_op``, ``end_op``, ``fail_op``, ...) return an ``UpdateRun`` to put
  into a larger ``store.write([...])`` batch;
* ``mark_*`` helpers write one transition now.

Transitions::

    NotStarted/Queued ──start──▶ Running ──end──▶ Completed | Failed | Canceled
    Queued ──adopt──▶ Starting (──preparing──▶ Preparing ──prepared──▶ Starting) ──running──▶ Running
    active ──request_cancel──▶ CancelRequested ──(owner)──▶ Canceled
    active ──fail (lost process, lost worker, start error)──▶ Failed
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from ._details import error_dict
from .store import RunStatus, TrackingStore, UpdateRun

ACTIVE: frozenset[str] = frozenset(RunStatus.ALL - RunStatus.TERMINAL)
"""Statuses of a run that has not ended."""
NOT_STARTED: frozenset[str] = frozenset({RunStatus.NOT_STARTED, RunStatus.QUEUED})
"""Statuses of a run waiting to start."""
QUEUED: frozenset[str] = frozenset({RunStatus.QUEUED})


def _now(at: float | None) -> float:
    return time.time() if at is None else at


# -- op builders --------------------------------------------------------------------------
def start_op(
    run_id: str,
    *,
    owner_id: int | None = None,
    from_statuses: Iterable[str] = NOT_STARTED,
    at: float | None = None,
) -> UpdateRun:
    """Running now (optionally owned by ``owner_id``), if the run still waits to start."""
    return UpdateRun(
        run_id,
        status=RunStatus.RUNNING,
        start_time=_now(at),
        owner_id=owner_id,
        only_if_status=frozenset(from_statuses),
    )


def adopt_op(run_id: str, owner_id: int) -> UpdateRun:
    """A supervisor takes a Queued run over: Starting, owned by it."""
    return UpdateRun(run_id, status=RunStatus.STARTING, owner_id=owner_id, only_if_status=QUEUED)


def preparing_op(run_id: str) -> UpdateRun:
    """Starting → Preparing: the run's environment is being built."""
    return UpdateRun(
        run_id, status=RunStatus.PREPARING, only_if_status=frozenset({RunStatus.STARTING})
    )


def prepared_op(run_id: str) -> UpdateRun:
    """Preparing → Starting: the environment is ready (a cancel request meanwhile stays)."""
    return UpdateRun(
        run_id, status=RunStatus.STARTING, only_if_status=frozenset({RunStatus.PREPARING})
    )


def running_ops(run_id: str, *, at: float | None = None) -> list[UpdateRun]:
    """The job process started: record the start time; Starting → Running.

    Conditional, so a cancel request that came in while starting is not overwritten.
    """
    return [
        UpdateRun(run_id, start_time=_now(at)),
        UpdateRun(run_id, status=RunStatus.RUNNING, only_if_status=frozenset({RunStatus.STARTING})),
    ]


def hand_over_op(run_id: str, owner_id: int, *, from_owner: int | None) -> UpdateRun:
    """Give a Queued run to another owner process, if ``from_owner`` still holds it."""
    return UpdateRun(run_id, owner_id=owner_id, only_if_status=QUEUED, only_if_owner=from_owner)


def owner_op(run_id: str, owner_id: int) -> UpdateRun:
    """Record ``owner_id`` as the run's owner (no status change)."""
    return UpdateRun(run_id, owner_id=owner_id)


def request_cancel_op(run_id: str) -> UpdateRun:
    """Ask the run's owner to stop it (CancelRequested), unless it ended or was asked."""
    return UpdateRun(
        run_id,
        status=RunStatus.CANCEL_REQUESTED,
        only_if_status=frozenset(ACTIVE - {RunStatus.CANCEL_REQUESTED}),
    )


def end_op(
    run_id: str,
    status: str,
    error: Mapping[str, Any] | None = None,
    *,
    from_statuses: Iterable[str] | None = ACTIVE,
    only_if_owner: int | None = None,
    at: float | None = None,
) -> UpdateRun:
    """End the run with a terminal ``status`` (and ``error``), if it is still active.

    ``from_statuses=None`` writes unconditionally (the store still keeps a terminal
    status that is already there).
    """
    if status not in RunStatus.TERMINAL:
        raise ValueError(f"{status!r} is not a terminal status.")
    return UpdateRun(
        run_id,
        status=status,
        end_time=_now(at),
        error=error,
        only_if_status=None if from_statuses is None else frozenset(from_statuses),
        only_if_owner=only_if_owner,
    )


def fail_op(
    run_id: str,
    message: str,
    code: str,
    *,
    from_statuses: Iterable[str] | None = ACTIVE,
    only_if_owner: int | None = None,
) -> UpdateRun:
    """End the run Failed with an error ``{message, code}`` (see ``_details.error_dict``)."""
    return end_op(
        run_id,
        RunStatus.FAILED,
        error_dict(message, code),
        from_statuses=from_statuses,
        only_if_owner=only_if_owner,
    )


def record_error_op(run_id: str, error: Mapping[str, Any]) -> UpdateRun:
    """Keep an error on the run without ending it (the owner ends it later)."""
    return UpdateRun(run_id, error=error)


# -- writes -------------------------------------------------------------------------------
def mark_failed(
    store: TrackingStore,
    run_id: str,
    message: str,
    code: str,
    *,
    from_statuses: Iterable[str] | None = ACTIVE,
    only_if_owner: int | None = None,
) -> None:
    """Mark the run Failed now, unless it ended (or changed owner) meanwhile."""
    store.write(
        [fail_op(run_id, message, code, from_statuses=from_statuses, only_if_owner=only_if_owner)]
    )


def mark_ended(
    store: TrackingStore,
    run_id: str,
    status: str,
    error: Mapping[str, Any] | None = None,
    *,
    from_statuses: Iterable[str] | None = ACTIVE,
    at: float | None = None,
) -> None:
    """End the run with ``status`` now (see :func:`end_op`)."""
    store.write([end_op(run_id, status, error, from_statuses=from_statuses, at=at)])


def cancel_unstarted(store: TrackingStore, run_id: str, owner_id: int) -> None:
    """A run cancelled before it started: its would-be owner records itself and ends it."""
    store.write([owner_op(run_id, owner_id)])
    store.write([end_op(run_id, RunStatus.CANCELED, from_statuses=None)])
