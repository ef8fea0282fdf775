"""The folder of one run's files: uploads, downloads and listing, kept inside the folder.

Every name is checked before it touches the disk: absolute paths, ``..`` components,
control characters and paths through symbolic links are refused, and the resolved target
must lie inside the run's folder. Files are written to a temporary name and renamed, so a
reader never sees half a file, and a failed multi-file upload removes what it wrote.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..exceptions import (
    ArgumentTypeError,
    FileNotFoundInRunError,
    UserErrorException,
)

MAX_NAME_LENGTH = 1024
_TMP_PREFIX = ".rw-tmp-"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize_name(name: Any, what: str = "name") -> str:
    r"""Return the canonical form (``a/b/c``) of a file name inside a run, or raise.

    Raises:
        UserErrorException: for empty, absolute, escaping (``..``) or control-character
            names; backslashes count as separators so ``..\\x`` is caught too.
    """
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        raise ArgumentTypeError(f"The file {what} must be a str, not {type(name).__name__}.")
    if len(name) > MAX_NAME_LENGTH:
        raise UserErrorException(f"The file {what} is longer than {MAX_NAME_LENGTH} characters.")
    if _CONTROL.search(name):
        raise UserErrorException(f"The file {what} {name!r} contains control characters.")
    text = name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise UserErrorException(
            f"The file {what} {name!r} is absolute; names are relative to the run's folder, "
            "e.g. 'outputs/model.pkl'."
        )
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise UserErrorException(
            f"The file {what} {name!r} contains '..'; names must stay inside the run's folder."
        )
    if not parts:
        raise UserErrorException(f"The file {what} {name!r} is empty.")
    if parts[-1].startswith(_TMP_PREFIX):
        raise UserErrorException(f"The file {what} {name!r} uses a reserved prefix.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UserErrorException(f"The file {what} {name!r} is not valid Unicode.") from None
    return "/".join(parts)


def safe_target(root: Path, name: str) -> Path:
    """The path of ``name`` under ``root``, refusing any existing symlink on the way."""
    target = root.joinpath(*PurePosixPath(name).parts)
    current = root
    for part in PurePosixPath(name).parts:
        current = current / part
        if current.is_symlink():
            raise UserErrorException(
                f"{name!r} passes through the symbolic link {current}; run files cannot be "
                "written or read through links."
            )
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(target)]) != real_root:
        raise UserErrorException(f"{name!r} resolves outside the run's folder.")
    return target


def write_atomically(target: Path, source: IO[bytes] | Path) -> None:
    """Copy ``source`` (an open binary stream or a file path) to ``target`` via a temp file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(source, Path):
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, out, 1024 * 1024)
            else:
                shutil.copyfileobj(source, out, 1024 * 1024)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


