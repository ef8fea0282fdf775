"""``ScriptRunConfig`` and ``Environment``: what to run, and with which Python (v1 names).

A user-managed environment runs the script with ``environment.python.interpreter_path``
(default: the interpreter running this code); any other is built as an isolated virtual
environment from its ``conda_dependencies`` (see ``envbuild``).
"""

from __future__ import annotations

import builtins
import numbers
import os
import shlex
import shutil
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.job_io import is_data_object
from ..exceptions import (
    ArgumentTypeError,
    ExperimentExecutionException,
    RunWidgetsWarning,
    UserErrorException,
)
from ..store import rules
from ..store.assets import EnvironmentRecord
from ..workspace import Workspace
from .compute import check_target_argument
from .conda import CondaDependencies
from .envbuild import validate_requirements

DEFAULT_MAX_RUN_DURATION_S = 2_592_000  # 30 days, as in v1
PYTHON_NAMES = ("python", "python3")
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
"""v1's default CPU Docker image (``azureml.core.runconfig.DEFAULT_CPU_IMAGE``); recorded and
shown for v1 code, never pulled: nothing runs in Docker locally."""


class PythonSection:
    """``environment.python``: which Python runs the script, and with which packages.

    Attributes:
        interpreter_path: for user-managed environments, the Python executable; ``None``
            means the interpreter running this code.
        conda_dependencies: the packages (a ``CondaDependencies``). Unless the dependencies
            are user-managed, the script runs in an isolated virtual environment built
            from them (see ``user_managed_dependencies``).
    """

    def __init__(
        self,
        user_managed_dependencies: bool | None = None,
        interpreter_path: str | None = None,
        conda_dependencies: CondaDependencies | None = None,
    ) -> None:
        self._user_managed = user_managed_dependencies
        self.interpreter_path = interpreter_path
        self.conda_dependencies = conda_dependencies

    @property
    def user_managed_dependencies(self) -> bool:
        """Whether to run with ``interpreter_path`` as it is (else in an isolated environment).

        Unless set, an environment with ``conda_dependencies`` is built (v1's default,
        False) and one without runs in this interpreter (True), so v1 notebooks that set
        packages get them and plain local runs cost nothing.
        """
        if self._user_managed is None:
            return self.conda_dependencies is None
        return self._user_managed

    @user_managed_dependencies.setter
    def user_managed_dependencies(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ArgumentTypeError(
                f"user_managed_dependencies must be True or False, not {value!r:.40}."
            )
        self._user_managed = value

    @property
    def conda_dependencies(self) -> CondaDependencies | None:
        """The environment's packages."""
        return self._conda_dependencies

    @conda_dependencies.setter
    def conda_dependencies(self, value: CondaDependencies | None) -> None:
        if value is not None and not isinstance(value, CondaDependencies):
            raise ArgumentTypeError(
                f"conda_dependencies must be a CondaDependencies, not {type(value).__name__}."
            )
        self._conda_dependencies = value

    def resolved_interpreter(self) -> str:
        """The interpreter to start (user-managed environments), checked to exist."""
        path = self.interpreter_path or sys.executable
        if not Path(path).is_file():
            raise ExperimentExecutionException(
                f"The interpreter {path} does not exist (environment.python.interpreter_path)."
            )
        if not os.access(path, os.X_OK):
            raise ExperimentExecutionException(
                f"The interpreter {path} is not executable (environment.python.interpreter_path)."
            )
        return path

    def __repr__(self) -> str:
        return (
            f"PythonSection(user_managed_dependencies={self.user_managed_dependencies!r}, "
            f"interpreter_path={self.interpreter_path!r}, "
            f"conda_dependencies={self.conda_dependencies!r})"
        )


@dataclass
class DockerSection:
    """``environment.docker`` (v1). Kept so v1 code runs; local runs never use Docker."""

    enabled: bool = False
    base_image: str | None = DEFAULT_CPU_IMAGE
    base_image_registry: Any = None
    base_dockerfile: str | None = None
    shared_volumes: bool = True
    shm_size: str | None = None
    arguments: list[str] = field(default_factory=list)


@dataclass
class Environment:
    """A named environment: which Python runs the script, its packages and variables.

    Args:
        name: the environment's name (stored with the run; the key when registered).

    Attributes:
        version: the registered version (``None`` until ``register``).
        python: interpreter and packages (``python.conda_dependencies``).
        environment_variables: set for the script.
        docker: accepted for v1 code; ignored locally.
    """

    name: str = "default-environment"
    python: PythonSection = field(default_factory=PythonSection)
    environment_variables: dict[str, str] = field(default_factory=dict)
    docker: DockerSection = field(default_factory=DockerSection)
    version: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UserErrorException("Environment name must be a non-empty str.")
        rules.check_registry_name(self.name, "environment name")

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str | os.PathLike[str], pip_version: str | None = None
    ) -> Environment:
        """An environment with the packages of a ``requirements.txt`` (v1 name)."""
        path = Path(file_path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise UserErrorException(f"Cannot read the requirements file {path}: {error}") from None
        dependencies = CondaDependencies()
        requirements: list[str] = []
        for raw in lines:
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                dependencies.set_pip_option(line)
            else:
                requirements.append(line)
        validate_requirements(requirements, f"Requirements file {path}")
        if pip_version:
            requirements.insert(0, f"pip=={pip_version}")
        dependencies.set_pip_requirements([*dependencies.pip_options, *requirements])
        environment = Environment(name)
        environment.python.conda_dependencies = dependencies
        environment.python.user_managed_dependencies = False
        return environment

    @staticmethod
    def from_conda_specification(name: str, file_path: str | os.PathLike[str]) -> Environment:
        """An environment from a conda ``environment.yml`` (v1 name); built with pip here."""
        environment = Environment(name)
        environment.python.conda_dependencies = CondaDependencies(file_path)
        environment.python.user_managed_dependencies = False
        return environment

    def register(self, workspace: Workspace) -> Environment:
        """Store this environment in the workspace as the next version of its name.

        Args:
            workspace: the workspace whose registry keeps it.

        Returns:
            The registered environment, with its ``version`` ("1", "2", …).
        """
        if is_curated(self.name):
            raise UserErrorException(
                f"Environment names starting with 'AzureML' are reserved for curated "
                f"environments: {self.name!r} cannot be registered."
            )
        self.pip_requirements()  # refuse what could never be built, before storing it
        described = self.to_dict()
        described["version"] = None
        record = workspace.store.add_environment(self.name, described, time.time())
        return _from_record(record)

    @staticmethod
    def get(
        workspace: Workspace,
        name: str,
        version: str | int | None = None,
        label: str | None = None,
    ) -> Environment:
        """A registered environment (the latest version unless ``version`` is given).

        Curated Azure environments (``AzureML-*``, ``azureml-sklearn-1.5`` …) cannot exist
        locally: unless one was registered under that name, they resolve to this
        interpreter, with one warning per name.

        Args:
            workspace: the workspace whose registry is searched.
            name: the environment's name.
            version: a version (``"2"`` or ``2``); default the latest.
            label: accepted for v1 code; labels are not kept locally.

        Returns:
            The ``Environment``.

        Raises:
            UserErrorException: no environment of that name, or no such version (the
                message lists what exists).
        """
        if not isinstance(name, str) or not name:
            raise UserErrorException("Environment name must be a non-empty str.")
        number = _version_number(version)
        record = workspace.store.get_environment(name, number)
        if record is not None:
            return _from_record(record)
        versions = sorted(r.version for r in workspace.store.list_environments() if r.name == name)
        if versions:
            raise UserErrorException(
                f"Environment {name!r} has no version {version}; its versions are {versions}."
            )
        if is_curated(name):
            return curated(name)
        known = sorted({r.name for r in workspace.store.list_environments()})
        raise UserErrorException(
            f"No environment named {name!r} is registered in workspace {workspace.name!r}"
            + (f"; registered: {known}." if known else " (none is registered).")
        )

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        """The registered environments by name, each at its latest version (v1)."""
        latest: dict[str, Environment] = {}
        for record in workspace.store.list_environments():
            latest[record.name] = _from_record(record)  # listed by version: the last wins
        return latest

    def pip_requirements(self) -> builtins.list[str]:
        """The pip requirements of a built environment (conda packages mapped to pip).

        Returns:
            The requirement strings, conda packages first.

        Raises:
            UserErrorException: a conda package with no pip counterpart
                (``CondaOnlyPackageError``, naming it).
        """
        dependencies = self.python.conda_dependencies
        if dependencies is None:
            return []
        requirements = dependencies.pip_requirements()
        validate_requirements(requirements, f"Environment {self.name!r}")
        return requirements

    def to_dict(self) -> dict[str, Any]:
        """The environment as v1-style JSON (stored with runs and registrations)."""
        dependencies = self.python.conda_dependencies
        return {
            "name": self.name,
            "version": self.version,
            "python": {
                "userManagedDependencies": self.python.user_managed_dependencies,
                "interpreterPath": self.python.interpreter_path,
                "condaDependencies": dependencies.as_dict() if dependencies else None,
            },
            "environmentVariables": dict(self.environment_variables),
            "docker": {"enabled": self.docker.enabled, "baseImage": self.docker.base_image},
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Environment:
        """The environment described by ``to_dict()`` output (or a run's definition)."""
        python = data.get("python") or {}
        conda = python.get("condaDependencies")
        environment = Environment(
            str(data.get("name") or "default-environment"),
            python=PythonSection(
                user_managed_dependencies=python.get("userManagedDependencies"),
                interpreter_path=python.get("interpreterPath"),
                conda_dependencies=(
                    CondaDependencies(_underlying_structure=dict(conda)) if conda else None
                ),
            ),
            environment_variables=dict(data.get("environmentVariables") or {}),
            version=data.get("version"),
        )
        docker = data.get("docker") or {}
        environment.docker.enabled = bool(docker.get("enabled", False))
        environment.docker.base_image = docker.get("baseImage", DEFAULT_CPU_IMAGE)
        return environment


def _from_record(record: EnvironmentRecord) -> Environment:
    environment = Environment.from_dict(record.definition)
    environment.version = str(record.version)
    return environment


def _version_number(version: str | int | None) -> int | None:
    if version is None:
        return None
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, str) and version.isdigit():
        return int(version)
    raise UserErrorException(f"Environment version must be a number like '1', not {version!r}.")


CURATED_PREFIX = "azureml-"
_CURATED_WARNED: set[str] = set()


def is_curated(name: str) -> bool:
    """Whether ``name`` is one of Azure ML's curated environments (``AzureML-*``)."""
    return name.lower().startswith(CURATED_PREFIX)


def curated(name: str) -> Environment:
    """A curated Azure environment's local stand-in: this interpreter, user-managed."""
    if name not in _CURATED_WARNED:
        _CURATED_WARNED.add(name)
        warnings.warn(
            f"{name!r} is a curated Azure ML environment (a Docker image in the cloud); "
            f"locally it is this interpreter, {sys.executable}, with its packages.",
            RunWidgetsWarning,
            stacklevel=3,
        )
    return Environment(
        name, python=PythonSection(user_managed_dependencies=True, interpreter_path=sys.executable)
    )


class RunConfiguration:
    """v1 ``run_config``: holds the environment and the compute target (name or object).

    Args:
        script: accepted for v1 code (give the script to the ``ScriptRunConfig`` or step).
        arguments: accepted for v1 code.
        framework: accepted for v1 code (always Python).
        communicator: accepted for v1 code.
        conda_dependencies: the environment's packages (v1's shortcut for
            ``run_config.environment.python.conda_dependencies``).
        environment: the environment (default: a new ``Environment``).
        target: the compute target (name or object; default ``"local"``).
    """

    def __init__(
        self,
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: CondaDependencies | None = None,
        environment: Environment | None = None,
        target: Any = "local",
        **_v1: Any,
    ) -> None:
        self.environment = environment if environment is not None else Environment()
        self.target = target
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies

    def __repr__(self) -> str:
        return f"RunConfiguration(environment={self.environment.name!r}, target={self.target!r})"


class ScriptRunConfig:
    """What to run: a script (with arguments) or a command, from a source directory.

    Args:
        source_directory: the folder snapshotted and used (as a copy) as the working folder.
        script: the script to run, relative to ``source_directory``.
        arguments: command-line arguments: str, numbers (converted to str), and data
            objects (``dataset.as_named_input("x").as_mount()``, ``OutputFileDatasetConfig``,
            ``datastore.path(...)``), each replaced by a local path when the job starts.
        run_config: a ``RunConfiguration`` (its ``environment`` and ``target`` are used).
        compute_target: where to run: a ``ComputeTarget``, a target's name, or ``"local"``.
        environment: an ``Environment``; wins over ``run_config.environment``.
        command: instead of ``script``, a command (list or string) run in the folder.
        max_run_duration_seconds: the run is stopped and Failed after this long.
        distributed_job_config: accepted for v1 code; ignored (no distributed training).
        resume_from: accepted for v1 code; ignored.
        docker_runtime_config: accepted for v1 code; ignored (nothing runs in Docker).
    """

    def __init__(
        self,
        source_directory: str | os.PathLike[str],
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: Any = None,
        compute_target: Any = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: float = DEFAULT_MAX_RUN_DURATION_S,
        command: Sequence[str] | str | None = None,
        docker_runtime_config: Any = None,
    ) -> None:
        if script is not None and command is not None:
            raise UserErrorException("Give either script or command, not both.")
        check_target_argument(compute_target)
        if run_config is not None and compute_target is None:
            compute_target = run_config.target
        self.source_directory = os.fspath(source_directory)
        self.script = script
        self.arguments = [_argument(a) for a in (arguments or [])]
        self.run_config = run_config or RunConfiguration()
        self.compute_target = compute_target
        if environment is not None:
            self.run_config.environment = environment
        if isinstance(command, str):
            command = shlex.split(command)
        self.command = list(command) if command is not None else None
        if not (
            isinstance(max_run_duration_seconds, (int, float)) and max_run_duration_seconds > 0
        ):
            raise UserErrorException("max_run_duration_seconds must be a positive number.")
        self.max_run_duration_seconds = float(max_run_duration_seconds)

    @property
    def environment(self) -> Environment:
        """The environment the script runs in."""
        return self.run_config.environment

    @environment.setter
    def environment(self, value: Environment) -> None:
        self.run_config.environment = value

    def validate(self) -> tuple[Path, Path | None]:
        """Check the folder and script at submit time; return their absolute paths."""
        source = Path(self.source_directory).expanduser().resolve()
        if not source.is_dir():
            raise ExperimentExecutionException(
                f"The source directory {source} does not exist or is not a folder."
            )
        if self.script is None:
            if not self.command:
                raise ExperimentExecutionException(
                    "ScriptRunConfig needs a script or a command to run."
                )
            _check_program(self.command[0], source)
            return source, None
        script = (source / self.script).resolve()
        if not script.is_file() or source not in script.parents:
            raise ExperimentExecutionException(
                f"{script} script path doesn't exist. The script should be inside the project "
                "folder"
            )
        return source, script

    def argv(self, interpreter: str, bootstrap: str) -> list[str]:
        """The command line that runs the job inside the working folder."""
        if self.script is not None:
            return [interpreter, bootstrap, self.script, *self.arguments]
        assert self.command is not None
        return command_argv(self.command, interpreter)

    def __repr__(self) -> str:
        what = f"script={self.script!r}" if self.script else f"command={self.command!r}"
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, {what}, "
            f"arguments={self.arguments!r}, environment={self.environment.name!r})"
        )


def command_argv(command: Sequence[str], interpreter: str) -> list[str]:
    """A command's argv, with ``python``/``python3`` as the program meaning ``interpreter``."""
    program, *rest = command
    return [interpreter if program in PYTHON_NAMES else program, *rest]


def _check_program(program: str, source: Path) -> None:
    """The command's program must exist: a path inside the folder, or found on PATH."""
    if program in PYTHON_NAMES:
        return
    if os.sep in program or (os.altsep and os.altsep in program):
        found = (source / program).is_file()
    else:
        found = shutil.which(program) is not None
    if not found:
        raise ExperimentExecutionException(
            f"The command's program {program!r} was not found (neither in the source "
            f"directory {source} nor on PATH)."
        )


def _argument(value: Any) -> Any:
    if is_data_object(value):  # a dataset input or an output: a path once the job starts
        return value
    if isinstance(value, (str, numbers.Number)):  # numpy scalars too (np.int64, np.float32)
        return str(value)
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise ArgumentTypeError(
        "Script arguments must be str, numbers, datasets (as_named_input, as_mount) or "
        f"outputs (OutputFileDatasetConfig), got {type(value).__name__}: {value!r:.60}"
    )
