"""The narrow reader a view of one run reads through.

Views (:class:`~run_widgets.views.tracker.RunTracker`, the static snapshot, the HTML
report) never touch a tracking store, an artifact folder or a run's private record: they
ask a :class:`RunReader` the few questions below. :class:`WorkspaceRunReader` answers
from a workspace's tracking store (any backend) and artifact store; another source of
runs (the MLflow bridge, a compare view over several workspaces) implements the same
protocol.

Cursors follow the ordering contract of :mod:`run_widgets.store.base`: a reader that
keeps the largest change seq / chunk id it has seen and asks for what lies after it never
misses a change. Log files are read by byte offset, so a poll reads only appended bytes.

A reader only reads. Whether an active run's process died is judged elsewhere: a view's
tracker asks its liveness check (``tracking.reaper.StoreReaper`` for a workspace), which
ends such runs through ``tracking.lifecycle``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..exceptions import FileNotFoundInRunError
from ..runtime import RUNTIME
from ..store import MetricInfo, PointChunk, RunRecord, SeriesWindow, TrackingStore
from ..store.artifacts import ArtifactStore
from ..store.summaries import MAX_POINTS

if TYPE_CHECKING:
    from ..run import Run


@runtime_checkable
class RunSource(Protocol):
    """A run kept outside the workspace (e.g. an MLflow run) that ``RunDetails`` can show.

    It is read-only: the view reads it through its own reader and offers no report,
    cancel or workspace look-ups for it.
    """

    @property
    def id(self) -> str:
        """The run's id."""

    def run_reader(self) -> RunReader:
        """A reader over this run (one per view)."""

    def child(self, run_id: str) -> RunSource:
        """The child run ``run_id`` of this run, as a source of its own."""


