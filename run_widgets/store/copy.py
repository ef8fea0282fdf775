"""Copying a whole workspace between stores: ``python -m run_widgets.store copy``.

:func:`copy_store` copies everything one store holds into another, whatever their
backends (SQLite → PostgreSQL to move to the team store, PostgreSQL → SQLite for a
backup), with the files of its artifacts folder:

* experiments (name, creation time); runs with their ids, numbers, statuses, times,
  errors, definitions, display names, descriptions, tags, properties and parents (a
  parent before its children); where the target lets this client set it, the database
  role that created each run (``created_by``: an owner or a SQLite target keeps it, a
  writer's copy becomes its own);
* every metric, point by point: steps, timestamps and values, through the target's own
  write path, so whatever the target keeps beside the points (summaries, indexes) is
  built as for points logged there;
* registered models (their files first, then the row), environments and compute target
  definitions (:data:`PARTS`: another kind of record adds its own part);
* registered datastores with their sealed credentials *as they are* (still encrypted:
  the copy never decrypts them, so it needs no key and prints none), which one is the
  default; datasets: every registered version with its id, version number and pinned
  content fingerprint, and the saved unnamed definitions runs refer to by id; published
  pipelines (their status kept up to date) and pipeline endpoints (name, versions,
  default version, status);
* the artifacts folder's run files, snapshots, reports, model files and the files of
  the built-in datastores (what datasets registered on them are pinned to).

**Datastore credentials** are sealed under the *workspace secret key* of the user who
registered them (``$RUN_WIDGETS_HOME/secret.key`` or ``RUN_WIDGETS_SECRET_KEY``, see
``run_widgets.data.secrets``), which lives outside the workspace and its store: a copy on
the same machine opens them as the source does, and a machine using the copy needs that
key, as one using the source does. The report names the ids of the keys (never a key).

**Idempotent and resumable.** Each run is compared with its copy: a run copied before
gets only what it lacks (points after the ones it has, tags, properties, a newer status),
so a second copy writes nothing, and a copy interrupted midway goes on where it stopped.
A run too big for one transaction is written in several; until its last one it carries
the tag :data:`MARKER` (``copy in progress``), so a half-copied run never looks finished.

**A live source.** Runs still active when copied are copied as they are, with the tag
:data:`MARKER` saying so and no owner process in the target (their process writes to the
source, not to the copy, so nothing judges them lost there); copying again later brings
what they logged since and their final status, and removes the tag.

Run numbers are kept; a number another run holds in the target's experiment (two
workspaces merged into one) gives the copied run the next free one, and the report says
so. Process owner records are not copied (they describe processes of the source).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar, cast

from ..exceptions import UserErrorException
from . import assets
from .base import TrackingStore
from .entities import (
    AddProperties,
    AppendPoints,
    CreateRun,
    MetricInfo,
    RemoveTags,
    RunRecord,
    RunStatus,
    SetTags,
    UpdateRun,
    WriteOp,
)

MARKER = "run_widgets.copy"
"""Tag of a copied run that may be incomplete: still active in the source, or mid-copy."""
BATCH_POINTS = 250_000
"""Points written to the target in one transaction (a bigger run takes several)."""
FILE_FOLDERS = ("runs", "snapshots", "reports", "models", "datastores")
"""Folders of the artifacts folder that are copied (environments are rebuilt, not copied).

