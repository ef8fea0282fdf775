"""The narrow interface every tracking-store backend implements.

Layers above (workspace, experiment, run, widgets) only use these methods, so another
backend (PostgreSQL for teams) can be added without touching them. All changes go through
:meth:`TrackingStore.write`; everything else reads.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..exceptions import RegistryUnavailableError
from .assets import EnvironmentRecord, ModelRecord, NewModel
from .entities import (
    ExperimentRecord,
    MetricInfo,
    OwnerRecord,
    PointChunk,
    RunRecord,
    WriteOp,
)
from .run_query import RunColumns, RunPage, RunQuery, query_runs_generic, run_columns_generic

TagFilter = str | Mapping[str, str | None] | None
"""``str``: the run has that tag; ``dict``: the run has each tag with that value."""


class TrackingStore(abc.ABC):
    """A place where experiments, runs, tags, properties and metric points live."""

    #: Human-readable location (a file path for SQLite).
    location: str

    @abc.abstractmethod
    def write(self, ops: Sequence[WriteOp]) -> int:
        """Apply ``ops`` in one transaction: all of them or none. Return the new change seq."""

    @abc.abstractmethod
    def current_seq(self) -> int:
        """The change sequence number of the last committed write."""

    # -- experiments -------------------------------------------------------------------
    @abc.abstractmethod
    def ensure_experiment(self, name: str) -> ExperimentRecord:
        """Return the experiment called ``name``, creating it if needed."""

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
        """Runs matching every given filter, newest first."""

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
        """Point chunks of one run with id greater than ``after_chunk_id``, in write order."""

    @abc.abstractmethod
    def compact_run(self, run_id: str) -> int:
        """Merge runs of small consecutive chunks of each metric into big ones.

        The points do not change; reads of long histories get faster. Returns the number
        of chunks removed. Incremental readers must tolerate a merged chunk that repeats
        points they hold (see ``PointChunk.since``).
        """

    # -- model and environment registries (records in store/assets.py) -----------------
    # Not abstract: a backend without them raises a clear StoreError until it has them.
    def add_model(self, model: NewModel) -> ModelRecord:
        """Insert ``model`` as the next version of its name (1, 2, …) in one transaction.

        Call it only once the model's files are complete in ``model.storage``.
        """
        raise self._no_registry()

    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None:
        """One version of a model (the latest when ``version`` is None), or None."""
        raise self._no_registry()

    def list_models(self, name: str | None = None, run_id: str | None = None) -> list[ModelRecord]:
        """Every version of every model (of one ``name`` / registered from one run)."""
        raise self._no_registry()

    def update_model(
        self,
        name: str,
        version: int,
        set_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelRecord:
        """Change a model version's tags, add properties (write-once) in one transaction."""
        raise self._no_registry()

    def add_environment(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> EnvironmentRecord:
        """Insert a new version of environment ``name`` (1, 2, …) in one transaction."""
        raise self._no_registry()

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord | None:
        """One version of an environment (the latest when ``version`` is None), or None."""
        raise self._no_registry()

    def list_environments(self) -> list[EnvironmentRecord]:
        """Every version of every registered environment, by name then version."""
        raise self._no_registry()

    def _no_registry(self) -> RegistryUnavailableError:
        return RegistryUnavailableError(
            f"The {type(self).__name__} backend has no model and environment registry yet; "
            "use a SQLite workspace for Model and Environment.register."
        )

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

    # -- resources ---------------------------------------------------------------------
    @abc.abstractmethod
    def release_thread_connection(self) -> None:
        """Close the calling thread's connection (background threads call this on exit)."""

    @abc.abstractmethod
    def open_connection_count(self) -> int:
        """Number of open connections held by this process (for leak checks)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close every connection."""
