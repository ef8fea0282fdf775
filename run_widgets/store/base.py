"""The narrow, backend-neutral interface every tracking-store backend implements.

Layers above (workspace, experiment, run, views) only use these methods, so another
backend is added without touching them: implement this class (a SQL database: subclass
:class:`run_widgets.store.sql.SqlStore` and write its dialect), apply the rules of
:mod:`run_widgets.store.rules` inside :meth:`TrackingStore.write`, and declare the backend
(:class:`StoreBackend`: its URI schemes and where its builder lives) so the registry
(:mod:`run_widgets.store.registry`) opens its URIs. All changes go through
:meth:`TrackingStore.write`; everything else reads.

Ordering contract of incremental reads
--------------------------------------
Views poll with cursors: ``find_runs(changed_after=seq)`` for runs and
``read_chunks(run_id, after_chunk_id=id)`` for metric points. A reader keeps the largest
seq / chunk id it has seen and asks only for what lies after it, so every backend must
guarantee, for each cursor:

1. **Commit order.** If write A committed before write B began, every seq and chunk id
   that B assigns is greater than every one A assigned. (Concurrent writes may interleave
   in any order, but never "late commit with a lower id".)
2. **No gaps visible to a reader.** When a reader sees seq ``s`` (or chunk id ``c``), every
   write holding a smaller seq (chunk id) has already committed or will never commit. A
   reader must never skip a chunk that commits late with a lower id than one it has seen.
3. **Stable ids.** An id, once visible, keeps meaning the same run change / points
   (compaction may merge chunks: the merged chunk keeps the *largest* id of the chunks it
   replaces and repeats points a reader holds; readers drop them with ``PointChunk.since``).

SQLite gives 1-2 for free: writers are serialized (``BEGIN IMMEDIATE``) and ids come from
the same transaction. A server backend with concurrent writers must serialize the
assignment of seq/chunk ids with the commit (e.g. take the ``meta.seq`` row lock first in
every write transaction and number chunks from it), or else return only ids below the
oldest still-open writer's (a "visible horizon"); sequences alone (which hand out ids at
insert time, not commit time) do not satisfy 2.

Windowed reads
--------------
A chart of a long series never reads its history: :meth:`TrackingStore.read_series_window`
answers "what to draw of this x range" from the series' multi-resolution summary (see
:mod:`run_widgets.store.summaries`: exact points when the range holds at most
``max_points``, else first/min/max/last buckets of the finest level that fits). A backend
keeps the summaries in the transaction that stores the points (points its rules drop
never enter one) and builds them, on first read, for points stored before it kept them
(:meth:`TrackingStore.build_summaries`).

Resources
---------
Backends may hold per-thread resources (SQLite: one connection per thread). Background
threads call :meth:`TrackingStore.release_thread_resources` before they end;
:meth:`TrackingStore.reset_after_fork` drops what a forked child inherited;
:meth:`TrackingStore.close` releases the store.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .assets import (
    DatasetRecord,
    DatastoreRecord,
    EnvironmentRecord,
    ModelRecord,
    NewDataset,
    NewModel,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
)
from .entities import (
    ExperimentRecord,
    MetricInfo,
    OwnerRecord,
    PointChunk,
    RunRecord,
    WriteOp,
)
from .run_query import RunColumns, RunPage, RunQuery, query_runs_generic, run_columns_generic
from .summaries import MAX_POINTS, SeriesWindow

TagFilter = str | Mapping[str, str | None] | None
"""``str``: the run has that tag; ``dict``: the run has each tag with that value."""


@dataclass(frozen=True)
class StoreBackend:
    """What a backend package declares so its URIs open without importing it beforehand.

    Attributes:
        name: the backend's name (``sqlite``, ``postgresql``).
        schemes: the URI schemes it opens (``postgresql``, ``postgres``, ...).
        builder: ``"module:attribute"`` of a callable that takes the whole URI and returns
            an open :class:`TrackingStore`; imported on the first URI of the backend.
        extra: the package extra that installs the backend's driver (``postgres`` for
            ``pip install 'run_widgets[postgres]'``), named when the import fails.
    """

    name: str
    schemes: tuple[str, ...]
    builder: str
    extra: str | None = None


class TrackingStore(abc.ABC):
    """A place where experiments, runs, tags, properties and metric points live."""

    #: Human-readable location (a file path for SQLite); never contains a password.
    location: str

    #: The URI this store was opened with (``sqlite:///...``; never contains a password
    #: for display, see :func:`run_widgets.store.registry.redact`).
    uri: str

    #: What this client may do: ``"owner"`` (everything, the schema included),
    #: ``"writer"`` (create runs and log; where the database has roles, change only the
    #: runs its role created) or ``"viewer"`` (read only: a write raises
    #: ``StorePermissionError`` before anything is sent). A store without roles (SQLite)
    #: is its user's: ``"owner"``.
    access: str = "owner"

    #: The database role the client connected as (``None`` where there are no roles).
    role: str | None = None

    @abc.abstractmethod
    def write(self, ops: Sequence[WriteOp]) -> int:
        """Apply ``ops`` in one transaction: all of them or none. Return the new change seq.

        Every run an op touches gets the new seq as its ``change_seq``. ``UpdateRun`` with
        ``only_if_status``/``only_if_owner`` is skipped silently when the condition fails;
        the rules of :mod:`run_widgets.store.rules` (sticky terminal statuses, write-once
        properties, metric kinds, steps, summaries) apply. Raises ``RunNotFoundError`` for
        an unknown run and ``UserErrorException`` for a rule violation, writing nothing.
        """

    @abc.abstractmethod
    def current_seq(self) -> int:
        """The change sequence number of the last committed write."""

    # -- experiments -------------------------------------------------------------------
    @abc.abstractmethod
    def ensure_experiment(self, name: str, created_at: float | None = None) -> ExperimentRecord:
        """Return the experiment called ``name``, creating it if needed.

        ``created_at`` (default: now) is the creation time of a new experiment (a copy
        keeps the original's).
        """

    @abc.abstractmethod
    def get_experiment(self, name: str) -> ExperimentRecord | None:
        """Return the experiment called ``name`` or ``None``."""

    @abc.abstractmethod
    def list_experiments(self) -> list[ExperimentRecord]:
        """All experiments, oldest first."""

    # -- runs ------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None:
        """Return one run with its tags and properties, or ``None``."""

    @abc.abstractmethod
    def find_runs(
        self,
        *,
        experiment_id: int | None = None,
        parent_id: str | None = None,
        top_level_only: bool = False,
        run_type: str | None = None,
        status: str | None = None,
        tags: TagFilter = None,
        properties: TagFilter = None,
        changed_after: int | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first.

        ``changed_after=seq`` returns runs whose ``change_seq`` is greater than ``seq``,
        under the ordering contract of the module docstring.
        """

    def query_runs(self, query: RunQuery) -> RunPage:
        """One page of runs, filtered and sorted, with their last scalar metric values.

        The default reads the whole scope through :meth:`find_runs` and
        :meth:`metric_infos`; backends override it with one query (see ``run_query``).
        """
        return query_runs_generic(self, query)

    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names used by the runs of ``query``'s scope.

        Only the scope (experiment, ids, children) counts, not the filters or window.
        """
        return run_columns_generic(self, query)

    @abc.abstractmethod
    def descendant_ids(self, run_id: str) -> list[str]:
        """Ids of every run below ``run_id`` (children, grandchildren, ...)."""

    # -- metrics ---------------------------------------------------------------------------
    @abc.abstractmethod
    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs."""

    @abc.abstractmethod
    def read_chunks(
        self,
        run_id: str,
        *,
        after_chunk_id: int = 0,
        names: Iterable[str] | None = None,
    ) -> list[PointChunk]:
        """Point chunks of one run with id greater than ``after_chunk_id``, in id order.

        Ids follow the ordering contract of the module docstring, so a reader that keeps
        the largest id it has seen never misses a chunk.
        """

    @abc.abstractmethod
    def read_series_window(
        self,
        run_id: str,
        name: str,
        x_column: str = "step",
        y_column: str | None = None,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart draws of the points of one series with ``lo <= x <= hi``.

        Args:
            run_id: the run.
            name: the metric.
            x_column: ``"step"``, ``"index"`` (position in the history), ``"time"``
                (wall clock, epoch seconds) or, for a table, one of its columns.
            y_column: ``None`` for the value of a ``log``/``log_list`` metric; a column
                for a table.
            lo, hi: the x range (``None``: unbounded on that side).
            max_points: the most points to draw (at least 4).

        Returns:
            The exact points when the range holds at most ``max_points`` of them (in
            logged order, ``exact=True``); otherwise at most ``max_points // 4``
            buckets, each drawn as its first, minimum, maximum and last point: the
            extremes of every point of the range are kept. Reads O(``max_points``) rows
            and points, never the history (see :mod:`run_widgets.store.summaries.window`
            for what a range means when x goes back).

        Raises:
            MetricNotFoundError: the run has no such metric.
            UserErrorException: (a ``ValueError``) the metric is not a numeric series,
                has no such column, or the range is reversed or not finite.
        """

    @abc.abstractmethod
    def read_paired_window(
        self,
        run_id: str,
        name: str,
        x_name: str,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart of metric ``name`` against metric ``x_name`` draws, for ``lo <= x <= hi``.

        The two metrics (series of single numbers, e.g. ``mse`` and ``alpha`` logged in
        lockstep) are paired by index; x is ``x_name``'s value. Like
        :meth:`read_series_window` otherwise (where x lies at a bucket's y extremes is
        placed by index between the bucket's first and last x).

        Raises:
            MetricNotFoundError: the run has no such metric.
            UserErrorException: a metric is not a series of single numbers, or the
                range is reversed or not finite.
        """

    @abc.abstractmethod
    def build_summaries(self, run_id: str, names: Iterable[str] | None = None) -> int:
        """Summarize the points of the run's metrics (or ``names``) that have no summary.

        Points stored since summaries exist are summarized as they are written; this
        builds them for older points. Idempotent. Returns the points summarized now.
        """

    @abc.abstractmethod
    def compact_run(self, run_id: str) -> int:
        """Merge runs of small consecutive chunks of each metric into big ones.

        The points do not change; reads of long histories get faster. Returns the number
        of chunks removed. Incremental readers must tolerate a merged chunk that repeats
        points they hold (see ``PointChunk.since``).
        """

    # -- model and environment registries (records in store/assets.py) -----------------
    @abc.abstractmethod
    def add_model(self, model: NewModel) -> ModelRecord:
        """Insert ``model`` as the next version of its name (1, 2, …) in one transaction.

        Call it only once the model's files are complete in ``model.storage``.
        """

    @abc.abstractmethod
    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None:
        """One version of a model (the latest when ``version`` is None), or None."""

    @abc.abstractmethod
    def list_models(self, name: str | None = None, run_id: str | None = None) -> list[ModelRecord]:
        """Every version of every model (of one ``name`` / registered from one run)."""

    @abc.abstractmethod
    def update_model(
        self,
        name: str,
        version: int,
        set_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelRecord:
        """Change a model version's tags, add properties (write-once) in one transaction."""

    @abc.abstractmethod
    def add_environment(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> EnvironmentRecord:
        """Insert a new version of environment ``name`` (1, 2, …) in one transaction."""

    @abc.abstractmethod
    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord | None:
        """One version of an environment (the latest when ``version`` is None), or None."""

    @abc.abstractmethod
    def list_environments(self) -> list[EnvironmentRecord]:
        """Every version of every registered environment, by name then version."""

    # -- compute target definitions (JSON objects by name) -------------------------------
    @abc.abstractmethod
    def add_compute_target(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> dict[str, Any]:
        """Save ``definition`` as target ``name`` unless the name exists, atomically.

        Returns the definition stored under ``name`` afterwards (the existing one if
        another client saved it first), so the caller can tell "same" from "taken".
        """

    @abc.abstractmethod
    def get_compute_target(self, name: str) -> dict[str, Any] | None:
        """The definition of compute target ``name``, or None."""

    @abc.abstractmethod
    def list_compute_targets(self) -> list[str]:
        """Names of the saved compute targets, sorted."""

    @abc.abstractmethod
    def delete_compute_target(self, name: str) -> bool:
        """Remove compute target ``name``; False if there was none."""

    # -- data and pipeline assets (the data and pipeline layers; sealed secrets only) ---
    @abc.abstractmethod
    def add_datastore(
        self,
        name: str,
        definition: Mapping[str, Any],
        secret: Mapping[str, str] | None,
        created_at: float,
        overwrite: bool = False,
    ) -> DatastoreRecord:
        """Register datastore ``name``; return what is stored under the name.

        ``secret`` is already sealed by the caller (the store never sees a key). Without
        ``overwrite`` a datastore of that name stays as it is and is returned.
        """

    @abc.abstractmethod
    def get_datastore(self, name: str) -> DatastoreRecord | None:
        """Datastore ``name``, or None."""

    @abc.abstractmethod
    def list_datastores(self) -> list[DatastoreRecord]:
        """Every registered datastore, by name."""

    @abc.abstractmethod
    def delete_datastore(self, name: str) -> bool:
        """Forget datastore ``name``; False if there was none."""

    @abc.abstractmethod
    def set_default_datastore(self, name: str) -> None:
        """Flag ``name`` as the default datastore (an unregistered name clears the flag)."""

    @abc.abstractmethod
    def get_default_datastore_name(self) -> str | None:
        """The registered datastore flagged default, or None (the built-in default)."""

    @abc.abstractmethod
    def add_dataset(self, dataset: NewDataset) -> DatasetRecord:
        """Save a dataset: the next version of its name, or unnamed (version None)."""

    @abc.abstractmethod
    def get_dataset(self, name: str, version: int | None = None) -> DatasetRecord | None:
        """A registered version (the latest when ``version`` is None), or None."""

    @abc.abstractmethod
    def get_dataset_by_id(self, dataset_id: str) -> DatasetRecord | None:
        """A saved or registered dataset by id, or None."""

    @abc.abstractmethod
    def list_datasets(
        self, name: str | None = None, *, unnamed: bool = False
    ) -> list[DatasetRecord]:
        """Registered versions (of one ``name``), by name then version.

        With ``unnamed`` (and no ``name``), the saved unnamed definitions follow, oldest
        first (a copy of the workspace needs them: runs refer to them by id).
        """

    @abc.abstractmethod
    def add_published_pipeline(self, record: PublishedPipelineRecord) -> None:
        """Store a published pipeline."""

    @abc.abstractmethod
    def get_published_pipeline(self, pipeline_id: str) -> PublishedPipelineRecord | None:
        """A published pipeline by id, or None."""

    @abc.abstractmethod
    def list_published_pipelines(self) -> list[PublishedPipelineRecord]:
        """Every published pipeline, oldest first."""

    @abc.abstractmethod
    def set_published_pipeline_status(self, pipeline_id: str, status: str) -> bool:
        """Enable or disable a published pipeline; False if there is none."""

    @abc.abstractmethod
    def add_pipeline_endpoint(self, record: PipelineEndpointRecord) -> PipelineEndpointRecord:
        """Store a new pipeline endpoint (its name must be free)."""

    @abc.abstractmethod
    def get_pipeline_endpoint(
        self, id: str | None = None, name: str | None = None
    ) -> PipelineEndpointRecord | None:
        """An endpoint by id or name, or None."""

    @abc.abstractmethod
    def list_pipeline_endpoints(self) -> list[PipelineEndpointRecord]:
        """Every pipeline endpoint, oldest first."""

    @abc.abstractmethod
    def update_pipeline_endpoint(
        self,
        endpoint_id: str,
        *,
        name: str | None = None,
        default_version: str | None = None,
        status: str | None = None,
        add_pipeline: str | None = None,
    ) -> PipelineEndpointRecord:
        """Change an endpoint in one transaction (rename, default, status, a new version)."""

    # -- process ownership and heartbeats ----------------------------------------------
    @abc.abstractmethod
    def register_owner(self, host: str, pid: int, pid_started_at: float) -> int:
        """Record a process that will own runs; return its owner id."""

    @abc.abstractmethod
    def heartbeat(self, owner_id: int) -> None:
        """Record that the owner process is alive now."""

    @abc.abstractmethod
    def get_owners(self, owner_ids: Iterable[int]) -> dict[int, OwnerRecord]:
        """Owner records by id."""

    @abc.abstractmethod
    def last_chunk_id(self, run_id: str) -> int:
        """Id of the newest chunk of a run (0 if it has none)."""

    # -- lifecycle of the store object ---------------------------------------------------
    def release_thread_resources(self) -> None:  # noqa: B027 (optional hook)
        """Free what the calling thread holds; background threads call this before ending."""

    def reset_after_fork(self) -> None:  # noqa: B027 (optional hook)
        """Forget resources inherited from the parent process (called in a forked child)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store: later calls raise ``StoreError``."""
