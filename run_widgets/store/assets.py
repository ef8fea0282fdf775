"""Records of the workspace's registries: models and environments (frozen, backend-neutral).

A model version's files live in the workspace folder, in ``storage`` (relative to it);
the store row is written only once the files are complete, so a registration is either
entirely there or not at all. Versions count 1, 2, … per name and are assigned by the
store inside the inserting transaction (``UNIQUE (name, version)`` guards against two
writers picking the same one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class NewModel:
    """A model version to register (the store assigns its version).

    Attributes:
        name: the model's name.
        storage: the folder holding its files, relative to the workspace folder.
        path: the registered file or folder, relative to ``storage``.
        description: free text.
        tags: mutable labels.
        properties: write-once labels.
        run_id: the run it came from (lineage), if any.
        experiment_name: that run's experiment.
        created_at: seconds since the epoch.
    """

    name: str
    storage: str
    path: str
    created_at: float
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    properties: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    run_id: str | None = None
    experiment_name: str | None = None


@dataclass(frozen=True)
class ModelRecord(NewModel):
    """A registered model version: a ``NewModel`` with its version number."""

    version: int = 0

    @property
    def model_id(self) -> str:
        """v1's model id, ``name:version``."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class EnvironmentRecord:
    """A registered environment version.

    Attributes:
        name: the environment's name.
        version: 1, 2, … per name.
        definition: the environment as ``Environment.to_dict()`` gave it.
        created_at: seconds since the epoch.
    """

    name: str
    version: int
    definition: Mapping[str, Any]
    created_at: float


@dataclass(frozen=True)
class NewDataset:
    """A dataset definition to save, registered under ``name`` or saved without a name.

    The store assigns a registered definition its version; a saved one (no name) exists so
    that a run can refer to it by id.

    Attributes:
        id: a new uuid.
        name: the registered name, or ``None`` for a saved, unregistered definition.
        definition: the dataset's JSON definition (sources, format, transforms).
        fingerprint: sha256 of the content it is pinned to (registered versions).
        manifest: ``{file name: sha256}`` behind the fingerprint (to name changed files).
        description: free text.
        tags: labels.
        created_at: seconds since the epoch.
    """

    id: str
    name: str | None
    definition: Mapping[str, Any]
    created_at: float
    fingerprint: str | None = None
    manifest: Mapping[str, str] | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class DatasetRecord(NewDataset):
    """A saved dataset: a ``NewDataset`` with its version (``None`` when unregistered)."""

    version: int | None = None


@dataclass(frozen=True)
class DatastoreRecord:
    """A registered datastore.

    Attributes:
        name: the datastore's name.
        definition: its non-secret settings (type, container, account, endpoint…).
        secret: its credentials, sealed (encrypted; see ``run_widgets.data.secrets``).
        is_default: whether it is the workspace's default datastore.
        created_at: seconds since the epoch.
    """

    name: str
    definition: Mapping[str, Any]
    secret: Mapping[str, str] | None
    is_default: bool
    created_at: float


@dataclass(frozen=True)
class PublishedPipelineRecord:
    """A published pipeline: a compiled pipeline kept in the workspace, submittable by id.

    Attributes:
        id: a uuid.
        name: its name.
        description: free text.
        version: the free-text version given when publishing.
        spec: the compiled pipeline (see ``run_widgets.pipeline.spec``).
        continue_on_step_failure: the default of its runs.
        status: ``Active`` or ``Disabled``.
        created_at: seconds since the epoch.
    """

    id: str
    name: str
    spec: Mapping[str, Any]
    created_at: float
    description: str | None = None
    version: str | None = None
    continue_on_step_failure: bool = False
    status: str = "Active"


@dataclass(frozen=True)
class PipelineEndpointRecord:
    """A pipeline endpoint: a name pointing at versions "0", "1", … of published pipelines.

    Attributes:
        id: a uuid.
        name: its name (unique in the workspace).
        description: free text.
        pipeline_ids: the published pipeline of each version, version "0" first.
        default_version: the version submitted when none is given.
        status: ``Active`` or ``Disabled``.
        created_at: seconds since the epoch.
    """

    id: str
    name: str
    pipeline_ids: tuple[str, ...]
    created_at: float
    description: str | None = None
    default_version: str = "0"
    status: str = "Active"
