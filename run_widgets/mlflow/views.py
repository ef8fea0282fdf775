"""MLflow runs and experiments as sources of the live views.

``ExperimentDetails(open_experiment("ridge", "http://127.0.0.1:5000"))`` shows an MLflow
experiment live; ``ExperimentDetails(open_run(run_id, ...))`` one run with its nested runs.
The views read through :class:`MlflowExperimentReader`, which answers from an
:class:`~.mirror.MlflowMirror` synced once per poll. Everything is read-only. When the
server does not answer, a poll raises :class:`~.api.TrackingServerUnreachable` and the
view shows it and retries with its poller's backoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from ..store import RunColumns, RunPage, RunQuery, RunRecord
from ..store.run_query import query_runs_generic, run_columns_generic
from ..views.experiment_reader import ExperimentRunReads, ExperimentView
from ..views.reader import PointReads
from ._client import safe_uri, tracking_uri
from .api import read_api
from .mirror import MlflowMirror

if TYPE_CHECKING:
    from ..store import TrackingStore


class MlflowExperimentReader(ExperimentRunReads):
    """The experiment view's reader over an :class:`MlflowMirror`.

    Reading a run's points makes the mirror follow its metric histories from then on.

    Args:
        mirror: the runs' records.
        run_ids: only these runs and their children (``None``: the whole experiment).
    """

    def __init__(self, mirror: MlflowMirror, run_ids: Sequence[str] | None = None) -> None:
        self.mirror = mirror
        self.runs = mirror
        self.run_ids = tuple(run_ids) if run_ids is not None else None
        self.location = mirror.location

    def _store(self) -> TrackingStore:
        return cast("TrackingStore", self.mirror)  # the read methods the queries use

    def current_seq(self) -> int:
        """Sync with MLflow (a poll starts here), then the mirror's change sequence."""
        if self.run_ids is None:
            self.mirror.sync_experiment()
        else:
            self.mirror.sync_runs(self.run_ids, children_of=self.run_ids)
        return self.mirror.current_seq()

    def query_runs(self, query: RunQuery) -> RunPage:
        """A page of runs (filtered and sorted in memory)."""
        return query_runs_generic(self._store(), query)

    def run_columns(self, query: RunQuery) -> RunColumns:
        """Tag keys and scalar metric names of the scope."""
        return run_columns_generic(self._store(), query)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def release(self) -> None:
        """Nothing is held per thread."""


