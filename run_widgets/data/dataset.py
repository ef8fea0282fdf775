"""Datasets (v1 ``azureml.core.Dataset``): versioned references to files or to a table.

``Dataset.File.from_files(path)`` references files; ``Dataset.Tabular.from_delimited_files``
/ ``from_parquet_files`` / ``from_json_lines_files`` a table made of files. ``path`` is a
local path or glob, an http(s) URL, a ``(datastore, "path")`` tuple or a ``DataPath`` (see
``sources``), or a list of them. A dataset is a *definition* (sources, format, transforms
such as ``take``/``skip``/``random_split``), read lazily: ``to_pandas_dataframe()``,
``to_path()``, ``download()``, ``mount()``.

``register(workspace, name)`` stores the definition as version 1, 2, … of ``name`` in the
workspace's tracking store, **pinned to its content**: a fingerprint (sha256 of every
file) is stored with it, and reading that version later checks it, raising
:class:`DatasetChangedError` (naming the files that changed) rather than silently reading
other data. Register again with ``create_new_version=True`` to take the new content.

Layer: data.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..exceptions import (
    ArgumentTypeError,
    DatasetChangedError,
    DatasetNotFoundError,
    DatasetTimestampMissingError,
    UserErrorException,
)
from ..store.assets import DatasetRecord, NewDataset
from ..workspace import Workspace
from . import filesystems, sources, tabular
from .consumption import DatasetConsumptionConfig
from .filesystems import FileRef

if TYPE_CHECKING:
    import pandas as pd

D = TypeVar("D", bound="Dataset")
LATEST = "latest"


class Dataset:
    """A dataset: a definition of files or of a table, optionally registered (v1 name).

    Use the factories ``Dataset.File`` and ``Dataset.Tabular`` to make one, and
    ``Dataset.get_by_name`` / ``get_by_id`` to get a registered one.

    Args:
        definition: the JSON definition (what the factories build).
        workspace: the workspace whose datastores it reads, if any.

    Attributes:
        File: the factory of file datasets (``from_files``).
        Tabular: the factory of tabular datasets (``from_delimited_files`` & co.).
    """

    File: ClassVar[FileDatasetFactory]
    Tabular: ClassVar[TabularDatasetFactory]
    kind: ClassVar[str] = ""

    def __init__(self, definition: Mapping[str, Any], workspace: Workspace | None = None) -> None:
        self._definition: dict[str, Any] = json.loads(json.dumps(definition))
        self._workspace = workspace
        self._record: DatasetRecord | None = None

    # ------------------------------------------------------------------- identity --
    @property
    def id(self) -> str | None:
        """The dataset's id once it is registered or saved for a run, else ``None``."""
        return self._record.id if self._record is not None else None

    @property
    def name(self) -> str | None:
        """The registered name, or ``None``."""
        return self._record.name if self._record is not None else None

    @property
    def version(self) -> int | None:
        """The registered version (1, 2, …), or ``None``."""
        return self._record.version if self._record is not None else None

    @property
    def description(self) -> str | None:
        """The registered description."""
        return self._record.description if self._record is not None else None

    @property
    def tags(self) -> dict[str, str]:
        """The registered tags."""
        return dict(self._record.tags) if self._record is not None else {}

    @property
    def workspace(self) -> Workspace | None:
        """The workspace it is registered in, or whose datastores it reads."""
        return self._workspace

    @property
    def definition(self) -> dict[str, Any]:
        """The JSON definition (sources, format, transforms)."""
        return copy.deepcopy(self._definition)

    @property
    def fingerprint(self) -> str | None:
        """The content fingerprint the registered version is pinned to."""
        return self._record.fingerprint if self._record is not None else None

    # ---------------------------------------------------------------- registration --
    def register(
        self: D,
        workspace: Workspace,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        create_new_version: bool = False,
    ) -> D:
        """Register this definition as the next version of ``name``, pinned to its content.

        Registering the same definition with the same content again returns the existing
        version. The content is fingerprinted first (every file read once); nothing is
        stored if a file cannot be read.

        Args:
            workspace: the workspace.
            name: the dataset's name.
            description: free text.
            tags: labels.
            create_new_version: allow a new version when ``name`` exists with another
                definition or other content.

        Returns:
            The registered dataset (with ``name``, ``version`` and ``id``).

        Raises:
            UserErrorException: ``name`` exists with another definition or content and
                ``create_new_version`` is False.
            DataAccessError: a file cannot be read.
        """
        if not isinstance(workspace, Workspace):
            raise ArgumentTypeError(
                f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
            )
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException("A dataset name must be a non-empty str.")
        self._check_workspace(workspace)
        files = self._source_files(workspace, check=False)
        manifest = _manifest(files)
        print_ = filesystems.fingerprint(files)
        latest = workspace.store.get_dataset(name)
        if latest is not None:
            same = latest.definition == self._definition and latest.fingerprint == print_
            if same:
                return type(self)._from_record(latest, workspace)
            if not create_new_version:
                raise UserErrorException(
                    f"A dataset named {name!r} is registered already (version {latest.version}) "
                    "with another definition or other content; pass create_new_version=True to "
                    "register a new version."
                )
        record = workspace.store.add_dataset(
            NewDataset(
                id=str(uuid.uuid4()),
                name=name,
                definition=self._definition,
                fingerprint=print_,
                manifest=manifest,
                description=description,
                tags={str(k): str(v) for k, v in (tags or {}).items()},
                created_at=time.time(),
            )
        )
        return type(self)._from_record(record, workspace)

    def _save(self, workspace: Workspace) -> str:
        """The dataset's id, saving the definition (unregistered, unpinned) if it has none."""
        if self._record is None:
            self._check_workspace(workspace)
            self._record = workspace.store.add_dataset(
                NewDataset(
                    id=str(uuid.uuid4()),
                    name=None,
                    definition=self._definition,
                    created_at=time.time(),
                )
            )
            self._workspace = workspace
        return self._record.id

    def _check_workspace(self, workspace: Workspace) -> None:
        if self._workspace is not None and self._workspace != workspace:
            raise UserErrorException(
                "This dataset reads the datastores of another workspace "
                f"({self._workspace.name!r})."
            )

    @classmethod
    def _from_record(cls: type[D], record: DatasetRecord, workspace: Workspace) -> D:
        kind = record.definition.get("type")
        target: type[Dataset] = cls
        if cls is Dataset or cls.kind != kind:
            target = TabularDataset if kind == "tabular" else FileDataset
        dataset = target(record.definition, workspace)
        dataset._record = record
        return dataset  # type: ignore[return-value]

    @staticmethod
    def get_by_name(workspace: Workspace, name: str, version: int | str = LATEST) -> Dataset:
        """A registered dataset by name (the latest version unless ``version`` is given).

        Args:
            workspace: the workspace.
            name: the dataset's name.
            version: a version number, or ``"latest"``.

        Returns:
            The ``FileDataset`` or ``TabularDataset``.

        Raises:
            DatasetNotFoundError: no such name or version (the message lists what exists).
        """
        number = None if version in (LATEST, None) else _version_number(version)
        record = workspace.store.get_dataset(name, number)
        if record is None:
            versions = sorted(r.version or 0 for r in workspace.store.list_datasets(name))
            if versions:
                raise DatasetNotFoundError(
                    f"Dataset {name!r} has no version {version}; it has {versions}."
                )
            known = sorted({r.name for r in workspace.store.list_datasets() if r.name})
            raise DatasetNotFoundError(
                f"No dataset named {name!r} is registered in workspace {workspace.name!r}"
                + (f"; registered: {known}." if known else " (none is).")
            )
        return Dataset._from_record(record, workspace)

    @staticmethod
    def get_by_id(workspace: Workspace, id: str) -> Dataset:
        """A registered or saved dataset by id.

        Args:
            workspace: the workspace.
            id: the dataset's id.

        Returns:
            The ``FileDataset`` or ``TabularDataset``.

        Raises:
            DatasetNotFoundError: no dataset has this id.
        """
        record = workspace.store.get_dataset_by_id(str(id))
        if record is None:
            raise DatasetNotFoundError(
                f"No dataset with id {id!r} in workspace {workspace.name!r}."
            )
        return Dataset._from_record(record, workspace)

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, Dataset]:
        """The registered datasets by name, each at its latest version (``ws.datasets``)."""
        latest: dict[str, Dataset] = {}
        for record in workspace.store.list_datasets():
            if record.name:
                latest[record.name] = Dataset._from_record(record, workspace)
        return latest

    # ------------------------------------------------------------------ reading --
    def _source_files(
        self, workspace: Workspace | None = None, check: bool = True
    ) -> list[FileRef]:
        """The files of the sources now; a pinned version is checked against its fingerprint."""
        files = sources.all_files(self._definition["sources"], workspace or self._workspace)
        record = self._record
        if (
            check
            and record is not None
            and record.fingerprint is not None
            and filesystems.fingerprint(files) != record.fingerprint
        ):
            raise DatasetChangedError(_changed_message(record, _manifest(files)))
        return files

    def _derived(self: D, transform: Mapping[str, Any], **changes: Any) -> D:
        definition = self.definition
        definition["transforms"] = [*definition.get("transforms", []), dict(transform)]
        definition.update(changes)
        derived = type(self)(definition, self._workspace)
        return derived

    def take(self: D, count: int) -> D:
        """The first ``count`` records (rows, or files)."""
        return self._derived({"op": "take", "count": _count(count, "count")})

    def skip(self: D, count: int) -> D:
        """All but the first ``count`` records."""
        return self._derived({"op": "skip", "count": _count(count, "count")})

    def take_sample(self: D, probability: float, seed: int | None = None) -> D:
        """Each record kept with ``probability`` (reproducible with ``seed``)."""
        return self._derived(
            {"op": "sample", "probability": _probability(probability), "seed": _seed(seed)}
        )

    def random_split(self: D, percentage: float, seed: int | None = None) -> tuple[D, D]:
        """Two datasets: about ``percentage`` of the records, and the rest (no overlap)."""
        fraction, draw = _probability(percentage), _seed(seed)
        if draw is None:
            draw = int(uuid.uuid4().int % (2**31))  # both halves must draw the same numbers
        first = self._derived({"op": "split", "probability": fraction, "seed": draw, "part": 0})
        second = self._derived({"op": "split", "probability": fraction, "seed": draw, "part": 1})
        return first, second

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """This dataset as a run's input named ``name`` (``run.input_datasets[name]``)."""
        return DatasetConsumptionConfig(name, self)

    def __repr__(self) -> str:
        head = type(self).__name__
        details = {"source": [sources.describe(s) for s in self._definition["sources"]]}
        if self._definition.get("transforms"):
            details["definition"] = [t["op"] for t in self._definition["transforms"]]
        if self._record is not None and self._record.name:
            details["registration"] = {  # type: ignore[assignment]
                "id": self._record.id,
                "name": self._record.name,
                "version": self._record.version,
                "description": self._record.description,
            }
        return f"{head}\n" + json.dumps(details, indent=2)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Dataset)
            and other._definition == self._definition
            and other.id == self.id
        )

    def __hash__(self) -> int:
        return hash(json.dumps(self._definition, sort_keys=True))


