"""Files behind datastores and datasets, through fsspec: list, read, copy, fingerprint.

Every place data can live is an fsspec file system plus a path in it: a local folder
(``LocalFileSystem``), an http(s) URL (``HTTPFileSystem``), an Azure Blob container
(adlfs' ``AzureBlobFileSystem``), an S3 bucket (s3fs). This module only knows file systems
and paths; which file system a datastore or URL means is decided by ``datastore`` and
``sources``. Every error of the underlying library becomes a :class:`DataAccessError`
naming what could not be reached.

Layer: data (the lowest module of the package; imports nothing of run_widgets but the
exceptions).
"""

from __future__ import annotations

import contextlib
import glob as _glob
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

from ..exceptions import DataAccessError

CHUNK = 1 << 20
_T = TypeVar("_T")


@dataclass(frozen=True)
class FileRef:
    """One file: its file system, its path there, and its name relative to its source's base.

    Attributes:
        fs: the fsspec file system.
        path: the path in ``fs`` (a local absolute path, a URL, ``container/blob``).
        name: the name relative to the source's base folder (``a/b.csv``), as ``to_path()``
            and ``download()`` lay it out.
        size: bytes, when the listing told it.
    """

    fs: Any
    path: str
    name: str
    size: int | None = None

    def open(self) -> IO[bytes]:
        """A binary stream of the file (the caller closes it)."""
        stream: IO[bytes] = guarded(lambda: self.fs.open(self.path, "rb"), self.path)
        return stream

    def read_bytes(self) -> bytes:
        """The whole file."""
        data: bytes = guarded(lambda: self.fs.cat_file(self.path), self.path)
        return data

    def digest(self) -> str:
        """The sha256 of the file's bytes (streamed)."""
        digest = hashlib.sha256()
        with self.open() as stream:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()


def is_url(text: str) -> bool:
    """Whether ``text`` is an http(s) URL."""
    return text.lower().startswith(("http://", "https://"))


def protocol_of(text: str) -> str | None:
    """The fsspec protocol of ``az://c/p``-style locations, ``None`` for plain paths."""
    if "://" not in text:
        return None
    protocol = text.split("://", 1)[0].lower()
    return protocol if protocol.isidentifier() else None


def local_fs() -> Any:
    """The local file system."""
    import fsspec  # fsspec (and its imports) load only when data is read or written

    return fsspec.filesystem("file")


def http_fs() -> Any:
    """The http(s) file system (aiohttp)."""
    import fsspec

    return fsspec.filesystem("https")


def url_fs(url: str) -> tuple[Any, str]:
    """The file system and path of an fsspec URL such as ``az://container/prefix``.

    Credentials come from the file system library's own environment variables (adlfs:
    ``AZURE_STORAGE_CONNECTION_STRING``, or ``AZURE_STORAGE_ACCOUNT_NAME`` with
    ``AZURE_STORAGE_ACCOUNT_KEY`` / ``AZURE_STORAGE_SAS_TOKEN``; s3fs: the AWS variables).

    Raises:
        DataAccessError: the protocol's library is not installed (the message names the extra).
    """
    from fsspec.core import url_to_fs

    protocol = protocol_of(url)
    try:
        fs, path = url_to_fs(url)
    except ImportError as error:
        extra = {"az": "azure", "abfs": "azure", "s3": "s3"}.get(protocol or "", protocol)
        raise DataAccessError(
            f"{url!r} needs the {protocol}:// file system: pip install 'run_widgets[{extra}]' "
            f"({error})."
        ) from None
    return fs, str(path)


def guarded(action: Callable[[], _T], what: str) -> _T:
    """Run ``action``; a failure of the file system becomes a DataAccessError naming ``what``."""
    try:
        return action()
    except DataAccessError:
        raise
    except FileNotFoundError as error:
        cause = error.__cause__ or error.__context__
        if (
            cause is not None
            and not isinstance(cause, FileNotFoundError)
            and "404" not in str(cause)
        ):
            raise DataAccessError(f"{what} cannot be reached: {short(cause)}") from None
        raise DataAccessError(f"{what} does not exist.") from None
    except PermissionError as error:
        raise DataAccessError(f"{what} cannot be accessed: {error}") from None
    except Exception as error:  # aiohttp, azure.core and botocore errors have no common base
        raise DataAccessError(f"{what} cannot be reached: {short(error)}") from None


def short(error: BaseException) -> str:
    """The first line of an error, with its type (for messages)."""
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first}"[:300]


def has_magic(path: str) -> bool:
    """Whether ``path`` holds glob characters."""
    return _glob.has_magic(path)


def glob_base(pattern: str) -> str:
    """The folder part of ``pattern`` before its first wildcard (``a/b`` for ``a/b/*/x.csv``)."""
    parts = PurePosixPath(pattern).parts
    kept: list[str] = []
    for part in parts:
        if has_magic(part):
            break
        kept.append(part)
    return str(PurePosixPath(*kept)) if kept else ""


