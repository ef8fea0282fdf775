"""Run status transitions, built in one place: every ``CreateRun`` and ``UpdateRun`` is made here.

Every change of a run's status (and of the fields that go with it: start/end time, error,
owner), its creation with a first status, and the few other updates of its record
(display name, description, an imported run's times) is one of the
:class:`~run_widgets.store.CreateRun` / :class:`~run_widgets.store.UpdateRun` operations
built here, with the conditions that make it safe when several processes race. The store
applies them (terminal statuses are sticky: see :mod:`run_widgets.store.rules`).

Two kinds of names:

* op builders (``create_op``, ``start_op``, ``end_op``, ``fail_op``, ...) return an
  operation to put into a larger batch;
* :func:`write` and the ``mark_*`` helpers write transitions now: every status change a
  supervisor, a driver or an executor makes goes through them (the ``Run`` façade's go
  through ``RunCore.write``, which also stamps the attempt).

The attempt records that go with a run's placement and retries (``queued_owner``, the
worker and host of attempt ``n``, ``attempt_<n>``) are write-once properties built here too.

Transitions::

    (create) ──▶ NotStarted | Queued | Running
    NotStarted/Queued ──start──▶ Running ──finalizing──▶ Finalizing ──end──▶ Completed | Failed | Canceled
    Queued ──adopt──▶ Starting (──preparing──▶ Preparing ──prepared──▶ Starting) ──running──▶ Running
    active ──request_cancel──▶ CancelRequested ──(owner)──▶ Canceled
    active ──fail (lost process, lost worker, start error)──▶ Failed
    Preparing/Starting/Running/Finalizing ──lost, attempts left──▶ Queued (a new attempt)

The races each condition settles:

* a cancel request that comes in while a run starts or finalizes is never overwritten
  (``running_ops``, ``finalizing_op`` and ``prepared_op`` change the status only from the one
  they expect);
* a process judged lost that still reports (or two detectors judging the same loss) never
  overwrites a newer owner's run: lost-run ops are conditional on the owner they judged
  (``only_if_owner``) and write the same write-once properties whoever writes them;
* a late "Completed" after a cancel, or after a run was marked lost, changes nothing: the
  store keeps the first terminal status;
* a queued run handed to another process moves only if the handing process still holds it
  (``hand_over_op``).

Layer: tracking (imports the store, ``tracking.details`` and the runtime's attempts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..runtime import attempts
from ..store import AddProperties, CreateRun, RunRecord, RunStatus, TrackingStore, UpdateRun
from ..store.entities import WriteOp
from .details import error_dict

ACTIVE: frozenset[str] = frozenset(RunStatus.ALL - RunStatus.TERMINAL)
"""Statuses of a run that has not ended."""
NOT_STARTED: frozenset[str] = frozenset({RunStatus.NOT_STARTED, RunStatus.QUEUED})
"""Statuses of a run waiting to start."""
QUEUED: frozenset[str] = frozenset({RunStatus.QUEUED})


def _now(at: float | None) -> float:
    return time.time() if at is None else at


# -- op builders --------------------------------------------------------------------------
def create_op(
    run_id: str,
    experiment_name: str,
    *,
    run_type: str,
    status: str,
    parent_id: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    definition: Mapping[str, Any] | None = None,
    tags: Mapping[str, str | None] | None = None,
    properties: Mapping[str, str] | None = None,
    owner_id: int | None = None,
    created_at: float | None = None,
) -> CreateRun:
    """A new run with its first ``status``.

    ``created_at`` (default: now) also tells a resend from a second creation of the same
    id: the store applies the same creation once.
    """
    return CreateRun(
        run_id=run_id,
        experiment_name=experiment_name,
        run_type=run_type,
        status=status,
        parent_id=parent_id,
        display_name=display_name,
        description=description,
        definition=dict(definition or {}),
        tags=dict(tags or {}),
        properties=dict(properties or {}),
        owner_id=owner_id,
        created_at=_now(created_at),
    )


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


def finalizing_op(run_id: str) -> UpdateRun:
    """Running → Finalizing: the job ended, its outputs are being uploaded.

    Conditional, so a cancel request that came in as the job ended stays visible until the
    owner writes the final status.
    """
    return UpdateRun(
        run_id, status=RunStatus.FINALIZING, only_if_status=frozenset({RunStatus.RUNNING})
    )


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
    """End the run Failed with an error ``{message, code}`` (see ``details.error_dict``)."""
    return end_op(
        run_id,
        RunStatus.FAILED,
        error_dict(message, code),
        from_statuses=from_statuses,
        only_if_owner=only_if_owner,
    )


def lost_ops(record: RunRecord, message: str, *, only_if_owner: int | None) -> list[WriteOp]:
    """The run's process (owner ``only_if_owner``) was lost: a new attempt, or Failed.

    A run whose compute target allows retries, with attempts left, goes back to Queued,
    owned by the process that queued it, as attempt ``n + 1`` (see ``runtime.attempts``);
    any other ends Failed with ``message`` (code ``ProcessLost``). Conditional on the owner
    still being the lost one, and written with the same text whoever detects it, so racing
    detectors and a late final status never conflict.
    """
    retry_owner = attempts.retry_owner(record)
    if retry_owner is not None:
        attempt = attempts.attempt_of(record.properties)
        why = f"attempt {attempt} was lost with its process (owner {only_if_owner})"
        return [
            AddProperties(record.id, {f"{attempts.ATTEMPT_PREFIX}{attempt + 1}": why}),
            UpdateRun(
                record.id,
                status=RunStatus.QUEUED,
                owner_id=retry_owner,
                only_if_status=attempts.STARTED,
                only_if_owner=only_if_owner,
            ),
        ]
    return [fail_op(record.id, message, "ProcessLost", only_if_owner=only_if_owner)]


def queued_owner_op(run_id: str, owner_id: int) -> AddProperties:
    """Record who owns the run again if a lost attempt goes back to Queued (write-once)."""
    return AddProperties(run_id, {attempts.QUEUED_OWNER_PROPERTY: str(owner_id)})


def placement_op(run_id: str, attempt: int, placement: Mapping[str, str]) -> AddProperties:
    """Record where ``attempt`` runs (``{"dask_worker": ..., "dask_host": ...}``).

    Write-once, with the attempt's suffix (``dask_worker_2``): of two workers racing to
    take the same attempt, the second one's write fails, so it knows it lost.
    """
    return AddProperties(
        run_id, {attempts.attempt_key(name, attempt): value for name, value in placement.items()}
    )


def record_error_op(run_id: str, error: Mapping[str, Any]) -> UpdateRun:
    """Keep an error on the run without ending it (the owner ends it later)."""
    return UpdateRun(run_id, error=error)


def display_name_op(run_id: str, display_name: str) -> UpdateRun:
    """Rename the run (no status change)."""
    return UpdateRun(run_id, display_name=display_name)


def description_op(run_id: str, description: str) -> UpdateRun:
    """Describe the run (no status change)."""
    return UpdateRun(run_id, description=description)


def imported_op(
    run_id: str,
    *,
    start_time: float | None,
    end_time: float | None,
    error: Mapping[str, Any] | None,
) -> UpdateRun:
    """The times and error of a run imported with its status (e.g. from MLflow)."""
    return UpdateRun(run_id, start_time=start_time, end_time=end_time, error=error)


# -- writes -------------------------------------------------------------------------------
def write(store: TrackingStore, *ops: WriteOp) -> None:
    """Write transitions (and their attempt records) now, in one transaction."""
    store.write(list(ops))


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
    write(
        store,
        fail_op(run_id, message, code, from_statuses=from_statuses, only_if_owner=only_if_owner),
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
    write(store, end_op(run_id, status, error, from_statuses=from_statuses, at=at))


def mark_lost(
    store: TrackingStore, record: RunRecord, message: str, *, only_if_owner: int | None
) -> bool:
    """Write :func:`lost_ops` now; True if the run was requeued for a new attempt."""
    write(store, *lost_ops(record, message, only_if_owner=only_if_owner))
    return attempts.retry_owner(record) is not None


def cancel_unstarted(store: TrackingStore, run_id: str, owner_id: int) -> None:
    """A run cancelled before it started: its would-be owner records itself and ends it."""
    write(store, owner_op(run_id, owner_id))
    write(store, end_op(run_id, RunStatus.CANCELED, from_statuses=None))
