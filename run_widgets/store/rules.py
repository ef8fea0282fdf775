"""Backend-independent rules of the tracking store, as pure functions: all of them.

Every backend applies the same rules when it executes a write (the SQL backends through
the one write path of :class:`run_widgets.store.sql.SqlStore`); keeping them here, free of
SQL and connections, means a second backend cannot drift from the first. In the order a
write meets them:

* text a store keeps or looks up holds no NUL character (PostgreSQL text cannot hold it,
  SQLite cuts C strings at it) and is valid Unicode (no lone surrogate: it has no UTF-8
  form): refused alike on every backend, for what a run keeps by :func:`check_text`, for
  every other statement parameter by the SQL dialect (:func:`unstorable_reason`);
* each writer's appends applied once, in sequence: a batch resent because its COMMIT's
  answer was lost adds nothing (:func:`unapplied_appends`);
* attempt fencing: a run's current attempt (:func:`current_attempt`), and the ops of an
  attempt that a retry replaced dropped (:func:`superseded_ops`);
* creating a run: the same creation sent again is a no-op, any other creation of an
  existing id fails (:func:`is_resent_creation`, :func:`check_existing_creation`); runs are
  numbered per experiment, 1 + the largest number so far (:func:`next_number`); a run
  created Running is started now (:func:`start_time_for`);
* conditional updates (``only_if_status``, ``only_if_owner``) and sticky terminal
  statuses: once Completed/Failed/Canceled, only ``force_status`` changes the lifecycle
  columns (:func:`run_update`);
* write-once properties (:func:`new_properties`), for runs and for registered models
  (:func:`merge_model_labels`);
* metric kinds: rows and tables mix, other kinds never share a name
  (:func:`merge_metric_kinds`);
* step resolution: ``steps=None`` continues from the stored last step, ``AUTO_STEP``
  entries inside an explicit array mean "previous step + 1" (:func:`resolve_steps`);
* metric summaries kept beside the points: count, last step, first/last value, numeric
  min/max, table columns (:func:`summarize_append`);
* compaction grouping of small consecutive chunks (:func:`mergeable_groups`).

What a backend must guarantee itself (atomic batches, commit-ordered cursors) is the
contract of :class:`run_widgets.store.base.TrackingStore`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..exceptions import UserErrorException
from . import codec
from .entities import (
    AUTO_STEP,
    CALL_OF_KIND,
    TABLE_KINDS,
    AddProperties,
    AppendPoints,
    CreateRun,
    MetricInfo,
    MetricKind,
    RemoveTags,
    RunStatus,
    SetTags,
    UpdateRun,
    WriteOp,
)

__all__ = [
    "ATTEMPT_PREFIX",
    "MAX_REGISTRY_NAME",
    "MERGED_CHUNK",
    "MIN_CHUNKS_TO_COMPACT",
    "SMALL_CHUNK",
    "MetricSummary",
    "RunState",
    "check_existing_creation",
    "check_registry_name",
    "check_storable",
    "check_text",
    "creation_fingerprint",
    "current_attempt",
    "is_resent_creation",
    "merge_columns",
    "merge_metric_kinds",
    "merge_model_labels",
    "mergeable_groups",
    "new_properties",
    "next_number",
    "next_run_number",
    "point_count",
    "resolve_steps",
    "run_update",
    "run_update_fields",
    "start_time_for",
    "status_allows",
    "summarize_append",
    "superseded_ops",
    "unapplied_appends",
    "unstorable_reason",
]

MAX_REGISTRY_NAME = 255
"""Longest name of a registered model, environment or compute target, in characters."""
ATTEMPT_PREFIX = "attempt_"
"""Properties ``attempt_<n>`` (n >= 2) record why a run was retried (see ``_attempts``)."""
SMALL_CHUNK = 4096
"""Chunks with fewer points than this are merged by compaction."""
MERGED_CHUNK = 1 << 18
"""Largest number of points compaction puts into one merged chunk."""
MIN_CHUNKS_TO_COMPACT = 16
"""A metric is compacted once it has at least this many small chunks."""


def merge_metric_kinds(stored: str, new: str, name: str) -> MetricKind:
    """The kind a metric has after logging ``new`` points to a ``stored`` one.

    Rows and tables mix (the result is a table); any other change is refused, because the
    shape ``get_metrics`` returns would silently change.

    Raises:
        UserErrorException: the two kinds cannot share one metric name.
    """
    if stored == new:
        return new  # type: ignore[return-value]
    if stored in TABLE_KINDS and new in TABLE_KINDS:
        return "table"
    raise UserErrorException(
        f"Metric {name!r} was logged with {CALL_OF_KIND[stored]}; it cannot also be logged "
        f"with {CALL_OF_KIND[new]}. Use another metric name."
    )


# -- text -------------------------------------------------------------------------------
def unstorable_reason(text: str) -> str | None:
    r"""Why no tracking store can keep or look up ``text``, or ``None`` if every one can.

    A NUL character: PostgreSQL's text cannot hold it and SQLite ends C strings (and LIKE
    patterns) at it. A lone surrogate (``"\ud800"``, from decoding bytes with
    ``surrogateescape``): not valid Unicode, with no UTF-8 form for either database.
    """
    if "\x00" in text:
        return "contains a NUL character (\\x00)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (it is not valid Unicode text)"
    return None


def check_storable(text: Any, what: str) -> None:
    """Refuse ``text`` (when it is a str) that no tracking store can keep.

    Raises:
        UserErrorException: naming ``what`` and why.
    """
    if isinstance(text, str):
        reason = unstorable_reason(text)
        if reason is not None:
            raise UserErrorException(
                f"The {what} {text[:80]!r} {reason}, which a tracking store cannot keep "
                "(PostgreSQL and SQLite alike)."
            )


def check_registry_name(name: Any, what: str) -> None:
    """Refuse a registry name (model, environment, compute target...) no store can index.

    Names are keys of unique indexes: at most ``MAX_REGISTRY_NAME`` characters (a
    PostgreSQL index entry holds about 2.7 kB) and storable text.

    Raises:
        UserErrorException: naming ``what`` and why.
    """
    if isinstance(name, str) and len(name) > MAX_REGISTRY_NAME:
        raise UserErrorException(
            f"The {what} {name[:40]!r}... is {len(name)} characters long; the limit is "
            f"{MAX_REGISTRY_NAME}."
        )
    check_storable(name, what)


def check_text(op: WriteOp) -> None:
    """Refuse an op whose names, labels or descriptions no store can keep (NUL, surrogates).

    PostgreSQL's text columns cannot hold NUL, and neither database takes text that is not
    valid Unicode, so the rule is the same on every backend: a workspace that works on
    SQLite keeps working on the team store. (Metric *values* are packed into blobs and may
    hold any string.)

    Raises:
        UserErrorException: naming the field and what is wrong with it.
    """
    fields: list[tuple[str, Any]] = [("run id", op.run_id)]
    if isinstance(op, CreateRun):
        fields += [
            ("experiment name", op.experiment_name),
            ("run type", op.run_type),
            ("status", op.status),
            ("parent id", op.parent_id),
            ("display name", op.display_name),
            ("description", op.description),
        ]
        fields += _labels("tag", op.tags) + _labels("property", op.properties)
    elif isinstance(op, UpdateRun):
        fields += [
            ("status", op.status),
            ("display name", op.display_name),
            ("description", op.description),
        ]
    elif isinstance(op, SetTags):
        fields += _labels("tag", op.tags)
    elif isinstance(op, RemoveTags):
        fields += [("tag key", key) for key in op.keys]
    elif isinstance(op, AddProperties):
        fields += _labels("property", op.properties)
    elif isinstance(op, AppendPoints):
        fields += [("metric name", op.name), ("metric description", op.description)]
    for what, text in fields:
        check_storable(text, f"{what} of run {op.run_id!r}" if what != "run id" else what)


def _labels(what: str, labels: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(f"{what} key", k) for k in labels] + [(f"{what} value", v) for v in labels.values()]


# -- runs ---------------------------------------------------------------------------------
def next_number(largest_so_far: int | None) -> int:
    """The next number of a sequence whose largest number so far is given (1 for none).

    Runs are numbered per experiment, registered models and environments per name.
    """
    return 1 if largest_so_far is None else int(largest_so_far) + 1


def next_run_number(largest_so_far: int | None) -> int:
    """The number of a new run in an experiment whose largest run number is given."""
    return next_number(largest_so_far)


def start_time_for(status: str, now: float) -> float | None:
    """A new run's start time: ``now`` if it is created Running, else not started yet."""
    return now if status == RunStatus.RUNNING else None


