"""``experiment.submit(ScriptRunConfig)``: record the run and hand it to a supervisor.

``submit_script`` returns as soon as the run exists (status Queued): it snapshots the
source folder, unpacks the snapshot into a private working folder and starts a supervisor
process (``python -m run_widgets.submit.supervisor``) in a new session, so restarting or
killing the notebook kernel does not touch the job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from .. import _snapshot
from .._details import error_dict
from .._host import local_host
from ..exceptions import ExperimentExecutionException
from ..run import SNAPSHOT_PROPERTY, Run, RunType
from ..store import RunStatus, TrackingStore, UpdateRun
from .config import ScriptRunConfig

if TYPE_CHECKING:
    from ..experiment import Experiment

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
WORKDIRS = "workdirs"
CONTROL_LOG = "logs/control_log.txt"
DRIVER_LOG = "logs/driver_log.txt"


def script_run_id(experiment_name: str) -> str:
    """A v1-style id for submitted runs: ``<experiment>_<unix time>_<8 hex>``."""
    return f"{experiment_name}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def workdir_of(workspace_location: Path, run_id: str) -> Path:
    """The private working folder of a submitted run."""
    return workspace_location / WORKDIRS / run_id


def definition_of(config: ScriptRunConfig, source: Path, interpreter: str) -> dict[str, Any]:
    """What is stored as the run's ``runDefinition``."""
    return {
        "target": "local",
        "script": config.script,
        "command": config.command,
        "arguments": list(config.arguments),
        "sourceDirectory": str(source),
        "environment": {
            "name": config.environment.name,
            "python": {
                "userManagedDependencies": config.environment.python.user_managed_dependencies,
                "interpreterPath": interpreter,
            },
            "environmentVariables": dict(config.environment.environment_variables),
        },
        "maxRunDurationSeconds": config.max_run_duration_seconds,
    }


def submit_script(
    experiment: Experiment,
    config: ScriptRunConfig,
    parent: Run | None = None,
    *,
    run_type: str = RunType.SCRIPT,
    tags: Mapping[str, str | None] | None = None,
    properties: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> Run:
    """Create the run (Queued), prepare its working folder and start its supervisor.

    Raises:
        ExperimentExecutionException: missing folder, script or interpreter.
        SnapshotException: the source folder is over the snapshot limits.
    """
    source, _ = config.validate()
    interpreter = config.environment.python.resolved_interpreter()
    workspace = experiment.workspace
    snapshot = _snapshot.take(
        source,
        workspace.snapshots_dir,
        exclude=(workspace.location,),
        hint=" Submitted runs always snapshot their source_directory.",
    )
    run_id = script_run_id(experiment.name)
    workdir = workdir_of(workspace.location, run_id)
    try:
        _snapshot.restore(snapshot.zip_path, workdir)
        if config.script is not None and not (workdir / config.script).is_file():
            raise ExperimentExecutionException(
                f"The script {config.script} is left out of the snapshot of {source} by an "
                "ignore file (.runignore, .amlignore or .gitignore there); it cannot run."
            )
        # This process owns the run only until the supervisor exists: if it dies in
        # between, readers rightly see the run as lost (nothing would ever start it).
        run = Run._create(
            experiment,
            run_id=run_id,
            status=RunStatus.QUEUED,
            run_type=run_type,
            parent=parent,
            display_name=display_name or config.script or "command",
            definition=definition_of(config, source, interpreter),
            tags=tags,
            properties={SNAPSHOT_PROPERTY: snapshot.snapshot_id, **dict(properties or {})},
            owned=False,
            record_owner=True,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        pid = start_supervisor(workspace.location, run.id, run.files_dir, workdir)
    except OSError as error:
        shutil.rmtree(workdir, ignore_errors=True)
        run.fail(f"The run's supervisor could not be started: {error}", "SupervisorError")
        raise ExperimentExecutionException(
            f"Could not start the supervisor of run {run.id}: {error}"
        ) from error
    hand_over(workspace.store, run.id, pid)
    run._refresh(reap=False)
    return run


def hand_over(store: TrackingStore, run_id: str, supervisor_pid: int) -> None:
    """Make the supervisor the owner of the queued run (not the submitting process).

    The submitting process (a notebook kernel) may then exit or be killed at once without
    the run counting as lost. The supervisor takes the run over itself when it starts
    (Queued → Starting with its own owner row); this covers the moment before that. If the
    supervisor dies first, the run is reaped as lost, as it should be.
    """
    try:
        started = psutil.Process(supervisor_pid).create_time()
    except psutil.Error:  # gone already: if it never took the run over, nothing will
        store.write(
            [
                UpdateRun(
                    run_id,
                    status=RunStatus.FAILED,
                    end_time=time.time(),
                    error=error_dict(
                        "The run's supervisor exited before starting the run; see "
                        "logs/control_log.txt.",
                        "SupervisorError",
                    ),
                    only_if_status=frozenset({RunStatus.QUEUED}),
                )
            ]
        )
        return
    record = store.get_run(run_id)
    if record is None or record.owner_id is None:
        return
    owner = store.register_owner(local_host(), supervisor_pid, started)
    store.write(
        [
            UpdateRun(
                run_id,
                owner_id=owner,
                only_if_status=frozenset({RunStatus.QUEUED}),
                only_if_owner=record.owner_id,
            )
        ]
    )


def start_supervisor(
    workspace_location: Path,
    run_id: str,
    files_dir: Path,
    cwd: Path,
    module: str = "run_widgets.submit.supervisor",
) -> int:
    """Start the supervisor of a run in its own session, reap it when it ends; its pid.

    ``module`` is the supervisor to run (``python -m <module> WORKSPACE RUN_ID``): the
    script supervisor, or the sweep driver.
    """
    (files_dir / "logs").mkdir(parents=True, exist_ok=True)
    with open(files_dir / CONTROL_LOG, "ab") as control_log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                str(workspace_location),
                run_id,
            ],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=control_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    # Wait for it in the background so it never lingers as a zombie of this process.
    threading.Thread(target=process.wait, name=f"run-widgets-reaper-{run_id}", daemon=True).start()
    return process.pid
