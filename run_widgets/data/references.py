"""Paths on datastores: ``DataReference``, ``DataPath`` and ``DataPathComputeBinding`` (v1).

``datastore.path("titanic/Titanic.csv")`` and ``DataReference(datastore, ...)`` name a file
or folder on a datastore; passed to a script or a pipeline step (in its arguments and
``inputs``), the step gets a local path to it: the datastore folder itself where it is
local ("mount"), or a copy made before the step starts ("download"; also what "mount" means
for a remote datastore, as no FUSE driver is used). ``as_upload()`` makes it an output:
the step writes a local folder that is uploaded there when it ends.

Layer: data (knows datastores only by the :class:`DatastoreLike` protocol).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..exceptions import ArgumentTypeError, UserErrorException

MODES = ("mount", "download", "upload", "direct")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


class DatastoreLike(Protocol):
    """A datastore as the references know it (a ``run_widgets.Datastore``)."""

    @property
    def name(self) -> str:
        """The datastore's name."""


def check_mode(mode: Any) -> str:
    """A data binding mode: ``mount``, ``download``, ``upload`` or ``direct``."""
    if mode not in MODES:
        raise UserErrorException(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    return str(mode)


def check_reference_name(name: Any, what: str = "data_reference_name") -> str:
    """A name usable as a job input or output (letters, digits and ``_``)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserErrorException(
            f"{what} {name!r} must start with a letter or '_' and hold only letters, digits "
            "and '_' (it becomes an environment variable of the job)."
        )
    return name


def clean_path(path: Any, what: str = "path_on_datastore") -> str:
    """A relative path on a datastore (``a/b.csv``; ``""`` for its root)."""
    if path is None:
        return ""
    if not isinstance(path, str):
        raise ArgumentTypeError(f"{what} must be a str, not {type(path).__name__}.")
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UserErrorException(f"{what} {path!r} must not contain '..'.")
    return "/".join(parts) + ("/" if path.endswith("/") and parts else "")


class DataReference:
    """A file or folder on a datastore, bound to a job as a local path (v1 ``DataReference``).

    Args:
        datastore: the datastore.
        data_reference_name: the name of the binding (an environment variable of the job is
            named ``AZUREML_DATAREFERENCE_<name>``); default: the datastore's name.
        path_on_datastore: the file or folder; default the datastore's root.
        mode: ``mount`` (default), ``download`` or ``upload`` (an output).
        path_on_compute: accepted for v1 code; the job gets its own path.
        overwrite: for ``upload``, replace what is there.
    """

    def __init__(
        self,
        datastore: DatastoreLike,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        if not hasattr(datastore, "name") or not hasattr(datastore, "datastore_type"):
            raise ArgumentTypeError(
                f"datastore must be a run_widgets Datastore, not {type(datastore).__name__}."
            )
        self.datastore = datastore
        self.data_reference_name = check_reference_name(
            data_reference_name or re.sub(r"\W", "_", datastore.name)
        )
        self.path_on_datastore = clean_path(path_on_datastore)
        self.mode = check_mode(mode)
        self.path_on_compute = path_on_compute
        self.overwrite = bool(overwrite)

    @property
    def datastore_name(self) -> str:
        """The datastore's name."""
        return self.datastore.name

    def as_mount(self) -> DataReference:
        """The same reference, bound as a mount."""
        return self._with_mode("mount")

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """The same reference, copied to the job's folder before it starts."""
        return self._with_mode("download", path_on_compute, overwrite)

    def as_upload(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """The same reference as an output: what the job writes is uploaded at its end."""
        return self._with_mode("upload", path_on_compute, overwrite)

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A reference to ``path`` below this one."""
        base = self.path_on_datastore.rstrip("/")
        joined = "/".join(p for p in (base, clean_path(path, "path")) if p)
        return DataReference(
            self.datastore, data_reference_name or self.data_reference_name, joined, self.mode
        )

    def _with_mode(
        self, mode: str, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        return DataReference(
            self.datastore,
            self.data_reference_name,
            self.path_on_datastore,
            mode,
            path_on_compute or self.path_on_compute,
            overwrite or self.overwrite,
        )

    def to_json(self) -> dict[str, Any]:
        """The reference as it is recorded in a job definition."""
        return {
            "kind": "datapath",
            "datastore": self.datastore.name,
            "path": self.path_on_datastore,
            "name": self.data_reference_name,
            "mode": self.mode,
            "overwrite": self.overwrite,
        }

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self) -> str:
        return (
            f"$AZUREML_DATAREFERENCE_{self.data_reference_name} (datastore "
            f"{self.datastore.name!r}, path {self.path_on_datastore!r}, mode {self.mode})"
        )


class DataPath:
    """A path on a datastore, as a value (v1 ``azureml.data.datapath.DataPath``).

    Used as the default value of a ``PipelineParameter`` and bound to a step with a
    :class:`DataPathComputeBinding`: ``(param, DataPathComputeBinding(mode="mount"))``.

    Args:
        datastore: the datastore.
        path_on_datastore: the file or folder on it.
        name: an optional name.
    """

    def __init__(
        self,
        datastore: DatastoreLike | None = None,
        path_on_datastore: str | None = None,
        name: str | None = None,
    ) -> None:
        if datastore is None or not hasattr(datastore, "datastore_type"):
            raise ArgumentTypeError("DataPath needs a run_widgets Datastore (datastore=...).")
        self.datastore = datastore
        self.path_on_datastore = clean_path(path_on_datastore)
        self.name = name

    @property
    def datastore_name(self) -> str:
        """The datastore's name."""
        return self.datastore.name

    def create_data_reference(
        self, data_reference_name: str | None = None, datapath_compute_binding: Any = None
    ) -> DataReference:
        """A ``DataReference`` to this path with a binding's mode."""
        binding = datapath_compute_binding or DataPathComputeBinding()
        return DataReference(
            self.datastore,
            data_reference_name or self.name,
            self.path_on_datastore,
            binding.mode,
            binding.path_on_compute,
            binding.overwrite,
        )

    def to_json(self) -> dict[str, Any]:
        """The path as recorded in a pipeline parameter value."""
        return {
            "kind": "datapath",
            "datastore": self.datastore.name,
            "path": self.path_on_datastore,
        }

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DataPath)
            and other.datastore.name == self.datastore.name
            and other.path_on_datastore == self.path_on_datastore
        )

    def __hash__(self) -> int:
        return hash((self.datastore.name, self.path_on_datastore))

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore.name!r}, path_on_datastore={self.path_on_datastore!r})"


class DataPathComputeBinding:
    """How a ``DataPath`` reaches a job: ``mount`` or ``download`` (v1).

    Args:
        mode: ``mount`` (default) or ``download``.
        path_on_compute: accepted for v1 code; the job gets its own path.
        overwrite: accepted for v1 code.
    """

    def __init__(
        self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False
    ) -> None:
        if mode not in ("mount", "download"):
            raise UserErrorException(
                f"DataPathComputeBinding mode must be mount or download, not {mode!r}."
            )
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def __repr__(self) -> str:
        return f"DataPathComputeBinding(mode={self.mode!r})"