class RunReader(Protocol):
    """What a view of one run needs from a source of runs.

    Every method reads; none writes to the source (``flush`` writes this process's own
    pending points, so that reads see them).
    """

    location: str
    """Identifies the source (e.g. the store location); with ``run_id``, a poller key."""

    run_id: str
    """The run this reader reads."""

    def flush(self) -> None:
        """Make what this process logged (and has not written yet) visible to reads."""

    def current_seq(self) -> int:
        """The source's change cursor now (see :meth:`changed_children`)."""

    def run(self) -> RunRecord | None:
        """The run as stored now."""

    def changed_children(self, after_seq: int) -> list[RunRecord]:
        """Direct children changed after ``after_seq`` (all children for 0), newest first."""

    def metric_infos(self, run_ids: Iterable[str] | None = None) -> list[MetricInfo]:
        """Metric headers of this run (or of ``run_ids``, e.g. its children)."""

    def read_chunks(
        self,
        after_chunk_id: int = 0,
        names: Iterable[str] | None = None,
        *,
        run_id: str | None = None,
    ) -> list[PointChunk]:
        """Point chunks with id above ``after_chunk_id``, in id order.

        Of this run, or of ``run_id`` (one of its children, e.g. for a sweep's charts).
        """

    def last_chunk_id(self) -> int:
        """The id of this run's newest point chunk (0 for none): a cursor at the end."""

    def read_series_window(
        self,
        name: str,
        x_column: str = "step",
        y_column: str | None = None,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart draws of ``lo <= x <= hi`` of one series of this run.

        See :meth:`run_widgets.store.TrackingStore.read_series_window`.
        """

    def read_paired_window(
        self,
        name: str,
        x_name: str,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart of metric ``name`` against metric ``x_name`` draws (paired by index).

        See :meth:`run_widgets.store.TrackingStore.read_paired_window`.
        """

    def file_names(self, prefix: str | None = None) -> list[str]:
        """Sorted names (``logs/driver_log.txt``) of the run's files under ``prefix``."""

    def file_size(self, name: str) -> int | None:
        """Size in bytes of one file, ``None`` if the run has no such file."""

    def read_file(self, name: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of one file from ``offset`` (at most ``limit``).

        Raises ``FileNotFoundInRunError`` (a ``FileNotFoundError``) if it is missing.
        """

    def file_url(self, name: str) -> str | None:
        """A URL a browser on this machine can open for the file, if there is one."""

    def registered_models(self) -> list[str]:
        """Ids (``name:version``) of the models registered from this run (its lineage)."""

    def release(self) -> None:
        """Free what the calling thread holds (a poller thread calls it as it ends)."""


class PointSource(Protocol):
    """Where a reader's metric headers and points come from (a store, a mirror).

    The methods of :class:`~run_widgets.store.TrackingStore` of the same names.
    """

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs."""

    def read_chunks(
        self, run_id: str, *, after_chunk_id: int = 0, names: Iterable[str] | None = None
    ) -> list[PointChunk]:
        """Point chunks of one run written after ``after_chunk_id``."""

    def last_chunk_id(self, run_id: str) -> int:
        """Id of the newest chunk of a run (0 if it has none)."""

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
        """What a chart draws of one series of a run."""

    def read_paired_window(
        self,
        run_id: str,
        name: str,
        x_name: str,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """What a chart of one metric against another of a run draws."""


class PointReads:
    """The metric part of a :class:`RunReader`, read from ``self.points`` for ``self.run_id``."""

    run_id: str
    points: PointSource

    def metric_infos(self, run_ids: Iterable[str] | None = None) -> list[MetricInfo]:
        """Metric headers of this run or of ``run_ids``."""
        return self.points.metric_infos([self.run_id] if run_ids is None else run_ids)

    def read_chunks(
        self,
        after_chunk_id: int = 0,
        names: Iterable[str] | None = None,
        *,
        run_id: str | None = None,
    ) -> list[PointChunk]:
        """New point chunks of this run (or of ``run_id``)."""
        return self.points.read_chunks(
            run_id or self.run_id, after_chunk_id=after_chunk_id, names=names
        )

    def last_chunk_id(self) -> int:
        """Id of this run's newest chunk."""
        return self.points.last_chunk_id(self.run_id)

    def read_series_window(
        self,
        name: str,
        x_column: str = "step",
        y_column: str | None = None,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """A window of one series of this run."""
        return self.points.read_series_window(
            self.run_id, name, x_column, y_column, lo, hi, max_points
        )

    def read_paired_window(
        self,
        name: str,
        x_name: str,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """A window of one metric of this run against another."""
        return self.points.read_paired_window(self.run_id, name, x_name, lo, hi, max_points)


class WorkspaceRunReader(PointReads):
    """A :class:`RunReader` over a tracking store and an artifact store.

    ``flush`` writes what this process buffered for the run (default: every buffer).
    """

    def __init__(
        self,
        store: TrackingStore,
        artifacts: ArtifactStore,
        run_id: str,
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.points = store
        self.artifacts = artifacts
        self.run_id = run_id
        self.location = store.location
        self._flush = flush

    def flush(self) -> None:
        """Write this process's buffered points of the run."""
        if self._flush is not None:
            self._flush()
        else:
            RUNTIME.flusher.flush()

    def current_seq(self) -> int:
        """The store's change sequence."""
        return self.store.current_seq()

    def run(self) -> RunRecord | None:
        """The run as stored now."""
        return self.store.get_run(self.run_id)

    def changed_children(self, after_seq: int) -> list[RunRecord]:
        """Children changed after ``after_seq``."""
        return self.store.find_runs(parent_id=self.run_id, changed_after=after_seq)

    def file_names(self, prefix: str | None = None) -> list[str]:
        """The run's files under ``prefix``."""
        return self.artifacts.list_files(self.run_id, prefix)

    def file_size(self, name: str) -> int | None:
        """Size of one file, or ``None``."""
        try:
            return self.artifacts.file_size(self.run_id, name)
        except FileNotFoundInRunError:
            return None

    def read_file(self, name: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of one file."""
        return self.artifacts.read_bytes(self.run_id, name, offset, limit)

    def file_url(self, name: str) -> str | None:
        """``file://`` URL of the file in the run's local folder.

        When the workspace keeps its files on object storage, the file is copied there first.
        """
        try:
            return self.artifacts.files(self.run_id).path_of(name).as_uri()
        except (FileNotFoundError, ValueError):
            return (self.artifacts.run_folder(self.run_id) / name).as_uri()

    def registered_models(self) -> list[str]:
        """Models registered from this run."""
        return sorted(m.model_id for m in self.store.list_models(run_id=self.run_id))

    def release(self) -> None:
        """Close the calling thread's store connection."""
        self.store.release_thread_resources()


def run_reader(run: Run) -> WorkspaceRunReader:
    """The reader of a ``Run`` of a workspace (its store and artifact store)."""
    return WorkspaceRunReader(run.workspace.store, run.workspace.artifacts, run.id, run.flush)