class MlflowRunReader(PointReads):
    """A reader of one MLflow run for the run view, over an :class:`MlflowMirror`.

    It follows the ``RunReader`` protocol of ``run_widgets.views.reader``.
    :meth:`flush`, the first call of each poll, syncs the run, its nested runs, its new
    metric points and its artifact listing; the other calls answer from memory.
    """

    def __init__(self, mirror: MlflowMirror, run_id: str) -> None:
        self.mirror = mirror
        self.points = mirror
        self.run_id = run_id
        self.location = mirror.location
        mirror.follow(run_id)

    def flush(self) -> None:
        """Sync with MLflow (raises ``TrackingServerUnreachable`` when it does not answer)."""
        self.mirror.sync_runs([self.run_id], children_of=[self.run_id], files=True)

    def current_seq(self) -> int:
        """The mirror's change cursor."""
        return self.mirror.current_seq()

    def run(self) -> RunRecord | None:
        """The run as last synced."""
        return self.mirror.get_run(self.run_id)

    def changed_children(self, after_seq: int) -> list[RunRecord]:
        """Nested runs changed after ``after_seq``."""
        return self.mirror.find_runs(parent_id=self.run_id, changed_after=after_seq)

    def file_names(self, prefix: str | None = None) -> list[str]:
        """Artifact paths under ``prefix``."""
        return self.mirror.file_names(self.run_id, prefix)

    def file_size(self, name: str) -> int | None:
        """Size of one artifact."""
        return self.mirror.file_size(self.run_id, name)

    def read_file(self, name: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of one artifact from ``offset``."""
        return self.mirror.read_file(self.run_id, name, offset, limit)

    def file_url(self, name: str) -> str | None:
        """No local URL: artifacts live in MLflow."""
        return None

    def registered_models(self) -> list[str]:
        """MLflow's model registry is not mirrored: no lineage is shown."""
        return []

    def release(self) -> None:
        """Nothing is held per thread."""


class MlflowExperiment:
    """An MLflow experiment, for ``ExperimentDetails`` (see :func:`open_experiment`)."""

    def __init__(self, mirror: MlflowMirror) -> None:
        self.mirror = mirror
        self.id = mirror.experiment_id
        self.name = mirror.experiment_name

    def experiment_view(self, include_children: bool) -> ExperimentView:
        """The reader and scope of ``ExperimentDetails``."""
        return ExperimentView(
            reader=MlflowExperimentReader(self.mirror),
            scope=RunQuery(include_children=include_children),
            title=f"MLflow experiment {self.name}",
            key=f"mlflow-experiment:{self.id}",
            open_run=self.run,
        )

    def run(self, run_id: str) -> MlflowRunSource:
        """One run of the experiment, for ``RunDetails`` (same mirror: nothing read twice)."""
        return MlflowRunSource(self.mirror, run_id)

    def __repr__(self) -> str:
        return f"MlflowExperiment(name={self.name!r}, id={self.id!r}, uri={safe_uri(self.mirror.api.uri)!r})"


class MlflowRunSource:
    """One MLflow run (and its nested runs), for the views (see :func:`open_run`)."""

    type = "mlflow"

    def __init__(self, mirror: MlflowMirror, run_id: str) -> None:
        self.mirror = mirror
        self.id = run_id

    def child(self, run_id: str) -> MlflowRunSource:
        """One of its nested runs (same mirror, so nothing is read twice)."""
        return MlflowRunSource(self.mirror, run_id)

    def experiment_view(self, include_children: bool) -> ExperimentView:
        """The run with its nested runs, for ``ExperimentDetails``."""
        return ExperimentView(
            reader=MlflowExperimentReader(self.mirror, [self.id]),
            scope=RunQuery(include_children=True),
            title=f"MLflow run {self.id}",
            key=f"mlflow-run:{self.id}",
            open_run=self.child,
        )

    def run_reader(self) -> MlflowRunReader:
        """The reader of the run view."""
        return MlflowRunReader(self.mirror, self.id)

    @property
    def record(self) -> RunRecord | None:
        """The run's record as last synced."""
        return self.mirror.get_run(self.id)

    def __repr__(self) -> str:
        return f"MlflowRunSource(run_id={self.id!r}, uri={safe_uri(self.mirror.api.uri)!r})"


def open_experiment(name_or_id: str, tracking_uri: str | None = None) -> MlflowExperiment:
    """An MLflow experiment (by name or id) to show with ``ExperimentDetails``.

    Args:
        name_or_id: the MLflow experiment's name or id.
        tracking_uri: the MLflow tracking URI (default: MLflow's own, e.g.
            ``MLFLOW_TRACKING_URI``).

    Returns:
        A read-only experiment source: ``ExperimentDetails(open_experiment(...)).show()``.

    Raises:
        UserErrorException: no such experiment.
        TrackingServerUnreachable: the tracking server did not answer.
    """
    api = read_api(_uri(tracking_uri))
    experiment_id, name = api.experiment(str(name_or_id))
    return MlflowExperiment(MlflowMirror(api, experiment_id, name))


def open_run(run_id: str, tracking_uri: str | None = None) -> MlflowRunSource:
    """An MLflow run (with its nested runs) to show in the live views.

    Args:
        run_id: the MLflow run's id.
        tracking_uri: the MLflow tracking URI (default: MLflow's own, e.g.
            ``MLFLOW_TRACKING_URI``).

    Returns:
        A read-only run source for ``RunDetails`` (or ``ExperimentDetails``, with its
        nested runs).

    Raises:
        RunNotFoundError: no such run.
        TrackingServerUnreachable: the tracking server did not answer.
    """
    api = read_api(_uri(tracking_uri))
    run = api.get_run(run_id)
    _, name = api.experiment(run.experiment_id)
    mirror = MlflowMirror(api, run.experiment_id, name)
    mirror.follow(run_id)
    mirror.sync_runs([run_id], children_of=[run_id])
    return MlflowRunSource(mirror, run_id)


def _uri(uri: str | None) -> str:
    return tracking_uri(uri)
