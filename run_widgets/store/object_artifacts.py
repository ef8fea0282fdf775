"""Run files on object storage: ``Workspace(store=..., artifacts="az://container/prefix")``.

Several machines of a team share run files (uploads, ``outputs/``, images, logs),
snapshots and the built-in datastores through an fsspec URL — ``az://`` (adlfs, Azure
Blob), ``s3://`` (s3fs) or any fsspec protocol — with no network filesystem. Layout under
the URL, as in a workspace folder::

    runs/<run_id>/<name>        each run's files
    snapshots/<id>.zip          content-addressed source snapshots
    datastores/<name>/          the built-in datastores

Each machine keeps a local working copy (a cache folder, ``$RUN_WIDGETS_HOME/cache/<hash of
the URL>/``): processes that must write real files (a job's log, its ``outputs/``) write
there, and every write through the run's file operations is pushed at once (write-through);
what processes append to directly (logs) is pushed by :meth:`ObjectArtifactStore.sync_run`,
which supervisors call every ``SYNC_S`` seconds while a job runs and once at its end. Reads
go to the object store (listing, sizes, byte ranges, so a live view tails a log written on
another machine); a file needed as a local path is downloaded into the working copy. Names
are checked as for a local folder: nothing leaves the run's folder. Reports stay local
(each machine writes its own).

Credentials come from the file system library's environment variables (adlfs:
``AZURE_STORAGE_CONNECTION_STRING``, or ``AZURE_STORAGE_ACCOUNT_NAME`` with
``AZURE_STORAGE_ACCOUNT_KEY`` / ``AZURE_STORAGE_SAS_TOKEN``), which child processes
inherit.

Layer: store.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..exceptions import FileNotFoundInRunError, StoreError, UserErrorException
from . import snapshots
from .artifacts import ArtifactStore
from .local_files import _TMP_PREFIX, RunFiles, normalize_name

SYNC_S = 2.0
"""Seconds between two pushes of a running job's growing files (its logs)."""


def is_object_url(location: str) -> bool:
    """Whether an artifacts location is an fsspec URL (``az://…``) rather than a folder."""
    if "://" not in location:
        return False
    protocol = location.split("://", 1)[0].lower()
    return protocol.isidentifier() and protocol not in ("file", "sqlite")


def cache_folder(home: Path, url: str) -> Path:
    """This machine's working copy of the artifacts at ``url``."""
    return home / "cache" / hashlib.sha256(url.rstrip("/").encode("utf-8")).hexdigest()[:16]


def open_url(url: str) -> tuple[Any, str]:
    """The fsspec file system of ``url`` and the path of its root there.

    Raises:
        StoreError: the protocol's library is missing (the message names the extra) or the
            location cannot be reached.
    """
    from fsspec.core import url_to_fs  # only stores with remote artifacts load fsspec

    protocol = url.split("://", 1)[0].lower()
    try:
        fs, path = url_to_fs(url)
    except ImportError as error:
        extra = {"az": "azure", "abfs": "azure", "s3": "s3"}.get(protocol, protocol)
        raise StoreError(
            f"Artifacts at {url!r} need the {protocol}:// file system: pip install "
            f"'run_widgets[{extra}]' ({error})."
        ) from None
    return fs, str(path).rstrip("/")


