"""run_widgets: live, server-free views of machine-learning runs in Jupyter.

The public surface re-creates the Azure ML SDK v1 names so that v1 notebooks port by
changing imports::

    from run_widgets import Workspace, Experiment, Run, RunDetails

Everything is recorded in a local workspace folder (an embedded SQLite store plus files);
nothing needs a server.

Layers, bottom to top (each imports only those below it; what a lower layer needs from a
higher one it asks ``runtime.REGISTRY``): ``exceptions`` → ``store`` → ``runtime`` (the
process's machinery) → ``tracking`` (what a run is made of) → ``workspace`` → ``run`` →
``experiment`` (the v1 façades) → ``data`` (datastores, datasets) → ``submit``, ``sweep``,
``registry``, ``tensorboard``, ``port`` → ``pipeline`` → ``views`` (UI-free read models) →
``widgets`` → ``mlflow`` → this package, which imports every layer that registers
something, so no registry is empty when it is used.
"""

from . import _context  # noqa: F401  (registers Run.get_context)
from ._version import __version__
from .data import (
    AzureBlobDatastore,
    DataPath,
    DataPathComputeBinding,
    DataReference,
    Dataset,
    DatasetConsumptionConfig,
    Datastore,
    FileDataset,
    OutputFileDatasetConfig,
    TabularDataset,
)
from .exceptions import (
    ActivityFailedException,
    ComputeTargetException,
    DataAccessError,
    DatasetChangedError,
    DatasetNotFoundError,
    DatasetTimestampMissingError,
    DatastoreNotFoundError,
    ExperimentExecutionException,
    MetricNotFoundError,
    ModelNotFoundException,
    PipelineNotFoundError,
    PipelineValidationError,
    RunEnvironmentException,
    RunNotFoundError,
    RunWidgetsError,
    SnapshotException,
    UserErrorException,
)
from .experiment import Experiment
from .pipeline import (
    CommandStep,
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    PublishedPipeline,
    PythonScriptStep,
    StepRun,
    StepSequence,
)
from .registry import Model
from .run import Run, RunType
from .runtime import registry as _registry
from .store import RunStatus
from .submit import (
    DEFAULT_CPU_IMAGE,
    AmlCompute,
    ComputeTarget,
    CondaDependencies,
    DaskCompute,
    Environment,
    RunConfiguration,
    ScriptRunConfig,
)
from .sweep import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    loguniform,
    normal,
    quniform,
    randint,
    uniform,
)
from .tensorboard import Tensorboard, export_to_tensorboard
from .workspace import Workspace

_registry.REGISTRY.run_report.register(_registry.Lazy("run_widgets.views.report", "write_report"))

VERSION = __version__
"""The package version, under v1's name (``azureml.core.VERSION``)."""

_LAZY = {
    "RunDetails": ("run_widgets.widgets.details", "RunDetails"),
    "ExperimentDetails": ("run_widgets.widgets.experiment", "ExperimentDetails"),
    "compare": ("run_widgets.views.compare_frame", "compare"),
}


def __getattr__(name: str) -> object:
    """Import the widget layer only when it is used (scripts never pay for it)."""
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'run_widgets' has no attribute {name!r}")


__all__ = [
    "DEFAULT_CPU_IMAGE",
    "VERSION",
    "ActivityFailedException",
    "AmlCompute",
    "AzureBlobDatastore",
    "BanditPolicy",
    "CommandStep",
    "ComputeTarget",
    "ComputeTargetException",
    "CondaDependencies",
    "DaskCompute",
    "DataAccessError",
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "Dataset",
    "DatasetChangedError",
    "DatasetConsumptionConfig",
    "DatasetNotFoundError",
    "DatasetTimestampMissingError",
    "Datastore",
    "DatastoreNotFoundError",
    "Environment",
    "Experiment",
    "ExperimentDetails",
    "ExperimentExecutionException",
    "FileDataset",
    "GridParameterSampling",
    "HyperDriveConfig",
    "HyperDriveRun",
    "MedianStoppingPolicy",
    "MetricNotFoundError",
    "Model",
    "ModelNotFoundException",
    "NoTerminationPolicy",
    "OutputFileDatasetConfig",
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineNotFoundError",
    "PipelineParameter",
    "PipelineRun",
    "PipelineValidationError",
    "PrimaryMetricGoal",
    "PublishedPipeline",
    "PythonScriptStep",
    "RandomParameterSampling",
    "Run",
    "RunConfiguration",
    "RunDetails",
    "RunEnvironmentException",
    "RunNotFoundError",
    "RunStatus",
    "RunType",
    "RunWidgetsError",
    "ScriptRunConfig",
    "SnapshotException",
    "StepRun",
    "StepSequence",
    "TabularDataset",
    "Tensorboard",
    "UserErrorException",
    "Workspace",
    "__version__",
    "choice",
    "compare",
    "export_to_tensorboard",
    "loguniform",
    "normal",
    "quniform",
    "randint",
    "uniform",
]