``datastores`` holds the files of the built-in datastores (``workspaceblobstore``,
``workspacefilestore``): the content datasets are pinned to, and pipelines' outputs.
"""

Progress = Callable[[str], None]


@dataclass
class CopyReport:
    """What a copy did (``str(report)`` says it in a few lines).

    Attributes:
        experiments: experiments created in the target.
        runs_created: runs new in the target.
        runs_updated: runs that existed and got what they lacked.
        runs_unchanged: runs already complete in the target.
        points: metric points written.
        active: runs still active in the source (copied as they are, tagged ``MARKER``).
        renumbered: ``run id -> (number in the source, number in the target)``.
        registries: records of models, environments, compute targets, datastores,
            datasets, published pipelines and pipeline endpoints copied, by kind.
        files: files copied (new or changed).
        bytes: their size.
        conflicts: what could not be copied without overwriting the target, in words.
        secret_keys: ids of the workspace secret keys that seal the datastore credentials
            copied (the machines that use the target need these keys; never the keys).
    """

    experiments: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    points: int = 0
    active: list[str] = field(default_factory=list)
    renumbered: dict[str, tuple[int, int]] = field(default_factory=dict)
    registries: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    conflicts: list[str] = field(default_factory=list)
    secret_keys: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        """Whether the copy wrote anything to the target."""
        return bool(
            self.experiments
            or self.runs_created
            or self.runs_updated
            or self.points
            or any(self.registries.values())
            or self.files
        )

    def __str__(self) -> str:
        lines = [
            f"runs: {self.runs_created} copied, {self.runs_updated} brought up to date, "
            f"{self.runs_unchanged} already complete; {self.points:,} metric points; "
            f"{self.experiments} new experiment(s)",
            "registries: "
            + (", ".join(f"{n} {kind}" for kind, n in sorted(self.registries.items())) or "none"),
            f"files: {self.files} copied ({self.bytes:,} bytes)",
        ]
        if self.active:
            lines.append(
                f"{len(self.active)} run(s) were still active and are copied as they were "
                f"(tag {MARKER!r}); copy again once they end: {', '.join(self.active[:5])}"
                + (" ..." if len(self.active) > 5 else "")
            )
        for run_id, (old, new) in sorted(self.renumbered.items()):
            lines.append(f"run {run_id}: number {old} was taken in the target, it is {new}")
        if self.secret_keys:
            lines.append(
                "datastore credentials copied sealed under workspace secret key(s) "
                f"{', '.join(sorted(self.secret_keys))}: a machine that uses the copy needs "
                "the same key ($RUN_WIDGETS_HOME/secret.key or RUN_WIDGETS_SECRET_KEY)"
            )
        lines += [f"not copied: {conflict}" for conflict in self.conflicts]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- runs --
def copy_runs(
    source: TrackingStore,
    target: TrackingStore,
    report: CopyReport,
    progress: Progress,
    batch_points: int = BATCH_POINTS,
) -> None:
    """Copy experiments and runs (parents first), bringing existing copies up to date."""
    for experiment in source.list_experiments():
        if target.get_experiment(experiment.name) is None:
            target.ensure_experiment(experiment.name, created_at=experiment.created_at)
            report.experiments += 1
    runs = sorted(source.find_runs(), key=lambda r: (r.created_at, r.number, r.id))
    done: set[str] = set()
    numbers = _NumberBook(target)
    by_id = {r.id: r for r in runs}
    for index, record in enumerate(runs):
        for run in _with_ancestors(record, by_id, done):
            _copy_run(source, target, run, numbers, report, batch_points)
            done.add(run.id)
        if index % 200 == 199:
            progress(f"{index + 1} of {len(runs)} runs")


def _with_ancestors(
    record: RunRecord, by_id: dict[str, RunRecord], done: set[str]
) -> list[RunRecord]:
    """``record`` after its parents not copied yet (a run always after its parent)."""
    chain: list[RunRecord] = []
    current: RunRecord | None = record
    while current is not None and current.id not in done and current not in chain:
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(chain))


class _NumberBook:
    """The run numbers used in each target experiment, to keep a copied run's number."""

    def __init__(self, target: TrackingStore) -> None:
        self.target = target
        self.used: dict[str, dict[int, str]] = {}

    def number_for(self, record: RunRecord) -> int | None:
        """The source's number if it is free in the target, else ``None`` (the next one)."""
        used = self.used.get(record.experiment_name)
        if used is None:
            experiment = self.target.get_experiment(record.experiment_name)
            runs = self.target.find_runs(experiment_id=experiment.id) if experiment else []
            used = self.used[record.experiment_name] = {r.number: r.id for r in runs}
        holder = used.get(record.number)
        return record.number if holder is None or holder == record.id else None

    def taken(self, record: RunRecord, number: int) -> None:
        self.used.setdefault(record.experiment_name, {})[number] = record.id


