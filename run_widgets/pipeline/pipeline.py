"""``Pipeline`` (v1 ``azureml.pipeline.core.Pipeline``): steps to run as one graph.

``Pipeline(workspace, steps)`` completes the steps with those they depend on (v1's
``resolve_closure``); ``validate()`` checks, before anything runs, the graph (cycles,
inputs nobody produces), each step's folder, script, environment and compute target, and
every datastore and dataset read; ``experiment.submit(pipeline, pipeline_parameters=...)``
runs it (see ``runs`` and ``driver``); ``publish(name)`` keeps it in the workspace.

Layer: pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..data.datastore import Datastore
from ..exceptions import ArgumentTypeError
from ..runtime import REGISTRY
from ..workspace import Workspace
from . import parameters as params_module
from .graph import Graph, build
from .published import PublishedPipeline
from .spec import compile_pipeline, parameter_objects
from .steps import PipelineStep, flatten


class Pipeline:
    """A pipeline of steps (v1 ``Pipeline``).

    Args:
        workspace: the workspace it runs in.
        steps: the steps (or ``StepSequence``s); with ``resolve_closure`` the steps they
            depend on are added.
        description: free text.
        default_datastore: accepted for v1 code (outputs without a datastore go to the
            workspace's default datastore).
        default_source_directory: the folder of steps that name none.
        resolve_closure: add the steps producing the inputs of the given ones.
    """

    is_published = False

    def __init__(
        self,
        workspace: Workspace,
        steps: Sequence[Any],
        description: str | None = None,
        default_datastore: Datastore | None = None,
        default_source_directory: str | None = None,
        resolve_closure: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(workspace, Workspace):
            raise ArgumentTypeError(
                f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
            )
        if isinstance(steps, (PipelineStep, str)) or not isinstance(steps, Sequence):
            raise ArgumentTypeError("steps must be a list of pipeline steps.")
        self.workspace = workspace
        self.description = description
        self.default_datastore = default_datastore
        self.default_source_directory = default_source_directory
        self.resolve_closure = resolve_closure
        self._given = flatten(steps)

    @property
    def graph(self) -> Graph:
        """The checked graph (every step, in dependency order)."""
        return build(self._given, self.resolve_closure)

    @property
    def steps(self) -> list[PipelineStep]:
        """The pipeline's steps, completed and in dependency order."""
        return self.graph.steps

    @property
    def parameters(self) -> dict[str, Any]:
        """The pipeline's parameters and their default values."""
        return {name: p.default_value for name, p in parameter_objects(self.graph).items()}

    def validate(self) -> list[str]:
        """Check everything that can be checked before a step runs (nothing runs).

        Returns:
            An empty list (v1 returned a list of problems; here a problem raises).

        Raises:
            PipelineValidationError: a cycle, an input nobody produces, a missing folder,
                script, compute target, datastore or dataset — naming it.
        """
        self.compile()
        return []

    def compile(self) -> dict[str, Any]:
        """The compiled spec (see ``spec``); snapshots each step's folder."""
        return compile_pipeline(self.workspace, self.graph, self.default_source_directory)

    def _prepare(
        self, workspace: Workspace, given: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The spec and parameter values of one submission (for ``experiment.submit``)."""
        if workspace != self.workspace:
            raise ArgumentTypeError(
                "A pipeline is submitted to an experiment of its own workspace."
            )
        graph = self.graph
        spec = compile_pipeline(workspace, graph, self.default_source_directory)
        values = params_module.resolved_values(workspace, parameter_objects(graph), given)
        return spec, values

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run it in the experiment ``experiment_name``; the ``PipelineRun`` (v1)."""
        experiment = REGISTRY.experiment_class.require()(self.workspace, experiment_name)
        return experiment.submit(
            self,
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs,
        )

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Keep the compiled pipeline in the workspace, submittable by id (v1)."""
        return PublishedPipeline.create(
            self.workspace,
            name or "pipeline",
            description if description is not None else self.description,
            version,
            self.compile(),
            bool(continue_on_step_failure),
        )

    def __repr__(self) -> str:
        return f"Pipeline(steps={[s.name for s in self._given]!r})"
