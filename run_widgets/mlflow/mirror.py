"""An in-memory, read-only copy of MLflow runs in the store's record types.

It is what the live views read when they show MLflow runs, kept fresh incrementally:
each sync asks MLflow for the runs in scope (one ``search`` per page of
1,000 runs: MLflow has no "changed since" query) and, for the runs whose metrics a view
reads, only the metrics whose latest point moved, and of those only the new points (see
:mod:`.history`). A long metric's history is never read: a chart of it is drawn from
MLflow's step-range reads (:meth:`MlflowMirror.read_series_window`), and only the points
logged since the view opened are held. Between syncs every read is answered from memory, in the shapes the
views already know (:class:`RunRecord`, :class:`MetricInfo`, :class:`PointChunk`), with a
change sequence that moves only when something changed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..exceptions import MetricNotFoundError, UserErrorException
from ..store import MetricInfo, PointChunk, RunRecord, SeriesWindow
from ..store.summaries import MAX_POINTS
from ..store.summaries.memory import paired_window_of_chunks, window_of_chunks
from ..store.summaries.window import check_range
from . import mapping
from .api import MAX_INTERVAL_POINTS, MetricPage, MlflowRun, ReadApi
from .history import LAST_STEP, LONG_METRIC_STEPS, MetricFollower, StepFollower

RUN_TYPE = "mlflow"
HIDDEN_TAGS = frozenset({"mlflow.log-model.history", "mlflow.loggedArtifacts"})


class MlflowMirror:
    """Records of the MLflow runs of one experiment (or some of them), synced on demand.

    Args:
        api: how to reach the tracking store.
        experiment_id: the MLflow experiment.
        experiment_name: its name.
    """

    def __init__(self, api: ReadApi, experiment_id: str, experiment_name: str) -> None:
        self.api = api
        self.experiment_id = experiment_id
        self.experiment_name = experiment_name
        self.location = f"mlflow:{api.uri}#{experiment_id}"
        self._lock = threading.RLock()
        self._seq = 0
        self._runs: dict[str, MlflowRun] = {}
        self._records: dict[str, RunRecord] = {}
        self._numbers: dict[str, int] = {}
        self._followers: dict[tuple[str, str], MetricFollower | StepFollower] = {}
        self._infos: dict[str, dict[str, MetricInfo]] = {}
        self._chunks: dict[str, list[PointChunk]] = {}
        self._read_latest: dict[str, Mapping[str, tuple[float, int, int]]] = {}
        self._followed: set[str] = set()
        self._files: dict[str, dict[str, int | None]] = {}
        self._file_cache: dict[tuple[str, str], tuple[int | None, bytes]] = {}
        self._final: set[str] = set()  # ended runs whose metrics were all read after the end
        self._next_chunk = 0
        self._metric_ids: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------------ sync --
    def sync_experiment(self) -> None:
        """Read every active run of the experiment, then the followed runs' new points."""
        runs = self.api.all_runs([self.experiment_id])
        with self._lock:
            self._update(runs)
            self._sync_histories()

    def sync_runs(
        self, run_ids: Iterable[str], children_of: Iterable[str] = (), files: bool = False
    ) -> None:
        """Read the given runs and the children of ``children_of``, then new points.

        With ``files``, also list the given runs' artifacts (one request per folder).
        """
        run_ids = list(run_ids)
        runs = [self.api.get_run(run_id) for run_id in run_ids]
        for parent in children_of:
            runs += self.api.all_runs(
                [self.experiment_id], f"tags.`{mapping.PARENT_TAG}` = '{_quote(parent)}'"
            )
        listings = {run_id: self._list_files(run_id) for run_id in run_ids} if files else {}
        with self._lock:
            self._update(runs)
            self._sync_histories()
            for run_id, listing in listings.items():
                if listing != self._files.get(run_id):
                    self._add_images(
                        run_id, [n for n in listing if n not in self._files.get(run_id, {})]
                    )
                    self._files[run_id] = listing
                    self._seq += 1

    def _add_images(self, run_id: str, paths: list[str]) -> None:
        """Image artifacts become image metrics (one point: the path), as ``log_image``."""
        for path in paths:
            if mapping.artifact_role(path) != "image":
                continue
            self._next_chunk += 1
            self._chunks.setdefault(run_id, []).append(
                PointChunk(
                    id=self._next_chunk,
                    run_id=run_id,
                    metric_id=self._metric_id(run_id, path),
                    metric_name=path,
                    kind="image",
                    first_index=0,
                    steps=np.zeros(1, dtype=np.int64),
                    times=np.zeros(1),
                    values=[path],
                )
            )
            self._infos.setdefault(run_id, {})[path] = MetricInfo(
                id=self._metric_id(run_id, path),
                run_id=run_id,
                name=path,
                kind="image",
                description="",
                n_points=1,
                last_step=0,
                last_value=path,
                first_value=path,
                min_value=None,
                max_value=None,
                columns=(),
            )

    def _list_files(self, run_id: str, limit: int = 10_000) -> dict[str, int | None]:
        found: dict[str, int | None] = {}
        folders: list[str | None] = [None]
        while folders and len(found) < limit:
            for entry in self.api.list_artifacts(run_id, folders.pop()):
                if entry.is_dir:
                    folders.append(entry.path)
                else:
                    found[entry.path] = entry.size
        return dict(sorted(found.items()))

    # ----------------------------------------------------------------------- files --
    def file_names(self, run_id: str, prefix: str | None = None) -> list[str]:
        """Artifact paths of a run (as last listed) under ``prefix``."""
        names = self._files.get(run_id, {})
        if not prefix:
            return list(names)
        folder = prefix.rstrip("/") + "/"
        return [n for n in names if n.startswith(folder) or n == prefix]

    def file_size(self, run_id: str, name: str) -> int | None:
        """Size of one artifact as last listed, ``None`` if unknown or missing."""
        return self._files.get(run_id, {}).get(name)

    def read_file(self, run_id: str, name: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of one artifact from ``offset``.

        The file is read again only when its listed size changed. A file that grew (a log)
        is taken to have grown at its end, as logs do: only the new tail is asked for (an
        HTTP range where the server allows it). A file that shrank is read again whole.
        """
        size = self.file_size(run_id, name)
        cached = self._file_cache.get((run_id, name))
        if cached is None or size is None or size < len(cached[1]):
            cached = (size, self.api.read_artifact(run_id, name))
        elif cached[0] != size:
            cached = (size, cached[1] + self.api.read_artifact(run_id, name, len(cached[1])))
        self._file_cache[(run_id, name)] = cached
        data = cached[1]
        return data[offset:] if limit is None else data[offset : offset + limit]

    def follow(self, run_id: str) -> None:
        """Read ``run_id``'s metric points from now on (all of them on the next sync)."""
        with self._lock:
            self._followed.add(run_id)

    def _update(self, runs: list[MlflowRun]) -> None:
        for run in sorted(runs, key=lambda r: (r.start_time or 0.0, r.run_id)):
            if run.run_id not in self._numbers:
                self._numbers[run.run_id] = len(self._numbers) + 1
            old = self._records.get(run.run_id)
            record = self._record(run, old.change_seq if old else 0)
            if old is None or record != old:
                self._seq += 1
                record = replace(record, change_seq=self._seq)
            self._records[run.run_id] = record
            self._runs[run.run_id] = run
            if run.run_id not in self._followed:
                self._infos[run.run_id] = {
                    key: self._latest_info(run.run_id, key, latest)
                    for key, latest in run.latest.items()
                }

    def _record(self, run: MlflowRun, seq: int) -> RunRecord:
        tags = run.tags
        start = run.start_time
        return RunRecord(
            id=run.run_id,
            experiment_id=int(run.experiment_id) if run.experiment_id.isdigit() else 0,
            experiment_name=self.experiment_name,
            parent_id=run.parent_id,
            number=self._numbers[run.run_id],
            display_name=run.name or tags.get(mapping.RUN_NAME_TAG),
            description=tags.get(mapping.NOTE_TAG),
            run_type=RUN_TYPE,
            status=mapping.v1_status(run.status),
            created_at=start or 0.0,
            start_time=start,
            end_time=run.end_time if run.status not in ("RUNNING", "SCHEDULED") else None,
            error=({"message": "The MLflow run ended FAILED."} if run.status == "FAILED" else None),
            definition={"arguments": [f"{k}={v}" for k, v in sorted(run.params.items())]},
            owner_id=None,
            change_seq=seq,
            tags={
                k: v
                for k, v in sorted(tags.items())
                if k not in mapping.CONSUMED_SYSTEM_TAGS and k not in HIDDEN_TAGS
            },
            properties=dict(sorted(run.params.items())),
        )

    def _metric_id(self, run_id: str, key: str) -> int:
        return self._metric_ids.setdefault((run_id, key), len(self._metric_ids) + 1)

    def _latest_info(self, run_id: str, key: str, latest: tuple[float, int, int]) -> MetricInfo:
        value, step, _ = latest
        return MetricInfo(
            id=self._metric_id(run_id, key),
            run_id=run_id,
            name=key,
            kind="scalar",
            description="",
            n_points=1,
            last_step=step,
            last_value=value,
            first_value=value,
            min_value=value,
            max_value=value,
            columns=(),
        )

    def _sync_histories(self) -> None:
        for run_id in sorted(self._followed):
            run = self._runs.get(run_id)
            if run is None:
                continue
            # Once a run has ended, every metric is read once more: a point whose step is
            # below the latest one does not move MLflow's "latest" value.
            final = run.status not in ("RUNNING", "SCHEDULED") and run_id not in self._final
            seen = self._read_latest.get(run_id, {})
            for key, latest in sorted(run.latest.items()):
                if final or seen.get(key) != latest:
                    self._read_metric(run_id, key, latest)
            self._read_latest[run_id] = dict(run.latest)
            if final:
                self._final.add(run_id)

    def _read_metric(self, run_id: str, key: str, latest: tuple[float, int, int]) -> None:
        follower = self._followers.get((run_id, key))
        infos = self._infos.setdefault(run_id, {})
        if follower is None:
            if latest[1] >= LONG_METRIC_STEPS:  # follow it by step, from its end
                follower = StepFollower(self.api, run_id, key, latest[1])
                self._followers[(run_id, key)] = follower
                info = self._latest_info(run_id, key, latest)
                infos[key] = replace(info, n_points=follower.count)
                return
            follower = self._followers[(run_id, key)] = MetricFollower(self.api, run_id, key)
        first = follower.count
        page = follower.read_new()
        old = infos.get(key) if first else None
        if len(page) == 0 and old is not None:
            return
        self._next_chunk += 1
        chunk = PointChunk(
            id=self._next_chunk,
            run_id=run_id,
            metric_id=self._metric_id(run_id, key),
            metric_name=key,
            kind="scalar",
            first_index=first,
            steps=page.steps,
            times=page.times,
            values=page.values,
        )
        self._chunks.setdefault(run_id, []).append(chunk)
        finite = page.values[np.isfinite(page.values)]
        lo = float(finite.min()) if len(finite) else None
        hi = float(finite.max()) if len(finite) else None
        if old is not None and old.min_value is not None:
            lo = old.min_value if lo is None else min(lo, old.min_value)
            hi = old.max_value if hi is None else max(hi, old.max_value)  # type: ignore[type-var]
        infos[key] = MetricInfo(
            id=self._metric_id(run_id, key),
            run_id=run_id,
            name=key,
            kind="scalar",
            description="",
            n_points=follower.count,
            last_step=int(page.steps[-1]) if len(page) else latest[1],
            last_value=float(page.values[-1]) if len(page) else latest[0],
            first_value=old.first_value
            if old is not None
            else (float(page.values[0]) if len(page) else None),
            min_value=lo,
            max_value=hi,
            columns=(),
        )
        self._seq += 1
        record = self._records.get(run_id)
        if record is not None:  # a metric flush counts as a change of the run, as in the store
            self._records[run_id] = replace(record, change_seq=self._seq)

    # ---------------------------------------------------------------- store reads --
    def current_seq(self) -> int:
        """The change sequence of the last change seen."""
        return self._seq

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run's record, if synced."""
        return self._records.get(run_id)

    def find_runs(
        self,
        *,
        experiment_id: int | None = None,
        parent_id: str | None = None,
        top_level_only: bool = False,
        changed_after: int | None = None,
        **_: Any,
    ) -> list[RunRecord]:
        """Synced runs matching the filters, newest first (``TrackingStore.find_runs``)."""
        with self._lock:
            records = list(self._records.values())
        found = [
            r
            for r in records
            if (parent_id is None or r.parent_id == parent_id)
            and (not top_level_only or r.parent_id is None or r.parent_id not in self._records)
            and (changed_after is None or r.change_seq > changed_after)
        ]
        return sorted(found, key=lambda r: r.number, reverse=True)

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs."""
        with self._lock:
            return [info for run_id in run_ids for info in self._infos.get(run_id, {}).values()]

    def read_chunks(
        self, run_id: str, *, after_chunk_id: int = 0, names: Iterable[str] | None = None
    ) -> list[PointChunk]:
        """Chunks of one run newer than ``after_chunk_id`` (starts following the run)."""
        with self._lock:
            self._follow_now(run_id)
            wanted = None if names is None else set(names)
            return [
                c
                for c in self._chunks.get(run_id, [])
                if c.id > after_chunk_id and (wanted is None or c.metric_name in wanted)
            ]

    def last_chunk_id(self, run_id: str) -> int:
        """Id of the newest chunk of a run held (0 for none); starts following the run."""
        with self._lock:
            self._follow_now(run_id)
            return max((c.id for c in self._chunks.get(run_id, [])), default=0)

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
        """A window of one metric (see ``TrackingStore.read_series_window``).

        A metric whose history is held is read from memory: exact points, or buckets
        that keep every extreme. A long metric (followed by step) is read with MLflow's
        step-range read: the exact points when the range holds fewer than ``max_points``
        (at most 2,500), else MLflow's even sample of them (``exact`` False, no buckets:
        MLflow keeps no minimum or maximum, so a spike can be missed until zoomed in).
        Only x = step is possible for it.
        """
        follower = self._followers.get((run_id, name))
        if isinstance(follower, StepFollower):
            return self._step_window(follower, name, x_column, y_column, lo, hi, max_points)
        info, chunks = self._held(run_id, name)
        return window_of_chunks(info, chunks, x_column, y_column, lo, hi, max_points)

    def _step_window(
        self,
        follower: StepFollower,
        name: str,
        x_column: str,
        y_column: str | None,
        lo: float | None,
        hi: float | None,
        max_points: int,
    ) -> SeriesWindow:
        check_range(name, lo, hi)
        if x_column != "step" or y_column not in (None, name, "value"):
            raise UserErrorException(
                f"The MLflow metric {name!r} is long ({follower.count:,} points or so): MLflow "
                "reads it only as step ranges, so it is drawn over its steps only."
            )
        start = 0 if lo is None else max(0, math.ceil(lo))
        stop = LAST_STEP if hi is None else math.floor(hi)
        asked = min(max_points, MAX_INTERVAL_POINTS)
        page = (
            self.api.metric_interval(follower.run_id, name, start, stop, asked)
            if stop >= start
            else MetricPage(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), None)
        )
        finite = np.isfinite(page.values)
        steps, values = page.steps[finite].astype(np.float64), page.values[finite]
        covered = follower.count
        index = np.arange(covered - len(steps), covered, dtype=np.int64)
        exact = len(page) < asked
        return SeriesWindow(
            name, x_column, y_column, lo, hi, exact, steps, values, index, None, 0, covered
        )

    def read_paired_window(
        self,
        run_id: str,
        name: str,
        x_name: str,
        lo: float | None = None,
        hi: float | None = None,
        max_points: int = MAX_POINTS,
    ) -> SeriesWindow:
        """A window of one metric against another, from the points held."""
        info, chunks = self._held(run_id, name)
        x_info, x_chunks = self._held(run_id, x_name)
        return paired_window_of_chunks(info, chunks, x_info, x_chunks, lo, hi, max_points)

    def _held(self, run_id: str, name: str) -> tuple[MetricInfo, list[PointChunk]]:
        if isinstance(self._followers.get((run_id, name)), StepFollower):
            raise UserErrorException(
                f"The MLflow metric {name!r} is long: MLflow reads it only as step ranges, so "
                "it is drawn over its steps only (not against another metric)."
            )
        with self._lock:
            self._follow_now(run_id)
            info = self._infos.get(run_id, {}).get(name)
            if info is None:
                raise MetricNotFoundError(f"MLflow run {run_id!r} has no metric {name!r}.")
            return info, [c for c in self._chunks.get(run_id, []) if c.metric_name == name]

    def _follow_now(self, run_id: str) -> None:
        if run_id not in self._followed:
            self._followed.add(run_id)
            if run_id in self._runs:
                self._sync_histories()


def _quote(text: str) -> str:
    return text.replace("'", "\\'")