def creation_fingerprint(op: CreateRun) -> tuple[Any, ...]:
    """What identifies one creation of a run, as the columns a store compares for a resend.

    ``experiment name, parent, type, owner, definition (JSON text), created_at``.
    """
    return (
        op.experiment_name,
        op.parent_id,
        op.run_type,
        op.owner_id,
        codec.dumps_json(dict(op.definition)),
        op.created_at,
    )


def is_resent_creation(op: CreateRun, stored: Sequence[Any] | None) -> bool:
    """Whether the existing run is exactly what ``op`` made (a resend of ``op``).

    ``stored`` holds the run's :func:`creation_fingerprint` columns. A resend is ``op``
    sent again after its COMMIT's answer was lost: the same id, experiment, parent, type,
    owner, definition and the creation time the client stamped on it (a second creation
    of an id, even from the same process, has another). An op without ``created_at`` is
    never taken for a resend.
    """
    return (
        op.created_at is not None
        and stored is not None
        and tuple(stored) == creation_fingerprint(op)
    )


def check_existing_creation(op: CreateRun, stored: Sequence[Any] | None) -> None:
    """Accept a creation of a run id that exists already only as a resend (a no-op).

    Raises:
        UserErrorException: the id is taken by another creation.
    """
    if not is_resent_creation(op, stored):
        raise UserErrorException(f"A run with id {op.run_id!r} already exists.")


