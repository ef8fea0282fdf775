"""Script submission: ``ScriptRunConfig`` and ``experiment.submit``.

A script runs locally in its own process, its output captured, its status kept honest.
"""

from ..experiment import register_submit_function
from .compute import (
    AmlCompute,
    ComputeTarget,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
)
from .config import Environment, PythonSection, RunConfiguration, ScriptRunConfig
from .launcher import submit_script

register_submit_function(
    ScriptRunConfig,
    lambda experiment, config, parent=None: submit_script(experiment, config, parent),
)

__all__ = [
    "AmlCompute",
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetProvisioningConfiguration",
    "Environment",
    "PythonSection",
    "RunConfiguration",
    "ScriptRunConfig",
    "submit_script",
]
