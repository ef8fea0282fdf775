"""Pipeline steps: ``PythonScriptStep``, ``CommandStep`` and ``StepSequence`` (v1).

v1 had the steps in ``azureml.pipeline.steps`` and ``StepSequence`` in
``azureml.pipeline.core``.

A step is a script (or a command) from a source folder, with arguments, data inputs and
outputs, an environment and a compute target. What a step reads and writes decides the
order of the pipeline: a step runs after the steps producing its inputs, and after the
steps named by ``step.run_after(other)``.

Layer: pipeline.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..data.consumption import DatasetConsumptionConfig, OutputFileDatasetConfig, OutputInput
from ..data.dataset import Dataset
from ..data.references import DataPathComputeBinding, DataReference
from ..exceptions import ArgumentTypeError, UserErrorException
from ..submit.compute import check_target_argument
from ..submit.config import Environment, RunConfiguration, ScriptRunConfig
from .parameters import PipelineParameter
from .pipeline_data import PipelineData, PipelineDataInput

StepInput = (
    PipelineDataInput | OutputInput | DatasetConsumptionConfig | DataReference | tuple[Any, Any]
)
StepOutput = PipelineData | OutputFileDatasetConfig | DataReference


class PipelineStep:
    """What every step has: a name, its data, its order constraints, reuse (v1 base class).

    Attributes:
        name: the step's name (shown in the graph; ``find_step_run(name)``).
        allow_reuse: reuse an earlier identical run of this step instead of running it.
    """

    kind = "PipelineStep"

    def __init__(
        self,
        name: str,
        arguments: Sequence[Any] | None,
        inputs: Iterable[Any] | None,
        outputs: Iterable[Any] | None,
        compute_target: Any,
        runconfig: Any,
        params: Mapping[str, Any] | None,
        source_directory: str | os.PathLike[str] | None,
        allow_reuse: bool,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException("A pipeline step needs a name (a non-empty str).")
        check_target_argument(compute_target)
        if runconfig is not None and not isinstance(runconfig, RunConfiguration):
            raise ArgumentTypeError(
                f"runconfig must be a RunConfiguration, not {type(runconfig).__name__}."
            )
        if not isinstance(allow_reuse, bool):
            raise ArgumentTypeError("allow_reuse must be True or False.")
        self.name = name
        self.arguments = list(arguments or [])
        self.runconfig = runconfig or RunConfiguration()
        self.compute_target = (
            compute_target if compute_target is not None else self.runconfig.target
        )
        self.params = {str(k): v for k, v in (params or {}).items()}
        self.source_directory = (
            os.fspath(source_directory) if source_directory is not None else None
        )
        self.allow_reuse = allow_reuse
        self.after: list[PipelineStep] = []
        self.inputs = [_normal_input(i) for i in (inputs or [])]
        self.outputs = [_check_output(o) for o in (outputs or [])]
        for value in self.arguments:
            _check_argument(value)
        for output in self.produced():
            output.producers.append(self)

    @property
    def environment(self) -> Environment:
        """The environment the step runs in."""
        return self.runconfig.environment

    def run_after(self, step: PipelineStep) -> None:
        """Run this step only after ``step`` (v1)."""
        if not isinstance(step, PipelineStep):
            raise ArgumentTypeError(f"run_after needs a pipeline step, not {type(step).__name__}.")
        if step is self:
            raise UserErrorException(f"Step {self.name!r} cannot run after itself.")
        if step not in self.after:
            self.after.append(step)

    def produced(self) -> list[PipelineData | OutputFileDatasetConfig]:
        """The pipeline data and dataset outputs this step writes."""
        found: list[PipelineData | OutputFileDatasetConfig] = []
        for value in [*self.outputs, *self.arguments]:
            if isinstance(value, (PipelineData, OutputFileDatasetConfig)) and not _listed(
                value, found
            ):
                if isinstance(value, PipelineData) and not _listed(value, self.outputs):
                    continue  # PipelineData in the arguments only is an input
                found.append(value)
        return found

    def consumed(self) -> list[Any]:
        """The inputs this step reads: declared ones and data objects among its arguments."""
        found = list(self.inputs)
        produced = self.produced()
        for value in self.arguments:
            if isinstance(value, PipelineData) and not _listed(value, produced):
                value = value.as_input()
            if (
                isinstance(value, (PipelineDataInput, OutputInput, DatasetConsumptionConfig))
                or (isinstance(value, DataReference) and value.mode != "upload")
                or _is_parameter_binding(value)
            ):
                normal = _normal_input(value)
                if not any(_same_input(normal, other) for other in found):
                    found.append(normal)
        return found

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class PythonScriptStep(PipelineStep):
    """Runs a Python script (v1 ``PythonScriptStep``).

    Args:
        script_name: the script, relative to ``source_directory``.
        name: the step's name (default: ``script_name``).
        arguments: command-line arguments: strings, numbers, ``PipelineParameter``s, and
            data (``PipelineData``, ``OutputFileDatasetConfig``, ``dataset.as_named_input(..)``,
            ``DataReference``, ``(parameter, DataPathComputeBinding())``), each replaced by a
            value or a local path when the step starts.
        compute_target: where it runs (a ``ComputeTarget``, its name, or ``"local"``).
        runconfig: a ``RunConfiguration`` (environment and target).
        runconfig_pipeline_params: accepted for v1 code.
        inputs: data the step reads (also found among the arguments).
        outputs: data the step writes (``PipelineData`` must be listed here).
        params: values passed as the environment variables ``AML_PARAMETER_<name>``.
        source_directory: the folder snapshotted for the step.
        allow_reuse: if nothing the step depends on changed (script snapshot, arguments,
            parameters, inputs' content, environment), reuse the earlier run.
        version: accepted for v1 code.
        hash_paths: accepted for v1 code (the whole source folder is hashed).
    """

    kind = "PythonScriptStep"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: Any = None,
        inputs: Iterable[Any] | None = None,
        outputs: Iterable[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: Any = None,
    ) -> None:
        if not isinstance(script_name, str) or not script_name:
            raise UserErrorException("script_name must be a non-empty str.")
        self.script_name = script_name
        super().__init__(
            name or script_name,
            arguments,
            inputs,
            outputs,
            compute_target,
            runconfig,
            params,
            source_directory,
            allow_reuse,
        )


class CommandStep(PipelineStep):
    """Runs a command (v1 ``CommandStep``), e.g. ``"python train.py --epochs 30"``.

    Args:
        command: the command (a str, or a list joined with spaces, as v1 did); default:
            the command of a ``ScriptRunConfig`` given as ``runconfig``.
        name: the step's name (default: the command's first word).
        compute_target: where it runs.
        runconfig: a ``RunConfiguration``, or a ``ScriptRunConfig`` (its command, folder,
            environment and target).
        runconfig_pipeline_params: accepted for v1 code.
        inputs: data the step reads.
        outputs: data the step writes.
        params: values passed as ``AML_PARAMETER_<name>`` environment variables.
        source_directory: the folder snapshotted for the step.
        allow_reuse: reuse an earlier identical run.
        version: accepted for v1 code.
    """

    kind = "CommandStep"

    def __init__(
        self,
        command: str | Sequence[str] | None = None,
        name: str | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | ScriptRunConfig | None = None,
        runconfig_pipeline_params: Any = None,
        inputs: Iterable[Any] | None = None,
        outputs: Iterable[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
    ) -> None:
        config = runconfig if isinstance(runconfig, ScriptRunConfig) else None
        if config is not None:
            command = command if command is not None else config.command or config.script
            source_directory = source_directory or config.source_directory
            compute_target = compute_target if compute_target is not None else config.compute_target
            runconfig = config.run_config
        if command is None:
            raise UserErrorException("CommandStep needs a command (or a ScriptRunConfig with one).")
        text = command if isinstance(command, str) else " ".join(str(c) for c in command)
        words = shlex.split(text)
        if not words:
            raise UserErrorException("CommandStep's command is empty.")
        self.command_words = words
        super().__init__(
            name or words[0],
            [],
            inputs,
            outputs,
            compute_target,
            runconfig,
            params,
            source_directory,
            allow_reuse,
        )


class StepSequence:
    """Steps that run one after the other, in the order given (v1 ``StepSequence``).

    Args:
        steps: the steps (or nested sequences / lists of steps that may run in parallel).
    """

    def __init__(self, steps: Sequence[Any] | None = None) -> None:
        if not steps:
            raise UserErrorException("A StepSequence needs at least one step.")
        self.steps = list(steps)
        previous: list[PipelineStep] = []
        for item in self.steps:
            group = flatten([item])
            for step in group:
                for before in previous:
                    step.run_after(before)
            previous = group

    def __repr__(self) -> str:
        return f"StepSequence({[s.name for s in flatten(self.steps)]!r})"


def flatten(items: Iterable[Any]) -> list[PipelineStep]:
    """The steps of a list that may hold steps, lists of steps and ``StepSequence``s."""
    result: list[PipelineStep] = []
    for item in items:
        if isinstance(item, PipelineStep):
            result.append(item)
        elif isinstance(item, StepSequence):
            result.extend(flatten(item.steps))
        elif isinstance(item, (list, tuple)):
            result.extend(flatten(item))
        else:
            raise ArgumentTypeError(
                f"A pipeline's steps must be pipeline steps (PythonScriptStep, CommandStep) or "
                f"StepSequences, not {type(item).__name__}."
            )
    return result


def _listed(value: Any, items: Iterable[Any]) -> bool:
    """Whether ``value`` (or a copy of the same output) is among ``items``."""
    return any(
        item is value
        or (
            isinstance(item, OutputFileDatasetConfig)
            and isinstance(value, OutputFileDatasetConfig)
            and item.producers is value.producers
        )
        for item in items
    )


def _is_parameter_binding(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], PipelineParameter)
        and isinstance(value[1], DataPathComputeBinding)
    )


def _normal_input(value: Any) -> Any:
    if isinstance(value, PipelineData):
        return value.as_input()
    if isinstance(value, Dataset):
        return value.as_named_input(f"input_{abs(hash(value)) % 10**8}")
    if isinstance(value, OutputFileDatasetConfig):
        return value.as_input()
    if isinstance(value, (PipelineDataInput, OutputInput, DatasetConsumptionConfig)):
        return value
    if isinstance(value, DataReference):
        if value.mode == "upload":
            raise UserErrorException(f"{value!r} is an output (as_upload); list it in outputs.")
        return value
    if _is_parameter_binding(value):
        return value
    raise ArgumentTypeError(
        "A step input must be PipelineData, an output's as_input(), a dataset (as_named_input), "
        f"a DataReference or a (PipelineParameter, DataPathComputeBinding) pair, not {value!r:.80}."
    )


def _same_input(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] is b[0]
    return (
        getattr(a, "name", None) is not None
        and getattr(a, "name", None) == getattr(b, "name", None)
        and type(a) is type(b)
    )


def _check_output(value: Any) -> StepOutput:
    if isinstance(value, (PipelineData, OutputFileDatasetConfig)):
        return value
    if isinstance(value, DataReference) and value.mode == "upload":
        return value
    raise ArgumentTypeError(
        f"A step output must be PipelineData, an OutputFileDatasetConfig or an as_upload() "
        f"DataReference, not {value!r:.80}."
    )


def _check_argument(value: Any) -> None:
    allowed = (
        str,
        int,
        float,
        PipelineParameter,
        PipelineData,
        PipelineDataInput,
        OutputFileDatasetConfig,
        OutputInput,
        DatasetConsumptionConfig,
        DataReference,
        Dataset,
    )
    if isinstance(value, allowed) or _is_parameter_binding(value):
        return
    raise ArgumentTypeError(
        f"A step argument must be a str, a number, a PipelineParameter or a data object, not "
        f"{type(value).__name__}: {value!r:.60}"
    )
