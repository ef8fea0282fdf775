"""Workspace: the local folder that holds the tracking store and every run's files.

Where ``Workspace.from_config()`` looks, first match wins:

1. the ``RUN_WIDGETS_WORKSPACE`` environment variable (a folder path);
2. a ``run_widgets.json`` file (or ``.run_widgets/config.json``) in the current directory
   or any parent, e.g. ``{"workspace": "./tracking", "name": "team"}`` (a relative path
   is relative to the file);
3. the default workspace ``~/.run_widgets/default`` (``$RUN_WIDGETS_HOME/default`` if set).

Layout of a workspace folder::

    tracking.db         the SQLite store (with -wal / -shm while in use)
    runs/<run_id>/      each run's files: outputs/, logs/, uploads
    snapshots/<id>.zip  content-addressed source snapshots
    reports/<run_id>.html   self-contained run reports (get_portal_url)
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import MetricTypeError, UserErrorException
from .store import TrackingStore, normalize_uri, open_store

if TYPE_CHECKING:
    from .experiment import Experiment
    from .run import Run

ENV_WORKSPACE = "RUN_WIDGETS_WORKSPACE"
ENV_HOME = "RUN_WIDGETS_HOME"
CONFIG_NAMES = ("run_widgets.json", os.path.join(".run_widgets", "config.json"))
_stores: dict[str, TrackingStore] = {}
_stores_lock = threading.Lock()


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


def _store_for(uri: str) -> TrackingStore:
    """The process's one open store for ``uri`` (a canonical store URI)."""
    with _stores_lock:
        store = _stores.get(uri)
        if store is None:
            store = open_store(uri)
            _stores[uri] = store
        return store


def _reset_after_fork() -> None:
    global _stores_lock
    _stores_lock = threading.Lock()
    for store in _stores.values():
        store.reset_after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


class Workspace:
    """A local workspace folder holding a tracking store, run files and snapshots.

    Args:
        path: the workspace folder; created if missing. ``None`` means the default
            workspace (see the module docstring).
        name: a display name (defaults to the folder name).

    Example:
        >>> ws = Workspace.from_config()          # doctest: +SKIP
        >>> ws = Workspace(path="./tracking")     # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        *,
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
            raise MetricTypeError(
                f"Workspace path must be a str or path, not {type(path).__name__}. "
                "(Azure subscription/resource-group arguments do not apply here; use "
                "Workspace.from_config() or Workspace(path=...).)"
            )
        location = Path(path).expanduser() if path is not None else default_location()
        self._location = location.resolve()
        self._name = name or self._location.name
        self._location.mkdir(parents=True, exist_ok=True)
        self._store_uri = normalize_uri(self._location)
        self._store = _store_for(self._store_uri)

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
        """
        if path is None:
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
        folder = data.get("workspace") or data.get("path")
        if folder is None:
            return cls(None, name=data.get("name"))
        if not isinstance(folder, str):
            raise UserErrorException(f"'workspace' in {config} must be a path string.")
        location = Path(folder).expanduser()
        if not location.is_absolute():
            base = config.parent.parent if config.parent.name == ".run_widgets" else config.parent
            location = base / location
        return cls(location, name=data.get("name"))

    # ------------------------------------------------------------------- properties --
    @property
    def name(self) -> str:
        """Display name of the workspace."""
        return self._name

    @property
    def location(self) -> Path:
        """The workspace folder."""
        return self._location

    @property
    def store(self) -> TrackingStore:
        """The tracking store (shared by every ``Workspace`` object of this folder)."""
        return self._store

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
    def experiments(self) -> dict[str, Experiment]:
        """Every experiment of the workspace, by name (as in v1)."""
        from .experiment import Experiment

        return {e.name: e for e in Experiment.list(self)}

    def get_run(self, run_id: str) -> Run:
        """Reopen a run by id, whatever its experiment (v1 ``Run.get(workspace, run_id)``)."""
        from .run import Run

        return Run.get(self, run_id)

    def close(self) -> None:
        """Release this process's hold on the workspace: flush, then close connections.

        Runs this process started and has not ended are left as they are (their status
        stays; a later reader marks them Failed if this process exits). Use it in
        long-lived processes that touch many workspaces, and in tests.
        """
        from . import run as run_module
        from ._flusher import FLUSHER

        store = self._store
        FLUSHER.forget_store(store)
        run_module.forget_store(store)
        with _stores_lock:
            _stores.pop(self._store_uri, None)
        store.close()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other._location == self._location

    def __hash__(self) -> int:
        return hash(self._location)

    def __repr__(self) -> str:
        return f"Workspace(name={self._name!r}, location={str(self._location)!r})"

    def _repr_html_(self) -> str:
        return (
            "<table><tr><th>Name</th><th>Location</th></tr>"
            f"<tr><td>{html.escape(self._name)}</td>"
            f"<td>{html.escape(str(self._location))}</td></tr></table>"
        )
