"""Submitting a pipeline: record its run and start its driver process.

``experiment.submit(pipeline)`` records the pipeline run (type ``azureml.PipelineRun``,
Queued, its compiled spec as definition) and starts its driver
(``python -m run_widgets.pipeline.driver``) in its own session, so the notebook kernel may
restart meanwhile. The run object is made by the class registered for the run type (the
``PipelineRun`` of ``runs``), so this module needs nothing above it.

Layer: pipeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..run import Run, attach_run, create_run, run_class
from ..store import RunStatus
from ..submit.launcher import hand_over, start_supervisor

if TYPE_CHECKING:
    from ..experiment import Experiment

PIPELINE_RUN = "azureml.PipelineRun"
STEP_RUN = "azureml.StepRun"
DRIVER_MODULE = "run_widgets.pipeline.driver"
NODE_PROPERTY = "azureml.nodeid"
"""A step run's node id in its pipeline's graph."""
REUSED_PROPERTY = "azureml.reusedrunid"
"""A reused step run: the id of the run whose results it reused."""
REUSE_KEY_PROPERTY = "azureml.pipeline.reusekey"
"""A step run's reuse key (see ``reuse``)."""
STEP_TYPE_PROPERTY = "StepType"
"""A step run's step class (``PythonScriptStep``, ``CommandStep``)."""


def submit_pipeline(
    experiment: Experiment,
    pipeline: Any,
    parent: Run | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool | None = None,
    regenerate_outputs: bool = False,
    **_: Any,
) -> Run:
    """Record a pipeline run (Queued) and start its driver; return it at once.

    Everything that can be checked before a step runs is checked first (see
    ``Pipeline.validate``); nothing is recorded if that fails.
    """
    workspace = experiment.workspace
    spec, values = pipeline._prepare(workspace, pipeline_parameters)
    if continue_on_step_failure is None:
        continue_on_step_failure = bool(getattr(pipeline, "continue_on_step_failure", False))
    return start_pipeline_run(
        experiment,
        spec,
        values,
        bool(continue_on_step_failure),
        bool(regenerate_outputs),
        parent,
        pipeline_id=getattr(pipeline, "id", None)
        if getattr(pipeline, "is_published", False)
        else None,
    )


def start_pipeline_run(
    experiment: Experiment,
    spec: Mapping[str, Any],
    values: Mapping[str, Any],
    continue_on_step_failure: bool,
    regenerate_outputs: bool,
    parent: Run | None = None,
    pipeline_id: str | None = None,
) -> Run:
    """Create the pipeline run from a compiled spec and start its driver process."""
    workspace = experiment.workspace
    properties = {"azureml.runsource": PIPELINE_RUN}
    if pipeline_id:
        properties["azureml.pipelineid"] = pipeline_id
    run = create_run(
        experiment,
        cls=run_class(PIPELINE_RUN),
        run_id=str(uuid.uuid4()),
        status=RunStatus.QUEUED,
        run_type=PIPELINE_RUN,
        parent_id=parent.id if parent is not None else None,
        display_name=f"pipeline of {len(spec['steps'])} step(s)",
        definition={
            "target": "local",
            "pipeline": dict(spec),
            "parameter_values": dict(values),
            "continue_on_step_failure": continue_on_step_failure,
            "regenerate_outputs": regenerate_outputs,
        },
        properties=properties,
        owned=False,
        record_owner=True,
    )
    pid = start_supervisor(
        workspace.description(), run.id, run.files_dir, workspace.folder, module=DRIVER_MODULE
    )
    hand_over(workspace.store, run.id, pid)
    record = workspace.store.get_run(run.id)
    return run if record is None else attach_run(experiment, record, cls=run_class(PIPELINE_RUN))
