"""How a run consumes and produces data: ``DatasetConsumptionConfig`` and ``OutputFileDatasetConfig``.

Put in a ``ScriptRunConfig``'s or a pipeline step's ``arguments`` (or ``inputs`` /
``outputs``), these objects become a token (``$AZUREML_DATAREFERENCE_<name>``) in the
recorded command line and an entry of the run definition's ``data`` section; the process
that starts the job (see ``job_io``) replaces the token with a local path before the
script starts, as v1's compute did:

* ``dataset.as_named_input("raw").as_mount()`` / ``.as_download()``: the files, under a
  folder of the job (a single named file: the file's own path);
* ``dataset.as_named_input("raw")`` (direct): the dataset's id; inside the script
  ``Run.get_context().input_datasets["raw"]`` is the dataset itself;
* ``OutputFileDatasetConfig(name=..., destination=(datastore, "path/{run-id}"))``: an empty
  folder the script writes into, uploaded to the destination when the job ends well
  (``register_on_complete`` registers it as a dataset then).

Layer: data.
"""

from __future__ import annotations

import re
from typing import Any

from ..exceptions import ArgumentTypeError, UserErrorException
from .datastore import Datastore
from .references import check_reference_name, clean_path

TOKEN_PREFIX = "$AZUREML_DATAREFERENCE_"  # noqa: S105 - a placeholder, not a secret
DEFAULT_OUTPUT_PATH = "dataset/{run-id}/{output-name}"


def token(name: str) -> str:
    """The placeholder of input or output ``name`` in a recorded command line."""
    return f"{TOKEN_PREFIX}{name}"


def _parameter_default(value: Any) -> Any:
    """A pipeline parameter stands for its default value where a dataset is needed."""
    return getattr(value, "default_value", value)


def _dataset_kind(value: Any) -> str | None:
    """``file`` or ``tabular`` for a dataset (``dataset.Dataset``, known here by its kind)."""
    kind = getattr(type(value), "kind", None)
    return kind if kind in ("file", "tabular") and hasattr(value, "definition") else None


class DatasetConsumptionConfig:
    """A dataset as a named input of a run (v1 ``DatasetConsumptionConfig``).

    Args:
        name: the input's name (``run.input_datasets[name]``).
        dataset: a ``Dataset``, or a ``PipelineParameter`` whose value is one.
        mode: ``direct`` (the dataset itself), ``mount`` or ``download`` (a local path).
        path_on_compute: accepted for v1 code; the job gets its own path.
    """

    def __init__(
        self, name: str, dataset: Any, mode: str = "direct", path_on_compute: str | None = None
    ) -> None:
        self.name = check_reference_name(name, "input name")
        if _dataset_kind(_parameter_default(dataset)) is None:
            raise ArgumentTypeError(
                f"Input {name!r} needs a Dataset (or a PipelineParameter holding one), not "
                f"{type(dataset).__name__}."
            )
        if mode not in ("direct", "mount", "download"):
            raise UserErrorException(
                f"Input {name!r}: mode must be direct, mount or download, not {mode!r}."
            )
        if mode != "direct" and _dataset_kind(_parameter_default(dataset)) != "file":
            raise UserErrorException(
                f"Input {name!r}: only a file dataset can be mounted or downloaded; a tabular "
                "dataset is read in the script with input_datasets[name].to_pandas_dataframe()."
            )
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    @property
    def dataset_value(self) -> Any:
        """The dataset (a ``Dataset``; a pipeline parameter's default value)."""
        return _parameter_default(self.dataset)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """The files under a local folder of the job (or the file's path, for one file)."""
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """The files copied to the job before it starts."""
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    def __str__(self) -> str:
        return token(self.name)

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r})"