def _copy_run(
    source: TrackingStore,
    target: TrackingStore,
    record: RunRecord,
    numbers: _NumberBook,
    report: CopyReport,
    batch_points: int,
) -> None:
    """Copy one run, or bring its copy up to date; nothing is written when they agree.

    A run with at most ``batch_points`` points to copy is written in one transaction;
    a bigger one metric by metric, tagged :data:`MARKER` until its last transaction.
    """
    active = not record.is_terminal
    copied = target.get_run(record.id)
    lacking = _lacking_points(source, target, record, copied, report)
    labels = _label_ops(record, copied, active)
    lifecycle = _lifecycle_op(record, copied)
    if copied is not None and not lacking and not labels and lifecycle is None:
        report.runs_unchanged += 1
        return
    first: list[WriteOp] = []
    if copied is None:
        first.append(_creation(record, numbers.number_for(record), target))
    last: list[WriteOp] = [*labels, *([lifecycle] if lifecycle is not None else [])]
    total = sum(info.n_points - held for info, held in lacking)
    if total <= batch_points:
        points = [op for info, held in lacking for op in _appends(source, record, info, held)]
        target.write([*first, *points, *last])
    else:
        target.write([*first, SetTags(record.id, {MARKER: "copy in progress"})])
        batch: list[WriteOp] = []
        for info, held in lacking:  # one metric in memory at a time
            for op in _appends(source, record, info, held):
                batch.append(op)
                if sum(len(o.times) for o in batch if isinstance(o, AppendPoints)) >= batch_points:
                    target.write(batch)
                    batch = []
        if not active and not any(isinstance(op, RemoveTags) and MARKER in op.keys for op in last):
            last.append(RemoveTags(record.id, (MARKER,)))
        target.write([*batch, *last])
    if copied is None:
        report.runs_created += 1
        stored = target.get_run(record.id)
        if stored is not None:
            numbers.taken(record, stored.number)
            if stored.number != record.number:
                report.renumbered[record.id] = (record.number, stored.number)
    else:
        report.runs_updated += 1
    report.points += total
    if active:
        report.active.append(record.id)


def _lacking_points(
    source: TrackingStore,
    target: TrackingStore,
    record: RunRecord,
    copied: RunRecord | None,
    report: CopyReport,
) -> list[tuple[MetricInfo, int]]:
    """Each source metric the copy lacks points of, with how many points the copy holds."""
    have = {i.name: i for i in target.metric_infos([record.id])} if copied is not None else {}
    lacking: list[tuple[MetricInfo, int]] = []
    for info in source.metric_infos([record.id]):
        mine = have.get(info.name)
        held = mine.n_points if mine is not None else 0
        if mine is not None and (mine.kind != info.kind or held > info.n_points):
            report.conflicts.append(
                f"metric {info.name!r} of run {record.id}: the target's differs from the source's"
            )
        elif held < info.n_points:
            lacking.append((info, held))
    return lacking


def _appends(
    source: TrackingStore, record: RunRecord, info: MetricInfo, held: int
) -> list[AppendPoints]:
    """The appends of the metric's points from point number ``held`` on, chunk by chunk."""
    appends = []
    for chunk in source.read_chunks(record.id, names=[info.name]):
        rest = chunk.since(held)
        if rest is not None:
            appends.append(
                AppendPoints(
                    run_id=record.id,
                    name=info.name,
                    kind=info.kind,
                    values=rest.values,
                    times=rest.times,
                    steps=rest.steps,
                    description=info.description,
                )
            )
    return appends


