"""Workspace: a tracking store (records, metrics) plus an artifact store (run files).

``Workspace(path)`` is one local folder holding both (the SQLite store ``tracking.db`` and
the run files). ``Workspace(store=URI, artifacts=FOLDER)`` pairs any registered store
(``sqlite:///abs/path.db``, ``postgresql://...``; see :mod:`run_widgets.store.registry`)
with a folder for the files, or with object storage: ``artifacts="az://container/prefix"``
(or ``s3://…``) keeps run files, snapshots and the built-in datastores there, so several
machines share them without a network filesystem (see
:mod:`run_widgets.store.object_artifacts`; ``ws.folder`` is then this machine's working
copy).

Where ``Workspace.from_config()`` looks, first match wins:

1. the ``RUN_WIDGETS_STORE`` / ``RUN_WIDGETS_ARTIFACTS`` environment variables, then
   ``RUN_WIDGETS_WORKSPACE`` (a folder path);
2. a ``run_widgets.json`` file (or ``.run_widgets/config.json``) in the current directory
   or any parent, e.g. ``{"workspace": "./tracking", "name": "team"}`` or
   ``{"store": "postgresql://...", "artifacts": "/shared/runs"}`` (a relative path is
   relative to the file, and so are the files a store URI names, such as its TLS
   certificate authority: ``postgresql://...?sslmode=verify-full&sslrootcert=ca.crt``);
3. the default workspace ``~/.run_widgets/default`` (``$RUN_WIDGETS_HOME/default`` if set).

Other processes (supervisors, sweep trials, submitted scripts) reach the same workspace
through :meth:`Workspace.description` (a picklable :class:`WorkspaceDescription`, also
passed as environment variables), never through a folder path alone.

Layout of a workspace folder::

    tracking.db         the SQLite store (with -wal / -shm while in use)
    runs/<run_id>/      each run's files: outputs/, logs/, uploads
    snapshots/<id>.zip  content-addressed source snapshots
    reports/<run_id>.html   self-contained run reports (get_portal_url)

Layer: API façade, the lowest of the three (``workspace`` → ``run`` → ``experiment``): it
imports the store and the runtime; the experiments and runs it lists are made by the
classes registered in ``runtime.REGISTRY`` and known here by Protocols.
"""

from __future__ import annotations

import html
import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .exceptions import ArgumentTypeError, DatastoreNotFoundError, UserErrorException
from .runtime import REGISTRY, RUNTIME
from .store import TrackingStore, normalize_uri, redact
from .store.artifacts import ArtifactStore, LocalArtifactStore
from .store.copy import CopyReport, copy_store
from .store.description import (
    ENV_ARTIFACTS,
    ENV_NAME,
    ENV_STORE,
    ENV_WORKSPACE,
    WorkspaceDescription,
)
from .store.object_artifacts import ObjectArtifactStore, cache_folder, is_object_url
from .store.registry import scheme_of, sqlite_path, with_files_relative_to

ENV_HOME = "RUN_WIDGETS_HOME"
CONFIG_NAMES = ("run_widgets.json", os.path.join(".run_widgets", "config.json"))


def home_folder() -> Path:
    """``$RUN_WIDGETS_HOME``, or ``~/.run_widgets``: where named workspaces live."""
    home = os.environ.get(ENV_HOME)
    return Path(home).expanduser() if home else Path.home() / ".run_widgets"


def default_location() -> Path:
    """The folder of the default workspace."""
    return home_folder() / "default"


def named_location(workspace_name: str) -> Path:
    """The folder of the local workspace called ``workspace_name`` (v1 workspace names)."""
    if not isinstance(workspace_name, str) or not re.fullmatch(
        r"[A-Za-z0-9][\w.-]{0,99}", workspace_name
    ):
        raise UserErrorException(
            f"Workspace name {workspace_name!r} must be 1-100 letters, digits, '_', '-' or '.',"
            " starting with a letter or digit."
        )
    return home_folder() / workspace_name


