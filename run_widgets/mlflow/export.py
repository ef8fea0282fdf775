"""``export_runs``: run_widgets runs (with their children) into an MLflow tracking store.

Each run becomes an MLflow run in the same-named experiment (or ``experiment_name``):

* numeric ``log`` / ``log_list`` series → MLflow metrics with their steps and timestamps;
* ``log_row`` / ``log_table`` → an MLflow table (``tables/<name>.json``, shown by MLflow's
  UI) and, like every other non-numeric series (strings, images, JSON artifacts), a JSON
  artifact ``run_widgets/metrics/<n>.json`` with its steps, times and values;
* tags → tags, properties → params (write-once in both), child runs → nested runs,
  files → artifacts at the same paths, the status and times → MLflow's;
* ``run_widgets/manifest.json`` keeps what MLflow cannot (metric kinds, the run type, the
  exact tags and properties), so :func:`~run_widgets.mlflow.import_runs` restores the run.

Export is idempotent: each MLflow run carries ``run_widgets.source_run_id``; a finished run
already exported completely is skipped, an incomplete or outdated copy is replaced.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import UserErrorException
from ..experiment import Experiment
from ..run import Run
from ..store import MetricInfo, RunRecord
from . import mapping
from ._client import client as make_client
from ._client import mlflow_module
from .report import TransferReport

if TYPE_CHECKING:
    from ..tracking.metric_views import MetricHistory

SYSTEM_PROPERTIES = frozenset({"ContentSnapshotId"})
BATCH_POINTS = 1000  # MLflow accepts at most 1,000 metrics per log_batch
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MANIFEST_FORMAT = 1


def export_runs(
    runs_or_experiment: Run | Experiment | Iterable[Run],
    tracking_uri: str | None = None,
    experiment_name: str | None = None,
) -> TransferReport:
    """Copy runs (each with all its descendants) to an MLflow tracking store.

    Args:
        runs_or_experiment: a run, several runs, or an experiment (its top-level runs).
        tracking_uri: MLflow tracking URI (``http://...``, ``sqlite:///...``, a folder);
            MLflow's current one when omitted.
        experiment_name: MLflow experiment to write to (default: each run's experiment
            name); created if missing.

    Returns:
        A :class:`TransferReport` (``created`` maps run_widgets ids to MLflow run ids).

    Raises:
        TypeError: ``runs_or_experiment`` holds something that is not a run.
    """
    runs = _top_runs(runs_or_experiment)
    if experiment_name is not None and (
        not isinstance(experiment_name, str) or not experiment_name
    ):
        raise UserErrorException(
            f"experiment_name must be a non-empty str, got {experiment_name!r}."
        )
    exporter = Exporter(make_client(tracking_uri), experiment_name)
    for run in runs:
        exporter.export_tree(run, parent_id=None)
    return exporter.report


def _top_runs(source: Any) -> list[Run]:
    if isinstance(source, Run):
        return [source]
    if isinstance(source, Experiment):
        return list(source.get_runs())
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        raise TypeError(
            f"runs_or_experiment must be a Run, an Experiment or runs, not {type(source).__name__}."
        )
    runs = list(source)
    for run in runs:
        if not isinstance(run, Run):
            raise TypeError(f"runs_or_experiment holds a {type(run).__name__}, not a Run.")
    return runs


class Exporter:
    """Writes runs into one MLflow tracking store (``export_runs``; the live mirror too).

    Args:
        client: an ``MlflowClient``.
        experiment_name: the MLflow experiment for every run (default: each run's own).
    """

    def __init__(self, client: Any, experiment_name: str | None) -> None:
        self.client = client
        self.experiment_name = experiment_name
        self.report = TransferReport()
        self._experiments: dict[str, str] = {}
        mlflow = mlflow_module()
        self.metric_cls = mlflow.entities.Metric
        self.param_cls = mlflow.entities.Param
        self.tag_cls = mlflow.entities.RunTag

    # ----------------------------------------------------------------------- runs --
    def export_tree(self, run: Run, parent_id: str | None) -> None:
        """Export ``run`` (nested under MLflow run ``parent_id``) and its descendants."""
        run.flush()
        mlflow_id = self.export_one(run, parent_id)
        for child in sorted(run.get_children(), key=lambda r: r.number):
            self.export_tree(child, mlflow_id)

    def experiment_id(self, name: str) -> str:
        """The id of MLflow experiment ``name`` (created if missing)."""
        if name not in self._experiments:
            found = self.client.get_experiment_by_name(name)
            self._experiments[name] = (
                found.experiment_id if found is not None else self.client.create_experiment(name)
            )
        return self._experiments[name]

    def export_one(self, run: Run, parent_id: str | None) -> str:
        """Export ``run`` alone (unless a complete copy is there); its MLflow id."""
        record = run.workspace.store.get_run(run.id)
        assert record is not None
        done = self.existing_copy(record, parent_id)
        if done is not None:
            return done
        mlflow_id = self.create(record, parent_id)
        self.complete(run, record, mlflow_id)
        return mlflow_id

    def existing_copy(self, record: RunRecord, parent_id: str | None) -> str | None:
        """The MLflow id of a complete copy of the finished run ``record``, if there is one.

        Other copies (cut short, or made while the run was still active) are deleted.
        """
        experiment_id = self.experiment_id(self.experiment_name or record.experiment_name)
        existing = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{mapping.SOURCE_RUN_TAG}` = '{record.id}'",
        )
        for old in existing:
            complete = old.data.tags.get(mapping.EXPORT_COMPLETE_TAG) == "true"
            if complete and record.is_terminal and old.info.status != "RUNNING":
                self.report.skipped[record.id] = old.info.run_id
                return str(old.info.run_id)
        for old in existing:  # cut short, or the source was still active then
            self.client.delete_run(old.info.run_id)
            self.report.replaced.append(record.id)
        return None

    def create(self, record: RunRecord, parent_id: str | None) -> str:
        """A new MLflow run for ``record`` (name, start time, tags); its MLflow id."""
        experiment_id = self.experiment_id(self.experiment_name or record.experiment_name)
        created = self.client.create_run(
            experiment_id,
            start_time=_ms(record.start_time or record.created_at),
            tags=self.tags_for(record, parent_id),
            run_name=record.display_name or record.id,
        )
        return str(created.info.run_id)

    def complete(
        self,
        run: Run,
        record: RunRecord,
        mlflow_id: str,
        sent: frozenset[str] = frozenset(),
        sent_params: Collection[str] = (),
    ) -> None:
        """Write the rest of ``run`` into ``mlflow_id``, then mark the copy complete.

        Params (but ``sent_params``), metrics (but the points of the numeric metrics in
        ``sent``: a live mirror sent those), files, the manifest and, for a finished run,
        its status and end time.
        """
        infos = run.workspace.store.metric_infos([run.id])
        manifest = self._manifest(record, infos)
        self.log_params(record, mlflow_id, manifest, sent_params)
        self._metrics(run, infos, mlflow_id, manifest, sent)
        self._files(run, mlflow_id)
        self.client.log_dict(mlflow_id, manifest, mapping.MANIFEST_PATH)
        if record.is_terminal:
            self.client.set_terminated(
                mlflow_id,
                status=mapping.mlflow_status(record.status),
                end_time=_ms(record.end_time) if record.end_time is not None else None,
            )
        else:
            self.report.note(
                run.id,
                f"exported while {record.status}: the MLflow run stays RUNNING; "
                "export again once it has finished",
            )
        self.client.set_tag(mlflow_id, mapping.EXPORT_COMPLETE_TAG, "true")
        self.report.created[run.id] = mlflow_id

    # ------------------------------------------------------------ tags and params --
    def tags_for(self, record: RunRecord, parent_id: str | None) -> dict[str, str]:
        """The MLflow tags of ``record``'s copy (the invalid ones noted, not sent)."""
        tags: dict[str, str] = {}
        for key, value in record.tags.items():
            text = "" if value is None else str(value)
            if not valid_key(key) or key.startswith("mlflow."):
                self.report.note(
                    record.id, f"tag {key!r} is not a valid MLflow tag name (kept in the manifest)"
                )
            elif len(text) > MAX_TAG_VALUE:
                self.report.note(
                    record.id, f"tag {key!r} is longer than MLflow allows (kept in the manifest)"
                )
            else:
                tags[key] = text
        tags[mapping.SOURCE_RUN_TAG] = record.id
        tags[mapping.RUN_TYPE_TAG] = record.run_type
        if record.description:
            tags[mapping.NOTE_TAG] = record.description[:MAX_TAG_VALUE]
        if parent_id is not None:
            tags[mapping.PARENT_TAG] = parent_id
        return tags

    def log_params(
        self,
        record: RunRecord,
        mlflow_id: str,
        manifest: dict[str, Any],
        sent: Collection[str] = (),
    ) -> set[str]:
        """Log ``record``'s properties as params, but those in ``sent``; the names logged."""
        params: dict[str, str] = {}
        for key, value in record.properties.items():
            if key in SYSTEM_PROPERTIES:
                continue  # internal bookkeeping (kept in the manifest)
            if not valid_key(key):
                self.report.note(
                    record.id,
                    f"property {key!r} is not a valid MLflow param name (kept in the manifest)",
                )
            elif len(value) > MAX_PARAM_VALUE:
                self.report.note(
                    record.id,
                    f"property {key!r} is longer than an MLflow param (kept in the manifest)",
                )
            else:
                params[key] = value
        derived = _hyperparameters(record.properties.get("hyperparameters"))
        derived = {k: v for k, v in derived.items() if k not in params and valid_key(k)}
        params.update(derived)
        manifest["derived_params"] = sorted(derived)
        items = [self.param_cls(k, v) for k, v in params.items() if k not in sent]
        for start in range(0, len(items), 100):  # MLflow: at most 100 params per batch
            self.client.log_batch(mlflow_id, params=items[start : start + 100])
        return set(params)

    def _manifest(self, record: RunRecord, infos: list[MetricInfo]) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "source_run_id": record.id,
            "experiment": record.experiment_name,
            "run_type": record.run_type,
            "number": record.number,
            "display_name": record.display_name,
            "description": record.description,
            "status": record.status,
            "created_at": record.created_at,
            "start_time": record.start_time,
            "end_time": record.end_time,
            "error": dict(record.error) if record.error else None,
            "definition": _jsonable(dict(record.definition)),
            "tags": dict(record.tags),
            "properties": dict(record.properties),
            "metrics": {},
        }

    # -------------------------------------------------------------------- metrics --
    def _metrics(
        self,
        run: Run,
        infos: list[MetricInfo],
        mlflow_id: str,
        manifest: dict[str, Any],
        sent: frozenset[str],
    ) -> None:
        for number, info in enumerate(sorted(infos, key=lambda i: i.id)):
            history = run.get_metric_history(info.name)
            entry: dict[str, Any] = {"kind": info.kind, "description": info.description}
            if is_numeric(info.kind, history.values) and valid_key(info.name):
                if info.name not in sent:
                    self._log_points(mlflow_id, info.name, history)
                entry["mlflow_key"] = info.name
            else:
                path = f"{mapping.METRICS_FOLDER}/{number:04d}.json"
                self.client.log_dict(mlflow_id, _points_json(info, history), path)
                entry["artifact"] = path
                if info.kind in ("row", "table") and isinstance(history.values, dict):
                    table_path = f"{mapping.TABLES_FOLDER}/{_slug(info.name)}.json"
                    self.client.log_table(
                        mlflow_id,
                        {k: _jsonable(list(v)) for k, v in history.values.items()},
                        table_path,
                    )
                    entry["table"] = table_path
                elif info.kind in ("scalar", "list"):
                    why = (
                        "its values are not all numbers"
                        if valid_key(info.name)
                        else "its name is not valid in MLflow"
                    )
                    self.report.note(
                        run.id, f"metric {info.name!r}: {why}; stored as the JSON artifact {path}"
                    )
                self.report.points += len(history)
            manifest["metrics"][info.name] = entry

    def _log_points(self, mlflow_id: str, key: str, history: MetricHistory) -> None:
        for _, batch in self.metric_batches(key, history.steps, history.times, history.values):
            self.client.log_batch(mlflow_id, metrics=batch)
        self.report.points += len(history)

    def metric_batches(
        self, key: str, steps: np.ndarray, times: np.ndarray, values: np.ndarray
    ) -> Iterator[tuple[int, list[Any]]]:
        """MLflow ``Metric`` batches of at most 1,000 points (times in s → ms).

        Each comes with the number of points up to its end (a mirror's cursor).
        """
        step_list = steps.tolist()
        ms = (times * 1000.0).round().astype(np.int64).tolist()
        floats = values.tolist()
        for start in range(0, len(floats), BATCH_POINTS):
            end = min(start + BATCH_POINTS, len(floats))
            yield (
                end,
                [
                    self.metric_cls(key, v, t, s)
                    for v, t, s in zip(
                        floats[start:end], ms[start:end], step_list[start:end], strict=True
                    )
                ],
            )

    # ---------------------------------------------------------------------- files --
    def _files(self, run: Run, mlflow_id: str) -> None:
        names = run.get_file_names()
        for name in names:
            folder = name.rpartition("/")[0] or None
            self.client.log_artifact(mlflow_id, str(run.get_file_path(name)), folder)
        self.report.files += len(names)


def _points_json(info: MetricInfo, history: MetricHistory) -> dict[str, Any]:
    values = history.values
    return {
        "name": info.name,
        "kind": info.kind,
        "description": info.description,
        "steps": history.steps.tolist(),
        "times": history.times.tolist(),
        "values": (
            {k: _jsonable(list(v)) for k, v in values.items()}
            if isinstance(values, dict)
            else _jsonable(list(values))
        ),
    }


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python ones and non-finite floats as strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}  # JSON has no NaN/inf; import turns it back
    return value


def _hyperparameters(text: str | None) -> dict[str, str]:
    """A sweep child's ``hyperparameters`` property as ``{name: value}`` params."""
    if not text:
        return {}
    try:
        values = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    return {str(k).lstrip("-"): str(v) for k, v in values.items()}


def is_numeric(kind: str, values: Any) -> bool:
    """Whether a series (or a chunk of one) is MLflow metric material: logged floats."""
    return (
        kind in ("scalar", "list") and isinstance(values, np.ndarray) and values.dtype.kind == "f"
    )


def valid_key(name: str) -> bool:
    """Whether ``name`` is valid as an MLflow metric (or param) name."""
    validation = mlflow_module().utils.validation
    try:
        validation._validate_metric_name(name)
    except Exception:
        return False
    return len(name) <= 250


def _slug(name: str) -> str:
    text = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return text[:100] or "table"


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