def _creation(record: RunRecord, number: int | None, target: TrackingStore) -> CreateRun:
    """The creation of ``record``'s copy (lifecycle fields follow in its last batch)."""
    return CreateRun(
        run_id=record.id,
        experiment_name=record.experiment_name,
        run_type=record.run_type,
        status=record.status,
        parent_id=record.parent_id,
        display_name=record.display_name,
        description=record.description,
        definition=dict(record.definition),
        created_at=record.created_at,
        number=number,
        # Only an owner (or a store without roles) may say another role made the run.
        created_by=record.created_by if target.access == "owner" else None,
    )


def _label_ops(record: RunRecord, copied: RunRecord | None, active: bool) -> list[WriteOp]:
    """Tags and properties the copy lacks or has differently; the marker set or removed."""
    wanted: dict[str, str | None] = dict(record.tags)
    if active:
        wanted[MARKER] = (
            f"copied while {record.status} at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; "
            "copy again once it has ended"
        )
    have: dict[str, str | None] = dict(copied.tags) if copied is not None else {}
    if active and MARKER in have and have[MARKER] != "copy in progress":
        wanted[MARKER] = have[MARKER]  # marked already: the same mark, nothing to write
    ops: list[WriteOp] = []
    changed = {k: v for k, v in wanted.items() if k not in have or have[k] != v}
    if changed:
        ops.append(SetTags(record.id, changed))
    gone = tuple(sorted(k for k in have if k not in wanted))
    if gone:
        ops.append(RemoveTags(record.id, gone))
    have_properties = dict(copied.properties) if copied is not None else {}
    missing = {k: v for k, v in record.properties.items() if k not in have_properties}
    if missing:
        ops.append(AddProperties(record.id, missing))
    return ops


_LIFECYCLE = ("status", "start_time", "end_time", "error", "display_name", "description")


def _lifecycle_op(record: RunRecord, copied: RunRecord | None) -> UpdateRun | None:
    """The update that gives the copy the source's status, times, error and names."""
    if (
        copied is not None
        and all(getattr(record, name) == getattr(copied, name) for name in _LIFECYCLE)
        and dict(record.definition) == dict(copied.definition)
    ):
        return None
    if (
        copied is None
        and record.status != RunStatus.RUNNING
        and record.start_time is None
        and (record.end_time is None and record.error is None)
    ):
        return None  # created as it is: nothing more to say
    return UpdateRun(
        record.id,
        status=record.status,
        start_time=record.start_time,
        end_time=record.end_time,
        error=record.error,
        display_name=record.display_name,
        description=record.description,
        definition=dict(record.definition) if copied is not None else None,
        force_status=True,
    )


# ----------------------------------------------------------------------- registries --
R = TypeVar("R")


@dataclass(frozen=True)
class CopyJob:
    """One copy: the store read, the store written, their artifacts folders, the report."""

    source: TrackingStore
    target: TrackingStore
    source_files: Path | None
    target_files: Path | None
    report: CopyReport


def _complete(job: CopyJob, record: object, copy: object) -> bool:
    """The ``update`` of records that never change once saved: a copy is complete."""
    return False


@dataclass(frozen=True)
class CopyPart(Generic[R]):
    """One kind of registry record, and what :func:`copy_part` needs to copy it.

    Attributes:
        label: the report's name for the records written (a key of ``registries``).
        records: every record of the kind a store holds, in the order they are copied
            (read from the source to copy, and from the target to see what it holds).
        key: what a record and its copy have in common (an id, a name...).
        add: writes a record the target lacks; whether it did (a clash is said in the
            report instead).
        update: brings the target's copy (third argument) up to date; whether it wrote.
        finish: what is left to copy once every record is (the default datastore).
    """

    label: str
    records: Callable[[TrackingStore], Iterable[R]]
    key: Callable[[R], Hashable]
    add: Callable[[CopyJob, R], bool]
    update: Callable[[CopyJob, R, R], bool] = _complete
    finish: Callable[[CopyJob], None] | None = None