class MirroredRunFiles(RunFiles):
    """A run's files in the object store, with a local working copy under ``root``.

    Args:
        root: the local working copy of the run's folder.
        fs: the object store's file system.
        remote: the run's folder in it.
        pushed: what was pushed (name → (size, mtime)), shared by the run's objects.
    """

    def __init__(
        self, root: Path, fs: Any, remote: str, pushed: dict[str, tuple[int, float]]
    ) -> None:
        super().__init__(root)
        self.fs = fs
        self.remote = remote
        self.pushed = pushed

    def _remote_of(self, clean: str) -> str:
        return f"{self.remote}/{clean}"

    def remote_names(self) -> dict[str, int]:
        """Every file in the object store with its size."""
        try:
            found = self.fs.find(self.remote, detail=True)
        except FileNotFoundError:
            return {}
        names = {}
        for path, info in found.items():
            relative = str(path)[len(self.remote) :].lstrip("/")
            if relative and not relative.rsplit("/", 1)[-1].startswith(_TMP_PREFIX):
                names[relative] = int(info.get("size") or 0)
        return names

    def names(self, prefix: str | None = None) -> list[str]:
        """The run's files: in the object store, and those written here not pushed yet."""
        found = set(self.remote_names()) | set(super().names(prefix))
        return sorted(n for n in found if not prefix or n.startswith(prefix))

    def exists(self, name: str) -> bool:
        """True if the run has a file called ``name`` (here or in the object store)."""
        clean = normalize_name(name)
        return self._target(clean).is_file() or bool(self.fs.exists(self._remote_of(clean)))

    def path_of(self, name: Any) -> Path:
        """A local path of the file, downloaded into the working copy when needed."""
        clean = normalize_name(name)
        target = self._target(clean)
        remote = self._remote_of(clean)
        try:
            size = int(self.fs.info(remote).get("size") or 0)
        except FileNotFoundError:
            size = None
        if size is not None and (not target.is_file() or target.stat().st_size != size):
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f"{_TMP_PREFIX}{target.name}")
            self.fs.get_file(remote, str(temporary))
            os.replace(temporary, target)
        if not target.is_file():
            raise FileNotFoundInRunError(self._missing_message(clean))
        return target

    def _refuse_taken(self, clean: str) -> None:
        if self.fs.exists(self._remote_of(clean)):
            raise UserErrorException(
                f"Resource Conflict: the run already has a file named {clean!r}; run files are "
                "write-once, upload under another name."
            )

    def upload(self, name: Any, source: Any, *, overwrite: bool = False) -> str:
        """Store one file here and in the object store (write-through)."""
        clean = normalize_name(name)
        if not overwrite:
            self._refuse_taken(clean)
        super().upload(clean, source, overwrite=overwrite)
        self.push(clean)
        return clean

    def upload_many(
        self, names: Sequence[Any], paths: Sequence[Any], *, overwrite: bool = False
    ) -> list[str]:
        """Upload several files: all or nothing, here and in the object store."""
        if not overwrite:
            for name in names:
                self._refuse_taken(normalize_name(name))
        clean = super().upload_many(names, paths, overwrite=overwrite)
        pushed: list[str] = []
        try:
            for name in clean:
                self.push(name)
                pushed.append(name)
        except BaseException:
            for name in pushed:
                self.fs.rm_file(self._remote_of(name))
            for name in clean:
                self._target(name).unlink(missing_ok=True)
            raise
        return clean

    def push(self, clean: str) -> None:
        """Copy one file of the working copy to the object store."""
        target = self._target(clean)
        stat = target.stat()
        self.fs.put_file(str(target), self._remote_of(clean))
        self.pushed[clean] = (stat.st_size, stat.st_mtime)

    def sync(self) -> list[str]:
        """Push every file of the working copy that changed since it was last pushed."""
        changed = []
        for clean in RunFiles.names(self):
            stat = self._target(clean).stat()
            if self.pushed.get(clean) != (stat.st_size, stat.st_mtime):
                self.push(clean)
                changed.append(clean)
        return changed