class OutputFileDatasetConfig:
    """A folder a run writes, uploaded to a datastore when it ends (v1 ``OutputFileDatasetConfig``).

    Args:
        name: the output's name (default: a generated one).
        destination: ``(datastore, "path")``; ``{run-id}`` and ``{output-name}`` in the path
            are replaced. Default: the default datastore, ``dataset/{run-id}/{output-name}``.
        source: accepted for v1 code; the job writes into the folder it is given.
        partition_format: accepted for v1 code.
    """

    _counter = 0

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Any, str] | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        if name is None:
            OutputFileDatasetConfig._counter += 1
            name = f"output_{OutputFileDatasetConfig._counter}"
        self.name = check_reference_name(name, "output name")
        if destination is not None:
            if not (isinstance(destination, tuple) and len(destination) == 2):
                raise ArgumentTypeError("destination must be a (datastore, 'path') tuple.")
            store, path = destination
            if not isinstance(store, (Datastore, str)):
                raise ArgumentTypeError("destination's first item must be a Datastore or its name.")
            destination = (store, clean_path(path, "destination path"))
        self.destination = destination
        self.source = source
        self.partition_format = partition_format
        self.mode = "mount"
        self.registration: dict[str, Any] | None = None
        self.read_as: dict[str, Any] | None = None
        # The steps producing this output, shared by every copy (register_on_complete,
        # read_delimited_files... return copies): a pipeline finds the producer through it.
        self.producers: list[Any] = []

    def _copy(self, **changes: Any) -> OutputFileDatasetConfig:
        clone = OutputFileDatasetConfig.__new__(OutputFileDatasetConfig)
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(changes)
        return clone

    @property
    def datastore_name(self) -> str | None:
        """The destination datastore's name (``None``: the default datastore)."""
        if self.destination is None:
            return None
        store = self.destination[0]
        return store if isinstance(store, str) else store.name

    @property
    def path_template(self) -> str:
        """The destination path, before ``{run-id}`` / ``{output-name}`` are replaced."""
        return self.destination[1] if self.destination is not None else DEFAULT_OUTPUT_PATH

    def as_mount(self, disable_metadata_cache: bool = False) -> OutputFileDatasetConfig:
        """Written in place (here: written locally, uploaded when the run ends well)."""
        return self._copy(mode="mount")

    def as_upload(
        self, overwrite: bool = False, source_globs: Any = None
    ) -> OutputFileDatasetConfig:
        """Written locally and uploaded when the run ends well."""
        return self._copy(mode="upload")

    def as_input(self, name: str | None = None) -> OutputInput:
        """This output as another step's input (mounted)."""
        return OutputInput(self, name or self.name, "mount")

    def as_mount_input(self, name: str | None = None) -> OutputInput:
        """Alias of :meth:`as_input` (v1's ``as_mount`` on an input)."""
        return self.as_input(name)

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> OutputFileDatasetConfig:
        """Register what the run wrote as a dataset version when the run completes."""
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException("register_on_complete needs a dataset name.")
        return self._copy(
            registration={"name": name, "description": description, "tags": dict(tags or {})}
        )

    def read_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: Any = None,
    ) -> OutputFileDatasetConfig:
        """Consumers read the written files as a table (``input_datasets[name]`` is tabular)."""
        read = {
            "kind": "delimited",
            "separator": separator,
            "header": bool(header),
            "include_path": include_path,
        }
        return self._copy(read_as={**read, "partition_format": partition_format, "glob": path_glob})

    def read_parquet_files(
        self,
        include_path: bool = False,
        partition_format: str | None = None,
        path_glob: str | None = None,
    ) -> OutputFileDatasetConfig:
        """Consumers read the written files as a Parquet table."""
        return self._copy(
            read_as={
                "kind": "parquet",
                "include_path": include_path,
                "partition_format": partition_format,
                "glob": path_glob,
            }
        )

    def __str__(self) -> str:
        return token(self.name)

    def __repr__(self) -> str:
        where = f"{self.datastore_name or '<default datastore>'}:{self.path_template}"
        return f"OutputFileDatasetConfig(name={self.name!r}, destination={where!r})"


class OutputInput:
    """An ``OutputFileDatasetConfig`` consumed by a later step (``output.as_input()``).

    Attributes:
        output: the output it reads.
        name: the input's name.
        mode: ``mount`` or ``download``.
    """

    def __init__(self, output: OutputFileDatasetConfig, name: str, mode: str) -> None:
        self.output = output
        self.name = check_reference_name(name, "input name")
        self.mode = mode

    def as_mount(self) -> OutputInput:
        """Read in place."""
        return OutputInput(self.output, self.name, "mount")

    def as_download(self) -> OutputInput:
        """Copied before the step starts."""
        return OutputInput(self.output, self.name, "download")

    def __str__(self) -> str:
        return token(self.name)

    def __repr__(self) -> str:
        return f"OutputInput(output={self.output.name!r}, name={self.name!r})"


def substitute(path_template: str, run_id: str, output_name: str) -> str:
    """A destination path with ``{run-id}`` and ``{output-name}`` filled in."""
    path = path_template.replace("{run-id}", run_id).replace("{output-name}", output_name)
    if re.search(r"\{[^}]*\}", path):
        raise UserErrorException(f"Unknown placeholder in output path {path_template!r}.")
    return path
