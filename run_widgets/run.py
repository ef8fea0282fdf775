"""``Run``: one execution of training code, with the Azure ML SDK v1 API.

A ``Run`` object is a thin handle: the run itself lives in the workspace's tracking store
and folder, so ``Run(experiment, run_id)`` reopens it from any process. Logging calls put
points into an in-memory buffer that the process's flusher thread writes at least every
half second; reads (``get_metrics``...) flush this process's pending points first, so
what you logged is what you read.
"""

from __future__ import annotations

import builtins
import contextlib
import html
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import (
    _attempts,
    _details,
    _exit,
    _extensions,
    _liveness,
    _metric_views,
    _values,
    lifecycle,
)
from ._run_logging import RunLogging, state_for
from ._runtime import RUNTIME
from .exceptions import (
    ArgumentTypeError,
    RunNotFoundError,
    RunWidgetsWarning,
    SnapshotException,
    StoreError,
    UserErrorException,
)
from .store import (
    AddProperties,
    CreateRun,
    RemoveTags,
    RunRecord,
    RunStatus,
    SetTags,
    TagFilter,
    TrackingStore,
    UpdateRun,
)
from .store.local_files import RunFiles, normalize_name

if TYPE_CHECKING:
    import pandas as pd

    from .experiment import Experiment
    from .workspace import Workspace

_now = time.time

ENV_RUN_ID = "RUN_WIDGETS_RUN_ID"
ENV_WORKSPACE_DIR = "RUN_WIDGETS_RUN_WORKSPACE"
ENV_EXPERIMENT = "RUN_WIDGETS_RUN_EXPERIMENT"
ENV_OFFLINE = "RUN_WIDGETS_OFFLINE"
SNAPSHOT_PROPERTY = "ContentSnapshotId"
LOG_PREFIXES = ("logs/", "azureml-logs/", "user_logs/")
_ACTIVE = frozenset(RunStatus.ALL - RunStatus.TERMINAL)
SIGTERM_MESSAGE = (
    "The process received SIGTERM and stopped before the run completed; everything logged "
    "until then was saved."
)


class RunType:
    """Values of ``Run.type``."""

    INTERACTIVE = "interactive"
    SCRIPT = "scriptrun"
    SWEEP = "hyperdrive"


_ENVIRONMENT_READERS: list[Callable[[Mapping[str, Any]], Any]] = []


def register_environment_reader(reader: Callable[[Mapping[str, Any]], Any]) -> None:
    """Let the submit layer turn a run definition's environment into an ``Environment``."""
    _ENVIRONMENT_READERS[:] = [reader]


_MODEL_REGISTRARS: list[Callable[..., Any]] = []


def register_model_registrar(registrar: Callable[..., Any]) -> None:
    """Let the registry layer implement ``run.register_model`` (it imports this module)."""
    _MODEL_REGISTRARS[:] = [registrar]


def new_run_id() -> str:
    """A fresh run id (a uuid4, as v1 used for interactive runs)."""
    return str(uuid.uuid4())


