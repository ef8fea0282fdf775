"""The task a Dask worker executes for one run.

A script run is supervised right in the worker's thread (the worker process owns the run;
the supervisor starts the script in a process of its own, as locally, forked from the
worker's pre-imported job template when it can: see ``submit.template``); any other run
module (a sweep's function trial) runs as ``python -m <module> WORKSPACE RUN_ID``, also
forked from the job template when it can. Either
way the user's code gets its own process, working folder, ``sys.path`` and log, so two runs
on one worker never share state, and that process is tied to the worker: if the worker
dies (``kill -9``) the kernel kills it too (``PR_SET_PDEATHSIG``), the run's owner is gone,
and the run becomes Failed ("process lost").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ...run import SNAPSHOT_PROPERTY
from ...runtime import attempts as _attempts
from ...runtime.host import local_host
from ...store import RunStatus
from ...store.description import WorkspaceDescription
from ...tracking import lifecycle
from ...tracking.reaper import reap_run
from ...workspace import Workspace
from ..executors import SCRIPT_MODULE
from ..launcher import CONTROL_LOG, workdir_of
from ..supervisor import SUPERVISOR_PID_VARIABLE, Supervisor
from ..template import process_template

WORKER_PROPERTY = "dask_worker"
HOST_PROPERTY = "dask_host"

# Runs before the run's module: die with the worker thread that started us, then exec.
_TIED = (
    "import ctypes, os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit('the Dask worker ended before the run started')\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
)


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # not inside a worker (called directly)
        return f"pid {os.getpid()}"


def run_on_worker(description: WorkspaceDescription, run_id: str, module: str) -> dict[str, Any]:
    """Execute one Queued run on this worker; what happened, for the submitting side."""
    workspace = Workspace.from_description(description)
    store = workspace.store
    record = store.get_run(run_id)
    if record is not None and record.status != RunStatus.QUEUED:
        # Dask reruns the task of a worker that died: the run may be lost (or requeued).
        record = reap_run(store, record)
    if record is None or record.status != RunStatus.QUEUED:
        # Cancelled meanwhile, or a rerun after the first worker died: nothing to do.
        return {"run_id": run_id, "skipped": record.status if record else "missing"}
    attempt = _attempts.attempt_of(record.properties)
    worker, host = _worker_address(), local_host()  # RUN_WIDGETS_HOST_ID if set
    placement = {WORKER_PROPERTY: worker, HOST_PROPERTY: host}
    try:
        lifecycle.write(store, lifecycle.placement_op(run_id, attempt, placement))
    except Exception as error:  # another worker already claimed it
        return {"run_id": run_id, "skipped": f"claimed elsewhere: {error}"}
    snapshot = record.properties.get(SNAPSHOT_PROPERTY)
    cwd = _working_folder(workspace, run_id, snapshot, fresh=attempt > 1)
    if module == SCRIPT_MODULE:  # no interpreter to start: the worker supervises the run
        Supervisor(workspace, run_id, template=process_template()).run()
        return {"run_id": run_id, "worker": worker, "host": host, "attempt": attempt}
    files = workspace.artifacts.run_folder(run_id)
    (files / "logs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **description.environ(), "PYTHONUNBUFFERED": "1"}
    env.setdefault("PYTHONIOENCODING", "utf-8")  # the log is read as UTF-8
    # The module runs from the workspace folder, not the job's working folder (a script
    # there named like a standard module would shadow it: ``-m`` puts the cwd on sys.path).
    del cwd
    code = _run_module(
        module, [description.artifacts, run_id], workspace.folder, env, files / CONTROL_LOG
    )
    return {
        "run_id": run_id,
        "worker": worker,
        "host": host,
        "returncode": code,
        "attempt": attempt,
    }


def _run_module(
    module: str, arguments: list[str], cwd: Path, env: dict[str, str], log: Path
) -> int:
    """Run ``python -m module arguments`` tied to this worker; its exit code.

    Forked from the worker's job template when it can (no interpreter start, no
    re-import of the package: see ``submit.template``); the template dies with the worker
    and its jobs with the template. Otherwise a fresh interpreter, killed with the worker.
    """
    template = process_template()
    if template is not None and template.can_run(sys.executable, env):
        try:
            job = template.spawn(
                ["-m", module, *arguments],
                cwd,
                {**env, SUPERVISOR_PID_VARIABLE: str(template.process.pid)},
                log,
            )
            return job.wait()
        except OSError:
            pass  # the template is gone: start the module afresh
    argv = [sys.executable, "-c", _TIED, str(os.getpid()), "-m", module, *arguments]
    with open(log, "ab") as control_log:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=control_log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        return process.wait()


def _working_folder(
    workspace: Workspace, run_id: str, snapshot_id: str | None, *, fresh: bool = False
) -> Path:
    """The run's working copy of its snapshot (unpacked here if this host lacks it).

    ``fresh``: a retry, whose lost attempt may have left files behind: unpack anew.
    """
    workdir = workdir_of(workspace.folder, run_id)
    if fresh and snapshot_id:
        shutil.rmtree(workdir, ignore_errors=True)
    if (
        snapshot_id
        and not workdir.is_dir()
        and workspace.artifacts.snapshot_path(snapshot_id).is_file()
    ):
        workspace.artifacts.restore_snapshot(snapshot_id, workdir)
    return workdir if workdir.is_dir() else workspace.folder
