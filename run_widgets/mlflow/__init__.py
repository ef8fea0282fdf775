"""The MLflow bridge (optional extra: ``pip install 'run_widgets[mlflow]'``).

* :func:`export_runs` copies run_widgets runs (children as nested runs) to any MLflow
  tracking store; :func:`import_runs` copies an MLflow experiment into a workspace. Both
  are idempotent and return a :class:`TransferReport` listing what could not be mapped.
* :func:`mirror_run` copies a run (children included) to MLflow while it logs, and
  completes the copy as an export would when the run ends.
* :func:`open_experiment` / :func:`open_run` give MLflow runs to ``ExperimentDetails``,
  read live and incrementally (only new metric points per poll), read-only.
* ``python -m run_widgets.mlflow export|import ...`` does the same from a shell.

MLflow is imported only when a function needs it.
"""

from __future__ import annotations

from ._client import MlflowNotInstalled
from .api import TrackingServerUnreachable
from .export import export_runs
from .importing import import_runs
from .live import LiveMirror, mirror_run
from .report import TransferReport
from .views import MlflowExperiment, MlflowRunSource, open_experiment, open_run

__all__ = [
    "LiveMirror",
    "MlflowExperiment",
    "MlflowNotInstalled",
    "MlflowRunSource",
    "TrackingServerUnreachable",
    "TransferReport",
    "export_runs",
    "import_runs",
    "mirror_run",
    "open_experiment",
    "open_run",
]
