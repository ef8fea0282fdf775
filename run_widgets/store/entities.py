"""Frozen records returned by the tracking store, and the write operations it accepts.

Records are snapshots: reading the store again gives new records, nothing mutates one in
place. Write operations are small frozen dataclasses that all funnel into
``TrackingStore.write``, the single batch primitive, so a batch is applied in one
transaction or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt


class RunStatus:
    """The run statuses of Azure ML SDK v1, as plain strings."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    STARTING = "Starting"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"

    TERMINAL: frozenset[str] = frozenset({COMPLETED, FAILED, CANCELED})
    ALL: frozenset[str] = frozenset(
        {
            NOT_STARTED,
            QUEUED,
            PREPARING,
            STARTING,
            RUNNING,
            FINALIZING,
            CANCEL_REQUESTED,
            COMPLETED,
            FAILED,
            CANCELED,
        }
    )

    @classmethod
    def is_terminal(cls, status: str) -> bool:
        """Return True for Completed, Failed and Canceled."""
        return status in cls.TERMINAL


MetricKind = Literal["scalar", "list", "row", "table", "image", "artifact"]
"""How a metric was logged: ``log``, ``log_list``, ``log_row``, ``log_table``, ``log_image``,
or one of the JSON-artifact calls (``log_confusion_matrix`` and friends)."""

TABLE_KINDS = frozenset({"row", "table"})
CALL_OF_KIND = {
    "scalar": "run.log",
    "list": "run.log_list",
    "row": "run.log_row",
    "table": "run.log_table",
    "image": "run.log_image",
    "artifact": "a JSON artifact call (log_confusion_matrix, ...)",
}


EMPTY_MAP: Mapping[str, Any] = MappingProxyType({})

AUTO_STEP = int(np.iinfo(np.int64).min)
"""Marks, inside an explicit steps array, a point whose step is "previous step + 1"."""


