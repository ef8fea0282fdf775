"""``import_runs``: the runs of an MLflow experiment into a run_widgets workspace.

Each MLflow run becomes a run of the same-named experiment: metrics with their steps and
timestamps, params → properties, tags → tags, the run name, note, status and times, nested
runs → child runs, artifacts → files. A run that ``export_runs`` wrote comes back as it
was (kinds, tables, images, tags, properties, its original id) from its manifest.

Idempotent: an imported run carries the tag ``mlflow.run_id``; importing again skips it,
and skips a run whose original run_widgets id is already in the workspace. Each run's
store rows are written in one transaction (files first), so nothing half-written is left.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import UserErrorException
from ..experiment import Experiment
from ..run import new_run_id
from ..store import AppendPoints, CreateRun, WriteOp
from ..store.entities import MetricKind
from ..tracking import lifecycle
from ..workspace import Workspace
from . import mapping
from ._client import client as make_client
from ._client import mlflow_module
from .report import TransferReport

IMPORTED_TYPE = "interactive"
_KINDS = ("scalar", "list", "row", "table", "image", "artifact")


def import_runs(
    workspace: Workspace,
    experiment_name_or_id: str,
    tracking_uri: str | None = None,
) -> TransferReport:
    """Copy every run of an MLflow experiment (nested runs as child runs) into ``workspace``.

    Args:
        workspace: the run_widgets workspace to write to.
        experiment_name_or_id: the MLflow experiment, by name or id.
        tracking_uri: MLflow tracking URI; MLflow's current one when omitted.

    Returns:
        A :class:`TransferReport` (``created`` maps MLflow run ids to run_widgets ids).

    Raises:
        TypeError: ``workspace`` is not a Workspace.
        UserErrorException: no such MLflow experiment.
    """
    if not isinstance(workspace, Workspace):
        raise TypeError(
            f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
        )
    client = make_client(tracking_uri)
    experiment = find_experiment(client, experiment_name_or_id)
    runs = _all_runs(client, experiment.experiment_id)
    importer = _Importer(client, workspace, Experiment(workspace, experiment.name))
    for run in _parents_first(runs):
        importer.import_one(run)
    return importer.report


def find_experiment(client: Any, name_or_id: Any) -> Any:
    """The MLflow experiment called ``name_or_id`` or with that id.

    Raises:
        UserErrorException: there is none.
    """
    if not isinstance(name_or_id, str) or not name_or_id:
        raise UserErrorException(
            f"experiment_name_or_id must be a non-empty str, got {name_or_id!r}."
        )
    found = client.get_experiment_by_name(name_or_id)
    if found is None and name_or_id.isdigit():
        try:
            found = client.get_experiment(name_or_id)
        except mlflow_module().exceptions.MlflowException:
            found = None
    if found is None:
        raise UserErrorException(f"No MLflow experiment named or with id {name_or_id!r}.")
    return found


def _all_runs(client: Any, experiment_id: str) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            max_results=1000,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _parents_first(runs: list[Any]) -> list[Any]:
    by_id = {run.info.run_id: run for run in runs}
    ordered: list[Any] = []
    placed: set[str] = set()

    def place(run: Any, seen: frozenset[str]) -> None:
        run_id = run.info.run_id
        if run_id in placed or run_id in seen:
            return
        parent = by_id.get(run.data.tags.get(mapping.PARENT_TAG, ""))
        if parent is not None:
            place(parent, seen | {run_id})
        placed.add(run_id)
        ordered.append(run)

    for run in runs:
        place(run, frozenset())
    return ordered


class _Importer:
    def __init__(self, client: Any, workspace: Workspace, experiment: Experiment) -> None:
        self.client = client
        self.workspace = workspace
        self.store = workspace.store
        self.experiment = experiment
        self.report = TransferReport()
        self._ids: dict[str, str] = {}  # MLflow run id -> run_widgets run id

    def import_one(self, run: Any) -> None:
        mlflow_id = str(run.info.run_id)
        existing = self.store.find_runs(tags={mapping.IMPORTED_FROM_TAG: mlflow_id}, limit=1)
        manifest = None if existing else self._manifest(mlflow_id)
        source_id = manifest.get("source_run_id") if manifest else None
        if isinstance(source_id, str):
            original = self.store.get_run(source_id)
            existing = [original] if original is not None else existing
        if existing:
            self._ids[mlflow_id] = existing[0].id
            self.report.skipped[mlflow_id] = existing[0].id
            return
        run_id = source_id if isinstance(source_id, str) else new_run_id()
        parent_mlflow = run.data.tags.get(mapping.PARENT_TAG)
        parent_id = self._ids.get(parent_mlflow) if parent_mlflow else None
        if parent_mlflow and parent_id is None:
            self.report.note(
                mlflow_id,
                f"parent run {parent_mlflow} is not in this experiment; imported as a top-level run",
            )
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(self.client.download_artifacts(mlflow_id, "", tmp))
            ops: list[WriteOp] = [self._create(run, run_id, parent_id, manifest)]
            ops += self._times(run, run_id, manifest)
            ops += self._metrics(run, run_id, local, manifest)
            self.report.files += _copy_files(local, self.workspace.runs_dir / run_id, manifest)
        self.store.write(ops)  # one transaction, after the files: nothing half-written
        self._ids[mlflow_id] = run_id
        self.report.created[mlflow_id] = run_id
        if getattr(getattr(run, "inputs", None), "dataset_inputs", None):
            self.report.note(mlflow_id, "dataset inputs are not imported")

    # ------------------------------------------------------------------ run fields --
    def _manifest(self, mlflow_id: str) -> dict[str, Any] | None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = self.client.download_artifacts(mlflow_id, mapping.MANIFEST_PATH, tmp)
                data = json.loads(Path(path).read_text(encoding="utf-8"))
        except Exception:  # no manifest: a run MLflow logged itself
            return None
        return data if isinstance(data, dict) and data.get("format") == 1 else None

    def _create(
        self, run: Any, run_id: str, parent_id: str | None, manifest: Mapping[str, Any] | None
    ) -> CreateRun:
        info, data = run.info, run.data
        tags: dict[str, str | None]
        properties: dict[str, str]
        if manifest:
            tags = dict(manifest.get("tags") or {})
            properties = {k: str(v) for k, v in (manifest.get("properties") or {}).items()}
            run_type = str(manifest.get("run_type") or IMPORTED_TYPE)
            definition = dict(manifest.get("definition") or {})
            description = manifest.get("description")
            display_name = manifest.get("display_name")
            created_at = float(manifest.get("created_at") or info.start_time / 1000)
        else:
            tags = {
                k: v
                for k, v in data.tags.items()
                if k not in mapping.CONSUMED_SYSTEM_TAGS and not k.startswith("run_widgets.")
            }
            properties = dict(data.params)
            run_type = IMPORTED_TYPE
            definition = {}
            description = data.tags.get(mapping.NOTE_TAG)
            display_name = info.run_name or data.tags.get(mapping.RUN_NAME_TAG)
            created_at = (info.start_time or time.time() * 1000) / 1000
        tags[mapping.IMPORTED_FROM_TAG] = str(info.run_id)
        tags[mapping.IMPORTED_EXPERIMENT_TAG] = str(info.experiment_id)
        return lifecycle.create_op(
            run_id,
            self.experiment.name,
            run_type=run_type,
            status=mapping.v1_status(info.status),
            parent_id=parent_id,
            display_name=display_name,
            description=description,
            definition=definition,
            tags=tags,
            properties=properties,
            created_at=created_at,
        )

    def _times(self, run: Any, run_id: str, manifest: Mapping[str, Any] | None) -> list[WriteOp]:
        info = run.info
        start = info.start_time / 1000 if info.start_time else None
        end = info.end_time / 1000 if info.end_time else None
        error = None
        if manifest:
            start = manifest.get("start_time", start)
            end = manifest.get("end_time", end)
            error = manifest.get("error")
        if info.status == "RUNNING":
            self.report.note(
                str(info.run_id), "imported while RUNNING: a snapshot, it will not update"
            )
            end = None
        return [lifecycle.imported_op(run_id, start_time=start, end_time=end, error=error)]

    # --------------------------------------------------------------------- metrics --
    def _metrics(
        self, run: Any, run_id: str, local: Path, manifest: Mapping[str, Any] | None
    ) -> list[WriteOp]:
        entries: Mapping[str, Any] = (manifest or {}).get("metrics") or {}
        ops: list[WriteOp] = []
        from_mlflow: set[str] = set()
        for name, entry in entries.items():
            kind = entry.get("kind")
            if kind not in _KINDS:
                continue
            if "mlflow_key" in entry:
                from_mlflow.add(entry["mlflow_key"])
                op = self._history_op(
                    run, run_id, entry["mlflow_key"], name, kind, entry.get("description", "")
                )
            else:
                op = _artifact_op(
                    run_id, name, kind, local / entry["artifact"], entry.get("description", "")
                )
            if op is not None:
                ops.append(op)
                self.report.points += len(op.times)
        for key in run.data.metrics:
            if key not in from_mlflow and key not in entries:
                op = self._history_op(run, run_id, key, key, "scalar", "")
                if op is not None:
                    ops.append(op)
                    self.report.points += len(op.times)
        return ops

    def _history_op(
        self, run: Any, run_id: str, key: str, name: str, kind: Any, description: str
    ) -> AppendPoints | None:
        history = self.client.get_metric_history(run.info.run_id, key)
        if not history:
            return None
        steps = np.fromiter((m.step for m in history), dtype=np.int64, count=len(history))
        times = np.fromiter((m.timestamp for m in history), dtype=np.float64, count=len(history))
        values = np.fromiter((m.value for m in history), dtype=np.float64, count=len(history))
        order = np.lexsort((steps, times))  # MLflow's own order: time, then step
        return AppendPoints(
            run_id=run_id,
            name=name,
            kind=kind,
            values=values[order],
            times=times[order] / 1000.0,
            steps=steps[order],
            description=description,
        )


def _copy_files(local: Path, files_dir: Path, manifest: Mapping[str, Any] | None) -> int:
    """Copy the downloaded artifacts into the run's folder, less the bridge's own files."""
    count = 0
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        relative = path.relative_to(local).as_posix()
        if relative.startswith("run_widgets/") or (
            manifest and relative.startswith(f"{mapping.TABLES_FOLDER}/")
        ):
            continue  # the manifest, metric JSON and MLflow tables the export added
        target = files_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count += 1
    return count


def _artifact_op(
    run_id: str, name: str, kind: MetricKind, path: Path, description: str
) -> AppendPoints | None:
    data = json.loads(path.read_text(encoding="utf-8"))
    steps = np.asarray(data["steps"], dtype=np.int64)
    if not len(steps):
        return None
    values = data["values"]
    values = (
        {k: [_from_json(v) for v in cells] for k, cells in values.items()}
        if isinstance(values, dict)
        else [_from_json(v) for v in values]
    )
    return AppendPoints(
        run_id=run_id,
        name=name,
        kind=kind,
        values=values,
        times=np.asarray(data["times"], dtype=np.float64),
        steps=steps,
        description=description,
    )


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"float"}:
        return float(value["float"])
    return value
