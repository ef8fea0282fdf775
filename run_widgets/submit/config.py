"""``ScriptRunConfig`` and ``Environment``: what to run, and with which Python (v1 names).

Only local, user-managed environments exist here: the script runs with
``environment.python.interpreter_path`` (default: the interpreter running this code).
"""

from __future__ import annotations

import numbers
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ExperimentExecutionException, MetricTypeError, UserErrorException
from .compute import check_target_argument

DEFAULT_MAX_RUN_DURATION_S = 2_592_000  # 30 days, as in v1
PYTHON_NAMES = ("python", "python3")


@dataclass
class PythonSection:
    """``environment.python``: which interpreter runs the script.

    Attributes:
        user_managed_dependencies: always effectively True here (no environment is built);
            kept so v1 code that sets it keeps working.
        interpreter_path: the Python executable; ``None`` means this interpreter.
    """

    user_managed_dependencies: bool = True
    interpreter_path: str | None = None

    def resolved_interpreter(self) -> str:
        """The interpreter to start, checked to exist."""
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


@dataclass
class Environment:
    """A named environment: interpreter and extra environment variables.

    Args:
        name: a label stored with the run.
    """

    name: str = "default-environment"
    python: PythonSection = field(default_factory=PythonSection)
    environment_variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UserErrorException("Environment name must be a non-empty str.")


@dataclass
class RunConfiguration:
    """v1 ``run_config``: holds the environment and the compute target (name or object)."""

    environment: Environment = field(default_factory=Environment)
    target: Any = "local"


class ScriptRunConfig:
    """What to run: a script (with arguments) or a command, from a source directory.

    Args:
        source_directory: the folder snapshotted and used (as a copy) as the working folder.
        script: the script to run, relative to ``source_directory``.
        arguments: command-line arguments (numbers are converted to str).
        run_config: a ``RunConfiguration`` (its ``environment`` and ``target`` are used).
        compute_target: where to run: a ``ComputeTarget``, a target's name, or ``"local"``.
        environment: an ``Environment``; wins over ``run_config.environment``.
        command: instead of ``script``, a command (list or string) run in the folder.
        max_run_duration_seconds: the run is stopped and Failed after this long.
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


def _argument(value: Any) -> str:
    if isinstance(value, (str, numbers.Number)):  # numpy scalars too (np.int64, np.float32)
        return str(value)
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise MetricTypeError(
        f"Script arguments must be str or numbers, got {type(value).__name__}: {value!r:.60}"
    )