class ObjectArtifactStore(ArtifactStore):
    """Run files, snapshots and built-in datastores under an fsspec URL (module docstring).

    Args:
        url: the location, e.g. ``az://container/prefix``.
        cache: this machine's working copy (runs, snapshots and reports made here).
    """

    def __init__(self, url: str, cache: Path) -> None:
        self.url = url.rstrip("/")
        self.location = self.url
        self.fs, self.base = open_url(self.url)
        self.cache = cache
        self._pushed: dict[str, dict[str, tuple[int, float]]] = {}
        self._lock = threading.Lock()

    def run_folder(self, run_id: str) -> Path:
        """The run's folder in the local working copy."""
        return self.cache / "runs" / run_id

    def files(self, run_id: str) -> MirroredRunFiles:
        """The run's file operations, written through to the object store."""
        with self._lock:
            pushed = self._pushed.setdefault(run_id, {})
        return MirroredRunFiles(
            self.run_folder(run_id), self.fs, f"{self.base}/runs/{run_id}", pushed
        )

    def list_files(self, run_id: str, prefix: str | None = None) -> list[str]:
        """Sorted names of the run's files."""
        return self.files(run_id).names(prefix)

    def file_size(self, run_id: str, name: str) -> int | None:
        """Size of one file (the larger of the object store's and this machine's copy)."""
        files = self.files(run_id)
        clean = normalize_name(name)
        sizes = []
        local = files.target_of(clean)
        if local.is_file():
            sizes.append(local.stat().st_size)
        with contextlib.suppress(FileNotFoundError):
            sizes.append(int(self.fs.info(f"{files.remote}/{clean}").get("size") or 0))
        return max(sizes) if sizes else None

    def read_bytes(
        self, run_id: str, name: str, offset: int = 0, limit: int | None = None
    ) -> bytes:
        """Bytes of one file from ``offset``: a byte range of the object.

        The process writing a file reads its own, newer copy.
        """
        files = self.files(run_id)
        clean = normalize_name(name)
        local = files.target_of(clean)
        remote = f"{files.remote}/{clean}"
        try:
            remote_size: int | None = int(self.fs.info(remote).get("size") or 0)
        except FileNotFoundError:
            remote_size = None
        if local.is_file() and (remote_size is None or local.stat().st_size > remote_size):
            with open(local, "rb") as stream:
                stream.seek(offset)
                return stream.read() if limit is None else stream.read(limit)
        if remote_size is None:
            raise FileNotFoundInRunError(f"File with path {clean} was not found in run {run_id}.")
        end = None if limit is None else offset + limit
        data: bytes = self.fs.cat_file(remote, start=offset, end=end)
        return data

    def open_file(self, run_id: str, name: str) -> IO[bytes]:
        """An open binary stream of the file (downloaded into the working copy first)."""
        return open(self.files(run_id).path_of(name), "rb")

    def put_file(self, run_id: str, name: str, source: Any, *, overwrite: bool = False) -> str:
        """Store one file (written through)."""
        return self.files(run_id).upload(name, source, overwrite=overwrite)

    def put_bytes(self, run_id: str, name: str, data: bytes, *, overwrite: bool = False) -> str:
        """Store bytes as one file (written through)."""
        return self.files(run_id).upload_bytes(name, data, overwrite=overwrite)

    def append_bytes(self, run_id: str, name: str, data: bytes) -> None:
        """Append to a file of the working copy and push it."""
        files = self.files(run_id)
        clean = normalize_name(name)
        target = files.target_of(clean)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab") as stream:
            stream.write(data)
        files.push(clean)

    def sync_run(self, run_id: str) -> None:
        """Push what processes wrote directly into the run's working copy (its logs)."""
        self.files(run_id).sync()

    def take_snapshot(
        self, source: Path, *, exclude: tuple[Path, ...] = (), hint: str = ""
    ) -> snapshots.SnapshotInfo:
        """Zip ``source`` into the working copy and push it (content-addressed: once)."""
        info = snapshots.take(source, self.cache / "snapshots", exclude=exclude, hint=hint)
        remote = f"{self.base}/snapshots/{info.snapshot_id}.zip"
        if not self.fs.exists(remote):
            self.fs.put_file(str(self.cache / "snapshots" / f"{info.snapshot_id}.zip"), remote)
        return info

    def snapshot_path(self, snapshot_id: str) -> Path:
        """The local zip of a snapshot, downloaded from the object store if needed."""
        local = self.cache / "snapshots" / f"{snapshot_id}.zip"
        remote = f"{self.base}/snapshots/{snapshot_id}.zip"
        if not local.is_file() and self.fs.exists(remote):
            local.parent.mkdir(parents=True, exist_ok=True)
            temporary = local.with_name(f"{_TMP_PREFIX}{local.name}")
            self.fs.get_file(remote, str(temporary))
            os.replace(temporary, local)
        return local

    def report_path(self, run_id: str) -> Path:
        """Reports stay on each machine: ``<working copy>/reports/<run_id>.html``."""
        return self.cache / "reports" / f"{run_id}.html"

    def __repr__(self) -> str:
        return f"ObjectArtifactStore({self.url!r})"
