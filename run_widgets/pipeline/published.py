"""``PublishedPipeline`` and ``PipelineEndpoint`` (v1), kept in the workspace's tracking store.

Local meaning: ``pipeline.publish(name)`` compiles the pipeline (its steps' folders are
snapshotted) and stores it; every process and machine using the store can then submit
it by id, with other parameter values, without the notebook that built it. A
``PipelineEndpoint`` is a stable name for a list of published pipelines (versions "0",
"1", …) with a default version; ``endpoint.submit(experiment_name)`` runs the default.
There is no REST service: ``endpoint`` is a ``run_widgets://`` address that names the
pipeline (v1's HTTP POST with an Azure AD token stays cloud-only). Schedules are
cloud-only.

Layer: pipeline.
"""

from __future__ import annotations

import abc
import builtins
import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from ..exceptions import ArgumentTypeError, PipelineNotFoundError, UserErrorException
from ..run import Run
from ..runtime import REGISTRY
from ..store.assets import PipelineEndpointRecord, PublishedPipelineRecord
from ..workspace import Workspace
from . import parameters as params_module
from .launch import start_pipeline_run

ACTIVE = "Active"
DISABLED = "Disabled"


def _experiment(workspace: Workspace, experiment_name: str) -> Any:
    return REGISTRY.experiment_class.require()(workspace, experiment_name)


AssetRecord = TypeVar("AssetRecord", PublishedPipelineRecord, PipelineEndpointRecord)


class PublishedAsset(abc.ABC, Generic[AssetRecord]):
    """A published pipeline or a pipeline endpoint: what the two share.

    Each is a record in the workspace's store with an id, a name, a description, a status
    that accepts or refuses runs, and a ``run_widgets://`` address.
    """

    _address_folder: ClassVar[str]
    """The folder of the ``run_widgets://`` address that names one (by its id)."""

    def __init__(self, workspace: Workspace, record: AssetRecord) -> None:
        self.workspace = workspace
        self._record: AssetRecord = record

    @property
    def id(self) -> str:
        """Its id."""
        return self._record.id

    @property
    def name(self) -> str:
        """Its name."""
        return self._record.name

    @property
    def description(self) -> str | None:
        """Its description."""
        return self._record.description

    @property
    def status(self) -> str:
        """``Active`` or ``Disabled``."""
        return self._record.status

    @property
    def endpoint(self) -> str:
        """A ``run_widgets://`` address naming it (no REST service runs locally)."""
        return f"run_widgets://{self._address_folder}/{self.id}"

    def enable(self) -> None:
        """Accept runs again."""
        self._set_status(ACTIVE)

    def disable(self) -> None:
        """Refuse new runs."""
        self._set_status(DISABLED)

    @abc.abstractmethod
    def _set_status(self, status: str) -> None:
        """Store ``status`` (``Active`` or ``Disabled``) and hold the record it gives."""


def _wanted(record: PublishedPipelineRecord | PipelineEndpointRecord, active_only: bool) -> bool:
    """Whether ``list(active_only=...)`` lists the record."""
    return record.status == ACTIVE or not active_only