class FileDataset(Dataset):
    """A dataset of files (v1 ``FileDataset``)."""

    kind = "file"

    def _files(self) -> list[FileRef]:
        files = self._source_files()
        for transform in self._definition.get("transforms", []):
            mask = tabular.selection(len(files), transform)
            files = [ref for ref, keep in zip(files, mask, strict=True) if keep]
        return files

    def to_path(self) -> builtins.list[str]:
        """The files' paths relative to the dataset's root, as ``/name`` (v1)."""
        return [f"/{ref.name}" for ref in self._files()]

    def download(
        self,
        target_path: str | Path | None = None,
        overwrite: bool = False,
        ignore_not_found: bool = False,
    ) -> builtins.list[str]:
        """Copy the files below ``target_path`` (default: a new temporary folder).

        Args:
            target_path: the local folder.
            overwrite: replace files that exist there.
            ignore_not_found: accepted for v1 code (a missing file is an error).

        Returns:
            The local paths of the files.

        Raises:
            DataAccessError: a file exists there (without ``overwrite``) or cannot be read.
        """
        folder = (
            Path(target_path).expanduser()
            if target_path is not None
            else Path(tempfile.mkdtemp(prefix="dataset-"))
        )
        return [str(p) for p in filesystems.copy_to(self._files(), folder, overwrite)]

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """The files as a run's input, mounted (v1: ``dataset.as_mount()`` in arguments)."""
        return self.as_named_input(_input_name(self)).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """The files as a run's input, copied before the run starts."""
        return self.as_named_input(_input_name(self)).as_download(path_on_compute)

    def mount(self, mount_point: str | Path | None = None, **kwargs: Any) -> MountContext:
        """A context that lays the files out under ``mount_point`` while it is active.

        No FUSE driver is used: ``start()`` links local files into the folder and downloads
        remote ones (so a mount of a remote dataset costs its download); ``stop()`` removes
        the folder again. ``with dataset.mount() as context:`` works as in v1.
        """
        return MountContext(self, mount_point)

    def file_metadata(self) -> builtins.list[dict[str, Any]]:
        """Name and size of each file."""
        return [{"name": f"/{ref.name}", "size": ref.size} for ref in self._files()]


