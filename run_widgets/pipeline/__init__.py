"""v1 pipelines (``azureml.pipeline.core`` and ``azureml.pipeline.steps``), run locally.

Example::

    from run_widgets import Experiment, Pipeline, PipelineData, PythonScriptStep, RunDetails

    prepared = PipelineData("prepared", datastore=ws.get_default_datastore())
    prep = PythonScriptStep("prep.py", source_directory="prep", arguments=["--out", prepared],
                            outputs=[prepared])
    train = PythonScriptStep("train.py", source_directory="train", arguments=["--data", prepared],
                             inputs=[prepared])
    run = Experiment(ws, "pipeline").submit(Pipeline(ws, [train]))   # prep is added (closure)
    RunDetails(run).show()        # the live step graph
    run.wait_for_completion()

Modules: ``parameters`` (``PipelineParameter``), ``pipeline_data`` (``PipelineData``),
``steps`` (``PythonScriptStep``, ``CommandStep``, ``StepSequence``), ``graph`` (closure,
checks, order), ``spec`` (compiling for the driver), ``reuse`` (reuse keys), ``launch``
(starting a pipeline run), ``driver`` (the process that runs the steps), ``runs``
(``PipelineRun``, ``StepRun``), ``published`` (``PublishedPipeline``, ``PipelineEndpoint``),
``pipeline`` (``Pipeline``).

Layer: pipeline, above ``data`` and ``submit``; importing it registers pipeline submission
(``Pipeline``, ``PublishedPipeline``, ``PipelineEndpoint``) and the run classes of
``azureml.PipelineRun`` / ``azureml.StepRun``; the widget layer registers the pipeline view
kind (``widgets.pipeline``).
"""

from ..experiment import register_submit_function
from ..runtime.registry import REGISTRY
from .launch import PIPELINE_RUN, STEP_RUN, submit_pipeline
from .parameters import PipelineParameter
from .pipeline import Pipeline
from .pipeline_data import PipelineData, PipelineDataInput
from .published import (
    PipelineEndpoint,
    PipelineEndpointVersion,
    PublishedPipeline,
    submit_endpoint,
    submit_published,
)
from .runs import PipelineRun, PortDataReference, StepRun, StepRunOutput
from .steps import CommandStep, PipelineStep, PythonScriptStep, StepSequence

register_submit_function(Pipeline, submit_pipeline)
register_submit_function(PublishedPipeline, submit_published)
register_submit_function(PipelineEndpoint, submit_endpoint)
REGISTRY.run_types.register(PIPELINE_RUN, PipelineRun)
REGISTRY.run_types.register(STEP_RUN, StepRun)

__all__ = [
    "CommandStep",
    "Pipeline",
    "PipelineData",
    "PipelineDataInput",
    "PipelineEndpoint",
    "PipelineEndpointVersion",
    "PipelineParameter",
    "PipelineRun",
    "PipelineStep",
    "PortDataReference",
    "PublishedPipeline",
    "PythonScriptStep",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
]
