"""Attempts: a run lost with the machine running it may run again, as a new attempt.

A compute target whose definition has ``properties.maxRetries > 0`` (``DaskCompute``'s
``max_retries``) lets a run that its worker lost (``kill -9``, out of memory, machine gone)
go back to Queued instead of ending Failed, up to ``maxRetries`` times. Whoever detects
the loss first (a liveness check, the submitting executor) ends or requeues it through
``tracking.lifecycle.lost_ops``; the submitting side then has the run executed again.

Everything is recorded in write-once properties, so two detectors racing write the same
thing once: attempt ``n >= 2`` adds ``attempt_<n>`` (why it was retried) and its placement
keys get the suffix ``_<n>`` (``dask_worker_2``). The run's current attempt is
``1 + the number of attempt_<n> properties``. The process that queued the run
(``queued_owner``) owns it again while it waits. A process that executes an attempt stamps
what it writes with that attempt (:func:`stamped`), so the store drops what a lost attempt
still sends after its retry began.

Layer: runtime (reads records and properties of the store; writes nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..store import RunRecord, RunStatus, rules

ATTEMPT_PREFIX = rules.ATTEMPT_PREFIX
QUEUED_OWNER_PROPERTY = "queued_owner"
RETRIES_PROPERTY = "maxRetries"
STARTED = frozenset(
    {RunStatus.PREPARING, RunStatus.STARTING, RunStatus.RUNNING, RunStatus.FINALIZING}
)
"""A lost run in these statuses had started on the lost machine: it may run again."""


def attempt_of(properties: Mapping[str, str]) -> int:
    """The run's current attempt (1 for a run that was never retried)."""
    return rules.current_attempt(properties)


def attempt_key(name: str, attempt: int) -> str:
    """The property ``name`` of ``attempt`` (``dask_worker``, ``dask_worker_2``, ...)."""
    return name if attempt <= 1 else f"{name}_{attempt}"


def current(properties: Mapping[str, str], name: str) -> str | None:
    """The property ``name`` of the latest attempt that set it."""
    for attempt in range(attempt_of(properties), 0, -1):
        value = properties.get(attempt_key(name, attempt))
        if value is not None:
            return value
    return None


def max_retries(definition: Mapping[str, Any]) -> int:
    """The retries the run's compute target allows (0 when it names none)."""
    compute = definition.get("compute") or {}
    value = (compute.get("properties") or {}).get(RETRIES_PROPERTY, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def retry_owner(record: RunRecord) -> int | None:
    """The owner a lost run goes back to, Queued, if it may run again; else ``None``.

    It may if it had started, has attempts left, and knows who queued it.
    """
    queued_owner = record.properties.get(QUEUED_OWNER_PROPERTY)
    if (
        record.status in STARTED
        and attempt_of(record.properties) <= max_retries(record.definition)
        and queued_owner is not None
        and queued_owner.isdigit()
    ):
        return int(queued_owner)
    return None


def execution_attempt(record: RunRecord) -> int | None:
    """The attempt a process executing ``record``'s run stamps its writes with.

    Only runs whose target may retry them are fenced (``None`` otherwise): if this attempt
    is declared lost while its process still runs (a worker cut off from the cluster), the
    store drops what it logs, tags or updates after the retry began (``rules``).
    """
    return attempt_of(record.properties) if max_retries(record.definition) > 0 else None


def stamped(ops: Sequence[Any], attempt: int | None) -> list[Any]:
    """``ops`` with ``attempt`` on each op that carries one (unchanged when ``None``)."""
    if attempt is None:
        return list(ops)
    return [
        dataclasses.replace(op, attempt=attempt) if hasattr(op, "attempt") else op for op in ops
    ]


def replaced_by(attempt: int | None, record: RunRecord) -> int | None:
    """The later attempt of ``record``'s run that replaced ``attempt``, if one did.

    ``None`` for a current attempt, and for a process that is not fenced (``attempt`` None).
    """
    if attempt is None:
        return None
    current = attempt_of(record.properties)
    return current if current > attempt else None
