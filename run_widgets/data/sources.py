"""Where a dataset's files come from: v1 ``path`` arguments turned into locations and files.

``Dataset.File.from_files(path)`` and the ``Dataset.Tabular.from_*`` factories take, as v1
did, one or a list of: a local path or glob (``data/*.csv``), an http(s) URL, a
``(datastore, "path/on/it")`` tuple, a ``DataReference`` / ``DataPath`` (from
``datastore.path(...)``), or an ``azureml://datastores/<name>/paths/<path>`` URI (a
datastore of the configured workspace, ``Workspace.from_config()``). Each
becomes a JSON *location* recorded in the dataset's definition; :func:`files_of` lists the
files a location means now.

Layer: data.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import ArgumentTypeError, UserErrorException
from ..workspace import Workspace
from . import filesystems
from .datastore import Datastore, resolve_datastore
from .filesystems import FileRef
from .references import DataPath, DataReference, clean_path

_AZUREML_URI = re.compile(r"azureml://datastores/(?P<store>[^/]+)/paths/(?P<path>.*)", re.I)


def location_of(item: Any, workspace: Workspace | None) -> tuple[dict[str, str], Workspace | None]:
    """The JSON location of one v1 path item, and the workspace it needs (if any)."""
    if isinstance(item, (DataReference, DataPath)):
        store = item.datastore
        if not isinstance(store, Datastore):
            raise ArgumentTypeError(f"{item!r:.80} needs a run_widgets Datastore.")
        return _datastore_location(store, item.path_on_datastore), store.workspace
    if isinstance(item, tuple):
        if len(item) != 2 or not isinstance(item[1], str):
            raise ArgumentTypeError(
                f"A datastore path is a (datastore, 'path/on/it') tuple, got {item!r:.80}."
            )
        store = item[0]
        if isinstance(store, str):
            if workspace is None:
                raise UserErrorException(
                    f"({store!r}, {item[1]!r}) names a datastore by name; pass the Datastore object."
                )
            store = Datastore(workspace, store)
        if not isinstance(store, Datastore):
            raise ArgumentTypeError(f"Expected a Datastore in {item!r:.80}.")
        return _datastore_location(store, item[1]), store.workspace
    if isinstance(item, os.PathLike):
        item = os.fspath(item)
    if not isinstance(item, str) or not item:
        raise ArgumentTypeError(
            "path must be a local path, an http(s) URL, a (datastore, path) tuple or a "
            f"DataPath, not {type(item).__name__}."
        )
    match = _AZUREML_URI.fullmatch(item)
    if match:  # the short form names a datastore of the configured workspace
        workspace = workspace or Workspace.from_config()
        store = Datastore(workspace, match["store"])
        return _datastore_location(store, match["path"]), workspace
    if filesystems.is_url(item):
        return {"kind": "http", "url": item}, None
    if filesystems.protocol_of(item) is not None:
        return {"kind": "url", "url": item}, None
    return {"kind": "local", "path": str(Path(item).expanduser().absolute())}, None


def _datastore_location(store: Datastore, path: str) -> dict[str, str]:
    return {"kind": "datastore", "datastore": store.name, "path": clean_path(path)}


def locations_of(path: Any) -> tuple[list[dict[str, str]], Workspace | None]:
    """The locations of a v1 ``path`` argument (one item or a list), and their workspace."""
    items = path if isinstance(path, list) else [path]
    if not items:
        raise UserErrorException("path must name at least one file, folder, URL or datastore path.")
    workspace: Workspace | None = None
    locations = []
    for item in items:
        location, needed = location_of(item, workspace)
        if needed is not None:
            if workspace is not None and needed != workspace:
                raise UserErrorException(
                    "All datastore paths of a dataset must be of one workspace."
                )
            workspace = needed
        locations.append(location)
    return locations, workspace


def describe(location: Mapping[str, str]) -> str:
    """How messages name a location."""
    kind = location.get("kind")
    if kind == "datastore":
        return f"{location['path'] or '/'!r} on datastore {location['datastore']!r}"
    if kind in ("http", "url"):
        return f"URL {location['url']!r}"
    return f"path {location.get('path')!r}"


def files_of(location: Mapping[str, str], workspace: Workspace | None) -> list[FileRef]:
    """The files a location means now (a file, a folder's files, a glob's matches).

    Raises:
        DataAccessError: nothing there, or it cannot be reached (naming the location).
    """
    kind = location.get("kind")
    what = describe(location)
    if kind == "local":
        return filesystems.expand(filesystems.local_fs(), location["path"], what)
    if kind == "http":
        fs = filesystems.http_fs()
        url = location["url"]
        info = filesystems.guarded(lambda: fs.info(url), what)
        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "index"
        return [FileRef(fs, url, name, info.get("size"))]
    if kind == "url":
        fs, path = filesystems.url_fs(location["url"])
        return filesystems.expand(fs, path, what)
    if kind == "datastore":
        if workspace is None:
            raise UserErrorException(f"The dataset reads {what}, but has no workspace.")
        store = resolve_datastore(workspace, location["datastore"])
        fs, _ = store.filesystem()
        return filesystems.expand(fs, store.full_path(location["path"]), what)
    raise UserErrorException(f"Unknown kind of dataset location: {kind!r}.")


def all_files(locations: list[dict[str, str]], workspace: Workspace | None) -> list[FileRef]:
    """The files of every location, names made unique (a clash gets its source's number)."""
    files: list[FileRef] = []
    seen: set[str] = set()
    for index, location in enumerate(locations):
        for ref in files_of(location, workspace):
            name = ref.name if ref.name not in seen else f"{index}/{ref.name}"
            seen.add(name)
            files.append(FileRef(ref.fs, ref.path, name, ref.size))
    return files
