"""A ``LocalCluster`` that run_widgets starts and owns for a Dask compute target.

``ensure_local_cluster`` returns the scheduler address of the target's cluster, starting
it if needed as ``python -m run_widgets.submit.dask.local_cluster WORKSPACE NAME SPEC`` in
a session of its own, so it outlives the notebook or sweep that first needed it and is
shared by every process of the workspace. A lock file makes concurrent first uses start
one cluster; a state file (``compute/.dask/<name>.json``) holds its address and pid. The
cluster stops by itself after ``idleSecondsBeforeScaledown`` with no task and no client,
or at once through ``stop_local_cluster`` (what ``DaskCompute.delete()`` does, as v1's
``delete`` deprovisions a cluster).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil

from ...exceptions import ComputeTargetException
from ...runtime.host import process_started_at

STATE_FOLDER = Path("compute") / ".dask"
IDLE_CHECK_S = 1.0
_OWN_CLIENTS = {"fire-and-forget"}


def state_path(workspace_folder: Path, name: str) -> Path:
    """The state file of target ``name``'s cluster."""
    return workspace_folder / STATE_FOLDER / f"{name}.json"


def read_state(workspace_folder: Path, name: str) -> dict[str, Any] | None:
    """The running cluster's ``{"address", "pid", "started"}``, or ``None``."""
    try:
        state = json.loads(state_path(workspace_folder, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    try:
        process = psutil.Process(int(state["pid"]))
        if abs(process_started_at(process) - float(state["started"])) > 1.0:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.Error, KeyError, ValueError, TypeError):
        return None
    return state


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_local_cluster(
    workspace_folder: Path, compute: Mapping[str, Any], timeout_s: float = 60.0
) -> str:
    """The scheduler address of the target's local cluster, started if it is not running.

    Raises:
        ComputeTargetException: the cluster did not come up within ``timeout_s``.
    """
    name = str(compute["name"])
    path = state_path(workspace_folder, name)
    with _locked(path.with_suffix(".lock")):
        state = read_state(workspace_folder, name)
        if state is not None:
            return str(state["address"])
        log_path = path.with_suffix(".log")
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    __name__,
                    str(workspace_folder),
                    name,
                    json.dumps(dict(compute.get("properties", {}))),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = read_state(workspace_folder, name)
            if state is not None and int(state["pid"]) == process.pid:
                return str(state["address"])
            if process.poll() is not None:
                break
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            process.kill()
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise ComputeTargetException(
            f"The local Dask cluster of compute target {name!r} did not start within "
            f"{timeout_s:g} s. Its log ({log_path}) ends with:\n{tail}"
        )


def stop_local_cluster(workspace_folder: Path, name: str, timeout_s: float = 30.0) -> bool:
    """Stop target ``name``'s running local cluster; ``False`` when none was running.

    The cluster's process closes its workers and scheduler and removes its state file
    (SIGTERM); a process still there after ``timeout_s`` is killed with its workers.
    """
    path = state_path(workspace_folder, name)
    with _locked(path.with_suffix(".lock")):
        state = read_state(workspace_folder, name)
        if state is None:
            return False
        process = psutil.Process(int(state["pid"]))
        family = [process, *process.children(recursive=True)]
        process.terminate()
        _, alive = psutil.wait_procs(family, timeout=timeout_s)
        for straggler in alive:
            with contextlib.suppress(psutil.Error):
                straggler.kill()
        with contextlib.suppress(OSError):
            path.unlink()
        return True


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # unwinds serve(), whose finally closes the cluster


def serve(workspace_folder: Path, name: str, properties: Mapping[str, Any]) -> None:
    """Run the cluster until it has been idle long enough (this process's main loop)."""
    from distributed import LocalCluster

    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    spec = properties.get("localCluster", {})
    idle_limit = float(properties.get("idleSecondsBeforeScaledown", 300))
    cluster = LocalCluster(
        n_workers=int(spec.get("nWorkers", 2)),
        threads_per_worker=int(spec.get("threadsPerWorker", 1)),
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
    )
    try:
        path = state_path(workspace_folder, name)
        state = {
            "address": cluster.scheduler_address,
            "pid": os.getpid(),
            "started": process_started_at(psutil.Process()),
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)
        print(f"local Dask cluster {name!r} at {cluster.scheduler_address}", flush=True)
        idle_since = time.monotonic()
        while True:
            time.sleep(IDLE_CHECK_S)
            scheduler = cluster.scheduler
            if scheduler is None:
                return
            clients = set(scheduler.clients) - _OWN_CLIENTS
            if scheduler.tasks or clients:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= idle_limit:
                print(f"idle for {idle_limit:g} s: stopping", flush=True)
                return
    finally:
        with contextlib.suppress(OSError):
            if read_state(workspace_folder, name) in (None, state):
                state_path(workspace_folder, name).unlink()
        cluster.close()


def main(argv: list[str]) -> int:
    """Entry point: ``local_cluster WORKSPACE NAME PROPERTIES_JSON``."""
    if len(argv) != 3:
        print(
            "usage: python -m run_widgets.submit.dask.local_cluster WS NAME JSON", file=sys.stderr
        )
        return 2
    serve(Path(argv[0]), argv[1], json.loads(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
