"""Reading a run's metrics back: ``get_metrics`` (v1 shapes), histories, DataFrames.

Every read first flushes what this process logged to the run (or to every run, for a read
across a run's descendants), so what you logged is what you read. The shapes are built by
:mod:`.metric_views`.

Layer: tracking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import UserErrorException
from ..runtime import RUNTIME
from ..store.local_files import RunFiles
from . import metric_views
from .core import RunCore

if TYPE_CHECKING:
    import pandas as pd


class RunMetrics:
    """The metric reads of one ``Run`` object's run.

    Args:
        core: the run's shared parts.
    """

    def __init__(self, core: RunCore) -> None:
        self._core = core

    def flush(self, timeout_seconds: float = 300) -> None:
        """Write every point logged so far in this process to the store now.

        Always through the flusher, even with nothing buffered: the background flusher may
        have taken the points and still be writing them (this waits for that write), or
        may hold points of a failed write for a retry (this retries them).
        """
        self._core.flush()

    def _flush_for_read(self, recursive: bool = False) -> None:
        if recursive:
            RUNTIME.flusher.flush()
        else:
            self._core.flush()

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics of the run, in the v1 shapes (see ``run_widgets.tracking.metric_views``).

        Args:
            name: only this metric: ``{name: value}`` or ``{}``.
            recursive: ``{run_id: {...}}`` for this run and all descendants that have metrics.
            run_type: with ``recursive``, only descendants of this type.
            populate: give image bytes and parsed JSON instead of ``aml://`` references.

        Returns:
            ``{name: value}``: a metric logged once is a scalar, logged several times a
            list, ``log_row``/``log_table`` a dict of lists (see the logging guide).
        """
        self._flush_for_read(recursive)
        core = self._core
        if not recursive:
            return self._metrics_of(core.id, name, populate)
        result: dict[str, Any] = {}
        own = self._metrics_of(core.id, name, populate)
        if own:
            result[core.id] = own
        descendants = set(core.store.descendant_ids(core.id))
        for record in core.store.find_runs(
            experiment_id=core.record.experiment_id, run_type=run_type
        ):
            if record.id in descendants:
                metrics = self._metrics_of(record.id, name, populate)
                if metrics:
                    result[record.id] = metrics
        return result

    def _metrics_of(self, run_id: str, name: str | None, populate: bool) -> dict[str, Any]:
        store = self._core.store
        infos = store.metric_infos([run_id])
        if name is not None:
            infos = [i for i in infos if i.name == name]
            if not infos:
                return {}
        grouped = metric_views.group_chunks(
            store.read_chunks(run_id, names=[i.name for i in infos] if name else None)
        )
        files = self._core.artifacts.files(run_id)
        result: dict[str, Any] = {}
        for info in sorted(infos, key=lambda i: i.id):
            chunks = grouped.get(info.name, [])
            if populate and info.kind in ("image", "artifact"):
                loaded = [
                    _load_artifact(files, path) for path in metric_views.native_values(chunks)
                ]
                result[info.name] = loaded[0] if len(loaded) == 1 else loaded
            else:
                result[info.name] = metric_views.v1_value(info, chunks, run_id)
        return result

    def get_metric_history(self, name: str) -> metric_views.MetricHistory:
        """Every point of one metric as numpy arrays (steps, times, values)."""
        self._flush_for_read()
        store, run_id = self._core.store, self._core.id
        infos = [i for i in store.metric_infos([run_id]) if i.name == name]
        if not infos:
            raise UserErrorException(
                f"Run {run_id} has no metric {name!r}; it has "
                f"{sorted(i.name for i in store.metric_infos([run_id]))}."
            )
        chunks = store.read_chunks(run_id, names=[name])
        return metric_views.history(name, infos[0].kind, chunks)

    def get_metrics_dataframe(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """A long DataFrame of the run's points: run_id, name, step, value, time."""
        self._flush_for_read()
        store, run_id = self._core.store, self._core.id
        infos = store.metric_infos([run_id])
        chunks = store.read_chunks(run_id, names=names)
        return metric_views.metrics_frame(run_id, infos, chunks)


def _load_artifact(files: RunFiles, name: str) -> Any:
    path = files.path_of(name)
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return path.read_bytes()
