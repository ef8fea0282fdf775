"""Compute targets (v1 names): named, persistent definitions of where runs execute.

A target made in code (``ComputeTarget.create/attach``) is a small JSON definition saved
in the workspace's tracking store, so every process and every machine using the store
sees it (a team sharing a PostgreSQL store shares its targets). A target can also be
declared, read-only, in the ``"compute"`` section of the ``run_widgets.json`` file found
upward from the current directory (per machine)::

    {"compute": {"cluster": {"type": "dask", "address": "tcp://10.0.0.5:8786"}}}

A name saved in the store wins over the same name in the config file; ``ComputeTarget.list``
shows both sets. (Definitions an older version kept as ``compute/<name>.json`` files in the
workspace folder move into the store when first read.)

Each kind of target is a ``ComputeTarget`` subclass registered by its type name
(``register_compute_type``); how its runs execute is an executor registered for the same
type (see ``executors``). ``AmlCompute`` runs locally in subprocesses, at most
``max_nodes`` of them at once across every process of the workspace on one host (see
``slots``: on a store shared by several hosts, the limit holds per host).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..exceptions import ComputeTargetException
from ..runtime import REGISTRY
from ..workspace import Workspace, find_config

COMPUTE_FOLDER = "compute"
LOCAL = "local"
SUCCEEDED = "Succeeded"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,31}")


def register_compute_type(cls: type[ComputeTarget]) -> type[ComputeTarget]:
    """Make a ``ComputeTarget`` subclass known by its ``compute_type`` (a class decorator).

    Type names are matched without regard to case (``"dask"`` and ``"Dask"`` are one).
    """
    REGISTRY.compute_types.register(cls.compute_type.lower(), cls)
    return cls


def target_class(type_name: str) -> type[ComputeTarget]:
    """The class registered for ``type_name``.

    Raises:
        ComputeTargetException: no such type.
    """
    cls = REGISTRY.compute_types.get(str(type_name).lower())
    if cls is None or not issubclass(cls, ComputeTarget):
        known = ", ".join(sorted(c.compute_type for _, c in REGISTRY.compute_types.items()))
        raise ComputeTargetException(
            f"Unknown compute target type {type_name!r}; known types: {known}."
        )
    return cls


def validate_name(name: Any) -> str:
    """A target name: 2–32 letters, digits or ``-``, starting with a letter; not ``local``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ComputeTargetException(
            f"Compute target name {name!r} must be 2-32 letters, digits or '-', starting "
            "with a letter."
        )
    if name.lower() == LOCAL:
        raise ComputeTargetException("'local' names this machine's default target; choose another.")
    return name


def _adopt_definition_files(workspace: Workspace) -> None:
    """Move definitions an older run_widgets kept as ``compute/<name>.json`` into the store."""
    folder = workspace.folder / COMPUTE_FOLDER
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours to judge; load_definition names what it cannot find
        if _NAME.fullmatch(path.stem) and isinstance(data, dict) and data.get("name") == path.stem:
            workspace.store.add_compute_target(path.stem, data, time.time())
            path.unlink(missing_ok=True)


def _config_file_targets() -> dict[str, dict[str, Any]]:
    """Targets declared in the ``"compute"`` section of the nearest ``run_widgets.json``."""
    config = find_config()
    if config is None:
        return {}
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # the workspace loader reports a broken config file
    section = data.get("compute") if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ComputeTargetException(f"'compute' in {config} must be an object of targets.")
    targets = {}
    for name, spec in section.items():
        if not isinstance(spec, dict) or "type" not in spec:
            raise ComputeTargetException(
                f"Compute target {name!r} in {config} must be an object with a 'type'."
            )
        cls = target_class(str(spec["type"]))
        properties = {k: v for k, v in spec.items() if k != "type"}
        targets[name] = cls.definition_from_config(name, properties, config)
    return targets


def load_definition(workspace: Workspace, name: str) -> dict[str, Any]:
    """The definition of target ``name``: saved in the store first, then the config file.

    Raises:
        ComputeTargetException: there is no such target.
    """
    if not isinstance(name, str):
        raise ComputeTargetException(f"A compute target name must be a str, not {name!r:.40}.")
    if _NAME.fullmatch(name):
        _adopt_definition_files(workspace)
        stored = workspace.store.get_compute_target(name)
        if stored is not None:
            return stored
    declared = _config_file_targets()
    if name in declared:
        return declared[name]
    known = sorted(set(list_names(workspace)) | set(declared))
    raise ComputeTargetException(
        f"ComputeTargetNotFound: Compute target with name {name!r} not found in the "
        f"workspace {workspace.name!r}"
        + (f" (it has: {', '.join(known)})." if known else " (it has none).")
    )


def list_names(workspace: Workspace) -> list[str]:
    """Names of the targets saved in the workspace's store."""
    _adopt_definition_files(workspace)
    return workspace.store.list_compute_targets()