class RunFiles:
    """The files of one run, stored under ``root`` (``<workspace>/runs/<run_id>``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _target(self, name: str) -> Path:
        """``safe_target`` below the run's folder, which must not itself be a link."""
        for folder in (self.root, self.root.parent):
            if folder.is_symlink():
                raise UserErrorException(
                    f"The run folder {folder} is a symbolic link; run files cannot be written "
                    "or read through links."
                )
        return safe_target(self.root, name)

    def target_of(self, name: Any) -> Path:
        """The checked path a file called ``name`` has (or would have) in the run's folder."""
        return self._target(normalize_name(name))

    # ----------------------------------------------------------------------- listing --
    def names(self, prefix: str | None = None) -> list[str]:
        """Sorted names of every file (symlinks and temporary files are not files here).

        With a ``prefix`` holding a folder (``logs/``), only that folder is walked.
        """
        start = self._walk_start(prefix)
        if start is None or not start.is_dir():
            return []
        found: list[str] = []
        for directory, subdirs, files in os.walk(start):
            base = Path(directory)
            subdirs[:] = sorted(d for d in subdirs if not (base / d).is_symlink())
            for file_name in files:
                path = base / file_name
                if file_name.startswith(_TMP_PREFIX) or path.is_symlink():
                    continue
                found.append(path.relative_to(self.root).as_posix())
        found.sort()
        if prefix:
            found = [n for n in found if n.startswith(prefix)]
        return found

    def _walk_start(self, prefix: str | None) -> Path | None:
        """The folder to list for ``prefix``: its folder part if clean and link-free."""
        if not prefix or "/" not in prefix:
            return self.root
        try:
            folder = normalize_name(prefix.rsplit("/", 1)[0])
        except (ValueError, TypeError):
            return self.root  # not a clean folder: filter the full listing instead
        start = self.root
        for part in folder.split("/"):
            start = start / part
            if start.is_symlink():
                return None
        return start

    def path_of(self, name: Any) -> Path:
        """Local path of an existing file, or a clear error listing what is available."""
        clean = normalize_name(name)
        target = self._target(clean)
        if not target.is_file():
            raise FileNotFoundInRunError(self._missing_message(clean))
        return target

    def exists(self, name: str) -> bool:
        """True if the run has a file called ``name``."""
        return self._target(normalize_name(name)).is_file()

    def _missing_message(self, name: str) -> str:
        available = self.names()
        shown = ",".join(available[:100])
        more = f" (and {len(available) - 100} more)" if len(available) > 100 else ""
        return f"File with path {name} was not found,\navailable files include: {shown}{more}."

    # ----------------------------------------------------------------------- uploads --
    def upload(self, name: Any, source: Any, *, overwrite: bool = False) -> str:
        """Store one file from a path or a binary/text stream; return its clean name."""
        clean = normalize_name(name)
        stream = _open_source(source)
        target = self._target(clean)
        self._check_free(clean, target)
        if not overwrite and target.exists():
            raise UserErrorException(
                f"Resource Conflict: the run already has a file named {clean!r}; run files are "
                "write-once, upload under another name."
            )
        if isinstance(stream, Path):
            if not stream.is_file():
                raise UserErrorException(f"Cannot upload {stream}: it is not a file.")
            write_atomically(target, stream)
        else:
            write_atomically(target, stream)
        return clean

    def _check_free(self, name: str, target: Path) -> None:
        """Refuse a name that is a folder of the run, or lies below one of its files."""
        if target.is_dir():
            raise UserErrorException(
                f"Resource Conflict: {name!r} is a folder of the run (it holds other files); "
                "choose another name."
            )
        parent = target.parent
        while parent != self.root and parent != parent.parent:
            if parent.exists() and not parent.is_dir():
                folder = parent.relative_to(self.root).as_posix()
                raise UserErrorException(
                    f"Resource Conflict: cannot store {name!r} because {folder!r} is a file of "
                    "the run, not a folder."
                )
            parent = parent.parent

    def upload_bytes(self, name: str, data: bytes, *, overwrite: bool = False) -> str:
        """Store ``data`` under ``name``."""
        return self.upload(name, io.BytesIO(data), overwrite=overwrite)

    def upload_many(
        self, names: Sequence[Any], paths: Sequence[Any], *, overwrite: bool = False
    ) -> list[str]:
        """Upload several files: all names are checked first; on failure nothing is kept."""
        clean = [normalize_name(n) for n in names]
        sources = [_open_source(p) for p in paths]
        duplicates = {n for n in clean if clean.count(n) > 1}
        if duplicates:
            raise UserErrorException(f"The names {sorted(duplicates)} are given more than once.")
        folders = {str(PurePosixPath(n).parents[i]) for n in clean for i in range(n.count("/"))}
        clashes = sorted(folders.intersection(clean))
        if clashes:
            raise UserErrorException(
                f"{clashes[0]!r} is given both as a file name and as a folder of other names."
            )
        for name in clean:
            target = self._target(name)
            self._check_free(name, target)
            if not overwrite and target.exists():
                raise UserErrorException(
                    f"Resource Conflict: the run already has a file named {name!r}."
                )
        for source in sources:
            if isinstance(source, Path) and not source.is_file():
                raise UserErrorException(f"Cannot upload {source}: it is not a file.")
        written: list[Path] = []
        try:
            for name, source in zip(clean, sources, strict=True):
                target = self._target(name)
                write_atomically(target, source)
                written.append(target)
        except BaseException:
            for target in written:
                with contextlib.suppress(OSError):
                    target.unlink()
            raise
        return clean

    def folder_listing(self, name: Any, folder: Any) -> tuple[list[str], list[Path]]:
        """Names and sources for ``upload_folder``; symlinks leaving the folder are refused."""
        base = Path(os.fspath(folder)) if isinstance(folder, (str, os.PathLike)) else None
        if base is None or not base.is_dir():
            raise UserErrorException(
                f"Cannot upload path: {folder} since it is not a valid directory."
            )
        prefix = normalize_name(name, "folder name") if str(name).strip("/. ") else ""
        real_base = os.path.realpath(base)
        names: list[str] = []
        sources: list[Path] = []
        outside: list[str] = []
        for directory, subdirs, files in os.walk(base, followlinks=False):
            here = Path(directory)
            for sub in list(subdirs):
                if (here / sub).is_symlink():
                    if not _inside(real_base, here / sub):
                        outside.append(str(here / sub))
                    subdirs.remove(sub)
            for file_name in sorted(files):
                path = here / file_name
                if path.is_symlink() and not _inside(real_base, path):
                    outside.append(str(path))
                    continue
                relative = path.relative_to(base).as_posix()
                names.append(f"{prefix}/{relative}" if prefix else relative)
                sources.append(path)
        if outside:
            raise UserErrorException(
                "upload_folder refuses symbolic links that point outside the folder: "
                + ", ".join(outside[:10])
            )
        return names, sources

    # --------------------------------------------------------------------- downloads --
    def download(self, name: Any, output_file_path: Any = None) -> Path:
        """Copy one file out; the default destination is its base name in the cwd."""
        source = self.path_of(name)
        if output_file_path is None:
            destination = Path.cwd() / source.name
        else:
            destination = Path(os.fspath(output_file_path))
            if destination.is_dir():
                destination = destination / source.name
        write_atomically(destination, source)
        return destination

    def download_many(
        self,
        prefix: str | None,
        output_directory: Any,
        append_prefix: bool = True,
    ) -> list[Path]:
        """Copy every file whose name starts with ``prefix`` below ``output_directory``."""
        wanted = self.names(prefix or None)
        if not wanted:
            raise FileNotFoundInRunError(
                f"No file of the run starts with {prefix!r}.\navailable files include: "
                + ",".join(self.names()[:100])
            )
        out = Path(os.fspath(output_directory)) if output_directory is not None else Path.cwd()
        out.mkdir(parents=True, exist_ok=True)
        copied: list[Path] = []
        for name in wanted:
            relative = name
            if not append_prefix and prefix:
                relative = name[len(prefix) :].lstrip("/") or PurePosixPath(name).name
            destination = safe_target(out, normalize_name(relative))
            write_atomically(destination, self.path_of(name))
            copied.append(destination)
        return copied


def _open_source(source: Any) -> IO[bytes] | Path:
    if isinstance(source, (str, os.PathLike)):
        return Path(os.fspath(source))
    if isinstance(source, io.TextIOBase):
        return io.BytesIO(source.read().encode("utf-8"))
    if isinstance(source, (io.IOBase, IO)) or hasattr(source, "read"):
        return source  # type: ignore[no-any-return]
    raise ArgumentTypeError(
        f"UnsupportedType: type {type(source)} is invalid, supported input types: file path or file"
    )


def _inside(real_base: str, path: Path) -> bool:
    real = os.path.realpath(path)
    return os.path.commonpath([real_base, real]) == real_base