class MountContext:
    """The files of a ``FileDataset`` laid out under a folder (see ``FileDataset.mount``).

    Attributes:
        mount_point: the folder holding the files while started.
    """

    def __init__(self, dataset: FileDataset, mount_point: str | Path | None) -> None:
        self._dataset = dataset
        self._owned = mount_point is None
        self.mount_point = (
            str(Path(mount_point).expanduser())
            if mount_point is not None
            else tempfile.mkdtemp(prefix="mount-")
        )
        self._started = False

    def start(self) -> None:
        """Lay the files out (links to local files, copies of remote ones)."""
        folder = Path(self.mount_point)
        folder.mkdir(parents=True, exist_ok=True)
        filesystems.link_or_copy(self._dataset._files(), folder)
        self._started = True

    def stop(self) -> None:
        """Remove what ``start`` laid out (a folder it made itself is removed whole)."""
        if self._owned:
            shutil.rmtree(self.mount_point, ignore_errors=True)
        self._started = False

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class TabularDataset(Dataset):
    """A table read from files (v1 ``TabularDataset``)."""

    kind = "tabular"

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> pd.DataFrame:
        """The table as a pandas DataFrame (every transform applied)."""
        frame = tabular.read_frame(self._source_files(), self._definition["format"])
        return tabular.apply_transforms(
            frame, self._definition.get("transforms", []), self._definition.get("timestamps", {})
        )

    def keep_columns(self, columns: str | Sequence[str], validate: bool = False) -> TabularDataset:
        """Only these columns."""
        return self._derived(
            {"op": "keep_columns", "columns": _columns(columns), "validate": validate}
        )

    def drop_columns(self, columns: str | Sequence[str]) -> TabularDataset:
        """All but these columns."""
        return self._derived({"op": "drop_columns", "columns": _columns(columns)})

    @property
    def timestamp_columns(self) -> tuple[str | None, str | None]:
        """``(timestamp, partition_timestamp)`` column names (v1)."""
        stamps = self._definition.get("timestamps", {})
        return stamps.get("timestamp"), stamps.get("partition_timestamp")

    def with_timestamp_columns(
        self,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> TabularDataset:
        """The same table with its time columns set (for ``time_before`` & co.)."""
        if timestamp is None and partition_timestamp is not None:
            raise UserErrorException(
                "partition_timestamp needs a timestamp column as well (v1): give timestamp=."
            )
        definition = self.definition
        definition["timestamps"] = {
            "timestamp": timestamp,
            "partition_timestamp": partition_timestamp,
        }
        dataset = TabularDataset(definition, self._workspace)
        return dataset

    def time_before(
        self, end_time: datetime, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """Rows up to ``end_time``."""
        return self._time(None, end_time, include_boundary)

    def time_after(
        self, start_time: datetime, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """Rows from ``start_time`` on."""
        return self._time(start_time, None, include_boundary)

    def time_between(
        self,
        start_time: datetime,
        end_time: datetime,
        include_boundary: bool = True,
        validate: bool = True,
    ) -> TabularDataset:
        """Rows between the two times."""
        return self._time(start_time, end_time, include_boundary)

    def time_recent(
        self, time_delta: timedelta, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """Rows of the last ``time_delta`` before the latest row."""
        transform = {
            "op": "time",
            "recent_seconds": time_delta.total_seconds(),
            "include_boundary": include_boundary,
        }
        return self._checked_time(transform)

    def _time(
        self, start: datetime | None, end: datetime | None, include_boundary: bool
    ) -> TabularDataset:
        transform = {
            "op": "time",
            "start": start.isoformat() if start is not None else None,
            "end": end.isoformat() if end is not None else None,
            "include_boundary": include_boundary,
        }
        return self._checked_time(transform)

    def _checked_time(self, transform: dict[str, Any]) -> TabularDataset:
        stamps = self._definition.get("timestamps", {})
        if not (stamps.get("timestamp") or stamps.get("partition_timestamp")):
            raise DatasetTimestampMissingError(
                "This dataset has no timestamp column; set one with with_timestamp_columns()."
            )
        return self._derived(transform)


class FileDatasetFactory:
    """``Dataset.File``: makes file datasets (v1 ``FileDatasetFactory``)."""

    @staticmethod
    def from_files(
        path: Any, validate: bool = True, partition_format: str | None = None, is_file: bool = False
    ) -> FileDataset:
        """Files from local paths or globs, URLs, or datastore paths.

        Raises:
            DataAccessError: with ``validate``, a path that matches nothing or cannot be
                reached (naming it).
        """
        locations, workspace = sources.locations_of(path)
        dataset = FileDataset({"type": "file", "sources": locations, "transforms": []}, workspace)
        if validate:
            dataset._files()
        return dataset


class TabularDatasetFactory:
    """``Dataset.Tabular``: makes tabular datasets (v1 ``TabularDatasetFactory``)."""

    @staticmethod
    def _make(path: Any, file_format: dict[str, Any], validate: bool) -> TabularDataset:
        locations, workspace = sources.locations_of(path)
        dataset = TabularDataset(
            {"type": "tabular", "sources": locations, "format": file_format, "transforms": []},
            workspace,
        )
        if validate:
            dataset.take(5).to_pandas_dataframe()
        return dataset

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: Mapping[str, Any] | None = None,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A table from delimited text files (CSV by default).

        Raises:
            DataAccessError: with ``validate``, files that cannot be found, reached or read.
        """
        file_format = {
            "kind": "delimited",
            "separator": separator,
            "header": bool(header),
            "encoding": encoding,
            "infer_column_types": infer_column_types,
            "empty_as_string": empty_as_string,
            "include_path": include_path,
            "partition_format": partition_format,
            "column_types": _column_types(set_column_types),
        }
        return TabularDatasetFactory._make(path, file_format, validate)

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Mapping[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        """A table from Parquet files (needs pyarrow)."""
        file_format = {
            "kind": "parquet",
            "include_path": include_path,
            "partition_format": partition_format,
            "column_types": _column_types(set_column_types),
        }
        return TabularDatasetFactory._make(path, file_format, validate)

    @staticmethod
    def from_json_lines_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Mapping[str, Any] | None = None,
        partition_format: str | None = None,
        invalid_lines: str = "error",
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A table from JSON Lines files (one JSON object per line)."""
        file_format = {
            "kind": "json_lines",
            "include_path": include_path,
            "partition_format": partition_format,
            "encoding": encoding,
            "column_types": _column_types(set_column_types),
        }
        return TabularDatasetFactory._make(path, file_format, validate)

    @staticmethod
    def from_sql_query(*args: Any, **kwargs: Any) -> TabularDataset:
        """Not available locally: SQL datastores are Azure's."""
        raise UserErrorException(
            "Dataset.Tabular.from_sql_query needs an Azure SQL datastore (cloud-only)."
        )


Dataset.File = FileDatasetFactory()
Dataset.Tabular = TabularDatasetFactory()


def dataset_from_definition(definition: Mapping[str, Any], workspace: Workspace | None) -> Dataset:
    """The dataset object of a definition (as recorded in a job)."""
    if definition.get("type") == "tabular":
        return TabularDataset(definition, workspace)
    return FileDataset(definition, workspace)


def _input_name(dataset: Dataset) -> str:
    """An input name for a dataset given without one (its name, or a hash of it)."""
    if dataset.name and dataset.name.replace("_", "a").isalnum():
        return dataset.name
    digest = hashlib.sha256(json.dumps(dataset.definition, sort_keys=True).encode()).hexdigest()
    return f"input_{digest[:8]}"


def _manifest(files: list[FileRef]) -> dict[str, str]:
    return {ref.name: ref.digest() for ref in files}


def _changed_message(record: DatasetRecord, now: Mapping[str, str]) -> str:
    then = dict(record.manifest or {})
    changed = sorted(n for n in then.keys() & now.keys() if then[n] != now[n])
    gone = sorted(then.keys() - now.keys())
    added = sorted(now.keys() - then.keys())
    parts = []
    for label, names in (("changed", changed), ("missing", gone), ("new", added)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{label}: {shown}")
    what = f"{record.name!r} version {record.version}" if record.name else f"{record.id}"
    return (
        f"The files of dataset {what} changed since it was registered ("
        + ("; ".join(parts) or "content differs")
        + "). Register a new version to use them: dataset.register(ws, name, "
        "create_new_version=True)."
    )


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserErrorException(f"{what} must be an int >= 0, got {value!r}.")
    return value


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise UserErrorException(f"A fraction must be a number between 0 and 1, got {value!r}.")
    return float(value)


def _seed(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserErrorException(f"seed must be an int >= 0, got {value!r}.")
    return value


def _version_number(version: Any) -> int:
    if isinstance(version, int) and not isinstance(version, bool) and version > 0:
        return version
    if isinstance(version, str) and version.isdigit() and int(version) > 0:
        return int(version)
    raise UserErrorException(f"A dataset version is a number like 1 or 'latest', not {version!r}.")


def _columns(columns: str | Sequence[str]) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    if not all(isinstance(c, str) for c in columns):
        raise ArgumentTypeError("columns must be a column name or a list of names.")
    return list(columns)


def _column_types(types: Mapping[str, Any] | None) -> dict[str, str]:
    """``set_column_types`` as names: a type (``int``), its name, or a v1 ``DataType``."""
    result = {}
    for column, kind in (types or {}).items():
        if isinstance(kind, type):
            name = {int: "int", float: "float", str: "str", bool: "bool", datetime: "datetime"}.get(
                kind
            )
        else:
            name = getattr(kind, "type_name", kind)
        if name not in ("int", "float", "str", "string", "bool", "datetime"):
            raise UserErrorException(
                f"set_column_types: unknown type {kind!r} for column {column!r}."
            )
        result[str(column)] = str(name)
    return result
