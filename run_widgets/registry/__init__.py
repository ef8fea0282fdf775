"""The workspace's registries: models (v1 ``Model``) and environments.

Importing this package connects them to the layers below through their hooks:
``run.register_model`` and ``ws.models``.
"""

from ..runtime import REGISTRY
from ..workspace import register_listing
from .models import Model, register_from_run

REGISTRY.model_registrar.register(register_from_run)
register_listing("models", lambda ws: {m.name: m for m in Model.list(ws, latest=True)})

__all__ = ["Model"]
