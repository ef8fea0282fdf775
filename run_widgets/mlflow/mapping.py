"""How MLflow's run model and run_widgets' (Azure ML v1's) map onto each other.

=====================  ======================================================
MLflow                 run_widgets
=====================  ======================================================
run name               display name
params                 properties (write-once in both); shown as Arguments
tags                   tags (``mlflow.*`` system tags mapped as below)
``mlflow.parentRunId`` parent run (nested runs are child runs)
``mlflow.note.content`` description
metrics (step, time)   ``run.log`` series with the same steps and times
artifacts              files; images shown as images, ``*.txt``/``*.log`` as logs
RUNNING / SCHEDULED    Running / Queued
FINISHED / FAILED      Completed / Failed
KILLED                 Canceled
=====================  ======================================================
"""

from __future__ import annotations

from ..store import RunStatus

STATUS_TO_V1 = {
    "RUNNING": RunStatus.RUNNING,
    "SCHEDULED": RunStatus.QUEUED,
    "FINISHED": RunStatus.COMPLETED,
    "FAILED": RunStatus.FAILED,
    "KILLED": RunStatus.CANCELED,
}
V1_TO_STATUS = {
    RunStatus.NOT_STARTED: "SCHEDULED",
    RunStatus.QUEUED: "SCHEDULED",
    RunStatus.PREPARING: "RUNNING",
    RunStatus.STARTING: "RUNNING",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.FINALIZING: "RUNNING",
    RunStatus.CANCEL_REQUESTED: "RUNNING",
    RunStatus.COMPLETED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELED: "KILLED",
}

PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"
CONSUMED_SYSTEM_TAGS = frozenset({PARENT_TAG, RUN_NAME_TAG, NOTE_TAG})
"""MLflow tags that become run fields rather than tags."""

SOURCE_RUN_TAG = "run_widgets.source_run_id"
"""On an exported MLflow run: the run_widgets run it came from (makes export idempotent)."""
EXPORT_COMPLETE_TAG = "run_widgets.export_complete"
"""Set last: an exported run without it was cut short and is exported again."""
RUN_TYPE_TAG = "run_widgets.run_type"
MANIFEST_PATH = "run_widgets/manifest.json"
"""Artifact with everything MLflow's model cannot hold (kinds, steps of tables, ...)."""
METRICS_FOLDER = "run_widgets/metrics"
TABLES_FOLDER = "tables"

IMPORTED_FROM_TAG = "mlflow.run_id"
"""On an imported run_widgets run: the MLflow run it came from (makes import idempotent)."""
IMPORTED_EXPERIMENT_TAG = "mlflow.experiment_id"

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp")
LOG_SUFFIXES = (".txt", ".log")


def v1_status(mlflow_status: str) -> str:
    """The v1 status of an MLflow status (unknown ones read as Running)."""
    return STATUS_TO_V1.get(str(mlflow_status).upper(), RunStatus.RUNNING)


def mlflow_status(v1: str) -> str:
    """The MLflow status of a v1 status."""
    return V1_TO_STATUS.get(v1, "RUNNING")


def artifact_role(path: str) -> str:
    """How the view shows an artifact: ``image``, ``log`` or ``file``."""
    lower = path.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return "image"
    if lower.endswith(LOG_SUFFIXES):
        return "log"
    return "file"
