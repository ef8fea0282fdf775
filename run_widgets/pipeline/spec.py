"""A pipeline compiled into the JSON its driver runs (the pipeline run's definition).

:func:`compile_pipeline` checks everything that can be known before a step runs — the
graph (see ``graph``), each step's source folder and script, its environment and compute
target, every datastore and dataset it reads — then snapshots each step's folder and
records, per step::

    {"id", "name", "kind", "script" | "command", "arguments" (tokens), "snapshot",
     "definition" (the script run definition: environment, compute…), "params",
     "allow_reuse", "after" (node ids), "inputs", "outputs"}

Inputs are ``job_io`` entries, or entries the driver resolves when the step starts:
``{"kind": "pipeline_data", "data": name}`` (an upstream step's output),
``{"kind": "dataset_parameter" | "datapath_parameter", "parameter": name}``. The
``graph`` entry lists data nodes and edges for the pipeline view.

Layer: pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..data import job_io, sources
from ..data.consumption import (
    DatasetConsumptionConfig,
    OutputFileDatasetConfig,
    OutputInput,
    token,
)
from ..data.dataset import Dataset
from ..data.datastore import Datastore, resolve_datastore
from ..data.references import DataReference
from ..exceptions import ExperimentExecutionException, PipelineValidationError, UserErrorException
from ..submit import compute as compute_targets
from ..submit.config import ScriptRunConfig
from ..submit.launcher import definition_of
from ..workspace import Workspace
from . import parameters as params_module
from .graph import Graph, data_key, produced_data
from .parameters import PipelineParameter
from .pipeline_data import PATH_TEMPLATE, PipelineData, PipelineDataInput
from .steps import CommandStep, PipelineStep, PythonScriptStep


class Compiler:
    """Compiles one pipeline's graph for one workspace (see :func:`compile_pipeline`)."""

    def __init__(self, workspace: Workspace, graph: Graph, default_source: str | None) -> None:
        self.workspace = workspace
        self.graph = graph
        self.default_source = default_source
        self.parameters: dict[str, PipelineParameter] = {}
        self.inputs: dict[str, dict[str, Any]] = {}  # graph nodes of what comes from outside
        self.edges: list[dict[str, str]] = []

    # ---------------------------------------------------------------- parameters --
    def parameter(self, parameter: PipelineParameter) -> str:
        """Record a parameter (one object per name); its token."""
        known = self.parameters.setdefault(parameter.name, parameter)
        if known is not parameter and known.default_value != parameter.default_value:
            raise PipelineValidationError(
                f"Two pipeline parameters are named {parameter.name!r} with different defaults."
            )
        return str(parameter)

    # -------------------------------------------------------------------- steps --
    def step(self, step: PipelineStep) -> dict[str, Any]:
        """The compiled step."""
        node = self.graph.node_id(step)
        source = self._source(step)
        config = self._config(step, source)
        try:
            config.validate()
            interpreter = config.environment.python.resolved_interpreter()
            compute = compute_targets.resolve(self.workspace, step.compute_target)
        except UserErrorException as error:
            raise PipelineValidationError(f"Step {step.name!r}: {error}") from None
        except ExperimentExecutionException as error:
            raise PipelineValidationError(f"Step {step.name!r}: {error}") from None
        definition = definition_of(config, source, interpreter, compute, self.workspace)
        snapshot = self.workspace.artifacts.take_snapshot(
            source,
            exclude=(self.workspace.folder,),
            hint=f" (step {step.name!r}'s source_directory)",
        )
        inputs = [self._input(step, node, value) for value in step.consumed()]
        outputs = [
            self._output(step, node, value) for value in [*step.produced(), *self._uploads(step)]
        ]
        arguments = [self._argument(step, value) for value in step.arguments]
        names = [e["name"] for e in (*inputs, *outputs)]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise PipelineValidationError(
                f"Step {step.name!r} has two inputs or outputs named {duplicated}."
            )
        params = {}
        for key, value in step.params.items():
            params[key] = (
                self.parameter(value) if isinstance(value, PipelineParameter) else str(value)
            )
        return {
            "id": node,
            "name": step.name,
            "kind": step.kind,
            "script": getattr(step, "script_name", None),
            "command": getattr(step, "command_words", None),
            "arguments": arguments,
            "snapshot": snapshot.snapshot_id,
            "definition": definition,
            "params": params,
            "allow_reuse": step.allow_reuse,
            "after": list(self.graph.upstream[node]),
            "inputs": inputs,
            "outputs": outputs,
        }

    def _source(self, step: PipelineStep) -> Path:
        folder = step.source_directory or self.default_source or "."
        source = Path(folder).expanduser().resolve()
        if not source.is_dir():
            raise PipelineValidationError(
                f"Step {step.name!r}: source_directory {str(source)!r} is not a folder."
            )
        return source

    def _config(self, step: PipelineStep, source: Path) -> ScriptRunConfig:
        if isinstance(step, PythonScriptStep):
            script: str | None = step.script_name
            command = None
        elif isinstance(step, CommandStep):
            script, command = None, step.command_words
        else:
            raise PipelineValidationError(
                f"Step {step.name!r} is a {type(step).__name__}, which cannot run locally."
            )
        return ScriptRunConfig(
            source_directory=source,
            script=script,
            command=command,
            run_config=step.runconfig,
            compute_target=step.compute_target,
        )

    def _uploads(self, step: PipelineStep) -> list[DataReference]:
        return [o for o in step.outputs if isinstance(o, DataReference)]

    def _argument(self, step: PipelineStep, value: Any) -> str:
        if isinstance(value, PipelineParameter):
            return self.parameter(value)
        if isinstance(value, tuple):
            return token(value[0].name)
        if isinstance(value, PipelineData):
            produced = any(o is value for o in step.produced())
            return token(value.name if produced else value.as_input().name)
        if isinstance(value, Dataset):
            return token(
                step.consumed()[[_same_dataset(c, value) for c in step.consumed()].index(True)].name
            )
        if isinstance(
            value,
            (PipelineDataInput, OutputInput, DatasetConsumptionConfig, OutputFileDatasetConfig),
        ):
            return token(value.name)
        if isinstance(value, DataReference):
            return token(value.data_reference_name)
        return str(value)

    def _input(self, step: PipelineStep, node: str, value: Any) -> dict[str, Any]:
        data = produced_data(value)
        if data is not None:
            key = data_key(data)
            read_as = data.read_as if isinstance(data, OutputFileDatasetConfig) else None
            self.edges.append(
                {"from": f"data:{self.graph.names[key]}", "to": node, "label": value.name}
            )
            return {
                "name": value.name,
                "mode": value.mode,
                "kind": "pipeline_data",
                "data": self.graph.names[key],
                "read_as": read_as,
            }
        if isinstance(value, tuple):
            parameter = value[0]
            self.parameter(parameter)
            self._external(
                f"parameter:{parameter.name}",
                parameter.name,
                "DataPath parameter",
                node,
                parameter.name,
            )
            return {
                "name": parameter.name,
                "mode": value[1].mode,
                "kind": "datapath_parameter",
                "parameter": parameter.name,
            }
        if isinstance(value, DatasetConsumptionConfig) and isinstance(
            value.dataset, PipelineParameter
        ):
            self.parameter(value.dataset)
            self._external(
                f"parameter:{value.dataset.name}",
                value.dataset.name,
                "Dataset parameter",
                node,
                value.name,
            )
            return {
                "name": value.name,
                "mode": value.mode,
                "kind": "dataset_parameter",
                "parameter": value.dataset.name,
            }
        try:
            entry = job_io.input_entry(self.workspace, value)
        except UserErrorException as error:
            raise PipelineValidationError(f"Step {step.name!r}: {error}") from None
        if entry["kind"] == "dataset":
            dataset = value.dataset_value
            label = dataset.name or ", ".join(_source_labels(entry["definition"]))
            self._external(f"dataset:{entry['dataset_id']}", label, "Dataset", node, entry["name"])
            _check_readable(dataset, step)
        else:
            store = resolve_datastore(self.workspace, entry["datastore"])
            self._external(
                f"datapath:{store.name}/{entry['path']}",
                f"{store.name}/{entry['path']}",
                "DataReference",
                node,
                entry["name"],
            )
        return entry

    def _external(self, node_id: str, label: str, kind: str, consumer: str, port: str) -> None:
        self.inputs.setdefault(node_id, {"id": node_id, "name": label, "kind": kind})
        self.edges.append({"from": node_id, "to": consumer, "label": port})

    def _output(self, step: PipelineStep, node: str, value: Any) -> dict[str, Any]:
        try:
            if isinstance(value, PipelineData):
                store = value.datastore or Datastore.get_default(self.workspace)
                store = resolve_datastore(self.workspace, store)
                entry = {
                    "name": value.name,
                    "datastore": store.name,
                    "path": PATH_TEMPLATE,
                    "register": None,
                    "read_as": None,
                }
            else:
                entry = job_io.output_entry(self.workspace, value)
        except UserErrorException as error:
            raise PipelineValidationError(f"Step {step.name!r}: {error}") from None
        entry["data"] = value.name
        self.edges.append({"from": node, "to": f"data:{value.name}", "label": value.name})
        return entry

    def data_nodes(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The graph's data nodes: outputs of steps, then what comes from outside."""
        nodes = []
        for step in steps:
            for output in step["outputs"]:
                kind = (
                    "PipelineData" if output["path"] == PATH_TEMPLATE else "OutputFileDatasetConfig"
                )
                nodes.append(
                    {
                        "id": f"data:{output['data']}",
                        "name": output["data"],
                        "kind": kind,
                        "producer": step["id"],
                        "datastore": output["datastore"],
                    }
                )
        return nodes + list(self.inputs.values())


def _same_dataset(consumed: Any, dataset: Dataset) -> bool:
    return isinstance(consumed, DatasetConsumptionConfig) and consumed.dataset is dataset


def _source_labels(definition: dict[str, Any]) -> list[str]:
    labels = []
    for location in definition.get("sources", []):
        text = location.get("url") or location.get("path") or ""
        labels.append(os.path.basename(text.rstrip("/")) or text)
    return labels


def _check_readable(dataset: Dataset, step: PipelineStep) -> None:
    """A dataset input must exist now (a missing file or URL is an error before anything runs)."""
    try:
        sources.all_files(dataset.definition["sources"], dataset.workspace)
    except UserErrorException as error:
        raise PipelineValidationError(
            f"Step {step.name!r} reads a dataset that cannot be read: {error}"
        ) from None


def compile_pipeline(
    workspace: Workspace, graph: Graph, default_source: str | None = None
) -> dict[str, Any]:
    """The pipeline's spec (see the module docstring).

    Raises:
        PipelineValidationError: anything that would stop a step, found before any runs.
    """
    compiler = Compiler(workspace, graph, default_source)
    steps = [compiler.step(step) for step in graph.steps]
    return {
        "steps": steps,
        "graph": {"data": compiler.data_nodes(steps), "edges": compiler.edges},
        "parameters": {
            name: params_module.value_json(workspace, name, p.default_value)
            for name, p in compiler.parameters.items()
        },
    }


def parameter_objects(graph: Graph) -> dict[str, PipelineParameter]:
    """Every ``PipelineParameter`` the steps of ``graph`` use, by name."""
    found: dict[str, PipelineParameter] = {}
    for step in graph.steps:
        values = [*step.arguments, *step.inputs, *step.params.values()]
        for value in values:
            if isinstance(value, PipelineParameter):
                found.setdefault(value.name, value)
            elif isinstance(value, tuple) and isinstance(value[0], PipelineParameter):
                found.setdefault(value[0].name, value[0])
            elif isinstance(value, DatasetConsumptionConfig) and isinstance(
                value.dataset, PipelineParameter
            ):
                found.setdefault(value.dataset.name, value.dataset)
    return found
