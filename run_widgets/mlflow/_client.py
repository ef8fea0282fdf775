"""MLflow itself, imported on demand, and the tracking URI in use.

MLflow is an optional extra (``pip install 'run_widgets[mlflow]'``): nothing in the
bridge imports it at module level, so ``import run_widgets.mlflow`` works without it and
the first call that needs it says how to install it.
"""

from __future__ import annotations

import os
import re
from typing import Any

INSTALL_HINT = "pip install 'run_widgets[mlflow]'"


class MlflowNotInstalled(ModuleNotFoundError):
    """MLflow is needed for this call and is not installed."""


def mlflow_module() -> Any:
    """The ``mlflow`` package.

    Raises:
        MlflowNotInstalled: MLflow is not installed (the message says how to install it).
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        import mlflow
    except ImportError as exc:
        raise MlflowNotInstalled(
            f"The MLflow bridge needs MLflow: {INSTALL_HINT} ({exc})."
        ) from exc
    return mlflow


def tracking_uri(uri: str | None) -> str:
    """``uri``, else MLflow's current tracking URI (``MLFLOW_TRACKING_URI`` or its default).

    Raises:
        TypeError: ``uri`` is not a string.
    """
    if uri is not None and not isinstance(uri, str):
        raise TypeError(f"tracking_uri must be a str, not {type(uri).__name__}.")
    if uri:
        return uri
    return str(mlflow_module().get_tracking_uri())


def client(uri: str | None) -> Any:
    """An ``MlflowClient`` for ``uri`` (see :func:`tracking_uri`)."""
    return mlflow_module().MlflowClient(tracking_uri=tracking_uri(uri))


def safe_uri(uri: str) -> str:
    """``uri`` without a password (``http://user:secret@host`` → ``http://user@host``)."""
    return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1@", uri)


def is_http(uri: str) -> bool:
    """True for an ``http://`` or ``https://`` tracking server."""
    return uri.lower().startswith(("http://", "https://"))
