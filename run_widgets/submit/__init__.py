"""Script submission: ``ScriptRunConfig`` and ``experiment.submit``.

A script runs locally in its own process, its output captured, its status kept honest.

Layer: above the API façades (imports ``experiment``, ``run``, ``workspace``, ``tracking``);
importing it registers ``ScriptRunConfig`` submission, the environment reader behind
``run.get_environment()`` and the ``ws.environments`` / ``ws.compute_targets`` listings.
"""

from ..experiment import register_submit_function
from ..runtime import REGISTRY
from ..workspace import register_listing
from .compute import (
    AmlCompute,
    ComputeTarget,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
)
from .conda import CondaDependencies
from .config import (
    DEFAULT_CPU_IMAGE,
    DockerSection,
    Environment,
    PythonSection,
    RunConfiguration,
    ScriptRunConfig,
)
from .dask import DaskCompute
from .launcher import submit_script

REGISTRY.environment_reader.register(Environment.from_dict)
register_listing("environments", Environment.list)
register_listing("compute_targets", lambda ws: {t.name: t for t in ComputeTarget.list(ws)})
register_submit_function(
    ScriptRunConfig,
    lambda experiment, config, parent=None, **_: submit_script(experiment, config, parent),
)

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "AmlCompute",
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetProvisioningConfiguration",
    "CondaDependencies",
    "DaskCompute",
    "DockerSection",
    "Environment",
    "PythonSection",
    "RunConfiguration",
    "ScriptRunConfig",
    "submit_script",
]