def save_definition(workspace: Workspace, definition: Mapping[str, Any]) -> dict[str, Any]:
    """Save a definition unless its name is taken; return the one stored under the name."""
    return workspace.store.add_compute_target(str(definition["name"]), definition, time.time())


def resolve(workspace: Workspace, compute_target: Any) -> dict[str, Any] | None:
    """The definition a run records for ``compute_target`` (``None``: plain local run).

    Accepts ``None``, ``"local"``, a target name or a ``ComputeTarget``.
    """
    if compute_target is None or compute_target == LOCAL:
        return None
    if isinstance(compute_target, ComputeTarget):
        if compute_target.workspace != workspace:
            raise ComputeTargetException(
                f"Compute target {compute_target.name!r} belongs to another workspace "
                f"({compute_target.workspace.name!r})."
            )
        return load_definition(workspace, compute_target.name)
    if isinstance(compute_target, str):
        return load_definition(workspace, compute_target)
    raise ComputeTargetException(
        "compute_target must be a ComputeTarget, a target name or 'local', not "
        f"{type(compute_target).__name__}."
    )


def check_target_argument(compute_target: Any) -> None:
    """Type check of ``compute_target`` when a config is built (existence is checked at submit)."""
    if compute_target is None or isinstance(compute_target, (str, ComputeTarget)):
        return
    raise ComputeTargetException(
        "compute_target must be a ComputeTarget, a target name or 'local', not "
        f"{type(compute_target).__name__}."
    )


def target_name(compute_target: Any) -> str:
    """The name a run records as its ``target``."""
    if isinstance(compute_target, ComputeTarget):
        return compute_target.name
    return str(compute_target) if compute_target else LOCAL