@dataclass(frozen=True)
class RunState:
    """What the update rules read of a stored run: its status and owner."""

    status: str
    owner_id: int | None = None


def run_update(op: UpdateRun, state: RunState) -> tuple[dict[str, Any], RunState] | None:
    """The run fields ``op`` changes and the run's state afterwards, or ``None`` to skip it.

    ``op`` is skipped silently when its condition fails: ``only_if_status`` (the run is in
    none of those statuses) or ``only_if_owner`` (another process owns the run). It is
    skipped too when it changes nothing (see :func:`run_update_fields`).
    """
    if not status_allows(op, state.status):
        return None
    if op.only_if_owner is not None and state.owner_id != op.only_if_owner:
        return None
    fields = run_update_fields(op, state.status)
    if not fields:
        return None
    after = RunState(
        status=str(fields.get("status", state.status)),
        owner_id=fields.get("owner_id", state.owner_id),
    )
    return fields, after


def run_update_fields(op: UpdateRun, current_status: str) -> dict[str, Any]:
    """The run fields ``op`` changes, given the run's current status.

    Lifecycle fields (status, times, error, owner) of a run in a terminal status stay as
    they are unless ``op.force_status``: a late "Completed" from a process that was already
    marked Failed by a reader must not win. ``error`` and ``definition`` are returned as
    plain dicts; the backend encodes them. The conditions ``only_if_status`` and
    ``only_if_owner`` are checked by :func:`run_update`.
    """
    fields: dict[str, Any] = {}
    if current_status not in RunStatus.TERMINAL or op.force_status:
        if op.status is not None:
            fields["status"] = op.status
        if op.start_time is not None:
            fields["start_time"] = op.start_time
        if op.end_time is not None:
            fields["end_time"] = op.end_time
        if op.error is not None:
            fields["error"] = dict(op.error)
        if op.owner_id is not None:
            fields["owner_id"] = op.owner_id
    if op.display_name is not None:
        fields["display_name"] = op.display_name
    if op.description is not None:
        fields["description"] = op.description
    if op.definition is not None:
        fields["definition"] = dict(op.definition)
    return fields


def status_allows(op: UpdateRun, current_status: str) -> bool:
    """Whether ``op``'s ``only_if_status`` condition holds for a run in ``current_status``."""
    return op.only_if_status is None or current_status in op.only_if_status


def new_properties(
    run_id: str, existing: Mapping[str, Any], wanted: Mapping[str, Any]
) -> dict[str, Any]:
    """The properties of ``wanted`` that are not stored yet (properties are write-once).

    Raises:
        UserErrorException: a key is already set to a different value.
    """
    for key, value in wanted.items():
        if key in existing and existing[key] != value:
            raise UserErrorException(
                f"Property {key!r} of run {run_id} is already set to "
                f"{existing[key]!r}; properties are write-once and cannot be changed "
                f"to {value!r}. Use a tag for values that change."
            )
    return {k: v for k, v in wanted.items() if k not in existing}


