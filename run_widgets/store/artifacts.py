"""Where run files live, apart from the tracking store: the artifact-store interface.

The tracking store (:mod:`run_widgets.store.base`) holds records and metric points; an
:class:`ArtifactStore` holds the bytes: each run's files (uploads, ``outputs/``, images,
``logs/``), content-addressed source snapshots and generated HTML reports. A workspace
holds one of each, so ``Workspace(store="postgresql://...", artifacts="/shared/folder")``
pairs a server store with a shared folder.

:class:`LocalArtifactStore` is today's layout in a folder::

    runs/<run_id>/          each run's files (names are checked: nothing escapes the folder)
    snapshots/<id>.zip      content-addressed source snapshots
    reports/<run_id>.html   self-contained run reports

Processes that must write a real file (a supervised script's stdout, a framework writing
``outputs/``) use :meth:`ArtifactStore.run_folder`; everything else goes through the
name-based methods, which are what another implementation (an fsspec URL) would provide.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import IO, Any

from ..exceptions import FileNotFoundInRunError
from . import snapshots
from .local_files import RunFiles, normalize_name


class ArtifactStore(abc.ABC):
    """The files of runs, snapshots and reports of one workspace."""

    #: Human-readable location (a folder path for the local store).
    location: str

    # -- files of a run --------------------------------------------------------------
    @abc.abstractmethod
    def run_folder(self, run_id: str) -> Path:
        """A local folder holding the run's files (created by writers as needed)."""

    def files(self, run_id: str) -> RunFiles:
        """The checked file operations (upload, download, listing) on the run's folder."""
        return RunFiles(self.run_folder(run_id))

    @abc.abstractmethod
    def list_files(self, run_id: str, prefix: str | None = None) -> list[str]:
        """Sorted names (``a/b.txt``) of the run's files, optionally under ``prefix``."""

    @abc.abstractmethod
    def file_size(self, run_id: str, name: str) -> int | None:
        """Size in bytes of one file of the run, or ``None`` if it has no such file."""

    @abc.abstractmethod
    def read_bytes(
        self, run_id: str, name: str, offset: int = 0, limit: int | None = None
    ) -> bytes:
        """Bytes ``offset .. offset+limit`` of a file (all the rest when ``limit`` is None).

        Reading a growing log from the size one already holds returns only what is new;
        a missing file raises ``FileNotFoundInRunError``.
        """

    @abc.abstractmethod
    def open_file(self, run_id: str, name: str) -> IO[bytes]:
        """A binary stream of one file (the caller closes it)."""

    @abc.abstractmethod
    def put_file(self, run_id: str, name: str, source: Any, *, overwrite: bool = False) -> str:
        """Store one file from a path or stream, atomically; return its clean name."""

    @abc.abstractmethod
    def put_bytes(self, run_id: str, name: str, data: bytes, *, overwrite: bool = False) -> str:
        """Store ``data`` as one file, atomically; return its clean name."""

    @abc.abstractmethod
    def append_bytes(self, run_id: str, name: str, data: bytes) -> None:
        """Append ``data`` to a file (a log), creating it if needed."""

    # -- snapshots and reports -------------------------------------------------------
    @abc.abstractmethod
    def take_snapshot(
        self, source: Path, *, exclude: tuple[Path, ...] = (), hint: str = ""
    ) -> snapshots.SnapshotInfo:
        """Zip the ``source`` folder as a content-addressed snapshot (see ``snapshots``)."""

    @abc.abstractmethod
    def snapshot_path(self, snapshot_id: str) -> Path:
        """The local zip of a snapshot (it may not exist)."""

    def restore_snapshot(self, snapshot_id: str, destination: Path) -> Path:
        """Unpack a snapshot into ``destination`` (created); return it."""
        return snapshots.restore(self.snapshot_path(snapshot_id), destination)

    @abc.abstractmethod
    def report_path(self, run_id: str) -> Path:
        """Where the HTML report of a run is written."""

    def sync_run(self, run_id: str) -> None:  # noqa: B027 - nothing to do for a local folder
        """Make what processes wrote directly into the run's folder visible to every reader.

        A local folder is already shared; an object store pushes the changed files (see
        ``object_artifacts``).
        """


class LocalArtifactStore(ArtifactStore):
    """Run files, snapshots and reports in a local (or shared, mounted) folder.

    Args:
        root: the folder; ``runs/``, ``snapshots/`` and ``reports/`` are made inside it
            when first written.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self.runs_dir = self.root / "runs"
        self.snapshots_dir = self.root / "snapshots"
        self.reports_dir = self.root / "reports"

    def run_folder(self, run_id: str) -> Path:
        """``<root>/runs/<run_id>``."""
        return self.runs_dir / run_id

    def list_files(self, run_id: str, prefix: str | None = None) -> list[str]:
        """Sorted names of the run's files (temporary files and symlinks are skipped)."""
        return self.files(run_id).names(prefix)

    def file_size(self, run_id: str, name: str) -> int | None:
        """Size of one file, or ``None``."""
        files = self.files(run_id)
        if not files.exists(name):
            return None
        return files.path_of(name).stat().st_size

    def read_bytes(
        self, run_id: str, name: str, offset: int = 0, limit: int | None = None
    ) -> bytes:
        """Bytes of one file from ``offset`` (at most ``limit`` of them)."""
        with self.open_file(run_id, name) as stream:
            stream.seek(offset)
            return stream.read() if limit is None else stream.read(limit)

    def open_file(self, run_id: str, name: str) -> IO[bytes]:
        """An open binary stream of one file."""
        try:
            return open(self.files(run_id).path_of(name), "rb")
        except FileNotFoundError:  # removed between the check and the open
            raise FileNotFoundInRunError(
                f"File with path {normalize_name(name)} was not found in run {run_id}."
            ) from None

    def put_file(self, run_id: str, name: str, source: Any, *, overwrite: bool = False) -> str:
        """Store one file (see ``RunFiles.upload``)."""
        return self.files(run_id).upload(name, source, overwrite=overwrite)

    def put_bytes(self, run_id: str, name: str, data: bytes, *, overwrite: bool = False) -> str:
        """Store bytes as one file."""
        return self.files(run_id).upload_bytes(name, data, overwrite=overwrite)

    def append_bytes(self, run_id: str, name: str, data: bytes) -> None:
        """Append to one file of the run, creating it (and its folder) if needed."""
        files = self.files(run_id)
        target = files.target_of(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab") as stream:
            stream.write(data)

    def take_snapshot(
        self, source: Path, *, exclude: tuple[Path, ...] = (), hint: str = ""
    ) -> snapshots.SnapshotInfo:
        """Zip ``source`` into ``snapshots/<id>.zip`` (reusing an identical one)."""
        return snapshots.take(source, self.snapshots_dir, exclude=exclude, hint=hint)

    def snapshot_path(self, snapshot_id: str) -> Path:
        """``<root>/snapshots/<id>.zip``."""
        return self.snapshots_dir / f"{snapshot_id}.zip"

    def report_path(self, run_id: str) -> Path:
        """``<root>/reports/<run_id>.html``."""
        return self.reports_dir / f"{run_id}.html"

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self.location!r})"