def _by_id(record: Any) -> Hashable:
    """A record's copy has its id."""
    return cast(Hashable, record.id)


def _by_name(record: Any) -> Hashable:
    """A record's copy has its name."""
    return cast(Hashable, record.name)


def copy_part(part: CopyPart[R], job: CopyJob) -> None:
    """Copy the records of ``part`` the target lacks and bring its copies up to date.

    A second copy finds every record held under its key, so it adds nothing.
    """
    held = {part.key(copy): copy for copy in part.records(job.target)}
    written = 0
    for record in part.records(job.source):
        copy = held.get(part.key(record))
        written += part.add(job, record) if copy is None else part.update(job, record, copy)
    job.report.registries[part.label] = written
    if part.finish is not None:
        part.finish(job)


Unversioned = TypeVar("Unversioned", assets.NewModel, assets.NewDataset)


def _unversioned(kind: type[Unversioned], record: Unversioned) -> Unversioned:
    """A registered version's fields as a ``kind`` to add: the target numbers it anew."""
    return kind(**{f.name: getattr(record, f.name) for f in fields(kind)})


def _say_renumbered(
    report: CopyReport, kind: str, name: str | None, number: int | None, new: int | None
) -> None:
    """Say that version ``number`` of ``name`` is ``new`` in the target (if they differ)."""
    if new != number:
        report.conflicts.append(
            f"{kind} {name}:{number} is version {new} in the target "
            "(the target had other versions of that name)"
        )


def _models(store: TrackingStore) -> list[assets.ModelRecord]:
    """Every model version, by name then version (so the newest copy is the one held)."""
    return sorted(store.list_models(), key=lambda m: (m.name, m.version))


def _add_model(job: CopyJob, model: assets.ModelRecord) -> bool:
    """Copy a model version's files, then register it (as the next version of its name)."""
    if job.source_files is not None and job.target_files is not None:
        _copy_tree(job.source_files / model.storage, job.target_files / model.storage, job.report)
    added = job.target.add_model(_unversioned(assets.NewModel, model))
    _say_renumbered(job.report, "model", model.name, model.version, added.version)
    return True


def _update_model(job: CopyJob, model: assets.ModelRecord, copy: assets.ModelRecord) -> bool:
    """Give a model version's copy the source's tags and the properties it lacks."""
    if dict(copy.tags) == dict(model.tags) and set(model.properties) <= set(copy.properties):
        return False
    job.target.update_model(
        copy.name,
        copy.version,
        set_tags=dict(model.tags),
        remove_tags=[k for k in copy.tags if k not in model.tags],
        add_properties={k: v for k, v in model.properties.items() if k not in copy.properties},
    )
    return True


def _model_key(model: assets.ModelRecord) -> Hashable:
    """A model version's copy has its name, registration time and files (not its number)."""
    return (model.name, model.created_at, model.storage)


MODELS = CopyPart("model versions", _models, _model_key, _add_model, _update_model)
"""Registered model versions: their files, then their rows; tags kept in step."""


def _add_environment(job: CopyJob, environment: assets.EnvironmentRecord) -> bool:
    """Register an environment version's definition (a built environment is rebuilt)."""
    job.target.add_environment(environment.name, environment.definition, environment.created_at)
    return True


def _environment_key(environment: assets.EnvironmentRecord) -> Hashable:
    """An environment version's copy has its name and registration time (not its number)."""
    return (environment.name, environment.created_at)


ENVIRONMENTS = CopyPart(
    "environment versions",
    lambda store: store.list_environments(),
    _environment_key,
    _add_environment,
)
"""Registered environment versions (definitions; built environments are rebuilt)."""


