"""The narrow reader the experiment view reads through.

``ExperimentDetails`` never touches a store or a run's private record: it asks an
:class:`ExperimentReader` for pages of runs, changed runs, metric headers and point
chunks. :class:`StoreExperimentReader` answers from a workspace's tracking store (any
backend); another source of runs (the MLflow bridge) provides its own reader. A reader only
reads: the liveness of active runs is checked by the model's reaper
(``tracking.reaper.StoreReaper`` for a store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..experiment import Experiment
from ..run import Run
from ..runtime import RUNTIME
from ..store import (
    MetricInfo,
    PointChunk,
    RunColumns,
    RunPage,
    RunQuery,
    RunRecord,
    SeriesWindow,
    TrackingStore,
)
from ..store.summaries import MAX_POINTS
from .reader import PointSource, RunSource


class ExperimentReader(Protocol):
    """What the experiment view needs from a source of runs."""

    location: str
    """Identifies the source (the poller registry key)."""

    def current_seq(self) -> int:
        """A change cursor: runs changed after it are returned by :meth:`changed_runs`."""

    def query_runs(self, query: RunQuery) -> RunPage:
        """One page of runs, filtered and sorted, with their last scalar metric values."""

    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names used by the query's scope."""

    def changed_runs(self, query: RunQuery, after_seq: int) -> list[RunRecord]:
        """Runs of the query's scope (filters ignored) changed after ``after_seq``."""

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run, or ``None``."""

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs."""

    def read_chunks(
        self, run_id: str, after_chunk_id: int = 0, names: Iterable[str] | None = None
    ) -> list[PointChunk]:
        """Point chunks of one run written after ``after_chunk_id``."""

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
        """What a chart draws of one run's metric over ``lo <= x <= hi`` (a zoom)."""

    def flush(self) -> None:
        """Make what this process logged visible to reads."""

    def release(self) -> None:
        """Free what the calling thread holds (its connection); called as a poller ends."""


@dataclass(frozen=True)
class ExperimentView:
    """What a source of runs other than a workspace hands ``ExperimentDetails``."""

    reader: ExperimentReader
    scope: RunQuery
    title: str
    key: str
    """Identifies the view's scope (the poller registry key, with ``reader.location``)."""
    open_run: Callable[[str], RunSource] | None = None
    """One run of the source for ``RunDetails`` (a click on a table row); ``None``: none."""


class ExperimentSource(Protocol):
    """A source of runs other than a workspace (e.g. an MLflow experiment of the bridge).

    ``ExperimentDetails(source)`` calls ``source.experiment_view(include_children)``.
    """

    def experiment_view(self, include_children: bool) -> ExperimentView:
        """The reader, scope and title of the view."""


class RunRecordSource(PointSource, Protocol):
    """Where an experiment reader's runs and points come from (a store, a mirror).

    The methods of :class:`~run_widgets.store.TrackingStore` of the same names.
    """

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run, or ``None``."""

    def find_runs(
        self,
        *,
        experiment_id: int | None = None,
        top_level_only: bool = False,
        changed_after: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first."""


class ExperimentRunReads:
    """The reads of an :class:`ExperimentReader` that every source answers alike.

    Changed runs, one run, metric headers and points, read from ``self.runs``.
    """

    runs: RunRecordSource

    def changed_runs(self, query: RunQuery, after_seq: int) -> list[RunRecord]:
        """Runs of the scope changed after ``after_seq`` (a metric flush counts)."""
        records = self.runs.find_runs(
            experiment_id=query.experiment_id,
            top_level_only=not query.include_children,
            changed_after=after_seq,
        )
        if query.run_ids is not None:
            wanted = set(query.run_ids)
            records = [r for r in records if r.id in wanted]
        return records

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run."""
        return self.runs.get_run(run_id)

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers."""
        return self.runs.metric_infos(run_ids)

    def read_chunks(
        self, run_id: str, after_chunk_id: int = 0, names: Iterable[str] | None = None
    ) -> list[PointChunk]:
        """New point chunks of one run."""
        return self.runs.read_chunks(run_id, after_chunk_id=after_chunk_id, names=names)

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
        """What a chart draws of one run's metric over ``lo <= x <= hi`` (a zoom)."""
        return self.runs.read_series_window(run_id, name, x_column, y_column, lo, hi, max_points)


class StoreExperimentReader(ExperimentRunReads):
    """An :class:`ExperimentReader` over a tracking store."""

    def __init__(self, store: TrackingStore) -> None:
        self.store = store
        self.runs = store
        self.location = store.location

    def current_seq(self) -> int:
        """The store's change sequence."""
        return self.store.current_seq()

    def query_runs(self, query: RunQuery) -> RunPage:
        """A page of runs (the backend's query)."""
        return self.store.query_runs(query)

    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names of the scope."""
        return self.store.run_columns(query)

    def flush(self) -> None:
        """Write this process's buffered points."""
        RUNTIME.flusher.flush()

    def release(self) -> None:
        """Close the calling thread's store connection."""
        self.store.release_thread_resources()


def workspace_scope(source: Any, include_children: bool) -> tuple[Any, RunQuery, str, str]:
    """``(workspace, scope, title, key)`` of an experiment or some runs of one workspace.

    ``key`` identifies the scope (the poller registry key).

    Raises:
        TypeError: not an ``Experiment``, a ``Run`` or runs.
        ValueError: no runs, or runs of several workspaces.
    """
    if isinstance(source, Experiment):
        scope = RunQuery(experiment_id=source.id, include_children=include_children)
        return source.workspace, scope, f"Experiment {source.name}", f"experiment:{source.id}"
    if isinstance(source, Run):
        source = [source]
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        raise TypeError(
            "ExperimentDetails needs an Experiment, a list of Runs or experiment.get_runs(), "
            f"not {type(source).__name__}."
        )
    runs = list(source)
    bad = [type(r).__name__ for r in runs if not isinstance(r, Run)]
    if bad:
        raise TypeError(f"ExperimentDetails needs Runs; got {', '.join(sorted(set(bad)))}.")
    if not runs:
        raise ValueError("ExperimentDetails got no runs to compare (an empty list).")
    workspace = runs[0].workspace
    if any(r.workspace.folder != workspace.folder for r in runs):
        raise ValueError(
            "ExperimentDetails compares runs of one workspace; these come from several."
        )
    ids = tuple(dict.fromkeys(r.id for r in runs))
    names = sorted({r.experiment.name for r in runs})
    title = f"{len(ids)} runs of {', '.join(names)}"
    return workspace, RunQuery(run_ids=ids, include_children=True), title, "runs:" + ",".join(ids)
