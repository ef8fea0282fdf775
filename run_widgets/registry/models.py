"""``Model``: the workspace's local model registry (v1 ``azureml.core.Model``).

A registration copies a file or folder (from a run's files, or from anywhere with
``Model.register``) into ``<workspace>/models/<name>/<unique folder>/`` next to the runs'
files, then records it in the tracking store as the next version of its name (1, 2, …)
with its tags, properties, description and, when it came from a run, the run's id and
experiment (lineage: ``model.run_id``). The row is written only once the copy is
complete, and the copy is removed if the row cannot be written, so a model is either
fully registered or not at all.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import (
    MetricTypeError,
    ModelNotFoundException,
    RunEnvironmentException,
    UserErrorException,
)
from ..run import Run
from ..runtime.context import ENV_RUN_ID
from ..store.assets import ModelRecord, NewModel
from ..workspace import Workspace

MODELS = "models"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")  # fullmatch: "$" accepts "name\n"


class Model:
    """A registered model version.

    ``Model(ws, name)`` is the latest version, ``Model(ws, name, version=2)`` a given one.

    Args:
        workspace: the workspace holding the registry.
        name: the model's name.
        id: v1's ``"name:version"`` instead of ``name`` and ``version``.
        version: the version (default: the latest).
        tags: only a model having these tags: ``["key", ["key", "value"]]`` (v1 form) or
            a dict.
        properties: likewise for properties.
        run_id: only a model registered from this run.

    Attributes:
        name: the model's name.
        version: its version number (1, 2, … per name).
        id: v1's ``"name:version"``.
        description: the description given at registration, or ``None``.
        tags: the model's tags (a dict).
        properties: the model's properties (a dict).
        run_id: the run it was registered from, or ``None``.
        experiment_name: that run's experiment, or ``None``.
        created_time: when it was registered (a UTC ``datetime``).
        url: a ``file://`` URL of the registered file or folder.
        workspace: the workspace holding the registry.

    Raises:
        ModelNotFoundException: no such model, naming what was asked and what exists.
    """

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        **_v1: Any,
    ) -> None:
        name, version = _name_and_version(name, id, version)
        found = _find(workspace, name, version, tags, properties, run_id)
        self._set(workspace, found)

    # -------------------------------------------------------------------- creation --
    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
        **_v1: Any,
    ) -> Model:
        """Register a local file or folder as the next version of ``model_name``.

        Args:
            workspace: the workspace whose registry keeps it.
            model_path: the file or folder to copy into the registry.
            model_name: the model's name (letters, digits, ``-``, ``_``, ``.``).
            tags: stored with the version.
            properties: stored with the version.
            description: stored with the version.

        Returns:
            The new ``Model`` version.

        Raises:
            UserErrorException: a bad name, a missing path, bad tags or properties.
        """
        source = Path(os.fspath(model_path)).expanduser()
        if not source.exists():
            raise UserErrorException(f"model_path {str(source)!r} does not exist.")
        return _register(
            workspace,
            model_name,
            [(source, source.name)],
            source.name,
            tags,
            properties,
            description,
            None,
            None,
        )

    @staticmethod
    def _register_from_run(
        workspace: Workspace,
        run_id: str,
        experiment_name: str,
        files_dir: Path,
        file_names: list[str],
        model_name: str,
        model_path: str | None,
        tags: Mapping[str, str] | None,
        properties: Mapping[str, str] | None,
        description: str | None,
    ) -> Model:
        """``run.register_model``: ``model_path`` is a file or folder among the run's files."""
        given = model_path if model_path is not None else model_name
        wanted = posixpath.normpath(str(given).replace(os.sep, "/")).strip("/")
        if not wanted or wanted == "." or ".." in Path(wanted).parts:
            raise UserErrorException(f"model_path {model_path!r} is not a path inside the run.")
        exact = [n for n in file_names if n == wanted]
        inside = [n for n in file_names if n.startswith(wanted + "/")]
        if not exact and not inside:
            raise UserErrorException(
                f"Could not locate the provided model_path {wanted} in the set of files "
                f"uploaded to the run {run_id}: {sorted(file_names)}. (Files in outputs/ are "
                "uploaded when the run completes.)"
            )
        base = Path(wanted).name
        if exact:
            sources = [(files_dir / wanted, base)]
        else:
            sources = [(files_dir / n, base + n[len(wanted) :]) for n in inside]
        return _register(
            workspace,
            model_name,
            sources,
            base,
            tags,
            properties,
            description,
            run_id,
            experiment_name,
        )

    # --------------------------------------------------------------------- queries --
    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        **_v1: Any,
    ) -> list[Model]:
        """Registered models, newest first, filtered as in v1.

        Args:
            workspace: the workspace whose registry is listed.
            name: only this model's versions.
            tags: ``["key", ["key", "value"]]`` (v1 form) or a dict: models having them.
            properties: likewise for properties.
            run_id: only models registered from this run.
            latest: only the latest version of each name.

        Returns:
            A list of ``Model``.
        """
        records = workspace.store.list_models(name=name, run_id=run_id)
        records = [r for r in records if _matches(r, tags, properties)]
        if latest:
            newest: dict[str, ModelRecord] = {}
            for record in records:
                if record.name not in newest or record.version > newest[record.name].version:
                    newest[record.name] = record
            records = [r for r in records if newest[r.name] is r]
        return [Model._of(workspace, r) for r in records]

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """The path of a registered model's file or folder (v1 ``Model.get_model_path``).

        The workspace is ``_workspace``, else the one of the submitted run this code runs
        in, else ``Workspace.from_config()``. The path points into the registry: read it,
        do not change it.
        """
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise MetricTypeError("version should be an int")
        workspace = _workspace or _context_workspace() or Workspace.from_config()
        model = Model(workspace, model_name, version=version)
        return str(model._local_path())

    @staticmethod
    def _of(workspace: Workspace, record: ModelRecord) -> Model:
        model = Model.__new__(Model)
        model._set(workspace, record)
        return model

    # -------------------------------------------------------------------- changes --
    def add_tags(self, tags: Mapping[str, str]) -> None:
        """Add or change tags (v1 ``model.add_tags``)."""
        record = self.workspace.store.update_model(
            self.name, self.version, set_tags=_labels(tags, "tags")
        )
        self._set(self.workspace, record)

    def remove_tags(self, tags: str | Iterable[str]) -> None:
        """Remove tags by key (v1 ``model.remove_tags``)."""
        keys = [tags] if isinstance(tags, str) else list(tags)
        record = self.workspace.store.update_model(self.name, self.version, remove_tags=keys)
        self._set(self.workspace, record)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        """Add properties; an existing one cannot change (v1)."""
        record = self.workspace.store.update_model(
            self.name, self.version, add_properties=_labels(properties, "properties")
        )
        self._set(self.workspace, record)

    def download(
        self, target_dir: str | os.PathLike[str] = ".", exist_ok: bool = False, **_v1: Any
    ) -> str:
        """Copy the model's file or folder into ``target_dir``; return the copy's path.

        Args:
            target_dir: the folder to copy into (created if missing).
            exist_ok: replace a copy that is there already.

        Returns:
            The path of the copy.

        Raises:
            UserErrorException: the copy exists already and ``exist_ok`` is False.
        """
        source = self._local_path()
        target = Path(os.fspath(target_dir)) / source.name
        if target.exists() and not exist_ok:
            raise UserErrorException(f"{target} already exists; pass exist_ok=True to replace it.")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
        return str(target)

    def serialize(self) -> dict[str, Any]:
        """The model as a v1-style dict."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "tags": dict(self.tags),
            "properties": dict(self.properties),
            "runId": self.run_id,
            "experimentName": self.experiment_name,
            "createdTime": self.created_time.isoformat(),
            "url": self.url,
        }

    # ------------------------------------------------------------------ internals --
    def _set(self, workspace: Workspace, record: ModelRecord) -> None:
        self.workspace = workspace
        self._record = record
        self.name = record.name
        self.version = record.version
        self.id = record.model_id
        self.description = record.description
        self.tags = dict(record.tags)
        self.properties = dict(record.properties)
        self.run_id = record.run_id
        self.experiment_name = record.experiment_name
        self.created_time = dt.datetime.fromtimestamp(record.created_at, dt.timezone.utc)
        self.url = self._local_path().as_uri()

    def _local_path(self) -> Path:
        return self.workspace.folder / self._record.storage / self._record.path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (other.workspace, other.id) == (self.workspace, self.id)

    def __hash__(self) -> int:
        return hash((self.workspace, self.id))

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace.name}, name={self.name}, id={self.id}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )


def _register(
    workspace: Workspace,
    model_name: str,
    sources: list[tuple[Path, str]],
    path: str,
    tags: Mapping[str, str] | None,
    properties: Mapping[str, str] | None,
    description: str | None,
    run_id: str | None,
    experiment_name: str | None,
) -> Model:
    name = _valid_name(model_name)
    tag_values = _labels(tags, "tags")
    property_values = _labels(properties, "properties")
    if description is not None and not isinstance(description, str):
        raise MetricTypeError(f"description must be a str, not {type(description).__name__}.")
    storage = f"{MODELS}/{name}/{uuid.uuid4().hex[:16]}"
    final = workspace.folder / storage
    incoming = final.with_name(f".incoming-{final.name}")
    try:
        for source, relative in sources:
            target = incoming / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copyfile(source, target)
        incoming.mkdir(parents=True, exist_ok=True)
        incoming.rename(final)
        record = workspace.store.add_model(
            NewModel(
                name=name,
                storage=storage,
                path=path,
                created_at=time.time(),
                description=description,
                tags=tag_values,
                properties=property_values,
                run_id=run_id,
                experiment_name=experiment_name,
            )
        )
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
    return Model._of(workspace, record)


def _name_and_version(
    name: str | None, model_id: str | None, version: int | None
) -> tuple[str, int | None]:
    if model_id is not None:
        if not isinstance(model_id, str) or ":" not in model_id:
            raise UserErrorException(f"Model id {model_id!r} must be 'name:version'.")
        name, _, number = model_id.rpartition(":")
        if not number.isdigit():
            raise UserErrorException(f"Model id {model_id!r} must be 'name:version'.")
        version = int(number)
    if name is None:
        raise UserErrorException("Give the model's name (or its id, 'name:version').")
    return _valid_name(name), _version(version)


def _version(version: Any) -> int | None:
    """A version number; v1 code sometimes passes it as a numeric string."""
    if version is None or (isinstance(version, int) and not isinstance(version, bool)):
        return version
    if isinstance(version, str) and version.isdigit():
        return int(version)
    raise MetricTypeError(f"version must be an int, not {version!r}.")


def _find(
    workspace: Workspace,
    name: str,
    version: int | None,
    tags: Any,
    properties: Any,
    run_id: str | None,
) -> ModelRecord:
    versions = workspace.store.list_models(name=name)
    candidates = [
        r
        for r in versions
        if (version is None or r.version == version)
        and (run_id is None or r.run_id == run_id)
        and _matches(r, tags, properties)
    ]
    if candidates:
        return max(candidates, key=lambda r: r.version)
    if not versions:
        known = sorted({r.name for r in workspace.store.list_models()})
        raise ModelNotFoundException(
            f"Model not found: no model named {name!r} in workspace {workspace.name!r}"
            + (f"; registered models: {known}." if known else " (it has no registered models).")
        )
    asked = f"version {version}" if version is not None else "the filters given"
    raise ModelNotFoundException(
        f"Model not found: model {name!r} has no {asked}; its versions are "
        f"{sorted(r.version for r in versions)}."
    )


def _matches(record: ModelRecord, tags: Any, properties: Any) -> bool:
    return _has(record.tags, tags, "tags") and _has(record.properties, properties, "properties")


def _has(labels: Mapping[str, str], wanted: Any, what: str) -> bool:
    """v1 filters: a list of ``"key"`` or ``["key", "value"]``, or a dict of key → value."""
    if wanted is None:
        return True
    if isinstance(wanted, Mapping):
        return all(labels.get(k) == v for k, v in wanted.items())
    if isinstance(wanted, str):
        return wanted in labels
    if not isinstance(wanted, Iterable):
        raise MetricTypeError(f"{what} filter must be a list or dict, not {type(wanted).__name__}.")
    for item in wanted:
        if isinstance(item, str):
            if item not in labels:
                return False
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            if labels.get(item[0]) != item[1]:
                return False
        else:
            raise UserErrorException(
                f"{what} filter items must be 'key' or ['key', 'value'], not {item!r}."
            )
    return True


def _labels(values: Mapping[str, str] | None, what: str) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise MetricTypeError(f"{what} must be a dict of str to str, not {type(values).__name__}.")
    result = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key.strip():
            raise UserErrorException(f"{what} keys must be non-empty str, not {key!r}.")
        result[key] = value if isinstance(value, str) else str(value)
    return result


def _valid_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserErrorException(
            f"Model name {name!r} must be 1-255 letters, digits, '_', '-' or '.', starting "
            "with a letter or digit."
        )
    return name


def register_from_run(
    run: Run,
    model_name: str,
    model_path: str | None,
    tags: Mapping[str, str] | None,
    properties: Mapping[str, str] | None,
    description: str | None,
) -> Model:
    """``run.register_model``: register one of the run's files or folders (with lineage)."""
    return Model._register_from_run(
        run.experiment.workspace,
        run.id,
        run.experiment.name,
        run.files_dir,
        run.get_file_names(),
        model_name,
        model_path,
        tags,
        properties,
        description,
    )


def _context_workspace() -> Workspace | None:
    """The workspace of the submitted run this process belongs to, if any.

    Found through the run context, as v1 did, so it is the run's own store whatever its
    backend.
    """
    if not os.environ.get(ENV_RUN_ID):
        return None
    try:
        return Run.get_context(allow_offline=False).experiment.workspace
    except RunEnvironmentException:
        return None
