"""``mirror_run``: a run (with its child runs) copied to MLflow while it logs.

A background thread reads the run from the store every ``interval`` seconds the way the
views do (only the point chunks it has not read) and sends MLflow what is new: numeric
points (``log_batch``, steps and times kept), tags, properties as params, child runs as
nested runs. It reads the store, not the logging path, so logging never waits for MLflow:
a run that logs faster than MLflow ingests (~10⁴ points/s through a server, against ~10⁶
logged) leaves the mirror behind, and it catches up, dropping nothing. When a run has
ended, the rest is written as :func:`~run_widgets.mlflow.export_runs` writes it (files,
non-numeric series, the manifest, the final status) and the copy is marked complete, so a
later export skips it. A mirror stopped before that leaves an incomplete copy, which the
next export replaces.
"""

from __future__ import annotations

import html
import math
import threading
import warnings
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ..exceptions import RunWidgetsWarning, UserErrorException
from ..run import Run
from ..store import PointChunk, RunRecord
from ._client import client as make_client
from ._client import is_http, safe_uri
from ._client import tracking_uri as resolve_uri
from .export import Exporter, is_numeric, valid_key
from .report import TransferReport

DEFAULT_INTERVAL_S = 5.0
MAX_BACKOFF_S = 120.0


def mirror_run(
    run: Run,
    tracking_uri: str | None = None,
    experiment_name: str | None = None,
    interval: float = DEFAULT_INTERVAL_S,
) -> LiveMirror:
    """Copy ``run`` and its child runs to an MLflow tracking store while they log.

    Args:
        run: the run to mirror (any status; a finished run is copied once, like an export).
        tracking_uri: MLflow tracking URI; MLflow's current one when omitted.
        experiment_name: MLflow experiment to write to (default: the run's experiment name).
        interval: seconds between two reads of the store.

    Returns:
        The running :class:`LiveMirror` (``wait()`` for the copy to be complete).

    Raises:
        TypeError: ``run`` is not a Run.
        UserErrorException: ``interval`` is not a positive number, or ``experiment_name``
            is empty.
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run, not {type(run).__name__}.")
    if (
        isinstance(interval, bool)
        or not isinstance(interval, (int, float))
        or not math.isfinite(interval)
        or interval <= 0
    ):
        raise UserErrorException(
            f"interval must be a positive number of seconds, got {interval!r}."
        )
    if experiment_name is not None and (
        not isinstance(experiment_name, str) or not experiment_name
    ):
        raise UserErrorException(
            f"experiment_name must be a non-empty str, got {experiment_name!r}."
        )
    uri = resolve_uri(tracking_uri)
    return LiveMirror(run, make_client(uri), experiment_name, float(interval), uri).start()


@dataclass
class _Copy:
    """One run of the mirrored tree and how far its MLflow copy has got."""

    run: Run
    mlflow_id: str | None = None
    chunk_cursor: int = 0  # the largest point-chunk id read
    points_read: dict[str, int] = field(default_factory=dict)  # metric -> points read
    numeric: set[str] = field(default_factory=set)  # metrics sent as MLflow metrics
    not_numeric: set[str] = field(default_factory=set)  # metrics left to the final export
    tags: dict[str, str] = field(default_factory=dict)  # tags the copy has
    params: set[str] = field(default_factory=set)  # params the copy has
    complete: bool = False


class LiveMirror:
    """A run's MLflow copy kept up to date by a background thread (see :func:`mirror_run`).

    Made by :func:`mirror_run`, which starts it; not built directly.

    Args:
        run: the run to mirror.
        client: the ``mlflow.MlflowClient`` to write with.
        experiment_name: the MLflow experiment to write to (default: the run's).
        interval: seconds between two reads of the store.
        tracking_uri: where the copy goes (shown in messages, password left out).

    Attributes:
        run: the mirrored run.
        interval: seconds between two reads of the store.
        tracking_uri: where the copy goes.
        error: the last sync's error (``"MlflowException: ..."``, any password in a URI
            left out), ``None`` after a sync that worked; a failed sync is retried with
            backoff up to 2 minutes.
        points_sent: metric points sent so far.
    """

    def __init__(
        self,
        run: Run,
        client: Any,
        experiment_name: str | None,
        interval: float,
        tracking_uri: str = "",
    ) -> None:
        self.run = run
        self.interval = interval
        self.tracking_uri = tracking_uri
        self.error: str | None = None
        self.points_sent = 0
        self._exporter = Exporter(client, experiment_name)
        self._tag_cls = self._exporter.tag_cls
        self._copies: dict[str, _Copy] = {run.id: _Copy(run)}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._complete = threading.Event()
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------------- control --
    def start(self) -> LiveMirror:
        """Start the background thread (once); returns the mirror."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"run_widgets-mlflow-mirror-{self.run.id}", daemon=True
            )
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the copy is complete (the run and its children ended and were sent).

        Args:
            timeout: seconds to wait at most; ``None`` waits as long as it takes.

        Returns:
            True once complete; False if ``timeout`` seconds passed first.
        """
        return self._complete.wait(timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread (a sync in progress ends after its current batch)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def complete(self) -> bool:
        """True when the MLflow copy of the run and of every child run is complete."""
        return self._complete.is_set()

    @property
    def mlflow_run_id(self) -> str | None:
        """The MLflow id of the run's copy (``None`` until the first sync made it)."""
        return self._copies[self.run.id].mlflow_id

    @property
    def url(self) -> str | None:
        """The copy's page in MLflow's web UI (for an ``http(s)://`` tracking server)."""
        mlflow_id = self.mlflow_run_id
        if mlflow_id is None or not is_http(self.tracking_uri):
            return None
        name = self._exporter.experiment_name or self.run.experiment.name
        experiment_id = self._exporter.experiment_id(name)
        base = safe_uri(self.tracking_uri).rstrip("/")
        return f"{base}/#/experiments/{experiment_id}/runs/{mlflow_id}"

    def _repr_html_(self) -> str:
        url = self.url
        text = html.escape(repr(self))
        if url is None:
            return f"<code>{text}</code>"
        return f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{text}</a>'

    @property
    def report(self) -> TransferReport:
        """What was written, and what could not be mapped (as for ``export_runs``)."""
        return self._exporter.report

    def __enter__(self) -> LiveMirror:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Leave the block: wait for the copy if the run has ended, then stop the thread.

        It does not wait while the server is away: a warning then says to export later.
        """
        record = self.run.workspace.store.get_run(self.run.id)
        if kind is None and record is not None and record.is_terminal:
            while not self.wait(0.2) and self.error is None and self._alive():
                pass
            if not self.complete:
                warnings.warn(
                    f"The MLflow copy of run {self.run.id} is not complete ({self.error}); "
                    "run_widgets.mlflow.export_runs(run) completes it later.",
                    RunWidgetsWarning,
                    stacklevel=2,
                )
        self.stop()

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __repr__(self) -> str:
        state = "complete" if self.complete else ("stopped" if self._stop.is_set() else "live")
        return (
            f"LiveMirror(run_id={self.run.id!r}, mlflow_run_id={self.mlflow_run_id!r}, "
            f"{state}, points_sent={self.points_sent})"
        )

    # ------------------------------------------------------------------------ sync --
    def sync(self) -> bool:
        """Send MLflow what is new now (also what the thread does); True once complete."""
        with self._lock:
            store = self.run.workspace.store
            for run_id in store.descendant_ids(self.run.id):
                if run_id not in self._copies:
                    self._copies[run_id] = _Copy(Run(self.run.experiment, run_id))
            complete = True
            for copy in list(self._copies.values()):
                if self._stop.is_set():
                    return False
                complete = self._sync_copy(copy) and complete
            if complete:
                self._complete.set()
            return complete

    def _loop(self) -> None:
        failures = 0
        delay = 0.0
        try:
            while not self._stop.wait(delay):
                try:
                    if self.sync():
                        return
                    self.error = None
                    failures = 0
                except Exception as error:  # the server away, a timeout: retried with backoff
                    self.error = safe_uri(f"{type(error).__name__}: {error}")
                    failures += 1
                delay = min(MAX_BACKOFF_S, self.interval * 2**failures)
        finally:
            self.run.workspace.store.release_thread_resources()

    def _sync_copy(self, copy: _Copy) -> bool:
        if copy.complete:
            return True
        store = self.run.workspace.store
        record = store.get_run(copy.run.id)
        if record is None:  # deleted meanwhile
            copy.complete = True
            return True
        parent_id = self._parent_mlflow_id(record)
        if record.id != self.run.id and parent_id is None:
            return False  # its parent's copy comes first
        if copy.mlflow_id is None and not self._create(copy, record, parent_id):
            return True  # a complete copy was there already
        assert copy.mlflow_id is not None
        self._send_tags(copy, record, parent_id)
        copy.params |= self._exporter.log_params(record, copy.mlflow_id, {}, copy.params)
        # The status is read before the points: a run's last points are stored before it
        # ends, so a run seen ended has all its points in this read.
        for chunk in store.read_chunks(copy.run.id, after_chunk_id=copy.chunk_cursor):
            if self._stop.is_set():
                return False
            self._send_points(copy, chunk)
            if copy.points_read.get(chunk.metric_name, 0) < chunk.first_index + chunk.n:
                return False  # stopped in the middle of the chunk
            copy.chunk_cursor = max(copy.chunk_cursor, chunk.id)
        if not record.is_terminal:
            return False
        self._exporter.complete(
            copy.run,
            record,
            copy.mlflow_id,
            sent=frozenset(copy.numeric - copy.not_numeric),
            sent_params=copy.params,
        )
        copy.complete = True
        return True

    def _parent_mlflow_id(self, record: RunRecord) -> str | None:
        if record.id == self.run.id or record.parent_id is None:
            return None
        parent = self._copies.get(record.parent_id)
        return parent.mlflow_id if parent is not None else None

    def _create(self, copy: _Copy, record: RunRecord, parent_id: str | None) -> bool:
        """Make the copy's MLflow run; False if a complete copy was already there."""
        existing = self._exporter.existing_copy(record, parent_id)
        if existing is not None:
            copy.mlflow_id = existing
            copy.complete = True
            return False
        copy.mlflow_id = self._exporter.create(record, parent_id)
        copy.tags = self._exporter.tags_for(record, parent_id)
        return True

    def _send_tags(self, copy: _Copy, record: RunRecord, parent_id: str | None) -> None:
        tags = self._exporter.tags_for(record, parent_id)
        changed = {k: v for k, v in tags.items() if copy.tags.get(k) != v}
        if changed:
            batch = [self._tag_cls(k, v) for k, v in changed.items()]
            self._exporter.client.log_batch(copy.mlflow_id, tags=batch)
            copy.tags.update(changed)

    def _send_points(self, copy: _Copy, chunk: PointChunk) -> None:
        """Send the chunk's points the copy does not have (each batch counted once sent)."""
        name = chunk.metric_name
        part = chunk.since(copy.points_read.get(name, 0))
        if part is None:
            return
        if not (is_numeric(part.kind, part.values) and valid_key(name)):
            copy.not_numeric.add(name)  # the final export writes it whole, as JSON
            copy.points_read[name] = part.first_index + part.n
            return
        copy.numeric.add(name)
        for end, batch in self._exporter.metric_batches(name, part.steps, part.times, part.values):
            if self._stop.is_set():
                return
            self._exporter.client.log_batch(copy.mlflow_id, metrics=batch)
            # A failed batch raises before this: the next sync sends it again, not past it.
            copy.points_read[name] = part.first_index + end
            self.points_sent += len(batch)
            self._exporter.report.points += len(batch)