class PublishedPipeline(PublishedAsset[PublishedPipelineRecord]):
    """A pipeline kept in the workspace, submittable by id (v1 ``PublishedPipeline``).

    Get one with ``pipeline.publish(name)``, ``PublishedPipeline.get(ws, id)`` or
    ``PublishedPipeline.list(ws)``.
    """

    is_published = True
    _address_folder = "published-pipelines"

    @staticmethod
    def create(
        workspace: Workspace,
        name: str,
        description: str | None,
        version: str | None,
        spec: Mapping[str, Any],
        continue_on_step_failure: bool = False,
    ) -> PublishedPipeline:
        """Store a compiled pipeline (``pipeline.publish`` and ``run.publish_pipeline`` call it)."""
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException("A published pipeline needs a name.")
        record = PublishedPipelineRecord(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            version=None if version is None else str(version),
            spec=dict(spec),
            continue_on_step_failure=bool(continue_on_step_failure),
            created_at=time.time(),
        )
        workspace.store.add_published_pipeline(record)
        return PublishedPipeline(workspace, record)

    @property
    def version(self) -> str | None:
        """The version given when publishing."""
        return self._record.version

    @property
    def continue_on_step_failure(self) -> bool:
        """Whether its runs go on past a failed step by default."""
        return self._record.continue_on_step_failure

    @property
    def parameters(self) -> dict[str, Any]:
        """Its parameters' default values."""
        return dict(self._record.spec.get("parameters", {}))

    @staticmethod
    def get(
        workspace: Workspace, id: str, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> PublishedPipeline:
        """The published pipeline with this id.

        Args:
            workspace: the workspace.
            id: the published pipeline's id.

        Returns:
            The ``PublishedPipeline``.

        Raises:
            PipelineNotFoundError: no such id.
        """
        record = workspace.store.get_published_pipeline(str(id))
        if record is None:
            raise PipelineNotFoundError(
                f"No published pipeline with id {id!r} in workspace {workspace.name!r}."
            )
        return PublishedPipeline(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace, active_only: bool = True, _service_endpoint: Any = None
    ) -> builtins.list[PublishedPipeline]:
        """The workspace's published pipelines, oldest first (only active ones by default)."""
        records = workspace.store.list_published_pipelines()
        return [PublishedPipeline(workspace, r) for r in records if _wanted(r, active_only)]

    def _set_status(self, status: str) -> None:
        self.workspace.store.set_published_pipeline_status(self.id, status)
        self._record = PublishedPipeline.get(self.workspace, self.id)._record

    def _prepare(
        self, workspace: Workspace, given: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The spec and parameter values of one submission (for ``experiment.submit``)."""
        if workspace != self.workspace:
            raise UserErrorException(
                "A published pipeline runs in the workspace it was published to."
            )
        record = self.workspace.store.get_published_pipeline(self.id) or self._record
        if record.status != ACTIVE:
            raise UserErrorException(
                f"Published pipeline {self.name!r} ({self.id}) is disabled; enable() it first."
            )
        defaults = dict(record.spec.get("parameters", {}))
        unknown = sorted(set(given or {}) - set(defaults))
        if unknown:
            raise UserErrorException(
                f"pipeline_parameters names {unknown}, which published pipeline {self.name!r} does "
                f"not have (it has: {', '.join(sorted(defaults)) or 'none'})."
            )
        values = {
            name: params_module.value_json(workspace, name, value)
            for name, value in (given or {}).items()
        }
        return dict(record.spec), {**defaults, **values}

    def submit(
        self,
        workspace: Workspace,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        parent_run_id: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> Run:
        """Run it in ``experiment_name`` (v1 ``PublishedPipeline.submit``); the ``PipelineRun``."""
        experiment = _experiment(workspace, experiment_name)
        return submit_published(
            experiment,
            self,
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
        )

    def __repr__(self) -> str:
        return (
            f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Endpoint: {self.endpoint})"
        )


def submit_published(
    experiment: Any,
    pipeline: PublishedPipeline,
    parent: Run | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool | None = None,
    regenerate_outputs: bool = False,
    **_: Any,
) -> Run:
    """``experiment.submit(published_pipeline, pipeline_parameters=...)``."""
    spec, values = pipeline._prepare(experiment.workspace, pipeline_parameters)
    keep_going = (
        pipeline.continue_on_step_failure
        if continue_on_step_failure is None
        else continue_on_step_failure
    )
    return start_pipeline_run(
        experiment, spec, values, bool(keep_going), bool(regenerate_outputs), parent, pipeline.id
    )


class PipelineEndpointVersion:
    """One version of a pipeline endpoint (``endpoint.list_versions()`` items)."""

    def __init__(self, version: str, pipeline: PublishedPipeline) -> None:
        self.version = version
        self.pipeline = pipeline

    def __repr__(self) -> str:
        return f"PipelineEndpointVersion(version={self.version!r}, pipeline={self.pipeline.id!r})"


class PipelineEndpoint(PublishedAsset[PipelineEndpointRecord]):
    """A named, versioned pointer to published pipelines (v1 ``PipelineEndpoint``)."""

    _address_folder = "pipeline-endpoints"

    @staticmethod
    def publish(
        workspace: Workspace,
        name: str,
        description: str,
        pipeline: Any,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> PipelineEndpoint:
        """A new endpoint whose version "0" is ``pipeline`` (a Pipeline is published first).

        Args:
            workspace: the workspace.
            name: the endpoint's name.
            description: free text.
            pipeline: a ``PublishedPipeline``, or a ``Pipeline`` to publish.

        Returns:
            The ``PipelineEndpoint``.

        Raises:
            UserErrorException: an endpoint of this name exists already.
        """
        published = _published(pipeline, name, description)
        if workspace.store.get_pipeline_endpoint(name=name) is not None:
            raise UserErrorException(
                f"A pipeline endpoint named {name!r} exists already; use PipelineEndpoint.get(ws, name=...).add(...)."
            )
        record = PipelineEndpointRecord(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            pipeline_ids=(published.id,),
            created_at=time.time(),
        )
        return PipelineEndpoint(workspace, workspace.store.add_pipeline_endpoint(record))

    @staticmethod
    def get(
        workspace: Workspace,
        id: str | None = None,
        name: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> PipelineEndpoint:
        """The endpoint with this id or name.

        Args:
            workspace: the workspace.
            id: the endpoint's id (or give ``name``).
            name: the endpoint's name.

        Returns:
            The ``PipelineEndpoint``.

        Raises:
            PipelineNotFoundError: no such endpoint.
        """
        if (id is None) == (name is None):
            raise UserErrorException("Give exactly one of id and name.")
        record = workspace.store.get_pipeline_endpoint(id=id, name=name)
        if record is None:
            raise PipelineNotFoundError(
                f"No pipeline endpoint with {'id' if id else 'name'} {id or name!r} in workspace {workspace.name!r}."
            )
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace,
        active_only: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> builtins.list[PipelineEndpoint]:
        """The workspace's endpoints (only active ones by default)."""
        records = workspace.store.list_pipeline_endpoints()
        return [PipelineEndpoint(workspace, r) for r in records if _wanted(r, active_only)]

    @property
    def default_version(self) -> str:
        """The version run when none is given."""
        return self._record.default_version

    def _update(self, **changes: Any) -> None:
        self._record = self.workspace.store.update_pipeline_endpoint(self.id, **changes)

    def _set_status(self, status: str) -> None:
        self._update(status=status)

    def get_default_version(self) -> str:
        """The default version."""
        return self.default_version

    def set_default_version(self, version: str | int) -> None:
        """Make ``version`` the default."""
        self._update(default_version=self._check_version(version))

    def _check_version(self, version: str | int | None) -> str:
        text = self.default_version if version is None else str(version)
        if not text.isdigit() or int(text) >= len(self._record.pipeline_ids):
            raise UserErrorException(
                f"Pipeline endpoint {self.name!r} has versions 0-{len(self._record.pipeline_ids) - 1}, not {version!r}."
            )
        return str(int(text))

    def get_pipeline(self, version: str | int | None = None) -> PublishedPipeline:
        """The published pipeline of ``version`` (default: the default version)."""
        return PublishedPipeline.get(
            self.workspace, self._record.pipeline_ids[int(self._check_version(version))]
        )

    def add(self, pipeline: PublishedPipeline) -> None:
        """Add a published pipeline as the next version."""
        if not isinstance(pipeline, PublishedPipeline):
            raise ArgumentTypeError("add() takes a PublishedPipeline.")
        self._update(add_pipeline=pipeline.id)

    def add_default(self, pipeline: PublishedPipeline) -> None:
        """Add a published pipeline and make it the default."""
        self.add(pipeline)
        self._update(default_version=str(len(self._record.pipeline_ids) - 1))

    def set_default(self, pipeline: PublishedPipeline) -> None:
        """Make a version's pipeline the default, adding it if it is not there."""
        if pipeline.id not in self._record.pipeline_ids:
            self.add(pipeline)
        self._update(default_version=str(self._record.pipeline_ids.index(pipeline.id)))

    def list_versions(self) -> builtins.list[PipelineEndpointVersion]:
        """Every version with its pipeline."""
        return [
            PipelineEndpointVersion(str(i), PublishedPipeline.get(self.workspace, pid))
            for i, pid in enumerate(self._record.pipeline_ids)
        ]

    def list_pipelines(self, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        """The published pipelines of every version."""
        pipelines = [v.pipeline for v in self.list_versions()]
        return [p for p in pipelines if p.status == ACTIVE or not active_only]

    def set_name(self, name: str) -> None:
        """Rename the endpoint (the name must be free)."""
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException("A pipeline endpoint needs a name.")
        self._update(name=name)

    archive = PublishedAsset.disable
    reactivate = PublishedAsset.enable

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
    ) -> Run:
        """Run a version (default: the default version) in ``experiment_name``."""
        experiment = _experiment(self.workspace, experiment_name)
        return submit_endpoint(
            experiment,
            self,
            pipeline_parameters=pipeline_parameters,
            pipeline_version=pipeline_version,
        )

    def __repr__(self) -> str:
        return f"PipelineEndpoint(Name: {self.name}, Id: {self.id}, Default version: {self.default_version}, Status: {self.status})"


def submit_endpoint(
    experiment: Any,
    endpoint: PipelineEndpoint,
    parent: Run | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    pipeline_version: str | None = None,
    **options: Any,
) -> Run:
    """``experiment.submit(endpoint, pipeline_version=...)``: run one of its versions."""
    record = experiment.workspace.store.get_pipeline_endpoint(id=endpoint.id)
    if record is not None and record.status != ACTIVE:
        raise UserErrorException(f"Pipeline endpoint {endpoint.name!r} is disabled.")
    pipeline = endpoint.get_pipeline(pipeline_version)
    return submit_published(experiment, pipeline, parent, pipeline_parameters, **options)


def _published(pipeline: Any, name: str, description: str | None) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    publish = getattr(pipeline, "publish", None)
    if publish is None:
        raise ArgumentTypeError(
            f"Expected a Pipeline or PublishedPipeline, not {type(pipeline).__name__}."
        )
    published: PublishedPipeline = publish(name=name, description=description)
    return published
