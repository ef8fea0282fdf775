"""Running runs on a Dask cluster: one task per run, watched from the submitting side.

The process that starts runs (a sweep driver, or ``submit.remote`` for one script run)
holds a ``distributed.Client``. A run stays Queued, owned by that process, until a worker
executes its task; the task then starts the run's own process on the worker (see
``task``), which takes the run over. From here the executor:

* withdraws runs cancelled before any worker took them (``Future.cancel``), whoever
  asked for the cancel;
* ends Failed the runs whose task failed, or whose worker left the cluster while running
  them (process lost) — on one machine a reader already sees the dead process sooner;
  with ``max_retries`` such a run goes back to Queued instead (see ``runtime.attempts``) and
  its task is submitted again, as a new attempt;
* returns from ``pause`` as soon as a task ends, so a sweep starts its next trial at once;
* reports the scheduler gone (no connection for ``SCHEDULER_GRACE_S``): the runs no
  worker took end Failed, the running ones are left to their own processes.

Layer: submit.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

from distributed import Client, Future

from ...exceptions import ComputeTargetException
from ...runtime import attempts as _attempts
from ...store import RunStatus
from ...tracking import lifecycle
from ...workspace import Workspace
from ..executors import SCRIPT_MODULE, RunExecutor
from .local_cluster import ensure_local_cluster
from .task import HOST_PROPERTY, WORKER_PROPERTY, run_on_worker

CONNECT_TIMEOUT_S = 10.0
SCHEDULER_GRACE_S = 3.0
WORKER_CHECK_S = 1.0
NOT_STARTED = frozenset({RunStatus.QUEUED, RunStatus.CANCEL_REQUESTED})


def connect(
    workspace: Workspace, compute: Mapping[str, Any], timeout_s: float = CONNECT_TIMEOUT_S
) -> tuple[Client, str]:
    """A client of the target's scheduler (a local cluster is started if needed).

    Raises:
        ComputeTargetException: the scheduler cannot be reached.
    """
    properties = compute.get("properties", {})
    name = compute.get("name")
    if "localCluster" in properties:
        address = ensure_local_cluster(workspace.folder, compute, timeout_s=max(timeout_s, 60))
    else:
        address = str(properties.get("address"))
    try:
        client = Client(
            address, timeout=f"{min(timeout_s, CONNECT_TIMEOUT_S)}s", set_as_default=False
        )
    except (OSError, TimeoutError) as error:
        raise ComputeTargetException(
            f"The Dask scheduler of compute target {name!r} at {address} cannot be reached: {error}"
        ) from None
    return client, address


class DaskExecutor(RunExecutor):
    """Runs each run's process as a task on the workers of a Dask cluster."""

    detached = False

    def __init__(self, workspace: Workspace, compute: Mapping[str, Any] | None) -> None:
        super().__init__(workspace, compute)
        if compute is None:
            raise ComputeTargetException("A Dask executor needs a compute target definition.")
        self.client, self.address = connect(workspace, compute)
        self.futures: dict[str, Future[Any]] = {}
        self.modules: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.queued_owner: dict[str, int | None] = {}
        self.gone: str | None = None
        self._disconnected_since: float | None = None
        self._last_worker_check = 0.0
        self._ended = threading.Event()

    def start(self, run_id: str, module: str = SCRIPT_MODULE) -> None:
        """Submit the run's task; the run stays Queued until a worker executes it."""
        if self.gone is not None:
            raise ComputeTargetException(self.gone)
        record = self.workspace.store.get_run(run_id)
        owner = record.owner_id if record is not None else None
        self.queued_owner[run_id] = owner
        if record is not None and owner is not None and _attempts.max_retries(record.definition):
            # Who owns the run again when a lost attempt goes back to Queued.
            lifecycle.write(self.workspace.store, lifecycle.queued_owner_op(run_id, owner))
        self.modules[run_id] = module
        self._submit(run_id, 1)

    def _submit(self, run_id: str, attempt: int) -> None:
        self.attempts[run_id] = attempt
        key = f"run-widgets-{run_id}" + (f"-{attempt}" if attempt > 1 else "")
        future = self.client.submit(
            run_on_worker,
            self.workspace.description(),
            run_id,
            self.modules[run_id],
            key=key,
            pure=False,
        )
        self.futures[run_id] = future
        future.add_done_callback(lambda _: self._ended.set())

    def pause(self, seconds: float) -> None:
        """Wait up to ``seconds``; return as soon as a task ends (its run has ended then)."""
        if self._ended.wait(seconds):
            self._ended.clear()

    def cancel(self, run_id: str) -> None:
        """Withdraw the task of a run no worker took over yet, and end it Canceled."""
        future = self.futures.get(run_id)
        if future is None:
            return
        owner = self.queued_owner.get(run_id)
        lifecycle.write(
            self.workspace.store,
            lifecycle.end_op(
                run_id, RunStatus.CANCELED, from_statuses=NOT_STARTED, only_if_owner=owner
            ),
        )
        record = self.workspace.store.get_run(run_id)
        if record is not None and record.owner_id == owner and record.is_terminal:
            with contextlib.suppress(Exception):
                future.cancel()

    def check(self) -> str | None:
        """See the module docstring; the reason when the scheduler is gone."""
        if self.gone is not None:
            return self.gone
        if not self._connected():
            return self.gone
        if self.client.status != "running":
            return None  # reconnecting: futures look cancelled meanwhile; judge them later
        store = self.workspace.store
        for run_id, future in list(self.futures.items()):
            record = store.get_run(run_id)
            if record is not None and record.status == RunStatus.CANCEL_REQUESTED:
                self.cancel(run_id)  # only takes effect if no worker took the run yet
            if future.status not in ("finished", "error", "cancelled"):
                continue
            if record is None or record.is_terminal:
                self._forget(run_id)
            elif (
                record.status == RunStatus.QUEUED
                and _attempts.attempt_of(record.properties) > self.attempts[run_id]
            ):
                self._submit(run_id, _attempts.attempt_of(record.properties))  # a retry
            elif future.status != "finished":
                # A run a worker took over is judged by its own process's liveness.
                self._fail_queued(run_id, self._task_error(future))
            # else: its task ended but the run did not (its worker died): watched until
            # a liveness check or the departed-worker check ends or requeues it.
        now = time.monotonic()
        if self.futures and now - self._last_worker_check >= WORKER_CHECK_S:
            self._last_worker_check = now
            self._reap_departed_workers()
        return None

    def _forget(self, run_id: str) -> None:
        for table in (self.futures, self.modules, self.attempts, self.queued_owner):
            table.pop(run_id, None)

    def _connected(self) -> bool:
        if self.client.status in ("running", "newly-created"):
            self._disconnected_since = None
            return True
        now = time.monotonic()
        if self._disconnected_since is None:
            self._disconnected_since = now
        if now - self._disconnected_since < SCHEDULER_GRACE_S:
            return True
        self.gone = (
            f"The Dask scheduler of compute target {self.target!r} at {self.address} went away "
            f"(no connection for {SCHEDULER_GRACE_S:g} s)."
        )
        for run_id in list(self.futures):
            self._fail_queued(run_id, f"{self.gone} The run had not started on a worker.")
        self.futures.clear()
        return False

    def _task_error(self, future: Future[Any]) -> str:
        try:
            error = future.exception(timeout=1)
        except Exception as problem:
            error = problem
        if future.status == "cancelled":
            return f"The Dask scheduler cancelled this run's task before it started: {error}"
        return f"The Dask task of this run failed before the run started: {error!r}"

    def _fail_queued(self, run_id: str, message: str) -> None:
        lifecycle.mark_failed(
            self.workspace.store,
            run_id,
            message,
            "ComputeTargetLost",
            from_statuses=NOT_STARTED,
            only_if_owner=self.queued_owner.get(run_id),
        )

    def _reap_departed_workers(self) -> None:
        """Runs whose worker left the cluster (another machine's death is seen here)."""
        try:
            workers = set(self.client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # the connection check reports a lost scheduler
            return
        store = self.workspace.store
        for run_id in list(self.futures):
            record = store.get_run(run_id)
            if record is None or record.is_terminal or record.status == RunStatus.QUEUED:
                continue
            worker = _attempts.current(record.properties, WORKER_PROPERTY)
            if worker and worker not in workers:
                host = _attempts.current(record.properties, HOST_PROPERTY) or "?"
                lifecycle.mark_lost(
                    store,
                    record,
                    f"process lost: the Dask worker {worker} on {host} running this run left "
                    "the cluster (killed, out of memory, or its machine went away). Metrics "
                    "and logs written before that are kept.",
                    only_if_owner=record.owner_id,
                )

    def close(self) -> None:
        """Close the client (tasks of runs that are still running go on)."""
        with contextlib.suppress(Exception):
            self.client.close(timeout=2)