def expand(fs: Any, path: str, what: str) -> list[FileRef]:
    """The files ``path`` means in ``fs``: a file, every file under a folder, or a glob.

    Names are relative to the folder (for a file: its parent; for a glob: the folder before
    the first wildcard). Hidden temporary files of our own writers are skipped.

    Raises:
        DataAccessError: nothing matches, or the file system cannot be reached.
    """
    clean = path.rstrip("/") or path
    if has_magic(clean):
        base = glob_base(clean)
        found = guarded(lambda: fs.glob(clean, detail=True), what)
        entries = {p: info for p, info in found.items() if info.get("type") != "directory"}
        files = [_ref(fs, p, base, info) for p, info in sorted(entries.items())]
    else:
        info = guarded(lambda: fs.info(clean), what)
        if info.get("type") == "directory":
            listing = guarded(lambda: fs.find(clean, detail=True), what)
            files = [_ref(fs, p, clean, i) for p, i in sorted(listing.items())]
        else:
            parent = str(PurePosixPath(_strip_protocol(fs, clean)).parent)
            files = [_ref(fs, str(info.get("name") or clean), parent, info)]
    files = [f for f in files if not PurePosixPath(f.name).name.startswith(".rw-tmp-")]
    if not files:
        raise DataAccessError(f"{what} matches no file.")
    return files


def _strip_protocol(fs: Any, path: str) -> str:
    stripped: str = fs._strip_protocol(path)
    return stripped


def _ref(fs: Any, path: str, base: str, info: dict[str, Any]) -> FileRef:
    plain = _strip_protocol(fs, path)
    root = _strip_protocol(fs, base).rstrip("/") if base else ""
    name = plain[len(root) :].lstrip("/") if root and plain.startswith(root) else plain
    if not name:
        name = PurePosixPath(plain).name
    size = info.get("size")
    return FileRef(fs, path, name, int(size) if size is not None else None)


def fingerprint(files: list[FileRef]) -> str:
    """The content fingerprint of a list of files: sha256 over each name, size and digest."""
    digest = hashlib.sha256()
    for ref in sorted(files, key=lambda f: f.name):
        digest.update(ref.name.encode("utf-8") + b"\0" + ref.digest().encode("ascii") + b"\n")
    return digest.hexdigest()


def copy_to(files: list[FileRef], target: Path, overwrite: bool = False) -> list[Path]:
    """Copy ``files`` below the local folder ``target`` at their names; the paths written.

    Raises:
        DataAccessError: a file exists already (unless ``overwrite``) or cannot be read.
    """
    written = []
    for ref in files:
        destination = target.joinpath(*PurePosixPath(ref.name).parts)
        if destination.exists() and not overwrite:
            raise DataAccessError(
                f"{destination} exists already; pass overwrite=True to replace it."
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary = destination.with_name(f".rw-tmp-{destination.name}")
        with ref.open() as source, open(temporary, "wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
        os.replace(temporary, destination)
        written.append(destination)
    return written


def link_or_copy(files: list[FileRef], target: Path) -> None:
    """Lay ``files`` out below ``target``: symbolic links for local files, copies otherwise."""
    for ref in files:
        destination = target.joinpath(*PurePosixPath(ref.name).parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists() or destination.is_symlink():
            destination.unlink()
        if protocol_of(ref.path) is None and "file" in _protocols(ref.fs):
            destination.symlink_to(ref.path)
        else:
            copy_to([ref], target, overwrite=True)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def upload_tree(fs: Any, pairs: list[tuple[Path, str]], overwrite: bool, what: str) -> list[str]:
    """Copy local files to ``fs`` (``(local path, destination path)`` pairs); all or nothing.

    Raises:
        DataAccessError: a destination exists (unless ``overwrite``), or writing failed;
            the files written before the failure are removed again.
    """
    if not overwrite:
        for _, destination in pairs:
            if guarded(partial(fs.exists, destination), what):
                raise DataAccessError(
                    f"{destination} exists already in {what}; pass overwrite=True to replace it."
                )
    written: list[str] = []
    try:
        for source, destination in pairs:
            parent = str(PurePosixPath(destination).parent)
            if "file" in _protocols(fs):
                Path(parent).mkdir(parents=True, exist_ok=True)
            guarded(partial(fs.put_file, str(source), destination), what)
            written.append(destination)
    except BaseException:
        for destination in written:
            with contextlib.suppress(Exception):
                fs.rm_file(destination)
        raise
    return written


def walk_local(folder: Path) -> Iterator[Path]:
    """Every file below a local folder, sorted (symbolic links to files included)."""
    for root, folders, names in os.walk(folder):
        folders.sort()
        for name in sorted(names):
            yield Path(root) / name
