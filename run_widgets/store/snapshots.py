"""Snapshots: a zip of a source directory, kept with the run and restorable later.

Files matched by an ignore file in the directory's root are left out: ``.runignore`` if
present, else ``.amlignore`` (as v1), else ``.gitignore``; gitignore syntax in all three.
Some folders are always left out (``DEFAULT_IGNORES``: version-control data, virtual
environments, caches, the workspace itself). Limits as v1: 2,000 files and 300 MB, raised
with ``RUN_WIDGETS_SNAPSHOT_MAX_FILES`` / ``RUN_WIDGETS_SNAPSHOT_MAX_MB``.

Snapshots are content-addressed (``<workspace>/snapshots/<sha256>.zip``) so twenty sweep
children of one source folder share one zip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..exceptions import SnapshotException

if TYPE_CHECKING:
    import pathspec

IGNORE_FILES = (".runignore", ".amlignore", ".gitignore")
DEFAULT_IGNORES = (
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    "node_modules/",
    "__pycache__/",
    ".ipynb_checkpoints/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".run_widgets/",
    "*.pyc",
)
DEFAULT_MAX_FILES = 2000
DEFAULT_MAX_MB = 300


@dataclass(frozen=True)
class SnapshotInfo:
    """A stored snapshot: its id (content hash), zip location and size."""

    snapshot_id: str
    zip_path: Path
    file_count: int
    total_bytes: int


def limits() -> tuple[int, int]:
    """(max files, max bytes), honouring the environment overrides."""
    max_files = int(os.environ.get("RUN_WIDGETS_SNAPSHOT_MAX_FILES", DEFAULT_MAX_FILES))
    max_mb = float(os.environ.get("RUN_WIDGETS_SNAPSHOT_MAX_MB", DEFAULT_MAX_MB))
    return max_files, int(max_mb * 1024 * 1024)


def collect_files(source: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """Files of ``source`` to snapshot, honouring ignore files and the default ignores.

    Symbolic links are not followed (a link to a large dataset must not end up in the zip).
    """
    spec = _ignore_spec(source)
    excluded = {os.path.realpath(p) for p in exclude}
    chosen: list[Path] = []
    for directory, subdirs, files in os.walk(source, followlinks=False):
        here = Path(directory)
        keep = []
        for sub in sorted(subdirs):
            path = here / sub
            relative = path.relative_to(source).as_posix() + "/"
            if path.is_symlink() or spec.match_file(relative):
                continue
            if os.path.realpath(path) in excluded:
                continue
            keep.append(sub)
        subdirs[:] = keep
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(source).as_posix()
            if path.is_symlink() or spec.match_file(relative):
                continue
            chosen.append(path)
    return chosen


def _ignore_spec(source: Path) -> pathspec.PathSpec[Any]:
    import pathspec  # only a snapshot needs it, not every process that logs

    lines = list(DEFAULT_IGNORES)
    for candidate in IGNORE_FILES:
        ignore_file = source / candidate
        if ignore_file.is_file():
            lines.extend(ignore_file.read_text(encoding="utf-8", errors="replace").splitlines())
            break
    # GitIgnoreSpec: gitignore semantics (and no deprecated "gitwildmatch" factory).
    return pathspec.GitIgnoreSpec.from_lines(lines)


def take(
    source: Path, snapshots_dir: Path, *, exclude: tuple[Path, ...] = (), hint: str = ""
) -> SnapshotInfo:
    """Zip ``source`` into the workspace's snapshot store and return where it went.

    Raises:
        SnapshotException: the directory is missing, or over the file or size limit; the
            message says how to ignore files or skip the snapshot (``hint``).
    """
    if not source.is_dir():
        raise SnapshotException(f"Failed to take a snapshot of {source}: not a directory.{hint}")
    files = collect_files(source, exclude)
    max_files, max_bytes = limits()
    if len(files) > max_files:
        raise SnapshotException(
            f"Failed to take a snapshot of {source}: {len(files)} files, more than the limit of "
            f"{max_files}. List what to leave out in a .amlignore or .gitignore file there, "
            f"or raise RUN_WIDGETS_SNAPSHOT_MAX_FILES.{hint}"
        )
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise SnapshotException(
            f"Failed to take a snapshot of {source}: {total / 1e6:.1f} MB, more than the limit "
            f"of {max_bytes / 1e6:.0f} MB. List large files in a .amlignore or .gitignore file "
            f"there, or raise RUN_WIDGETS_SNAPSHOT_MAX_MB.{hint}"
        )
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rw-tmp-", suffix=".zip", dir=snapshots_dir)
    os.close(fd)
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                relative = path.relative_to(source).as_posix()
                digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                info = zipfile.ZipInfo.from_file(path, relative)
                with open(path, "rb") as src, archive.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        snapshot_id = digest.hexdigest()[:32]
        zip_path = snapshots_dir / f"{snapshot_id}.zip"
        if zip_path.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, zip_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return SnapshotInfo(snapshot_id, zip_path, len(files), total)


def restore(zip_path: Path, destination: Path) -> Path:
    """Extract a snapshot into ``destination`` (created), refusing entries that escape it."""
    if not zip_path.is_file():
        raise SnapshotException(f"The snapshot {zip_path.name} is missing from the workspace.")
    destination.mkdir(parents=True, exist_ok=True)
    real_destination = os.path.realpath(destination)
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            parts = PurePosixPath(member.filename).parts
            if member.filename.startswith("/") or ".." in parts:
                raise SnapshotException(f"The snapshot has an unsafe entry {member.filename!r}.")
            target = os.path.realpath(destination.joinpath(*parts))
            if os.path.commonpath([real_destination, target]) != real_destination:
                raise SnapshotException(f"The snapshot has an unsafe entry {member.filename!r}.")
        archive.extractall(destination)
    return destination