class ComputeTargetRecord(NamedTuple):
    """A compute target definition and its name (the store keeps them apart)."""

    name: str
    definition: dict[str, Any]


def _compute_targets(store: TrackingStore) -> list[ComputeTargetRecord]:
    """Every compute target definition a store holds, with its name."""
    named = ((name, store.get_compute_target(name)) for name in store.list_compute_targets())
    return [ComputeTargetRecord(name, d) for name, d in named if d is not None]


def _add_compute_target(job: CopyJob, compute: ComputeTargetRecord) -> bool:
    """Save a compute target definition under its name."""
    job.target.add_compute_target(compute.name, compute.definition, time.time())
    return True


def _compare_compute_target(
    job: CopyJob, compute: ComputeTargetRecord, copy: ComputeTargetRecord
) -> bool:
    """Keep the target's definition of the name; say it when it differs from the source's."""
    if copy.definition != compute.definition:
        job.report.conflicts.append(
            f"compute target {compute.name!r}: the target has another definition"
        )
    return False


COMPUTE_TARGETS = CopyPart(
    "compute targets", _compute_targets, _by_name, _add_compute_target, _compare_compute_target
)
"""Compute target definitions, by name (an existing different one is kept, and said)."""


def _add_datastore(job: CopyJob, datastore: assets.DatastoreRecord) -> bool:
    """Register a datastore with its credentials as they are: sealed, never opened."""
    copy = job.target.add_datastore(
        datastore.name,
        dict(datastore.definition),
        _plain(datastore.secret),
        datastore.created_at,
    )
    _compare_datastore(job, datastore, copy)
    return True


def _compare_datastore(
    job: CopyJob, datastore: assets.DatastoreRecord, copy: assets.DatastoreRecord
) -> bool:
    """Note the id of the key sealing the credentials; say a copy that differs (kept)."""
    if datastore.secret is not None:
        job.report.secret_keys.add(str(datastore.secret.get("key_id", "unknown")))
    if (dict(copy.definition), _plain(copy.secret)) != (
        dict(datastore.definition),
        _plain(datastore.secret),
    ):
        job.report.conflicts.append(
            f"datastore {datastore.name!r}: the target has another definition or credentials"
        )
    return False