class Run(RunLogging):
    """A run of an experiment: metrics, tags, properties, files, children and status.

    ``Run(experiment, run_id)`` reopens an existing run (from any process); new runs come
    from ``experiment.start_logging()``, ``experiment.submit(config)``, ``run.child_run()``
    or ``Run.get_context()`` inside a submitted script.

    Args:
        experiment: the run's experiment.
        run_id: the run's id.
        outputs: accepted for v1 code; ignored (a reopened run's files are in the store).

    Raises:
        RunNotFoundError: no run ``run_id`` in ``experiment``.
    """

    def __init__(
        self, experiment: Experiment, run_id: str, outputs: Any = None, **kwargs: Any
    ) -> None:
        if not isinstance(run_id, str) or not run_id:
            raise UserErrorException(f"run_id must be a non-empty str, got {run_id!r}.")
        record = experiment.workspace.store.get_run(run_id)
        if record is None or record.experiment_name != experiment.name:
            where = f"experiment {experiment.name!r}"
            if record is not None:
                where += f" (it belongs to experiment {record.experiment_name!r})"
            raise RunNotFoundError(
                f"No run with id {run_id!r} in {where} of workspace {experiment.workspace.folder}."
            )
        self._setup(experiment, record)

    # ----------------------------------------------------------------- construction --
    def _setup(self, experiment: Experiment, record: RunRecord) -> None:
        self._experiment = experiment
        self._workspace = experiment.workspace
        self._store = experiment.workspace.store
        self._record = record
        self._state = state_for(self._store, record.id)
        self._scalars = self._state.buffer.scalars
        self._lock = self._state.buffer.lock
        self._files = self._workspace.artifacts.files(record.id)

    @classmethod
    def _attach(
        cls,
        experiment: Experiment,
        record: RunRecord,
        *,
        owned: bool = False,
        outputs_dir: Path | None = None,
    ) -> Run:
        run = cls.__new__(cls)
        run._setup(experiment, record)
        if owned:
            run._take_ownership(outputs_dir)
        return run

    def _take_ownership(self, outputs_dir: Path | None) -> None:
        state = self._state
        state.owned = True
        state.outputs_dir = outputs_dir
        RUNTIME.runs.own(self._store, self.id, self)
        _exit.register(_close_owned_runs)
        RUNTIME.flusher.add_cancel_handler(_cancel_owned)

    @staticmethod
    def _create(
        experiment: Experiment,
        *,
        run_id: str | None = None,
        status: str = RunStatus.RUNNING,
        run_type: str = RunType.INTERACTIVE,
        parent: Run | None = None,
        display_name: str | None = None,
        description: str | None = None,
        definition: Mapping[str, Any] | None = None,
        tags: Mapping[str, str | None] | None = None,
        properties: Mapping[str, str] | None = None,
        owned: bool = True,
        record_owner: bool | None = None,
        outputs_dir: Path | None = None,
    ) -> Run:
        """Create a run in the store and return a handle to it.

        Args:
            owned: this process runs it: it is closed at exit and answers cancel requests.
            record_owner: record this process as the owner in the store (default: ``owned``);
                a launcher records itself until its supervisor takes the run over.
        """
        store = experiment.workspace.store
        run_id = new_run_id() if run_id is None else _values.validate_run_id(run_id)
        owner = (
            RUNTIME.flusher.owner_id(store)
            if (owned if record_owner is None else record_owner)
            else None
        )
        store.write(
            [
                CreateRun(
                    run_id=run_id,
                    experiment_name=experiment.name,
                    run_type=run_type,
                    status=status,
                    parent_id=parent.id if parent is not None else None,
                    display_name=display_name,
                    description=description,
                    definition=dict(definition or {}),
                    tags=dict(tags or {}),
                    properties=dict(properties or {}),
                    owner_id=owner,
                    created_at=time.time(),  # also tells a resend from a second creation
                )
            ]
        )
        record = store.get_run(run_id)
        assert record is not None
        return Run._attach(experiment, record, owned=owned, outputs_dir=outputs_dir)

    # ----------------------------------------------------------------- static access --
    @staticmethod
    def get(workspace: Workspace, run_id: str) -> Run:
        """Reopen a run by id, whatever its experiment."""
        record = workspace.store.get_run(run_id)
        if record is None:
            raise RunNotFoundError(f"No run with id {run_id!r} in workspace {workspace.folder}.")
        experiment = _extensions.experiment_class()(workspace, record.experiment_name)
        return _extensions.run_class(record.run_type)._attach(experiment, record)

    @classmethod
    def get_context(cls, allow_offline: bool = True, offline: bool = False, **kwargs: Any) -> Run:
        """The run this code executes in.

        Inside a script started by ``experiment.submit`` this is the submitted run (the
        same object on every call). Elsewhere, so that no metric is thrown away, it is a run
        recorded in the configured workspace, in an experiment named after the script; one
        line on stderr says where. ``offline=True`` (or ``RUN_WIDGETS_OFFLINE=1``) gives an
        offline run instead, which prints what it is given as v1 did.

        Args:
            allow_offline: False raises outside a submitted run (v1's error) instead of
                giving a run.
            offline: outside a submitted run, give v1's offline run (prints, stores nothing).

        Returns:
            The ``Run`` (an offline run when asked for).

        Raises:
            RunEnvironmentException: not in a submitted run and ``allow_offline=False``.
        """
        return _extensions.get_context(allow_offline=allow_offline, offline=offline)

    @staticmethod
    def list(
        experiment: Experiment,
        type: str | None = None,
        tags: TagFilter = None,
        properties: TagFilter = None,
        status: str | None = None,
        include_children: bool = False,
        **kwargs: Any,
    ) -> Iterator[Run]:
        """Runs of an experiment, newest first (top-level only unless ``include_children``)."""
        return experiment.get_runs(
            type=type,
            tags=tags,
            properties=properties,
            status=status,
            include_children=include_children,
        )

    # -------------------------------------------------------------------- identity --
    @property
    def id(self) -> str:
        """The run id."""
        return self._record.id

    @property
    def number(self) -> int:
        """The run's number in its experiment (1, 2, ...)."""
        return self._record.number

    @property
    def experiment(self) -> Experiment:
        """The experiment the run belongs to."""
        return self._experiment

    @property
    def type(self) -> str:
        """``interactive`` (start_logging, child_run), ``scriptrun`` or ``hyperdrive``."""
        return self._record.run_type

    @property
    def name(self) -> str:
        """The display name, or the id (deprecated in v1)."""
        return self._record.display_name or self._record.id

    @property
    def display_name(self) -> str | None:
        """A human name for the run; settable."""
        return self._record.display_name

    @display_name.setter
    def display_name(self, value: str) -> None:
        if not isinstance(value, str) or len(value) > 256:
            raise UserErrorException("display_name must be a str of at most 256 characters.")
        self._write(UpdateRun(self.id, display_name=_values.check_text(value, "display_name")))

    @property
    def description(self) -> str | None:
        """A free-text description; settable."""
        return self._record.description

    @description.setter
    def description(self, value: str) -> None:
        if not isinstance(value, str) or len(value) > 5000:
            raise UserErrorException("description must be a str of at most 5000 characters.")
        self._write(UpdateRun(self.id, description=_values.check_text(value, "description")))

    @property
    def status(self) -> str:
        """The status as last read (``get_status()`` reads it again)."""
        return self._record.status

    @property
    def tags(self) -> dict[str, str | None]:
        """The tags as last read (``get_tags()`` reads them again)."""
        return dict(self._record.tags)

    @property
    def properties(self) -> dict[str, str]:
        """The properties as last read (``get_properties()`` reads them again)."""
        return dict(self._record.properties)

    @property
    def parent(self) -> Run | None:
        """The parent run, or ``None`` for a top-level run."""
        if self._record.parent_id is None:
            return None
        record = self._store.get_run(self._record.parent_id)
        return None if record is None else Run._attach(self._experiment, record)

    @property
    def workspace(self) -> Workspace:
        """The workspace holding the run."""
        return self._workspace

    @property
    def files_dir(self) -> Path:
        """The folder holding the run's files."""
        return self._files.root

    # ----------------------------------------------------------------- store access --
    def _write(self, *ops: Any) -> None:
        # In a job of a run that may be retried, each op carries the job's attempt.
        self._store.write(_attempts.stamped(ops, self._state.buffer.attempt))
        self._refresh(reap=False)

    def _refresh(self, reap: bool = True) -> RunRecord:
        record = self._store.get_run(self.id)
        if record is None:
            raise RunNotFoundError(f"The run {self.id} no longer exists.")
        if reap and not record.is_terminal:
            record = _liveness.reap_lost(self._store, [record])[0]
        self._record = record
        return record

    # ------------------------------------------------------------ tags & properties --
    def tag(self, key: str, value: Any = None) -> None:
        """Set one tag (tags are mutable); ``value`` defaults to ``None``."""
        key = _values.tag_key(key)
        self._write(SetTags(self.id, {key: _values.tag_value(value, key)}))

    def set_tags(self, tags: Mapping[str, Any] | Sequence[str] | str) -> None:
        """Set several tags from a dict (a str or list of keys sets them to ``None``)."""
        if isinstance(tags, str):
            tags = {tags: None}
        elif not isinstance(tags, Mapping):
            if not isinstance(tags, Sequence):
                raise ArgumentTypeError(f"tags must be a dict, not {type(tags).__name__}.")
            tags = dict.fromkeys(tags)
        clean = {_values.tag_key(k): _values.tag_value(v, str(k)) for k, v in tags.items()}
        if clean:
            self._write(SetTags(self.id, clean))

    def get_tags(self) -> dict[str, str | None]:
        """The run's tags, read from the store."""
        return dict(self._refresh(reap=False).tags)

    def remove_tags(self, tags: Sequence[str] | str) -> None:
        """Remove tags by key; unknown keys are ignored."""
        keys = (tags,) if isinstance(tags, str) else tuple(tags)
        for key in keys:
            _values.tag_key(key)
        self._write(RemoveTags(self.id, keys))

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Add write-once properties; changing an existing one raises ``UserErrorException``."""
        if not isinstance(properties, Mapping):
            raise ArgumentTypeError(f"properties must be a dict, not {type(properties).__name__}.")
        clean: dict[str, str] = {}
        for key, value in properties.items():
            text = _values.tag_value(value, str(key), "property")
            clean[_values.tag_key(key, "Property")] = "None" if text is None else text
        if clean:
            self._write(AddProperties(self.id, clean))

    def get_properties(self) -> dict[str, str]:
        """The run's properties, read from the store."""
        return dict(self._refresh(reap=False).properties)

    # ------------------------------------------------------------------------ files --
    def upload_file(self, name: str, path_or_stream: Any, datastore_name: Any = None) -> str:
        """Store a file (a path or an open file) in the run under ``name``.

        Args:
            name: the name in the run, e.g. ``"outputs/model.pkl"`` (inside the run's folder).
            path_or_stream: a file path, or an open binary file to read.
            datastore_name: accepted for v1 code; files stay in the workspace.

        Returns:
            The stored name, e.g. ``"outputs/model.pkl"``.
        """
        if self._replaced_by_retry("upload_file"):
            return normalize_name(name)
        return self._files.upload(name, path_or_stream)

    def upload_files(
        self,
        names: Sequence[str],
        paths: Sequence[Any],
        return_artifacts: bool = False,
        timeout_seconds: float | None = None,
        datastore_name: Any = None,
    ) -> builtins.list[str]:
        """Store several files at once: all or nothing."""
        if (
            not isinstance(names, Sequence)
            or not isinstance(paths, Sequence)
            or (isinstance(names, str) or isinstance(paths, str) or len(names) != len(paths))
        ):
            raise ArgumentTypeError(
                "names and paths must be lists of equal lengths. Names was of length "
                f"{_length(names)} and paths of length {_length(paths)}."
            )
        if self._replaced_by_retry("upload_files"):
            return [normalize_name(n) for n in names]
        return self._files.upload_many(names, paths)

    def upload_folder(self, name: str, path: Any, datastore_name: Any = None) -> builtins.list[str]:
        """Store every file of folder ``path`` under the prefix ``name``."""
        names, sources = self._files.folder_listing(name, path)
        if self._replaced_by_retry("upload_folder"):
            return names
        return self._files.upload_many(names, sources)

    def get_file_names(self) -> builtins.list[str]:
        """Names of the run's files (outputs, logs, uploads), sorted."""
        return self._files.names()

    def get_file_path(self, name: str) -> Path:
        """Local path of one of the run's files (read it; do not write to it)."""
        return self._files.path_of(name)

    def download_file(
        self, name: str, output_file_path: Any = None, _validate_checksum: bool = False
    ) -> str:
        """Copy one file out; by default to its base name in the current directory."""
        return str(self._files.download(name, output_file_path))

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: Any = None,
        output_paths: Any = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        timeout_seconds: float | None = None,
    ) -> builtins.list[str]:
        """Copy every file whose name starts with ``prefix`` below ``output_directory``."""
        return [str(p) for p in self._files.download_many(prefix, output_directory, append_prefix)]

    # -------------------------------------------------------------------- snapshots --
    def take_snapshot(self, file_or_folder_path: Any) -> str:
        """Snapshot a folder into the run (once per run); return the snapshot id."""
        if self.get_snapshot_id():
            raise SnapshotException(f"Cannot take snapshot as the run already has one: {self.id}")
        info = self._workspace.artifacts.take_snapshot(
            Path(os.fspath(file_or_folder_path)),
            exclude=(self._workspace.folder,),
        )
        self.add_properties({SNAPSHOT_PROPERTY: info.snapshot_id})
        return info.snapshot_id

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        **_v1: Any,
    ) -> Any:
        """Register one of the run's files or folders as a model version (v1).

        Args:
            model_name: the model's name; each registration adds version 1, 2, …
            model_path: the file or folder among the run's files (``get_file_names()``),
                e.g. ``"outputs/model.pkl"`` or ``"outputs"``; default: ``model_name``.
            tags: stored with the model version.
            properties: stored with the model version.
            model_framework: kept as the property ``modelFramework``.
            model_framework_version: kept as the property ``modelFrameworkVersion``.
            description: stored with the model version.

        Returns:
            The ``Model``, whose ``run_id`` is this run's id.
        """
        if not _MODEL_REGISTRARS:
            raise UserErrorException("The model registry is not loaded (import run_widgets).")
        labels = dict(properties or {})
        if model_framework is not None:
            labels["modelFramework"] = str(model_framework)
        if model_framework_version is not None:
            labels["modelFrameworkVersion"] = str(model_framework_version)
        self.flush()
        return _MODEL_REGISTRARS[0](self, model_name, model_path, tags, labels, description)

    def get_environment(self) -> Any:
        """The ``Environment`` the run was submitted with (v1 ``run.get_environment()``).

        Returns:
            The ``Environment``.

        Raises:
            UserErrorException: the run was not submitted with an environment (runs
                started in a notebook with ``start_logging`` have none).
        """
        described = self._refresh().definition.get("environment")
        if not described or not _ENVIRONMENT_READERS:
            raise UserErrorException(
                f"Run {self.id} has no environment: only submitted script runs have one."
            )
        return _ENVIRONMENT_READERS[0](described)

    def get_snapshot_id(self) -> str | None:
        """The id of the run's snapshot, or ``None``."""
        return self._refresh(reap=False).properties.get(SNAPSHOT_PROPERTY)

    def restore_snapshot(
        self, snapshot_id: str | None = None, path: Any = None, *, extract: bool = False
    ) -> str:
        """Give the snapshot back as a zip, as v1 did (or unpacked, when asked).

        Args:
            snapshot_id: which snapshot; default: the run's.
            path: v1's meaning, a folder the zip is written into as ``<snapshot_id>.zip``
                (default: the system's temporary folder). A path ending in ``.zip`` names
                the zip file itself.
            extract: unpack into the folder ``path`` instead (default: ``./<run id>-snapshot``).

        Returns:
            The path written: the zip file, or the folder with ``extract=True``.
        """
        snapshot_id = snapshot_id or self.get_snapshot_id()
        if not snapshot_id:
            raise SnapshotException(f"Run {self.id} has no snapshot.")
        if not all(c in "0123456789abcdef" for c in snapshot_id):
            raise SnapshotException(f"{snapshot_id!r} is not a snapshot id.")
        zip_path = self._workspace.artifacts.snapshot_path(snapshot_id)
        if not zip_path.is_file():
            raise SnapshotException(f"The snapshot {snapshot_id} is missing from the workspace.")
        if extract:
            folder = (
                Path(os.fspath(path)) if path is not None else Path.cwd() / f"{self.id}-snapshot"
            )
            return str(self._workspace.artifacts.restore_snapshot(snapshot_id, folder))
        target = Path(os.fspath(path)) if path is not None else Path(tempfile.gettempdir())
        if target.suffix != ".zip":
            target = target / f"{snapshot_id}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(zip_path, target)
        return str(target)

    # ---------------------------------------------------------------------- children --
    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: Any = None
    ) -> Run:
        """Create and start a child run (Running) owned by this process."""
        if name is not None and not isinstance(name, str):
            raise ArgumentTypeError(f"name must be a str, not {type(name).__name__}.")
        outputs_dir = _outputs_dir(outputs) if outputs is not None else None
        return Run._create(
            self._experiment,
            run_id=run_id,
            parent=self,
            display_name=name,
            run_type=RunType.INTERACTIVE,
            outputs_dir=outputs_dir,
        )

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Sequence[str] | None = None,
    ) -> builtins.list[Run]:
        """Create ``count`` children, or one per value of ``tag_values`` tagged ``tag_key``."""
        if count is None and tag_key is None and tag_values is None:
            raise UserErrorException("Either count or tag_key and tag_values must be set")
        if tag_values is not None and tag_key is None:
            raise UserErrorException("tag_key must not be null when tag_values is set")
        if tag_key is not None and tag_values is None:
            raise UserErrorException("tag_values must not be null when tag_key is set")
        if count is not None and tag_key is not None:
            raise UserErrorException("count can not be set when tag_key and tag_values are set")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise UserErrorException(f"count must be a positive int, got {count!r}.")
            tags_list: builtins.list[dict[str, str | None]] = [
                {"azureml.batch_child_number": str(i)} for i in range(count)
            ]
        else:
            assert tag_key is not None and tag_values is not None
            key = _values.tag_key(tag_key)
            tags_list = [{key: _values.tag_value(v, key)} for v in tag_values]
        if len(tags_list) > 100:
            raise UserErrorException("create_children can not create more than 100 runs")
        owner = RUNTIME.flusher.owner_id(self._store)
        ids = [new_run_id() for _ in tags_list]
        self._store.write(
            [
                CreateRun(
                    run_id=run_id,
                    experiment_name=self._experiment.name,
                    run_type=RunType.INTERACTIVE,
                    status=RunStatus.RUNNING,
                    parent_id=self.id,
                    tags=tags,
                    owner_id=owner,
                    created_at=time.time(),
                )
                for run_id, tags in zip(ids, tags_list, strict=True)
            ]
        )
        records = {r.id: r for r in self._store.find_runs(parent_id=self.id) if r.id in set(ids)}
        return [Run._attach(self._experiment, records[i], owned=True) for i in ids]

    def get_children(
        self,
        recursive: bool = False,
        tags: TagFilter = None,
        properties: TagFilter = None,
        type: str | None = None,
        status: str | None = None,
        **kwargs: Any,
    ) -> Iterator[Run]:
        """Child runs, newest first (the whole subtree with ``recursive=True``)."""
        if recursive:
            wanted = set(self._store.descendant_ids(self.id))
            records = [
                r
                for r in self._store.find_runs(
                    experiment_id=self._record.experiment_id,
                    run_type=type,
                    status=status,
                    tags=tags,
                    properties=properties,
                )
                if r.id in wanted
            ]
        else:
            records = self._store.find_runs(
                parent_id=self.id, run_type=type, status=status, tags=tags, properties=properties
            )
        records = _liveness.reap_lost(self._store, records)
        return (Run._attach(self._experiment, r) for r in records)

    def submit_child(
        self, config: Any, tags: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Run:
        """Submit a script run (or a sweep) as a child of this run."""
        return self._experiment.submit(config, tags=tags, _parent_run=self, **kwargs)

    # ------------------------------------------------------------------------ reads --
    def flush(self, timeout_seconds: float = 300) -> None:
        """Write every point logged so far in this process to the store now.

        Always through the flusher, even with nothing buffered: the background flusher may
        have taken the points and still be writing them (this waits for that write), or
        may hold points of a failed write for a retry (this retries them).
        """
        RUNTIME.flusher.flush([self._state.buffer])

    def _flush_for_read(self, recursive: bool = False) -> None:
        RUNTIME.flusher.flush(None if recursive else [self._state.buffer])

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics of the run, in the v1 shapes (see ``run_widgets._metric_views``).

        Args:
            name: only this metric: ``{name: value}`` or ``{}``.
            recursive: ``{run_id: {...}}`` for this run and all descendants that have metrics.
            run_type: with ``recursive``, only descendants of this type.
            populate: give image bytes and parsed JSON instead of ``aml://`` references.

        Returns:
            ``{name: value}``: a metric logged once is a scalar, logged several times a
            list, ``log_row``/``log_table`` a dict of lists (see the logging guide).
        """
        self._flush_for_read(recursive)
        if not recursive:
            return self._metrics_of(self.id, name, populate)
        result: dict[str, Any] = {}
        own = self._metrics_of(self.id, name, populate)
        if own:
            result[self.id] = own
        descendants = set(self._store.descendant_ids(self.id))
        for record in self._store.find_runs(
            experiment_id=self._record.experiment_id, run_type=run_type
        ):
            if record.id in descendants:
                metrics = self._metrics_of(record.id, name, populate)
                if metrics:
                    result[record.id] = metrics
        return result

    def _metrics_of(self, run_id: str, name: str | None, populate: bool) -> dict[str, Any]:
        infos = self._store.metric_infos([run_id])
        if name is not None:
            infos = [i for i in infos if i.name == name]
            if not infos:
                return {}
        grouped = _metric_views.group_chunks(
            self._store.read_chunks(run_id, names=[i.name for i in infos] if name else None)
        )
        files = self._workspace.artifacts.files(run_id)
        result: dict[str, Any] = {}
        for info in sorted(infos, key=lambda i: i.id):
            chunks = grouped.get(info.name, [])
            if populate and info.kind in ("image", "artifact"):
                loaded = [
                    _load_artifact(files, path) for path in _metric_views.native_values(chunks)
                ]
                result[info.name] = loaded[0] if len(loaded) == 1 else loaded
            else:
                result[info.name] = _metric_views.v1_value(info, chunks, run_id)
        return result

    def get_metric_history(self, name: str) -> _metric_views.MetricHistory:
        """Every point of one metric as numpy arrays (steps, times, values)."""
        self._flush_for_read()
        infos = [i for i in self._store.metric_infos([self.id]) if i.name == name]
        if not infos:
            raise UserErrorException(
                f"Run {self.id} has no metric {name!r}; it has "
                f"{sorted(i.name for i in self._store.metric_infos([self.id]))}."
            )
        chunks = self._store.read_chunks(self.id, names=[name])
        return _metric_views.history(name, infos[0].kind, chunks)

    def get_metrics_dataframe(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """A long DataFrame of the run's points: run_id, name, step, value, time."""
        self._flush_for_read()
        infos = self._store.metric_infos([self.id])
        chunks = self._store.read_chunks(self.id, names=names)
        return _metric_views.metrics_frame(self.id, infos, chunks)

    def get_status(self) -> str:
        """The current status, read from the store (a lost process shows as Failed)."""
        if self._record.is_terminal:
            return self._record.status  # terminal statuses are sticky: no read needed
        return self._refresh().status

    def get_detailed_status(self) -> dict[str, Any]:
        """``{"status": ..., "details": ...}`` as in v1."""
        record = self._refresh()
        details = _details.error_message(record.error) if record.error else None
        return {"status": record.status, "details": details}

    def get_details(self) -> dict[str, Any]:
        """Run details: ids, status, times, properties, tags, error, definition, log files."""
        record = self._refresh()
        logs = {
            name: self._files.path_of(name).as_uri()
            for name in self._files.names()
            if name.startswith(LOG_PREFIXES)
        }
        return _details.details(record, logs, record.properties.get(SNAPSHOT_PROPERTY))

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with each log file's text instead of its location."""
        details = self.get_details()
        details["logFiles"] = {
            name: self._files.path_of(name).read_text(encoding="utf-8", errors="replace")
            for name in details["logFiles"]
        }
        return details

    def get_all_logs(self, destination: Any = None) -> builtins.list[str]:
        """Copy the log files to ``destination`` (default ``./logs``); return their paths."""
        out = Path(os.fspath(destination)) if destination is not None else Path.cwd()
        copied = []
        for name in self._files.names():
            if name.startswith(LOG_PREFIXES):
                copied.append(str(self._files.download(name, _ensure_dir(out / Path(name).parent))))
        return copied

    def get_portal_url(self) -> str:
        """A ``file://`` URL of a self-contained HTML report of the run, written now."""
        from .views.report import write_report

        return write_report(self).as_uri()

    # -------------------------------------------------------------------- lifecycle --
    def start(self) -> None:
        """Mark a NotStarted run Running."""
        self._write(lifecycle.start_op(self.id, at=_now()))

    def complete(self, _set_status: bool = True) -> None:
        """Flush, upload ``outputs/``, and mark the run Completed (no-op once ended)."""
        self._finish(RunStatus.COMPLETED, None)

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        """Mark the run Failed with an error (a message or an exception).

        Args:
            error_details: the error: a message or an exception (its type, message and
                traceback are kept).
            error_code: v1's error code, e.g. ``"BadData"``.

        Raises:
            TypeError: ``error_details`` is neither a str nor an exception.
        """
        self._finish(RunStatus.FAILED, _details.error_dict(error_details, error_code))

    def cancel(self) -> None:
        """Cancel the run.

        A run this process runs is Canceled at once; a run owned by another live process
        (a submitted script, a sweep, another notebook) gets CancelRequested, and its owner
        stops it and marks it Canceled.
        """
        record = self._refresh()
        if record.is_terminal:
            return
        if self._state.owned or record.owner_id is None:
            self._finish(RunStatus.CANCELED, None)
            return
        self._write(lifecycle.request_cancel_op(self.id))

    def _finish(self, status: str, error: dict[str, Any] | None) -> None:
        state = self._state
        try:
            self.flush()
        except StoreError:
            raise  # transient: the points are kept; the run stays open for another try
        except Exception as exc:  # points the store refused were dropped (and reported)
            _warn(f"Run {self.id}: some metric points could not be saved: {exc}")
        if state.outputs_dir is not None and state.outputs_dir.is_dir():
            prefix = state.outputs_dir.name
            try:
                names, sources = self._files.folder_listing(prefix, state.outputs_dir)
                self._files.upload_many(names, sources, overwrite=True)
            except (ValueError, TypeError, OSError) as exc:
                _warn(
                    f"Run {self.id}: the outputs folder {state.outputs_dir} was not uploaded: {exc}"
                )
        self._write(lifecycle.end_op(self.id, status, error, at=_now()))
        compact_quietly(self._store, self.id)
        self._close_locally()

    def _close_locally(self) -> None:
        state = self._state
        state.closed = True
        RUNTIME.flusher.unwatch(state.buffer)
        with state.buffer.lock:
            state.buffer.scalars.clear()
        RUNTIME.runs.disown(self._store, self.id)

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
    ) -> dict[str, Any]:
        """Wait until the run ends; with ``show_output`` stream its log as it grows.

        Args:
            show_output: print the run's log while waiting (only the lines written after a
                view of the run started, if one is displayed in this kernel).
            wait_post_processing: accepted for v1 code; the final status already comes
                after the outputs are stored.
            raise_on_error: raise if the run Failed.

        Returns:
            The ``get_details()`` dictionary.

        Raises:
            ActivityFailedException: the run Failed and ``raise_on_error`` is True.
        """
        from ._wait import wait_for_completion

        return wait_for_completion(
            self,
            show_output=show_output,
            wait_post_processing=wait_post_processing,
            raise_on_error=raise_on_error,
        )

    # ---------------------------------------------------------------- context manager --
    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: Any, value: BaseException | None, traceback: Any) -> None:
        if isinstance(value, _exit.Terminated):
            self.fail(SIGTERM_MESSAGE, error_code="ProcessTerminated")
        elif value is None or (isinstance(value, SystemExit) and not value.code):
            self.complete()
        else:
            self.fail(value)

    # ----------------------------------------------------------------------- display --
    def __repr__(self) -> str:
        record = self._record
        return (
            f"Run(Experiment: {record.experiment_name},\nId: {record.id},\n"
            f"Type: {record.run_type},\nStatus: {record.status})"
        )

    def _repr_html_(self) -> str:
        record = self._record
        cells = [record.experiment_name, record.id, record.run_type, record.status]
        row = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        return (
            "<table><tr><th>Experiment</th><th>Id</th><th>Type</th><th>Status</th></tr>"
            f"<tr>{row}</tr></table>"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id and other._store is self._store

    def __hash__(self) -> int:
        return hash(self.id)


# ------------------------------------------------------------------------- helpers --


def _length(value: Any) -> int | str:
    try:
        return len(value)
    except TypeError:
        return f"n/a ({type(value).__name__})"


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _outputs_dir(outputs: Any) -> Path | None:
    """v1 ``outputs`` argument: None/True → ./outputs, False → none, str → that folder."""
    if outputs is False:
        return None
    folder = Path("outputs") if outputs is None or outputs is True else Path(os.fspath(outputs))
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _load_artifact(files: RunFiles, name: str) -> Any:
    path = files.path_of(name)
    if path.suffix == ".json":
        import json

        return json.loads(path.read_text(encoding="utf-8"))
    return path.read_bytes()


def _close_owned_runs(reason: str, exc: BaseException | None) -> None:
    """Exit hook: end every run this process started and did not end."""
    for run in RUNTIME.runs.all_owned():
        try:
            if reason == "exit":
                run.complete()
            elif reason == "exception":
                run.fail(exc)
            elif _parent_cancelled(run):
                run._finish(RunStatus.CANCELED, None)  # stopped because its parent was
            else:
                run.fail(SIGTERM_MESSAGE, error_code="ProcessTerminated")
        except Exception as error:
            print(f"run_widgets: could not close run {run.id}: {error!r}", file=sys.stderr)
    try:
        RUNTIME.flusher.flush()
    except Exception as error:
        print(f"run_widgets: could not save the last metrics: {error!r}", file=sys.stderr)


def _parent_cancelled(run: Run) -> bool:
    """True if ``run``'s parent was cancelled (so SIGTERM is its cancellation reaching us)."""
    parent_id = run._record.parent_id
    parent = run._store.get_run(parent_id) if parent_id else None
    return parent is not None and parent.status in (
        RunStatus.CANCEL_REQUESTED,
        RunStatus.CANCELED,
    )


def compact_quietly(store: TrackingStore, run_id: str) -> None:
    """Merge a run's small point chunks (an optimisation: a failure changes nothing)."""
    with contextlib.suppress(Exception):
        store.compact_run(run_id)


def _cancel_owned(store: TrackingStore, run_ids: list[str]) -> None:
    """Flusher hook: another process asked to cancel runs this process started."""
    for run_id in run_ids:
        run = RUNTIME.runs.owned(store, run_id)
        if run is not None:
            run._finish(RunStatus.CANCELED, None)


def _warn(message: str) -> None:
    warnings.warn(message, RunWidgetsWarning, stacklevel=3)


_extensions.register_run_type(None, Run)

__all__ = ["Run", "RunType", "new_run_id"]