def _empty() -> Mapping[str, Any]:
    return EMPTY_MAP


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment: a named group of runs."""

    id: int
    name: str
    created_at: float


@dataclass(frozen=True)
class RunRecord:
    """One run as stored, with its tags and properties.

    Times are seconds since the epoch (UTC); ``None`` where the event has not happened.
    ``owner_id`` is the process that runs it (liveness); ``created_by`` the database role
    that created it (where the store has roles: it alone changes the run).
    """

    id: str
    experiment_id: int
    experiment_name: str
    parent_id: str | None
    number: int
    display_name: str | None
    description: str | None
    run_type: str
    status: str
    created_at: float
    start_time: float | None
    end_time: float | None
    error: Mapping[str, Any] | None
    definition: Mapping[str, Any]
    owner_id: int | None
    change_seq: int
    tags: Mapping[str, str | None] = field(default_factory=_empty)
    properties: Mapping[str, str] = field(default_factory=_empty)
    created_by: str | None = None

    @property
    def is_terminal(self) -> bool:
        """True when the status is Completed, Failed or Canceled."""
        return self.status in RunStatus.TERMINAL


@dataclass(frozen=True)
class MetricInfo:
    """The header of one metric of one run: its kind and a summary of its points.

    ``last_value`` is the most recent value (a row dict for row/table metrics), and
    ``min_value``/``max_value`` cover the numeric points only (``None`` if there are none).
    """

    id: int
    run_id: str
    name: str
    kind: MetricKind
    description: str
    n_points: int
    last_step: int | None
    last_value: Any
    first_value: Any
    min_value: float | None
    max_value: float | None
    columns: tuple[str, ...]


ArrayF8 = npt.NDArray[np.float64]
ArrayI8 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PointChunk:
    """A packed block of consecutive points of one metric, as stored by one flush.

    ``values`` is a numpy array for homogeneous numeric points and a list otherwise; for
    row/table metrics it is a ``{column: list}`` dictionary.
    """

    id: int
    run_id: str
    metric_id: int
    metric_name: str
    kind: MetricKind
    first_index: int
    steps: ArrayI8
    times: ArrayF8
    values: Any

    @property
    def n(self) -> int:
        """Number of points in the chunk."""
        return len(self.steps)

    def since(self, index: int) -> PointChunk | None:
        """The part of the chunk from point ``index`` of the metric on (``None`` if empty).

        Incremental readers call it with the number of points they already hold: after
        :meth:`TrackingStore.compact_run` merged chunks, a merged chunk can repeat points
        a reader has, and this drops them.
        """
        skip = index - self.first_index
        if skip <= 0:
            return self
        if skip >= self.n:
            return None
        values = self.values
        if isinstance(values, dict):
            values = {column: cells[skip:] for column, cells in values.items()}
        else:
            values = values[skip:]
        return replace(
            self,
            first_index=index,
            steps=self.steps[skip:],
            times=self.times[skip:],
            values=values,
        )


@dataclass(frozen=True)
class OwnerRecord:
    """A process that owns active runs, with its last heartbeat."""

    id: int
    host: str
    pid: int
    pid_started_at: float
    heartbeat_at: float


# ---------------------------------------------------------------------------------------
# Write operations: the only way to change the store, always through TrackingStore.write.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateRun:
    """Create a run (and its experiment row if needed).

    ``number`` (default: the experiment's next) and ``created_by`` (default: the client's
    database role, where the store has roles) are given only when a run is copied from
    another store; row-level security refuses a ``created_by`` other than the writer's own.
    """

    run_id: str
    experiment_name: str
    run_type: str
    status: str
    parent_id: str | None = None
    display_name: str | None = None
    description: str | None = None
    definition: Mapping[str, Any] = field(default_factory=_empty)
    tags: Mapping[str, str | None] = field(default_factory=_empty)
    properties: Mapping[str, str] = field(default_factory=_empty)
    owner_id: int | None = None
    created_at: float | None = None
    number: int | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class UpdateRun:
    """Change fields of a run. ``None`` leaves a field alone.

    ``status`` is ignored when the run is already terminal (terminal statuses are sticky)
    unless ``force_status`` is set; ``only_if_status`` and ``only_if_owner`` make the whole
    update conditional on the run's current status and owner.
    """

    run_id: str
    status: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    error: Mapping[str, Any] | None = None
    display_name: str | None = None
    description: str | None = None
    definition: Mapping[str, Any] | None = None
    owner_id: int | None = None
    only_if_status: frozenset[str] | None = None
    only_if_owner: int | None = None
    force_status: bool = False
    attempt: int | None = None  # the attempt that wrote it (see ``AppendPoints``)


@dataclass(frozen=True)
class SetTags:
    """Set (overwrite) tags of a run."""

    run_id: str
    tags: Mapping[str, str | None]
    attempt: int | None = None  # the attempt that wrote it (see ``AppendPoints``)


@dataclass(frozen=True)
class RemoveTags:
    """Remove tags of a run; missing keys are ignored."""

    run_id: str
    keys: tuple[str, ...]
    attempt: int | None = None  # the attempt that wrote it (see ``AppendPoints``)


@dataclass(frozen=True)
class AddProperties:
    """Add write-once properties; a different value for an existing key fails the batch."""

    run_id: str
    properties: Mapping[str, str]
    attempt: int | None = None  # the attempt that wrote it (see ``AppendPoints``)


@dataclass(frozen=True)
class AppendPoints:
    """Append points to one metric of a run, creating the metric on first use.

    ``values`` is a numpy array or a list of scalars; for row/table metrics a
    ``{column: list}`` dictionary with equal-length columns. ``steps=None`` numbers the points
    after the metric's last step; inside an array, ``AUTO_STEP`` does so for one point.

    ``writer`` and ``seq`` (set by a process's log buffers) name who sent the points and
    their place in that writer's sequence. A store applies each writer's appends once, in
    increasing ``seq``: a batch sent again because the answer to its COMMIT was lost (the
    connection cut at that moment) does not add its points twice. ``attempt`` (set in a
    job of a run its target may retry) is the run's attempt that logged them: once the run
    has moved on to a later attempt, the store drops them (``rules.superseded_ops``); the
    same holds for the job's tags, properties and run updates (their ``attempt``).
    """

    run_id: str
    name: str
    kind: MetricKind
    values: Any
    times: ArrayF8
    steps: ArrayI8 | None = None
    description: str = ""
    writer: str | None = None
    seq: int = 0
    attempt: int | None = None


WriteOp = CreateRun | UpdateRun | SetTags | RemoveTags | AddProperties | AppendPoints


def describe_ops(ops: Sequence[WriteOp]) -> str:
    """What a batch of write ops does, in words, for messages (``log metrics to run 1a2b``)."""
    if not ops:
        return "write to the tracking store"
    kinds = {type(op) for op in ops}
    runs = sorted({op.run_id for op in ops})
    target = (
        f"run {runs[0]}"
        if len(runs) == 1
        else f"runs {', '.join(runs[:3])}" + (", ..." if len(runs) > 3 else "")
    )
    for op in ops:
        if isinstance(op, CreateRun):
            return f"create {target} in experiment {op.experiment_name!r}"
    if kinds == {AppendPoints}:
        return f"log metrics to {target}"
    if kinds <= {SetTags, RemoveTags}:
        return f"change the tags of {target}"
    if kinds == {AddProperties}:
        return f"add properties to {target}"
    return f"change {target}"