def find_config(start: Path | None = None) -> Path | None:
    """The nearest config file in ``start`` (default: the cwd) or a parent, if any."""
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def _artifacts_folder(
    path: str | os.PathLike[str] | None,
    store: str | os.PathLike[str] | None,
    artifacts: str | os.PathLike[str] | None,
) -> Path:
    """The folder of run files for the given ``Workspace`` arguments."""
    if artifacts is not None:
        return Path(artifacts).expanduser()
    if path is not None:
        return Path(path).expanduser()
    if store is None:
        return default_location()
    text = os.fspath(store)
    scheme = scheme_of(text)
    if scheme is None:
        return Path(text).expanduser()
    if scheme == "sqlite":
        return sqlite_path(text).parent
    raise UserErrorException(
        f"Workspace(store={redact(text)!r}) needs artifacts=<folder> for the run files "
        "(a folder every machine using this store can reach)."
    )


def _default_name(store_uri: str, folder: Path, artifacts_url: str | None = None) -> str:
    """A workspace's name when none is given: its folder's, or a server store's database name.

    The artifacts folder of a server store is often called ``artifacts`` or ``runs``,
    which says nothing about the workspace; the database (``.../tracking``) does. With run
    files on object storage, the folder is this machine's working copy: the URL's last part
    (``az://container/team`` → ``team``) names a SQLite-stored workspace instead.
    """
    if scheme_of(store_uri) in (None, "sqlite"):
        object_name = (artifacts_url or "").rstrip("/").rsplit("/", 1)[-1]
        return object_name or folder.name
    database = unquote(urlsplit(store_uri).path.rstrip("/").rpartition("/")[2])
    return database or folder.name


LOCATION = "local"
LOCAL_SUBSCRIPTION_ID = "local"
LOCAL_RESOURCE_GROUP = "local"

WorkspaceListing = Callable[["Workspace"], dict[str, Any]]


def register_listing(collection: str, listing: WorkspaceListing) -> None:
    """Let a higher layer fill ``ws.<collection>`` without the workspace importing it.

    Collections: ``environments``, ``models``, ``compute_targets``, ``datastores``,
    ``datasets``. ``listing(ws)`` returns the collection as a dict by name; registering
    again replaces it (the registry's ``listings`` table).
    """
    REGISTRY.listings.register(collection, listing)


def _listing(workspace: Workspace, collection: str) -> dict[str, Any]:
    """``ws.<collection>``: empty while no layer that can hold such things is loaded."""
    listing = REGISTRY.listings.get(collection)
    return listing(workspace) if listing is not None else {}


class ExperimentHandle(Protocol):
    """An experiment as the layers below ``experiment`` know it (a ``run_widgets.Experiment``).

    ``ws.experiments`` holds them, and a ``Run`` belongs to one.
    """

    @property
    def name(self) -> str:
        """The experiment name."""

    @property
    def workspace(self) -> Workspace:
        """The workspace holding the experiment."""


class RunHandle(Protocol):
    """The run ``ws.get_run`` reopens (the object is a ``run_widgets.Run``)."""

    @property
    def id(self) -> str:
        """The run id."""

    @property
    def type(self) -> str:
        """The run type."""

    def get_status(self) -> str:
        """The current status."""

    def get_details(self) -> dict[str, Any]:
        """The run's details."""

    def get_metrics(self, name: str | None = None, recursive: bool = False) -> dict[str, Any]:
        """The run's metrics."""