def merge_model_labels(
    model_id: str,
    tags: Mapping[str, str],
    properties: Mapping[str, str],
    set_tags: Mapping[str, str] | None,
    remove_tags: Sequence[str],
    add_properties: Mapping[str, str] | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """A registered model's tags and properties after an update (properties write-once).

    Raises:
        UserErrorException: a property is already set to a different value.
    """
    merged_tags = {**tags, **(set_tags or {})}
    for key in remove_tags:
        merged_tags.pop(key, None)
    merged_properties = dict(properties)
    for key, value in (add_properties or {}).items():
        if key in merged_properties and merged_properties[key] != value:
            raise UserErrorException(
                f"Property {key!r} of model {model_id} is already {merged_properties[key]!r}; "
                "model properties cannot be changed once set."
            )
        merged_properties[key] = value
    return merged_tags, merged_properties


# -- metric points ------------------------------------------------------------------------
def point_count(values: Any, table: bool) -> int:
    """Number of points in the values of one ``AppendPoints``."""
    if table:
        columns = list(values.values())
        return len(columns[0]) if columns else 0
    return len(values)


def resolve_steps(
    steps: Sequence[int] | np.ndarray | None, n: int, last_step: int | None
) -> np.ndarray:
    """Explicit step of each of ``n`` new points of a metric whose last stored step is given.

    ``None`` numbers the points on from the last step (from 0 for a new metric); inside an
    explicit array, ``AUTO_STEP`` means "the previous point's step + 1".
    """
    if steps is None:
        start = 0 if last_step is None else int(last_step) + 1
        return np.arange(start, start + n, dtype=np.int64)
    given = np.asarray(steps, dtype=np.int64)
    auto = given == AUTO_STEP
    if not auto.any():
        return given
    resolved: np.ndarray = np.array(given, dtype=np.int64)
    previous = -1 if last_step is None else int(last_step)
    for index in range(len(resolved)):
        if auto[index]:
            resolved[index] = previous + 1
        previous = int(resolved[index])
    return resolved


@dataclass(frozen=True)
class MetricSummary:
    """The header a backend keeps beside a metric's points (see ``MetricInfo``)."""

    kind: str
    n_points: int = 0
    last_step: int | None = None
    first_value: Any = None
    last_value: Any = None
    min_value: float | None = None
    max_value: float | None = None
    columns: tuple[str, ...] = ()
    description: str | None = None

    @classmethod
    def of(cls, info: MetricInfo) -> MetricSummary:
        """The summary part of a stored metric header (the fields of the same names)."""
        return cls(**{f.name: getattr(info, f.name) for f in fields(cls)})


def summarize_append(
    previous: MetricSummary | None, op: AppendPoints
) -> tuple[MetricSummary, np.ndarray] | None:
    """The metric header after appending ``op``'s points, and the resolved steps.

    ``previous`` is the stored header (``None`` for a new metric). Returns ``None`` when
    ``op`` holds no points (nothing is written).

    Raises:
        UserErrorException: ``op.kind`` cannot share the metric name with the stored kind.
    """
    table = op.kind in TABLE_KINDS
    n = point_count(op.values, table)
    if n == 0:
        return None
    if previous is None:
        kind: str = op.kind
        base = MetricSummary(kind=op.kind, description=op.description)
    else:
        kind = merge_metric_kinds(previous.kind, op.kind, op.name)
        base = previous
    steps = resolve_steps(op.steps, n, base.last_step)
    columns = list(base.columns)
    if table:
        columns += [c for c in op.values if c not in columns]
    lo, hi = base.min_value, base.max_value
    chunk_lo, chunk_hi = _numeric_range(op.values, table)
    if chunk_lo is not None and chunk_hi is not None:
        lo = chunk_lo if lo is None else min(lo, chunk_lo)
        hi = chunk_hi if hi is None else max(hi, chunk_hi)
    first, last = _first_last(op.values, table)
    summary = MetricSummary(
        kind=kind,
        n_points=base.n_points + n,
        last_step=int(steps[-1]),
        first_value=first if previous is None else previous.first_value,
        last_value=last,
        min_value=lo,
        max_value=hi,
        columns=tuple(columns),
        description=base.description or op.description,
    )
    return summary, steps


def _numeric_range(values: Any, table: bool) -> tuple[float | None, float | None]:
    if table:
        return None, None
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        if finite.size == 0:
            return None, None
        return float(finite.min()), float(finite.max())
    numbers = [
        v
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
    ]
    if not numbers:
        return None, None
    return float(min(numbers)), float(max(numbers))


def _first_last(values: Any, table: bool) -> tuple[Any, Any]:
    if table:
        columns: Mapping[str, list[Any]] = values
        first = {name: column[0] for name, column in columns.items()}
        last = {name: column[-1] for name, column in columns.items()}
        return first, last
    first, last = values[0], values[-1]
    if isinstance(first, np.generic):
        first = first.item()
    if isinstance(last, np.generic):
        last = last.item()
    return first, last


# -- compaction ---------------------------------------------------------------------------
def mergeable_groups(rows: Sequence[tuple[int, int, str]]) -> list[list[int]]:
    """Ids of consecutive small chunks with one encoding, grouped up to ``MERGED_CHUNK`` points.

    ``rows`` are ``(chunk id, point count, value encoding)`` of one metric in point order.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    size, encoding = 0, None
    for chunk_id, n, dtype in rows:
        if n >= SMALL_CHUNK or dtype != encoding or size + n > MERGED_CHUNK:
            if len(current) > 1:
                groups.append(current)
            current, size, encoding = [], 0, dtype
            if n >= SMALL_CHUNK:
                continue
        current.append(chunk_id)
        size += n
    if len(current) > 1:
        groups.append(current)
    return groups


def merge_columns(
    blocks: list[dict[str, list[Any]]], counts: Sequence[int]
) -> dict[str, list[Any]]:
    """Table blocks (column → values) joined into one, missing columns filled with ``None``."""
    columns: list[str] = []
    for block in blocks:
        columns += [c for c in block if c not in columns]
    merged: dict[str, list[Any]] = {c: [] for c in columns}
    for block, n in zip(blocks, counts, strict=True):
        for column in columns:
            merged[column].extend(block.get(column, [None] * n))
    return merged


def unapplied_appends(
    ops: Sequence[WriteOp], applied: Mapping[str, int]
) -> tuple[list[WriteOp], dict[str, int]]:
    """``ops`` without the appends their writers' progress says are stored already.

    ``applied`` maps a writer to the highest ``seq`` of its appends the store holds. A
    writer sends its appends in increasing ``seq`` and resends a batch only when it could
    not learn whether the batch was committed, so an append at or below that mark is a
    duplicate. Returns the ops to apply and the writers' new marks.
    """
    kept: list[WriteOp] = []
    progress: dict[str, int] = {}
    for op in ops:
        if isinstance(op, AppendPoints) and op.writer is not None:
            if op.seq <= applied.get(op.writer, 0):
                continue
            progress[op.writer] = max(progress.get(op.writer, 0), op.seq)
        kept.append(op)
    return kept, progress


def current_attempt(property_keys: Iterable[str]) -> int:
    """The run's current attempt: 1 + its ``attempt_<n>`` properties (one per retry)."""
    n = len(ATTEMPT_PREFIX)
    return 1 + sum(1 for k in property_keys if k.startswith(ATTEMPT_PREFIX) and k[n:].isdigit())


def superseded_ops(ops: Sequence[WriteOp], attempts: Mapping[str, int]) -> list[WriteOp]:
    """``ops`` without those an earlier attempt of their run wrote.

    ``attempts`` maps run ids to their current attempt. A process whose attempt was
    declared lost (its machine cut off) but that still runs must not add to, tag, or
    update the run that its retry is writing now; what it wrote before the loss stays.
    Ops without an ``attempt`` (not from a job of a retryable run) always apply.
    """
    return [op for op in ops if not _superseded(op, attempts)]


def _superseded(op: WriteOp, attempts: Mapping[str, int]) -> bool:
    attempt = getattr(op, "attempt", None)
    return attempt is not None and attempt < attempts.get(op.run_id, 1)
