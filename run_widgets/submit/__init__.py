"""Script submission: ``ScriptRunConfig`` and ``experiment.submit``.

A script runs locally in its own process, its output captured, its status kept honest.
"""

from ..experiment import register_submit_function
from ..run import register_environment_reader
from .conda import CondaDependencies
from .config import DockerSection, Environment, PythonSection, RunConfiguration, ScriptRunConfig
from .launcher import submit_script

register_environment_reader(Environment.from_dict)
register_submit_function(
    ScriptRunConfig,
    lambda experiment, config, parent=None: submit_script(experiment, config, parent),
)

__all__ = [
    "CondaDependencies",
    "DockerSection",
    "Environment",
    "PythonSection",
    "RunConfiguration",
    "ScriptRunConfig",
    "submit_script",
]