class ComputeTargetProvisioningConfiguration:
    """What ``ComputeTarget.create`` makes (built by ``<Type>.provisioning_configuration``)."""

    compute_type: str = ""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self.properties = dict(properties)

    def validate_configuration(self) -> None:
        """v1 name; the values were checked when the configuration was made."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.properties!r})"


class ComputeTargetAttachConfiguration(ComputeTargetProvisioningConfiguration):
    """What ``ComputeTarget.attach`` records (built by ``<Type>.attach_configuration``)."""


class ComputeTargetStatus(str):
    """A compute target's provisioning state (``"Succeeded"``), with v1's ``serialize()``."""

    _target: ComputeTarget

    def __new__(cls, state: str, target: ComputeTarget) -> ComputeTargetStatus:
        """The state ``state`` of ``target``."""
        status = super().__new__(cls, state)
        status._target = target
        return status

    def serialize(self) -> dict[str, Any]:
        """v1's status dict: the provisioning state and the target's settings."""
        return {
            "provisioningState": str(self),
            "name": self._target.name,
            "type": self._target.type,
            **self._target.properties,
        }


class ComputeTarget:
    """A named compute target of a workspace (v1 ``ComputeTarget``).

    ``ComputeTarget(workspace=ws, name="cpu-cluster")`` returns the existing target as its
    own type (e.g. ``AmlCompute``) and raises ``ComputeTargetException`` when there is none,
    so v1's ``try: ... except ComputeTargetException: create`` pattern works. ``name`` and
    ``workspace`` are the target's name and workspace.
    """

    compute_type: ClassVar[str] = ""

    workspace: Workspace
    name: str
    _definition: dict[str, Any]

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> ComputeTarget:
        """The existing target ``name`` of ``workspace``, as its own type."""
        if workspace is None and name is None:
            raise ComputeTargetException(
                "ComputeTarget(workspace=ws, name=...) needs a workspace and a target name."
            )
        if not isinstance(workspace, Workspace):
            raise ComputeTargetException(
                f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
            )
        definition = load_definition(workspace, str(name) if name is not None else "")
        actual = target_class(str(definition.get("type", "")))
        if not issubclass(actual, cls):
            raise ComputeTargetException(
                f"Compute target {name!r} is of type {actual.compute_type}, not {cls.__name__}."
            )
        target = object.__new__(actual)
        target._setup(workspace, definition)
        return target

    def __init__(self, workspace: Workspace | None = None, name: str | None = None) -> None:
        pass  # __new__ built the object

    def _setup(self, workspace: Workspace, definition: dict[str, Any]) -> None:
        self.workspace = workspace
        self.name = str(definition["name"])
        self._definition = definition

    # -------------------------------------------------------------------- v1 statics --
    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Create (record) a target from ``<Type>.provisioning_configuration(...)``.

        Creating a target again with the same configuration returns it unchanged (a
        notebook cell can be re-run); another configuration under an existing name is an
        error: ``delete()`` it first.
        """
        if isinstance(provisioning_configuration, ComputeTargetAttachConfiguration) or not (
            isinstance(provisioning_configuration, ComputeTargetProvisioningConfiguration)
        ):
            raise ComputeTargetException(
                "provisioning_configuration must come from <Type>.provisioning_configuration"
                "(...), e.g. AmlCompute.provisioning_configuration(max_nodes=2)."
            )
        return _record(workspace, name, provisioning_configuration, "create")

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: Any) -> ComputeTarget:
        """Attach an existing resource (e.g. a Dask scheduler) under ``name``."""
        if not isinstance(attach_configuration, ComputeTargetAttachConfiguration):
            raise ComputeTargetException(
                "attach_configuration must come from <Type>.attach_configuration(...), e.g. "
                "DaskCompute.attach_configuration(address='tcp://host:8786')."
            )
        return _record(workspace, name, attach_configuration, "attach")

    @staticmethod
    def list(workspace: Workspace) -> list[ComputeTarget]:
        """Every target of the workspace (saved ones and those of the config file)."""
        names = set(list_names(workspace)) | set(_config_file_targets())
        return [ComputeTarget(workspace, n) for n in sorted(names)]

    # ------------------------------------------------------------------ properties --
    @property
    def type(self) -> str:
        """The target's type (``AmlCompute``, ``Dask``)."""
        return type(self).compute_type

    @property
    def provisioning_state(self) -> str:
        """``Succeeded`` once recorded (local targets need no provisioning)."""
        return str(self._definition.get("provisioningState", SUCCEEDED))

    @property
    def properties(self) -> dict[str, Any]:
        """The type-specific settings."""
        return dict(self._definition.get("properties", {}))

    @property
    def location(self) -> str:
        """Where it runs, always ``local`` (v1's Azure region)."""
        return LOCAL

    def get_status(self) -> ComputeTargetStatus:
        """The provisioning state (v1 ``get_status``): a str with v1's ``serialize()``.

        v1 notebooks print ``target.get_status().serialize()``.
        """
        return ComputeTargetStatus(self.provisioning_state, self)

    def serialize(self) -> dict[str, Any]:
        """The stored definition (v1 ``serialize``)."""
        copy: dict[str, Any] = json.loads(json.dumps(self._definition))
        return copy

    def refresh_state(self) -> None:
        """Re-read the definition (another process may have changed it)."""
        self._definition = load_definition(self.workspace, self.name)

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: float = 20,
        is_delete_operation: bool = False,
    ) -> None:
        """Wait until the target can run jobs; print v1-style progress with ``show_output``."""
        if show_output:
            print("InProgress.", flush=True)
        detail = self._provision(float(timeout_in_minutes) * 60)
        if show_output:
            print(f"{SUCCEEDED}")
            print(f"{self.type} wait for completion finished")
            if detail:
                print()
                print(detail, flush=True)

    def _provision(self, timeout_s: float) -> str:
        """Make the target ready; a line about what is there (overridden per type)."""
        return ""

    def delete(self) -> None:
        """Remove the target's definition (runs that used it keep their records)."""
        if self.workspace.store.delete_compute_target(self.name):
            return
        if self.name in _config_file_targets():
            raise ComputeTargetException(
                f"Compute target {self.name!r} is declared in a config file; remove it there."
            )
        raise ComputeTargetException(f"Compute target {self.name!r} was deleted already.")

    def detach(self) -> None:
        """Forget an attached target (v1 ``detach``); the resource itself is left alone."""
        self.delete()

    # ------------------------------------------------------------- for subclasses --
    @classmethod
    def definition_from_config(
        cls, name: str, properties: Mapping[str, Any], config_file: Path
    ) -> dict[str, Any]:
        """The definition of a target declared in a config file (checked like in code)."""
        raise ComputeTargetException(
            f"Compute target {name!r} in {config_file}: type {cls.compute_type} cannot be "
            "declared in a config file."
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, "
            f"provisioning_state={self.provisioning_state!r}, properties={self.properties!r})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ComputeTarget)
            and other.workspace == self.workspace
            and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))


def _record(
    workspace: Workspace,
    name: str,
    configuration: ComputeTargetProvisioningConfiguration,
    how: str,
) -> ComputeTarget:
    if not isinstance(workspace, Workspace):
        raise ComputeTargetException(
            f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
        )
    validate_name(name)
    definition: dict[str, Any] = {
        "name": name,
        "type": configuration.compute_type,
        "provisioningState": SUCCEEDED,
        "properties": configuration.properties,
        "createdBy": how,
        "createdTime": time.time(),
    }
    # One atomic insert-if-absent: two processes creating one name cannot both "win".
    stored = save_definition(workspace, json.loads(json.dumps(definition)))
    same = {k: stored.get(k) for k in ("type", "properties")} == {
        k: json.loads(json.dumps(definition[k])) for k in ("type", "properties")
    }
    if not same:
        raise ComputeTargetException(
            f"Compute target name {name!r} is already in use in workspace "
            f"{workspace.name!r} with another configuration; delete() it first."
        )
    return ComputeTarget(workspace, name)


