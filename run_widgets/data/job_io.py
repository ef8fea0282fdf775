"""A job's data: recorded at submit time, laid out before the job starts, published at its end.

**Submit side** (:func:`bind_arguments`): the data objects among a job's arguments and
``inputs``/``outputs`` (datasets as named inputs, ``DataReference``s, outputs) become
tokens in the recorded command line and entries of the run definition's ``data`` section::

    {"inputs":  [{"name", "mode", "kind": "dataset", "dataset_id", "definition"},
                 {"name", "mode", "kind": "datapath", "datastore", "path", "read_as"?}],
     "outputs": [{"name", "datastore", "path", "register"?, "read_as"?}]}

**Job side** (:func:`prepare` and :func:`publish`, called by the process that runs the job):
each input is laid out under a folder of the job (links to local files, copies of remote
ones), each output gets an empty folder; the tokens are replaced by those paths and
``AZUREML_DATAREFERENCE_<name>`` variables are set. When the job ends well, each output
folder is uploaded to its datastore path and registered if asked. The run's properties
``azureml.input.<name>`` / ``azureml.output.<name>`` record what was read and written
(lineage, shown in the run's view).

Layer: data.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import DataAccessError, UserErrorException
from ..workspace import Workspace
from . import filesystems, sources
from .consumption import (
    TOKEN_PREFIX,
    DatasetConsumptionConfig,
    OutputFileDatasetConfig,
    OutputInput,
    substitute,
    token,
)
from .dataset import Dataset, FileDataset, TabularDataset, dataset_from_definition
from .datastore import Datastore, resolve_datastore
from .filesystems import FileRef
from .references import DataReference

INPUT_PROPERTY = "azureml.input."
OUTPUT_PROPERTY = "azureml.output."
ENV_PREFIX = "AZUREML_DATAREFERENCE_"
DATA_OBJECTS = (
    DatasetConsumptionConfig,
    DataReference,
    OutputFileDatasetConfig,
    OutputInput,
    Dataset,
)


@dataclass
class DataSection:
    """The ``data`` section of a run definition being built."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def names(self) -> set[str]:
        """Every input and output name so far."""
        return {e["name"] for e in self.inputs} | {e["name"] for e in self.outputs}

    def add_input(self, entry: dict[str, Any]) -> None:
        """Add an input; the same name twice must mean the same thing."""
        self._add(self.inputs, entry)

    def add_output(self, entry: dict[str, Any]) -> None:
        """Add an output; the same name twice must mean the same thing."""
        self._add(self.outputs, entry)

    def _add(self, entries: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        for existing in (*self.inputs, *self.outputs):
            if existing["name"] == entry["name"]:
                if existing != entry:
                    raise UserErrorException(
                        f"Two different data inputs or outputs are named {entry['name']!r}."
                    )
                return
        entries.append(entry)

    def to_json(self) -> dict[str, Any] | None:
        """The section, or ``None`` when the job has no data."""
        if not (self.inputs or self.outputs):
            return None
        return {"inputs": self.inputs, "outputs": self.outputs}


def is_data_object(value: Any) -> bool:
    """Whether ``value`` is one of the data objects a job argument may be."""
    return isinstance(value, DATA_OBJECTS)


def input_entry(workspace: Workspace, value: Any) -> dict[str, Any]:
    """The definition entry of an input object (a dataset, consumption config, reference)."""
    if isinstance(value, Dataset):
        value = value.as_named_input(f"input_{abs(hash(value)) % 10**8}")
    if isinstance(value, DatasetConsumptionConfig):
        dataset = value.dataset_value
        entry = {
            "name": value.name,
            "mode": value.mode,
            "kind": "dataset",
            "dataset_id": dataset._save(workspace),
            "definition": dataset.definition,
        }
        if dataset.name is not None:  # registered: named in the lineage
            entry.update(dataset_name=dataset.name, dataset_version=dataset.version)
        return entry
    if isinstance(value, DataReference):
        if value.mode == "upload":
            raise UserErrorException(f"{value!r} is an output (as_upload); put it in outputs.")
        store = resolve_datastore(workspace, value.datastore.name)
        return {
            "name": value.data_reference_name,
            "mode": value.mode,
            "kind": "datapath",
            "datastore": store.name,
            "path": value.path_on_datastore,
        }
    if isinstance(value, OutputInput):
        raise UserErrorException(
            f"Input {value.name!r} reads the output {value.output.name!r} of another step: "
            "only a pipeline step can read it (a step that produces it must be in the pipeline)."
        )
    raise UserErrorException(f"{type(value).__name__} cannot be a job input.")


def output_entry(workspace: Workspace, value: Any) -> dict[str, Any]:
    """The definition entry of an output object."""
    if isinstance(value, OutputFileDatasetConfig):
        store = (
            resolve_datastore(workspace, value.datastore_name)
            if value.datastore_name is not None
            else Datastore.get_default(workspace)
        )
        return {
            "name": value.name,
            "datastore": store.name,
            "path": value.path_template,
            "register": value.registration,
            "read_as": value.read_as,
        }
    if isinstance(value, DataReference) and value.mode == "upload":
        store = resolve_datastore(workspace, value.datastore.name)
        return {
            "name": value.data_reference_name,
            "datastore": store.name,
            "path": value.path_on_datastore,
            "register": None,
            "read_as": None,
        }
    raise UserErrorException(f"{type(value).__name__} cannot be a job output.")


def bind(workspace: Workspace, value: Any, section: DataSection) -> str:
    """Record one data object in ``section``; return its token for the command line."""
    if isinstance(value, OutputFileDatasetConfig) or (
        isinstance(value, DataReference) and value.mode == "upload"
    ):
        entry = output_entry(workspace, value)
        section.add_output(entry)
    else:
        entry = input_entry(workspace, value)
        section.add_input(entry)
    return token(entry["name"])


def bind_arguments(
    workspace: Workspace,
    arguments: Sequence[Any],
    inputs: Iterable[Any] = (),
    outputs: Iterable[Any] = (),
    section: DataSection | None = None,
) -> tuple[list[Any], DataSection]:
    """Replace the data objects of ``arguments`` by tokens, recorded in a data section.

    ``inputs`` and ``outputs`` are recorded too; other arguments are returned as they are.
    """
    section = section or DataSection()
    bound = [bind(workspace, a, section) if is_data_object(a) else a for a in arguments]
    for value in inputs:
        if isinstance(value, DataReference) and value.mode == "upload":
            raise UserErrorException(f"{value!r} is an output (as_upload); put it in outputs.")
        section.add_input(input_entry(workspace, value))
    for value in outputs:
        section.add_output(output_entry(workspace, value))
    return bound, section


# ----------------------------------------------------------------------- job side --
@dataclass
class PreparedData:
    """What :func:`prepare` laid out: the path or value per name, and the output folders."""

    values: dict[str, str] = field(default_factory=dict)
    output_folders: dict[str, Path] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        """``AZUREML_DATAREFERENCE_<name>`` for each input and output."""
        return {f"{ENV_PREFIX}{name}": value for name, value in self.values.items()}

    def substitute(self, argv: Sequence[str]) -> list[str]:
        """``argv`` with every token replaced (also inside ``--x=<token>`` arguments)."""
        result = []
        for argument in argv:
            text = str(argument)
            if TOKEN_PREFIX in text:
                for name in sorted(self.values, key=len, reverse=True):
                    text = text.replace(token(name), self.values[name])
            result.append(text)
        return result


def data_folder(workdir: Path) -> Path:
    """Where a job's inputs and outputs are laid out (beside its working folder)."""
    return workdir.parent / f"{workdir.name}.data"


def prepare(
    workspace: Workspace, run_id: str, data: Mapping[str, Any], folder: Path
) -> PreparedData:
    """Lay out a job's inputs and create its output folders (before it starts).

    Raises:
        DataAccessError: an input cannot be read (the message names it).
    """
    prepared = PreparedData()
    for entry in data.get("inputs", []):
        prepared.values[entry["name"]] = _lay_out_input(
            workspace, entry, folder / "inputs" / entry["name"]
        )
    for entry in data.get("outputs", []):
        target = folder / "outputs" / entry["name"]
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        prepared.output_folders[entry["name"]] = target
        prepared.values[entry["name"]] = str(target)
    return prepared


def _lay_out_input(workspace: Workspace, entry: Mapping[str, Any], target: Path) -> str:
    mode = entry["mode"]
    if entry["kind"] == "dataset":
        dataset = dataset_from_definition(entry["definition"], workspace)
        if entry.get("dataset_id"):
            dataset = Dataset.get_by_id(workspace, entry["dataset_id"])
        if mode == "direct" or isinstance(dataset, TabularDataset):
            return str(entry.get("dataset_id") or "")
        assert isinstance(dataset, FileDataset)
        files = dataset._files()
        single = _single_named_file(entry["definition"], files)
    else:
        store = resolve_datastore(workspace, entry["datastore"])
        location = {"kind": "datastore", "datastore": store.name, "path": entry["path"]}
        fs, _ = store.filesystem()
        if mode == "mount" and "file" in _protocols(fs):  # a local datastore: its own folder
            return store.full_path(entry["path"])  # (as v1's mount, also where nothing is yet)
        try:
            files = sources.files_of(location, workspace)
        except DataAccessError:
            if mode != "mount":
                raise
            # v1 mounted a path that holds nothing yet as an empty folder; a download fails.
            target.mkdir(parents=True, exist_ok=True)
            return str(target)
        single = (
            len(files) == 1 and not entry["path"].endswith("/") and _is_file(store, entry["path"])
        )
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if mode == "mount":
        filesystems.link_or_copy(files, target)
    else:
        filesystems.copy_to(files, target, overwrite=True)
    if single:
        return str(target / files[0].name)
    return str(target)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _is_file(store: Datastore, path: str) -> bool:
    fs, _ = store.filesystem()
    info = filesystems.guarded(lambda: fs.info(store.full_path(path)), store.describe(path))
    return bool(info.get("type") != "directory")


def _single_named_file(definition: Mapping[str, Any], files: list[Any]) -> bool:
    """One source naming one file (not a folder or glob): the job gets the file's path."""
    locations = definition.get("sources", [])
    if len(locations) != 1 or len(files) != 1 or definition.get("transforms"):
        return False
    location = locations[0]
    path = location.get("path") or location.get("url") or ""
    return (
        not path.endswith("/")
        and not filesystems.has_magic(path)
        and location.get("kind") in ("http", "local", "datastore")
    )


def publish(
    workspace: Workspace, run_id: str, data: Mapping[str, Any], prepared: PreparedData
) -> list[dict[str, Any]]:
    """Upload each output folder to its datastore path and register it if asked.

    Returns:
        One record per output: name, datastore, path and (when registered) dataset id.

    Raises:
        DataAccessError: an upload failed (what it wrote is removed again).
    """
    published = []
    for entry in data.get("outputs", []):
        store = resolve_datastore(workspace, entry["datastore"])
        path = substitute(entry["path"], run_id, entry["name"]).rstrip("/")
        folder = prepared.output_folders[entry["name"]]
        files = list(filesystems.walk_local(folder))
        pairs = [(f, store.full_path(f"{path}/{f.relative_to(folder).as_posix()}")) for f in files]
        fs, _ = store.filesystem()
        if "file" in _protocols(fs):  # an output that wrote nothing is still a folder
            Path(store.full_path(path)).mkdir(parents=True, exist_ok=True)
        filesystems.upload_tree(fs, pairs, True, f"datastore {store.name!r}")
        local = [
            FileRef(filesystems.local_fs(), str(f), f.relative_to(folder).as_posix()) for f in files
        ]
        record: dict[str, Any] = {
            "fingerprint": filesystems.fingerprint(local),
            "name": entry["name"],
            "datastore": store.name,
            "path": path,
            "files": len(pairs),
        }
        registration = entry.get("register")
        if registration and pairs:
            dataset = dataset_at(store, path, entry.get("read_as"))
            registered = dataset.register(
                workspace,
                registration["name"],
                description=registration.get("description"),
                tags=registration.get("tags"),
                create_new_version=True,
            )
            record["dataset_id"] = registered.id
            record["dataset_name"] = registered.name
            record["dataset_version"] = registered.version
        published.append(record)
    return published


def dataset_at(store: Datastore, path: str, read_as: Mapping[str, Any] | None) -> Dataset:
    """The dataset of the files below ``path`` (a table when ``read_as`` says so)."""
    glob = (read_as or {}).get("glob")
    target = (store, f"{path}/{glob}" if glob else f"{path}/")
    if read_as is None:
        return Dataset.File.from_files(target, validate=False)
    if read_as.get("kind") == "parquet":
        return Dataset.Tabular.from_parquet_files(
            target, validate=False, include_path=read_as.get("include_path", False)
        )
    return Dataset.Tabular.from_delimited_files(
        target,
        validate=False,
        separator=read_as.get("separator", ","),
        header=read_as.get("header", True),
        include_path=read_as.get("include_path", False),
    )


def input_lineage(data: Mapping[str, Any]) -> dict[str, str]:
    """The run properties that record a job's inputs: ``azureml.input.<name>`` → JSON."""
    properties = {}
    for entry in data.get("inputs", []):
        keys = (
            "mode",
            "kind",
            "dataset_id",
            "dataset_name",
            "dataset_version",
            "datastore",
            "path",
        )
        kept = {k: entry.get(k) for k in keys}
        properties[f"{INPUT_PROPERTY}{entry['name']}"] = json.dumps(
            {k: v for k, v in kept.items() if v is not None}
        )
    return properties


def output_lineage(published: list[dict[str, Any]]) -> dict[str, str]:
    """The run properties that record what a job wrote: ``azureml.output.<name>`` → JSON."""
    return {
        f"{OUTPUT_PROPERTY}{record['name']}": json.dumps(
            {k: v for k, v in record.items() if k != "name"}
        )
        for record in published
    }


def lineage(properties: Mapping[str, str], prefix: str) -> dict[str, dict[str, Any]]:
    """The inputs (``INPUT_PROPERTY``) or outputs (``OUTPUT_PROPERTY``) a run recorded."""
    found = {}
    for key, value in properties.items():
        if key.startswith(prefix):
            try:
                found[key[len(prefix) :]] = json.loads(value)
            except ValueError:
                continue
    return found


def input_datasets(
    workspace: Workspace, run_id: str, data: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``run.input_datasets``: a run's named data inputs.

    Inside the job, mounted or downloaded inputs are local paths and direct ones datasets;
    elsewhere, every input is its dataset.
    """
    inside = (
        os.environ.get("AZUREML_RUN_ID") == run_id or os.environ.get("RUN_WIDGETS_RUN_ID") == run_id
    )
    result: dict[str, Any] = {}
    for entry in (data or {}).get("inputs", []):
        name = entry["name"]
        local = os.environ.get(f"{ENV_PREFIX}{name}")
        if inside and local and entry["mode"] != "direct" and not entry.get("read_as"):
            result[name] = local
            continue
        try:
            result[name] = _input_dataset(workspace, entry)
        except DataAccessError:
            result[name] = local
    return result


def _input_dataset(workspace: Workspace, entry: Mapping[str, Any]) -> Dataset:
    if entry["kind"] == "dataset":
        if entry.get("dataset_id"):
            return Dataset.get_by_id(workspace, entry["dataset_id"])
        return dataset_from_definition(entry["definition"], workspace)
    store = resolve_datastore(workspace, entry["datastore"])
    return (
        dataset_at(store, entry["path"].rstrip("/"), entry.get("read_as"))
        if entry.get("read_as")
        else Dataset.File.from_files((store, entry["path"]), validate=False)
    )
