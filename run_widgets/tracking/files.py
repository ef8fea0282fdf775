"""The run's files: uploads, downloads, listing, log files, the outputs folder, snapshots.

Names are checked by the artifact store's :class:`~run_widgets.store.local_files.RunFiles`
(kept inside the run's folder, written atomically). In a job whose attempt a retry has
replaced, uploads are skipped with a warning (see ``RunCore.replaced_by_retry``).

Layer: tracking.
"""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..exceptions import ArgumentTypeError, RunWidgetsWarning, SnapshotException
from ..store.local_files import normalize_name
from .core import RunCore
from .labels import RunLabels

SNAPSHOT_PROPERTY = "ContentSnapshotId"
"""The property holding the id of the run's source snapshot."""
LOG_PREFIXES = ("logs/", "azureml-logs/", "user_logs/")
"""Folders of a run whose text files are its logs."""


class RunFileOps:
    """The file operations of one ``Run`` object's run.

    Args:
        core: the run's shared parts.
        labels: the run's labels (a snapshot id is a property).
        workspace_folder: the workspace's folder (left out of snapshots).
    """

    def __init__(self, core: RunCore, labels: RunLabels, workspace_folder: Path) -> None:
        self._core = core
        self._labels = labels
        self._workspace_folder = workspace_folder

    @property
    def root(self) -> Path:
        """The folder holding the run's files."""
        return self._core.files.root

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: Any = None) -> str:
        """Store a file (a path or an open file) in the run under ``name``.

        Args:
            name: the name in the run, e.g. ``"outputs/model.pkl"`` (inside the run's folder).
            path_or_stream: a file path, or an open binary file to read.
            datastore_name: accepted for v1 code; files stay in the workspace.

        Returns:
            The stored name, e.g. ``"outputs/model.pkl"``.
        """
        if self._core.replaced_by_retry("upload_file"):
            return normalize_name(name)
        return self._core.files.upload(name, path_or_stream)

    def upload_files(
        self,
        names: Sequence[str],
        paths: Sequence[Any],
        return_artifacts: bool = False,
        timeout_seconds: float | None = None,
        datastore_name: Any = None,
    ) -> list[str]:
        """Store several files at once: all or nothing."""
        if (
            not isinstance(names, Sequence)
            or not isinstance(paths, Sequence)
            or (isinstance(names, str) or isinstance(paths, str) or len(names) != len(paths))
        ):
            raise ArgumentTypeError(
                "names and paths must be lists of equal lengths. Names was of length "
                f"{_length(names)} and paths of length {_length(paths)}."
            )
        if self._core.replaced_by_retry("upload_files"):
            return [normalize_name(n) for n in names]
        return self._core.files.upload_many(names, paths)

    def upload_folder(self, name: str, path: Any, datastore_name: Any = None) -> list[str]:
        """Store every file of folder ``path`` under the prefix ``name``."""
        names, sources = self._core.files.folder_listing(name, path)
        if self._core.replaced_by_retry("upload_folder"):
            return names
        return self._core.files.upload_many(names, sources)

    def upload_outputs(self, folder: Path) -> None:
        """Upload ``folder`` as the run's ``outputs/`` (a warning names what went wrong)."""
        if not folder.is_dir():
            return
        try:
            names, sources = self._core.files.folder_listing(folder.name, folder)
            self._core.files.upload_many(names, sources, overwrite=True)
        except (ValueError, TypeError, OSError) as exc:
            warnings.warn(
                f"Run {self._core.id}: the outputs folder {folder} was not uploaded: {exc}",
                RunWidgetsWarning,
                stacklevel=3,
            )

    def get_file_names(self) -> list[str]:
        """Names of the run's files (outputs, logs, uploads), sorted."""
        return self._core.files.names()

    def get_file_path(self, name: str) -> Path:
        """Local path of one of the run's files (read it; do not write to it)."""
        return self._core.files.path_of(name)

    def download_file(
        self, name: str, output_file_path: Any = None, _validate_checksum: bool = False
    ) -> str:
        """Copy one file out; by default to its base name in the current directory."""
        return str(self._core.files.download(name, output_file_path))

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: Any = None,
        output_paths: Any = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        timeout_seconds: float | None = None,
    ) -> list[str]:
        """Copy every file whose name starts with ``prefix`` below ``output_directory``."""
        files = self._core.files.download_many(prefix, output_directory, append_prefix)
        return [str(p) for p in files]

    def log_files(self) -> list[str]:
        """Names of the run's log files (under ``logs/``, ``azureml-logs/``, ``user_logs/``)."""
        return [name for name in self._core.files.names() if name.startswith(LOG_PREFIXES)]

    def get_all_logs(self, destination: Any = None) -> builtins.list[str]:
        """Copy the log files to ``destination`` (default ``./logs``); return their paths."""
        out = Path(os.fspath(destination)) if destination is not None else Path.cwd()
        copied = []
        for name in self.log_files():
            folder = out / Path(name).parent
            folder.mkdir(parents=True, exist_ok=True)
            copied.append(str(self._core.files.download(name, folder)))
        return copied

    # -------------------------------------------------------------------- snapshots --
    def take_snapshot(self, file_or_folder_path: Any) -> str:
        """Snapshot a folder into the run (once per run); return the snapshot id."""
        if self.get_snapshot_id():
            raise SnapshotException(
                f"Cannot take snapshot as the run already has one: {self._core.id}"
            )
        info = self._core.artifacts.take_snapshot(
            Path(os.fspath(file_or_folder_path)), exclude=(self._workspace_folder,)
        )
        self._labels.add_properties({SNAPSHOT_PROPERTY: info.snapshot_id})
        return info.snapshot_id

    def get_snapshot_id(self) -> str | None:
        """The id of the run's snapshot, or ``None``."""
        return self._core.refresh(reap=False).properties.get(SNAPSHOT_PROPERTY)

    def restore_snapshot(
        self, snapshot_id: str | None = None, path: Any = None, *, extract: bool = False
    ) -> str:
        """Give the snapshot back as a zip, as v1 did (or unpacked, when asked).

        Args:
            snapshot_id: which snapshot; default: the run's.
            path: v1's meaning, a folder the zip is written into as ``<snapshot_id>.zip``
                (default: the system's temporary folder). A path ending in ``.zip`` names
                the zip file itself.
            extract: unpack into the folder ``path`` instead (default: ``./<run id>-snapshot``).

        Returns:
            The path written: the zip file, or the folder with ``extract=True``.
        """
        run_id = self._core.id
        snapshot_id = snapshot_id or self.get_snapshot_id()
        if not snapshot_id:
            raise SnapshotException(f"Run {run_id} has no snapshot.")
        if not all(c in "0123456789abcdef" for c in snapshot_id):
            raise SnapshotException(f"{snapshot_id!r} is not a snapshot id.")
        artifacts = self._core.artifacts
        zip_path = artifacts.snapshot_path(snapshot_id)
        if not zip_path.is_file():
            raise SnapshotException(f"The snapshot {snapshot_id} is missing from the workspace.")
        if extract:
            folder = (
                Path(os.fspath(path)) if path is not None else Path.cwd() / f"{run_id}-snapshot"
            )
            return str(artifacts.restore_snapshot(snapshot_id, folder))
        target = Path(os.fspath(path)) if path is not None else Path(tempfile.gettempdir())
        if target.suffix != ".zip":
            target = target / f"{snapshot_id}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(zip_path, target)
        return str(target)


def _length(value: Any) -> int | str:
    try:
        return len(value)
    except TypeError:
        return f"n/a ({type(value).__name__})"