def _positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ComputeTargetException(f"{what} must be an int >= {minimum}, got {value!r}.")
    return value


class AmlComputeProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """Settings of a local ``AmlCompute`` target."""

    compute_type = "AmlCompute"


@register_compute_type
class AmlCompute(ComputeTarget):
    """A local target that runs each job in its own process, ``max_nodes`` at a time.

    Runs submitted while every node is busy wait with status Queued and start as nodes
    free up, whichever process (notebook, sweep) submitted them. ``vm_size`` and the other v1 cloud settings are recorded only.
    """

    compute_type = "AmlCompute"

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        admin_user_ssh_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        remote_login_port_public_access: str = "NotSpecified",
        identity_type: str | None = None,
        identity_id: Any = None,
        location: str | None = None,
        enable_node_public_ip: bool = True,
    ) -> AmlComputeProvisioningConfiguration:
        """v1's ``AmlCompute.provisioning_configuration``.

        Only ``max_nodes`` changes what happens locally; the cloud settings are recorded
        (and shown) so that v1 code runs unchanged.

        Args:
            vm_size: recorded and shown (e.g. ``"STANDARD_D2_V2"``).
            vm_priority: recorded and shown (``"dedicated"`` or ``"lowpriority"``).
            min_nodes: recorded (local nodes cost nothing idle).
            max_nodes: jobs of this target running at once (default: this machine's CPUs).
            idle_seconds_before_scaledown: recorded (v1 default 1800).
            admin_username: accepted for v1 code; not used locally.
            admin_user_password: accepted for v1 code; not used locally (never stored).
            admin_user_ssh_key: accepted for v1 code; not used locally.
            vnet_resourcegroup_name: accepted for v1 code; not used locally.
            vnet_name: accepted for v1 code; not used locally.
            subnet_name: accepted for v1 code; not used locally.
            tags: recorded and shown.
            description: recorded and shown.
            remote_login_port_public_access: accepted for v1 code; not used locally.
            identity_type: accepted for v1 code; not used locally.
            identity_id: accepted for v1 code; not used locally.
            location: accepted for v1 code; not used locally.
            enable_node_public_ip: accepted for v1 code; not used locally.

        Returns:
            The configuration to pass to ``ComputeTarget.create``.
        """
        if not isinstance(vm_size, str):
            raise ComputeTargetException(f"vm_size must be a str, got {vm_size!r}.")
        if max_nodes is None:
            max_nodes = os.cpu_count() or 1
        max_nodes = _positive_int(max_nodes, "max_nodes")
        min_nodes = _positive_int(min_nodes, "min_nodes", 0)
        if min_nodes > max_nodes:
            raise ComputeTargetException(
                f"min_nodes ({min_nodes}) must not be larger than max_nodes ({max_nodes})."
            )
        idle = 1800 if idle_seconds_before_scaledown is None else idle_seconds_before_scaledown
        idle = _positive_int(idle, "idle_seconds_before_scaledown", 0)
        if admin_user_password is not None:
            admin_user_password = None  # never stored: a local target has no login
        return AmlComputeProvisioningConfiguration(
            {
                "vmSize": vm_size or "local",
                "vmPriority": vm_priority,
                "minNodes": min_nodes,
                "maxNodes": max_nodes,
                "idleSecondsBeforeScaledown": idle,
                "tags": dict(tags or {}),
                "description": description or "",
            }
        )

    @classmethod
    def definition_from_config(
        cls, name: str, properties: Mapping[str, Any], config_file: Path
    ) -> dict[str, Any]:
        """``{"type": "AmlCompute", "max_nodes": 2}`` in ``run_widgets.json``."""
        try:
            config = cls.provisioning_configuration(
                vm_size=properties.get("vm_size", ""),
                max_nodes=properties.get("max_nodes"),
            )
        except ComputeTargetException as error:
            raise ComputeTargetException(
                f"Compute target {name!r} in {config_file}: {error}"
            ) from None
        return {
            "name": name,
            "type": cls.compute_type,
            "provisioningState": SUCCEEDED,
            "properties": config.properties,
            "createdBy": str(config_file),
        }

    @property
    def max_nodes(self) -> int:
        """Jobs of this target that run at once."""
        return int(self.properties.get("maxNodes", 1))

    @property
    def vm_size(self) -> str:
        """The recorded VM size."""
        return str(self.properties.get("vmSize", ""))

    def _provision(self, timeout_s: float) -> str:
        return (
            f"Minimum number of nodes requested have been provisioned "
            f"(max_nodes={self.max_nodes} local processes)"
        )
