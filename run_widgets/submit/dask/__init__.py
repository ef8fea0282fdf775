"""Compute targets backed by a Dask cluster (``pip install run_widgets[dask]``).

``DaskCompute.attach_configuration(address="tcp://host:8786")`` attaches a running
scheduler; ``DaskCompute.provisioning_configuration(n_workers=2)`` describes a
``LocalCluster`` that run_widgets starts on first use (in a process of its own, shared by
every notebook and sweep of the workspace) and stops after ``idle_seconds_before_scaledown``
without work. In ``run_widgets.json``::

    {"compute": {"cluster": {"type": "dask", "address": "tcp://10.0.0.5:8786"}}}
    {"compute": {"laptop": {"type": "dask", "n_workers": 2, "threads_per_worker": 1}}}

Each run or sweep trial becomes one task on a worker, which runs it in a process of its
own (see ``task``). Importing this package does not import ``distributed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...exceptions import ComputeTargetException
from ...runtime.attempts import RETRIES_PROPERTY
from ...workspace import Workspace
from ..compute import (
    SUCCEEDED,
    ComputeTarget,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
    register_compute_type,
)
from ..executors import RunExecutor, register_executor
from .local_cluster import stop_local_cluster

_ADDRESS = re.compile(r"(tcp|tls|ucx|ws|wss)://[^\s/]+:\d+")
DEFAULT_IDLE_S = 300


def check_address(address: Any) -> str:
    """A scheduler address such as ``tcp://127.0.0.1:8786``."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise ComputeTargetException(
            f"A Dask scheduler address looks like 'tcp://host:8786', got {address!r}."
        )
    return address


def _count(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ComputeTargetException(f"{what} must be an int >= {minimum}, got {value!r}.")
    return value


def _retries(value: Any) -> dict[str, int]:
    """The ``maxRetries`` property (left out when 0, the default)."""
    retries = _count(value, "max_retries", 0)
    return {RETRIES_PROPERTY: retries} if retries else {}


class DaskAttachConfiguration(ComputeTargetAttachConfiguration):
    """An existing Dask scheduler to attach (``DaskCompute.attach_configuration``)."""

    compute_type = "Dask"


class DaskProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """A local Dask cluster run_widgets starts and owns."""

    compute_type = "Dask"


@register_compute_type
class DaskCompute(ComputeTarget):
    """A Dask cluster: every run or trial is a task on one of its workers."""

    compute_type = "Dask"

    @staticmethod
    def attach_configuration(address: str, max_retries: int = 0) -> DaskAttachConfiguration:
        """Attach the scheduler at ``address`` (``tcp://host:8786``).

        Args:
            address: the scheduler's address.
            max_retries: how many times a run whose worker was lost mid-run (killed, out
                of memory, machine gone) runs again on another worker, as a new attempt
                (its ``attempt_<n>`` property says why; placement keys get ``_<n>``).
                0 (the default): such a run ends Failed ("process lost").

        Returns:
            The configuration to pass to ``ComputeTarget.attach``.
        """
        properties: dict[str, Any] = {"address": check_address(address)}
        return DaskAttachConfiguration({**properties, **_retries(max_retries)})

    @staticmethod
    def provisioning_configuration(
        n_workers: int = 2,
        threads_per_worker: int = 1,
        idle_seconds_before_scaledown: int = DEFAULT_IDLE_S,
        max_retries: int = 0,
    ) -> DaskProvisioningConfiguration:
        """A ``LocalCluster`` of ``n_workers`` processes on this machine.

        Args:
            n_workers: worker processes.
            threads_per_worker: runs each worker executes at once.
            idle_seconds_before_scaledown: the cluster stops after this long without
                runs and without connected clients (it starts again on the next run).
            max_retries: see ``attach_configuration``.

        Returns:
            The configuration to pass to ``ComputeTarget.create``.
        """
        return DaskProvisioningConfiguration(
            {
                "localCluster": {
                    "nWorkers": _count(n_workers, "n_workers"),
                    "threadsPerWorker": _count(threads_per_worker, "threads_per_worker"),
                },
                "idleSecondsBeforeScaledown": _count(
                    idle_seconds_before_scaledown, "idle_seconds_before_scaledown", 0
                ),
                **_retries(max_retries),
            }
        )

    @classmethod
    def definition_from_config(
        cls, name: str, properties: Mapping[str, Any], config_file: Path
    ) -> dict[str, Any]:
        """``{"type": "dask", "address": ...}`` or ``{"type": "dask", "n_workers": 2}``.

        Both forms take ``"max_retries": N`` (see ``attach_configuration``).
        """
        try:
            retries = properties.get("max_retries", 0)
            if "address" in properties:
                config: ComputeTargetProvisioningConfiguration = cls.attach_configuration(
                    properties["address"], max_retries=retries
                )
            else:
                config = cls.provisioning_configuration(
                    n_workers=properties.get("n_workers", 2),
                    threads_per_worker=properties.get("threads_per_worker", 1),
                    idle_seconds_before_scaledown=properties.get(
                        "idle_seconds_before_scaledown", DEFAULT_IDLE_S
                    ),
                    max_retries=retries,
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
    def address(self) -> str | None:
        """The attached scheduler's address (``None`` for a local cluster until started)."""
        address = self.properties.get("address")
        return str(address) if address else None

    @property
    def is_local_cluster(self) -> bool:
        """Whether run_widgets starts and owns this cluster."""
        return "localCluster" in self.properties

    def delete(self) -> None:
        """Remove the target; a local cluster run_widgets started for it stops first.

        As v1's ``delete`` deprovisions a cluster: the ``LocalCluster`` process and its
        workers end now instead of after ``idle_seconds_before_scaledown``. An attached
        cluster is left alone (``detach``/``delete`` only forget it).
        """
        if self.is_local_cluster:
            stop_local_cluster(self.workspace.folder, self.name)
        super().delete()

    def _provision(self, timeout_s: float) -> str:
        from .executor import connect

        client, address = connect(self.workspace, self.serialize(), timeout_s)
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
            threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
        finally:
            client.close()
        return f"Dask scheduler at {address}: {len(workers)} workers, {threads} threads"


def _executor(workspace: Workspace, compute: Mapping[str, Any] | None) -> RunExecutor:
    from .executor import DaskExecutor

    return DaskExecutor(workspace, compute)


register_executor(DaskCompute.compute_type, _executor, detached=False)

__all__ = ["DaskAttachConfiguration", "DaskCompute", "DaskProvisioningConfiguration"]