class Workspace:
    """A tracking store plus the folder of run files, snapshots and reports.

    Args:
        path: the workspace folder (store and files together); created if missing.
            ``None`` means the default workspace (see the module docstring).
        name: a display name. Default: the folder's name, or for a server store (such
            as ``postgresql://alice@db/tracking``) the name of its database (``tracking``).
        store: a store URI (``sqlite:///abs/path.db``, ``postgresql://...``) or folder;
            default: the SQLite store inside the artifacts folder.
        artifacts: the folder of run files, or an fsspec URL of object storage
            (``az://container/prefix``, ``s3://bucket/prefix``); default: ``path``, else the
            folder of a ``sqlite:///`` store file. A server store needs it.
        subscription_id: accepted for v1 code (``Workspace(subscription_id, ...)``); a
            local workspace has none.
        resource_group: accepted for v1 code; a local workspace has none.
        workspace_name: v1's workspace name; without ``path`` it picks the local workspace
            of that name (``$RUN_WIDGETS_HOME/<name>``) and is the display name.

    Example:
        >>> ws = Workspace.from_config()          # doctest: +SKIP
        >>> ws = Workspace(path="./tracking")     # doctest: +SKIP
        >>> ws = Workspace(store="postgresql://me@db/tracking", artifacts="/shared/runs")  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        *,
        store: str | os.PathLike[str] | None = None,
        artifacts: str | os.PathLike[str] | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        **_v1_arguments: Any,
    ):
        if workspace_name is not None and path is None:
            # v1: Workspace(subscription_id=..., resource_group=..., workspace_name=...).
            # There is no cloud here: the name picks a local workspace under the home folder.
            path = named_location(workspace_name)
            name = name or workspace_name
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise ArgumentTypeError(
                f"Workspace path must be a str or path, not {type(path).__name__}. "
                "(Azure subscription/resource-group arguments do not apply here; use "
                "Workspace.from_config() or Workspace(path=...).)"
            )
        for argument, value in (("store", store), ("artifacts", artifacts)):
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise ArgumentTypeError(
                    f"Workspace {argument} must be a str or path, not {type(value).__name__}."
                )
        url = os.fspath(artifacts) if artifacts is not None else None
        self._artifacts_url = url if url is not None and is_object_url(url) else None
        if self._artifacts_url is not None:
            if store is None:
                raise UserErrorException(
                    f"Workspace(artifacts={self._artifacts_url!r}) keeps run files on object "
                    "storage and needs store=<a tracking store URI> for the records."
                )
            # This machine's working copy of the shared files (jobs' folders, node slots…).
            self._location = cache_folder(home_folder(), self._artifacts_url)
        else:
            self._location = _artifacts_folder(path, store, artifacts).resolve()
        self._store_uri = normalize_uri(store if store is not None else self._location)
        self._name = name or _default_name(self._store_uri, self._location, self._artifacts_url)
        if scheme_of(self._store_uri) == "sqlite":  # the store file lives in the folder
            self._location.mkdir(parents=True, exist_ok=True)
            self._store = RUNTIME.stores.get(self._store_uri)
        else:  # a server store opens first: unreachable or refused leaves no folder behind
            self._store = RUNTIME.stores.get(self._store_uri)
            self._location.mkdir(parents=True, exist_ok=True)
        self._artifacts: ArtifactStore = (
            ObjectArtifactStore(self._artifacts_url, self._location)
            if self._artifacts_url is not None
            else LocalArtifactStore(self._location)
        )

    def description(self) -> WorkspaceDescription:
        """How another process opens this workspace: its store URI and artifacts folder."""
        return WorkspaceDescription(
            self._store_uri, self._artifacts_url or str(self._location), self._name
        )

    @classmethod
    def from_description(cls, description: WorkspaceDescription) -> Workspace:
        """The workspace a :meth:`description` describes (in another process)."""
        return cls(store=description.store, artifacts=description.artifacts, name=description.name)

    @classmethod
    def for_child_process(cls, artifacts: str) -> Workspace:
        """The workspace of a child process started with ``artifacts`` on its command line."""
        return cls.from_description(WorkspaceDescription.from_environ(artifacts))

    @classmethod
    def get(
        cls,
        name: str,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        **kwargs: Any,
    ) -> Workspace:
        """The local workspace called ``name`` (v1 ``Workspace.get``), created if needed."""
        return cls(workspace_name=name)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, **_: Any) -> Workspace:
        """The workspace configured for this directory, or the default one.

        Args:
            path: a config file, or a folder to search upward from, instead of the cwd.

        Returns:
            The ``Workspace``.
        """
        if path is None:
            env_store, env_artifacts = os.environ.get(ENV_STORE), os.environ.get(ENV_ARTIFACTS)
            if env_store or env_artifacts:
                return cls(
                    store=env_store or None,
                    artifacts=env_artifacts or None,
                    name=os.environ.get(ENV_NAME) or None,
                )
            env = os.environ.get(ENV_WORKSPACE)
            if env:
                return cls(env)
            config = find_config()
        else:
            given = Path(path).expanduser()
            config = given if given.is_file() else find_config(given)
            if config is None and not given.exists():
                raise UserErrorException(f"No workspace config file at {given}.")
        if config is None:
            return cls(None)
        return cls._from_file(config)

    @classmethod
    def _from_file(cls, config: Path) -> Workspace:
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserErrorException(f"Cannot read workspace config {config}: {exc}") from None
        if not isinstance(data, dict):
            raise UserErrorException(f"Workspace config {config} must hold a JSON object.")
        base = config.parent.parent if config.parent.name == ".run_widgets" else config.parent

        def relative(key: str, value: Any) -> Path | None:
            if value is None:
                return None
            if not isinstance(value, str):
                raise UserErrorException(f"{key!r} in {config} must be a path string.")
            location = Path(value).expanduser()
            return location if location.is_absolute() else base / location

        store = data.get("store")
        if store is not None:
            if not isinstance(store, str):
                raise UserErrorException(f"'store' in {config} must be a URI or path string.")
            if scheme_of(store) is None:
                store = str(relative("store", store))
            else:  # its certificate files (sslrootcert=...) are relative to the file too
                store = with_files_relative_to(store, base)
        folder = relative("workspace", data.get("workspace") or data.get("path"))
        artifacts = relative("artifacts", data.get("artifacts"))
        if folder is None and store is None and artifacts is None:
            return cls(None, name=data.get("name"))
        return cls(folder, name=data.get("name"), store=store, artifacts=artifacts)

    # ------------------------------------------------------------------- properties --
    @property
    def name(self) -> str:
        """Display name of the workspace."""
        return self._name

    @property
    def location(self) -> str:
        """Where the workspace lives, as v1's Azure region; always ``"local"`` here.

        v1 notebooks print ``'Azure region: ' + ws.location``; the folder is ``ws.folder``.
        """
        return LOCATION

    @property
    def folder(self) -> Path:
        """The workspace folder (tracking store, run files, snapshots, registry)."""
        return self._location

    @property
    def subscription_id(self) -> str:
        """v1's Azure subscription id, always ``"local"`` (a local workspace has none)."""
        return LOCAL_SUBSCRIPTION_ID

    @property
    def resource_group(self) -> str:
        """v1's Azure resource group, always ``"local"`` (a local workspace has none)."""
        return LOCAL_RESOURCE_GROUP

    def get_details(self) -> dict[str, Any]:
        """The workspace's details with the v1 keys that have a local meaning.

        ``id`` has v1's ARM form with the local subscription and resource group,
        ``workspaceid`` is a UUID derived from the folder (stable across processes) and
        ``storageAccount`` is the workspace folder.
        """
        return {
            "id": (
                f"/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/{LOCAL_RESOURCE_GROUP}"
                f"/providers/run_widgets/workspaces/{self._name}"
            ),
            "name": self._name,
            "location": LOCATION,
            "type": "run_widgets/workspaces",
            "workspaceid": str(uuid.uuid5(uuid.NAMESPACE_URL, self._location.as_uri())),
            "description": "",
            "friendlyName": self._name,
            "storageAccount": str(self._location),
            "tags": {},
        }

    @property
    def environments(self) -> dict[str, Any]:
        """Registered environments by name (latest version), as v1's ``ws.environments``."""
        return _listing(self, "environments")

    @property
    def models(self) -> dict[str, Any]:
        """Registered models by name (latest version), as v1's ``ws.models``."""
        return _listing(self, "models")

    @property
    def datastores(self) -> dict[str, Any]:
        """Datastores by name, built-in ones first, as v1's ``ws.datastores``."""
        return _listing(self, "datastores")

    @property
    def datasets(self) -> dict[str, Any]:
        """Registered datasets by name (latest version), as v1's ``ws.datasets``."""
        return _listing(self, "datasets")

    def get_default_datastore(self) -> Any:
        """The default datastore (``workspaceblobstore`` unless another was made default).

        Returns:
            A ``run_widgets.Datastore``: a folder of the workspace's files (see
            :mod:`run_widgets.data.datastore`).
        """
        return REGISTRY.default_datastore.require()(self)

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore called ``name`` the default one (v1)."""
        datastore = self.datastores.get(name)
        if datastore is None:
            raise DatastoreNotFoundError(
                f"No datastore named {name!r} in workspace {self._name!r}."
            )
        datastore.set_as_default()

    @property
    def compute_targets(self) -> dict[str, Any]:
        """Compute targets by name, as v1's ``ws.compute_targets``."""
        return _listing(self, "compute_targets")

    @property
    def store(self) -> TrackingStore:
        """The tracking store (shared by every ``Workspace`` object of the same URI)."""
        return self._store

    @property
    def store_uri(self) -> str:
        """The canonical URI of the tracking store; it may hold a password (``repr`` hides it)."""
        return self._store_uri

    @property
    def artifacts(self) -> ArtifactStore:
        """The artifact store (run files, snapshots and reports)."""
        return self._artifacts

    @property
    def runs_dir(self) -> Path:
        """Folder holding one sub-folder of files per run."""
        return self._location / "runs"

    @property
    def snapshots_dir(self) -> Path:
        """Folder of content-addressed snapshot zips."""
        return self._location / "snapshots"

    @property
    def reports_dir(self) -> Path:
        """Folder of generated HTML run reports."""
        return self._location / "reports"

    @property
    def experiments(self) -> dict[str, ExperimentHandle]:
        """Every experiment of the workspace, by name (as in v1)."""
        experiments: list[ExperimentHandle] = REGISTRY.experiment_class.require().list(self)
        return {e.name: e for e in experiments}

    def get_run(self, run_id: str) -> RunHandle:
        """Reopen a run by id, whatever its experiment (v1 ``Run.get(workspace, run_id)``)."""
        run: RunHandle = REGISTRY.run_class.require().get(self, run_id)
        return run

    def copy_to(
        self,
        target: Workspace | str | os.PathLike[str],
        artifacts: str | os.PathLike[str] | None = None,
        *,
        files: bool = True,
    ) -> CopyReport:
        """Copy everything this workspace holds into another one (any store backends).

        Experiments, runs (ids, numbers, statuses, times), metric points with their steps
        and timestamps, tags, properties, children, registered models, environments,
        compute targets, datastores (credentials still sealed), datasets, published
        pipelines and pipeline endpoints, and the files (run files, snapshots, reports,
        model files, the built-in datastores' files). Copying again brings the target up
        to date and adds nothing when it is; an interrupted copy resumes; runs still active
        are copied as they are, tagged ``run_widgets.copy``. See
        :mod:`run_widgets.store.copy` (and ``python -m run_widgets.store copy``).

        Args:
            target: a ``Workspace``, or the store URI or folder of one (opened for the copy
                and closed after it).
            artifacts: the target's files folder when ``target`` is a server store URI.
            files: also copy the files (default).

        Returns:
            The ``CopyReport`` (``print(report)`` says what was copied).

        Raises:
            UserErrorException: the target is this workspace's own store.
            StoreError: a store failed; running the copy again resumes it.

        Example:
            >>> Workspace.from_config().copy_to(  # doctest: +SKIP
            ...     "postgresql://alice@db.example/tracking", artifacts="/shared/run_widgets"
            ... )
        """
        RUNTIME.flusher.flush()  # what this process logged is part of the copy
        other = (
            target
            if isinstance(target, Workspace)
            else Workspace(store=target, artifacts=artifacts)
        )
        try:
            return copy_store(
                self._store,
                other.store,
                self._location if files else None,
                other.folder if files else None,
            )
        finally:
            if other is not target:
                other.close()

    def close(self) -> None:
        """Release this process's hold on the workspace: flush, then close connections.

        Runs this process started and has not ended are left as they are (their status
        stays; a later reader marks them Failed if this process exits). Use it in
        long-lived processes that touch many workspaces, and in tests.
        """
        RUNTIME.release_store(self._store_uri, self._store)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Workspace)
            and other._location == self._location
            and other._store_uri == self._store_uri
        )

    def __hash__(self) -> int:
        return hash((self._location, self._store_uri))

    def _own_store(self) -> bool:
        return self._store_uri == normalize_uri(self._location)

    def __repr__(self) -> str:
        store = "" if self._own_store() else f", store={redact(self._store_uri)!r}"
        return f"Workspace(name={self._name!r}, folder={str(self._location)!r}{store})"

    def _repr_html_(self) -> str:
        return (
            "<table><tr><th>Name</th><th>Folder</th></tr>"
            f"<tr><td>{html.escape(self._name)}</td>"
            f"<td>{html.escape(str(self._location))}</td></tr></table>"
        )