def _plain(secret: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(secret) if secret is not None else None


def _copy_default_datastore(job: CopyJob) -> None:
    """The source's default datastore becomes the target's, unless the target has its own."""
    default = job.source.get_default_datastore_name()
    if default is None:
        return
    theirs = job.target.get_default_datastore_name()
    if theirs is None:
        job.target.set_default_datastore(default)
        job.report.registries["default datastore"] = 1
    elif theirs != default:
        job.report.conflicts.append(
            f"default datastore {default!r}: the target's default is {theirs!r}"
        )


DATASTORES = CopyPart(
    "datastores",
    lambda store: store.list_datastores(),
    _by_name,
    _add_datastore,
    _compare_datastore,
    _copy_default_datastore,
)
"""Registered datastores by name, credentials still sealed; the default flag too.

A name the target holds with another definition or other credentials is kept, and said;
the source's default becomes the target's unless the target has its own.
"""


def _datasets(store: TrackingStore) -> list[assets.DatasetRecord]:
    """Every registered dataset version, then the saved unnamed definitions."""
    return store.list_datasets(unnamed=True)


def _add_dataset(job: CopyJob, dataset: assets.DatasetRecord) -> bool:
    """Save a dataset under its id, pinned to the same content (its version may move)."""
    added = job.target.add_dataset(_unversioned(assets.NewDataset, dataset))
    _say_renumbered(job.report, "dataset", dataset.name, dataset.version, added.version)
    return True


DATASETS = CopyPart("datasets", _datasets, _by_id, _add_dataset)
"""Every dataset by id: registered versions in order (pinned), then unnamed ones.

Datasets never change once saved, so one held by the target under its id is complete.
A version number another dataset holds in the target (two workspaces merged) gives the
copy the next one, and the report says so.
"""


def _add_published_pipeline(job: CopyJob, published: assets.PublishedPipelineRecord) -> bool:
    """Store a published pipeline under its id."""
    job.target.add_published_pipeline(published)
    return True


def _update_published_pipeline(
    job: CopyJob, published: assets.PublishedPipelineRecord, copy: assets.PublishedPipelineRecord
) -> bool:
    """Give a published pipeline's copy the source's status (enabled, disabled)."""
    if copy.status == published.status:
        return False
    job.target.set_published_pipeline_status(published.id, published.status)
    return True


PUBLISHED_PIPELINES = CopyPart(
    "published pipelines",
    lambda store: store.list_published_pipelines(),
    _by_id,
    _add_published_pipeline,
    _update_published_pipeline,
)
"""Published pipelines by id; a copy's status (enabled, disabled) kept in step."""


def _add_pipeline_endpoint(job: CopyJob, endpoint: assets.PipelineEndpointRecord) -> bool:
    """Store an endpoint, unless another endpoint holds its name in the target (said)."""
    if job.target.get_pipeline_endpoint(name=endpoint.name) is not None:
        job.report.conflicts.append(
            f"pipeline endpoint {endpoint.name!r}: the target has another endpoint of that name"
        )
        return False
    job.target.add_pipeline_endpoint(endpoint)
    return True


def _update_pipeline_endpoint(
    job: CopyJob, endpoint: assets.PipelineEndpointRecord, copy: assets.PipelineEndpointRecord
) -> bool:
    """Give an endpoint's copy the versions it lacks, the source's name, default, status.

    A copy whose versions are not the first of the source's is kept, and said.
    """
    held = tuple(copy.pipeline_ids)
    if held != tuple(endpoint.pipeline_ids[: len(held)]):
        job.report.conflicts.append(
            f"pipeline endpoint {endpoint.name!r}: the target's versions differ from the source's"
        )
        return False
    name = _endpoint_name(job, endpoint, copy)
    if (copy.name, copy.default_version, copy.status, len(held)) == (
        name,
        endpoint.default_version,
        endpoint.status,
        len(endpoint.pipeline_ids),
    ):
        return False
    for pipeline_id in endpoint.pipeline_ids[len(held) :]:  # one version at a time
        job.target.update_pipeline_endpoint(endpoint.id, add_pipeline=pipeline_id)
    job.target.update_pipeline_endpoint(
        endpoint.id,
        name=name if name != copy.name else None,
        default_version=endpoint.default_version,
        status=endpoint.status,
    )
    return True


def _endpoint_name(
    job: CopyJob, endpoint: assets.PipelineEndpointRecord, copy: assets.PipelineEndpointRecord
) -> str:
    """The source's name for the copy, unless another endpoint holds it in the target."""
    if copy.name == endpoint.name:
        return endpoint.name
    holder = job.target.get_pipeline_endpoint(name=endpoint.name)
    if holder is None or holder.id == endpoint.id:
        return endpoint.name
    job.report.conflicts.append(
        f"pipeline endpoint {endpoint.name!r}: the target has another endpoint of that "
        f"name (the copy keeps the name {copy.name!r})"
    )
    return copy.name


PIPELINE_ENDPOINTS = CopyPart(
    "pipeline endpoints",
    lambda store: store.list_pipeline_endpoints(),
    _by_id,
    _add_pipeline_endpoint,
    _update_pipeline_endpoint,
)
"""Pipeline endpoints by id: name, versions (added in order), default version, status.

An endpoint's name another endpoint holds in the target is kept, and said; so are
versions that differ from the source's (an endpoint only ever gains versions).
"""

PARTS: list[CopyPart[Any]] = [
    MODELS,
    ENVIRONMENTS,
    COMPUTE_TARGETS,
    DATASTORES,
    DATASETS,
    PUBLISHED_PIPELINES,
    PIPELINE_ENDPOINTS,
]
"""What is copied besides runs, in order: what a record refers to comes first (datastores
before the datasets on them, published pipelines before their endpoints). Another kind
of record appends its part here."""


# ----------------------------------------------------------------------------- files --
def copy_files(source_files: Path, target_files: Path, report: CopyReport) -> None:
    """The run, snapshot, report, model and datastore files the target lacks or has older."""
    if source_files.resolve() == target_files.resolve():
        return
    for folder in FILE_FOLDERS:
        _copy_tree(source_files / folder, target_files / folder, report)


def _copy_tree(source: Path, target: Path, report: CopyReport) -> None:
    """Copy the files of ``source`` missing or different (size, time) in ``target``."""
    if not source.is_dir():
        return
    for root, folders, names in os.walk(source):
        folders[:] = [f for f in folders if not f.startswith(".incoming-")]
        for name in names:
            path = Path(root) / name
            destination = target / path.relative_to(source)
            stat = path.stat()
            if destination.exists():
                existing = destination.stat()
                if existing.st_size == stat.st_size and existing.st_mtime == stat.st_mtime:
                    continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(f".{destination.name}.copying")
            shutil.copy2(path, partial)  # then renamed: a file is complete or absent
            os.replace(partial, destination)
            report.files += 1
            report.bytes += stat.st_size


# -------------------------------------------------------------------------- the copy --
def copy_store(
    source: TrackingStore,
    target: TrackingStore,
    source_files: str | os.PathLike[str] | None = None,
    target_files: str | os.PathLike[str] | None = None,
    *,
    parts: Iterable[CopyPart[Any]] | None = None,
    progress: Progress | None = None,
    batch_points: int = BATCH_POINTS,
) -> CopyReport:
    """Copy everything ``source`` holds into ``target`` (see the module docstring).

    Args:
        source: the store copied from (it is only read).
        target: the store copied to (runs already there are brought up to date).
        source_files: the source's artifacts folder (run files, snapshots, models).
        target_files: the target's artifacts folder; files are copied when both are given.
        parts: what to copy besides runs (default: :data:`PARTS`).
        progress: called with a line now and then (a long copy).
        batch_points: points written in one transaction at most (a bigger run is copied
            in several, tagged ``MARKER`` until the last).

    Returns:
        What was copied.

    Raises:
        StoreError: a store failed (the copy stops; running it again resumes it).
        StorePermissionError: the target's role may not write what the copy needs.
    """
    if same_store(source, target):
        raise UserErrorException(f"Copying the store {source.location} onto itself.")
    report = CopyReport()
    say: Progress = progress or (lambda line: None)
    from_files = Path(source_files) if source_files is not None else None
    to_files = Path(target_files) if target_files is not None else None
    say("copying runs")
    copy_runs(source, target, report, say, batch_points)
    job = CopyJob(source, target, from_files, to_files, report)
    for part in PARTS if parts is None else parts:
        say(f"copying {part.label}")
        copy_part(part, job)
    if from_files is not None and to_files is not None:
        say("copying files")
        copy_files(from_files, to_files, report)
    return report


def same_store(a: TrackingStore, b: TrackingStore) -> bool:
    """Whether two open stores are the same database (a copy onto itself is refused)."""
    return a is b or (a.location == b.location and type(a) is type(b))


__all__ = [
    "BATCH_POINTS",
    "COMPUTE_TARGETS",
    "DATASETS",
    "DATASTORES",
    "ENVIRONMENTS",
    "FILE_FOLDERS",
    "MARKER",
    "MODELS",
    "PARTS",
    "PIPELINE_ENDPOINTS",
    "PUBLISHED_PIPELINES",
    "CopyJob",
    "CopyPart",
    "CopyReport",
    "copy_files",
    "copy_part",
    "copy_runs",
    "copy_store",
    "same_store",
]
