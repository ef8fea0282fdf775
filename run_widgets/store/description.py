"""How a process names a workspace to another one: store URI + artifacts location.

Supervisors, sweep trials, Dask tasks and submitted scripts run in other processes; they
receive a :class:`WorkspaceDescription` (pickled, or as environment variables), so they
reach the same tracking store (SQLite file or server) and the same artifact folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .registry import normalize_uri

ENV_WORKSPACE = "RUN_WIDGETS_WORKSPACE"
"""A workspace folder (store and files together)."""
ENV_STORE = "RUN_WIDGETS_STORE"
"""A store URI (``sqlite:///...``, ``postgresql://...``) or folder."""
ENV_ARTIFACTS = "RUN_WIDGETS_ARTIFACTS"
"""The folder of run files, snapshots and reports."""
ENV_NAME = "RUN_WIDGETS_WORKSPACE_NAME"
"""The workspace's display name."""


@dataclass(frozen=True)
class WorkspaceDescription:
    """What another process needs to open the same workspace (picklable, JSON-able).

    ``store`` may hold a password (a server URI): pass it in the environment or a pickle,
    never on a command line or in a message.
    """

    store: str
    artifacts: str
    name: str

    def environ(self) -> dict[str, str]:
        """Environment variables that make ``Workspace.from_config()`` open this workspace."""
        return {
            ENV_STORE: self.store,
            ENV_ARTIFACTS: self.artifacts,
            ENV_NAME: self.name,
            ENV_WORKSPACE: self.artifacts,
        }

    @classmethod
    def from_environ(cls, artifacts: str) -> WorkspaceDescription:
        """The description a parent process put in the environment, for ``artifacts``.

        The artifacts folder comes from the command line (it names the workspace in
        process listings); the store URI from ``RUN_WIDGETS_STORE`` when the parent set it
        for the same folder, else the folder's own SQLite store.
        """
        if "://" in artifacts:  # object storage (az://, s3://): the URL names it everywhere
            folder = artifacts.rstrip("/")
        else:
            folder = str(Path(artifacts).expanduser().resolve())
        store = os.environ.get(ENV_STORE)
        if not store or os.environ.get(ENV_ARTIFACTS) != folder:
            store = normalize_uri(folder)
        return cls(store, folder, os.environ.get(ENV_NAME) or Path(folder).name)
