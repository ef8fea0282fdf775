"""v1 data: datastores, datasets, and how runs read and write them (``azureml.data``).

Example::

    from run_widgets import Dataset, Workspace

    ws = Workspace.from_config()
    datastore = ws.get_default_datastore()            # a folder of the workspace
    datastore.upload_files(["iris.csv"], target_path="iris/", overwrite=True)
    iris = Dataset.Tabular.from_delimited_files(path=[(datastore, "iris/iris.csv")])
    iris = iris.register(ws, "iris")                  # version 1, pinned to the file's content
    frame = Dataset.get_by_name(ws, "iris").to_pandas_dataframe()

Modules: ``filesystems`` (fsspec access), ``secrets`` (sealed credentials), ``references``
(``DataReference``, ``DataPath``), ``datastore``, ``sources`` (path arguments), ``tabular``
(reading tables), ``dataset``, ``consumption`` (named inputs, outputs), ``job_io`` (a job's
data laid out and published).

Layer: data, above the API façades and below ``submit`` (a script's arguments may be data
objects); importing it registers ``ws.datastores``, ``ws.datasets``,
``ws.get_default_datastore()`` and ``run.input_datasets``.
"""

from typing import Any

from ..runtime import REGISTRY
from ..workspace import Workspace, register_listing
from .consumption import DatasetConsumptionConfig, OutputFileDatasetConfig, OutputInput
from .dataset import (
    Dataset,
    FileDataset,
    FileDatasetFactory,
    MountContext,
    TabularDataset,
    TabularDatasetFactory,
)
from .datastore import AzureBlobDatastore, Datastore, WorkspaceDatastore, list_datastores
from .job_io import input_datasets
from .references import DataPath, DataPathComputeBinding, DataReference


def _run_inputs(run: Any) -> dict[str, Any]:
    record = run.workspace.store.get_run(run.id)
    data = record.definition.get("data") if record is not None else None
    return input_datasets(run.workspace, run.id, data)


def _default_datastore(workspace: Workspace) -> Datastore:
    return Datastore.get_default(workspace)


register_listing("datastores", list_datastores)
register_listing("datasets", Dataset.get_all)
REGISTRY.default_datastore.register(_default_datastore)
REGISTRY.input_datasets.register(_run_inputs)

__all__ = [
    "AzureBlobDatastore",
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "Dataset",
    "DatasetConsumptionConfig",
    "Datastore",
    "FileDataset",
    "FileDatasetFactory",
    "MountContext",
    "OutputFileDatasetConfig",
    "OutputInput",
    "TabularDataset",
    "TabularDatasetFactory",
    "WorkspaceDatastore",
]
