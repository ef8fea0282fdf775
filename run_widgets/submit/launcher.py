"""``experiment.submit(ScriptRunConfig)``: record the run and hand it to a supervisor.

``submit_script`` returns as soon as the run exists (status Queued): it snapshots the
source folder, unpacks the snapshot into a private working folder and starts a supervisor
process (``python -m run_widgets.submit.supervisor``) in a new session, so restarting or
killing the notebook kernel does not touch the job.

Layer: submit (imports the ``run`` façade and ``tracking.lifecycle``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from ..data.job_io import bind_arguments, is_data_object
from ..exceptions import ExperimentExecutionException, RunWidgetsWarning
from ..run import SNAPSHOT_PROPERTY, Run, RunType, attach_run, create_run
from ..runtime.host import local_host, process_started_at
from ..store import RunStatus, TrackingStore
from ..tracking import lifecycle
from ..tracking.details import iso
from . import compute as compute_targets
from .conda import CURRENT_PYTHON
from .config import Environment, ScriptRunConfig
from .executors import SCRIPT_MODULE, RunExecutor, executor_for, is_detached, register_executor

if TYPE_CHECKING:
    from ..experiment import Experiment
    from ..store.description import WorkspaceDescription
    from ..workspace import Workspace

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
WORKDIRS = "workdirs"
CONTROL_LOG = "logs/control_log.txt"
DRIVER_LOG = "logs/driver_log.txt"
BUILD_LOG = "logs/image_build_log.txt"


def script_run_id(experiment_name: str) -> str:
    """A v1-style id for submitted runs: ``<experiment>_<unix time>_<8 hex>``."""
    return f"{experiment_name}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def workdir_of(workspace_location: Path, run_id: str) -> Path:
    """The private working folder of a submitted run."""
    return workspace_location / WORKDIRS / run_id


def definition_of(
    config: ScriptRunConfig,
    source: Path,
    interpreter: str,
    compute: Mapping[str, Any] | None = None,
    workspace: Workspace | None = None,
) -> dict[str, Any]:
    """What is stored as the run's ``runDefinition`` (``compute``: the target's definition).

    A built (not user-managed) environment also records its pip requirements, checked
    here so that a conda-only package is refused before the run exists. Data objects among
    the arguments become tokens and the definition's ``data`` section (see
    ``run_widgets.data.job_io``); they need the ``workspace``.
    """
    arguments: list[Any] = list(config.arguments)
    data = None
    if any(is_data_object(a) for a in arguments):
        if workspace is None:
            raise ExperimentExecutionException("Data arguments need the run's workspace.")
        arguments, section = bind_arguments(workspace, arguments)
        data = section.to_json()
    environment = config.environment
    described = environment.to_dict()
    described["python"]["interpreterPath"] = interpreter
    if not environment.python.user_managed_dependencies:
        described["python"]["interpreterPath"] = None
        dependencies = environment.python.conda_dependencies
        described["pipRequirements"] = environment.pip_requirements()
        described["pipOptions"] = dependencies.pip_options if dependencies else []
        _note_local_differences(environment)
    return {
        "target": str(compute["name"]) if compute else compute_targets.LOCAL,
        "compute": dict(compute) if compute else None,
        "script": config.script,
        "command": config.command,
        "arguments": [str(a) for a in arguments],
        "data": data,
        "sourceDirectory": str(source),
        "environment": described,
        "maxRunDurationSeconds": config.max_run_duration_seconds,
    }


def _note_local_differences(environment: Environment) -> None:
    """One warning per environment for what cannot mean the same here."""
    dependencies = environment.python.conda_dependencies
    wanted = dependencies.get_python_version() if dependencies else None
    notes = []
    if wanted and not CURRENT_PYTHON.startswith(_major_minor(wanted)):
        notes.append(
            f"it asks for Python {wanted}; local environments use this interpreter's "
            f"Python {CURRENT_PYTHON}"
        )
    if environment.docker.enabled:
        notes.append("docker.enabled is ignored; local runs do not use Docker")
    key = (environment.name, tuple(notes))
    if notes and key not in _NOTED:
        _NOTED.add(key)
        warnings.warn(
            f"Environment {environment.name!r}: " + "; ".join(notes) + ".",
            RunWidgetsWarning,
            stacklevel=4,
        )


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


_NOTED: set[tuple[str, tuple[str, ...]]] = set()


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
    compute = compute_targets.resolve(workspace, config.compute_target)
    snapshot = workspace.artifacts.take_snapshot(
        source,
        exclude=(workspace.folder,),
        hint=" Submitted runs always snapshot their source_directory.",
    )
    run_id = script_run_id(experiment.name)
    workdir = workdir_of(workspace.folder, run_id)
    try:
        workspace.artifacts.restore_snapshot(snapshot.snapshot_id, workdir)
        if config.script is not None and not (workdir / config.script).is_file():
            raise ExperimentExecutionException(
                f"The script {config.script} is left out of the snapshot of {source} by an "
                "ignore file (.runignore, .amlignore or .gitignore there); it cannot run."
            )
        # This process owns the run only until the supervisor exists: if it dies in
        # between, readers rightly see the run as lost (nothing would ever start it).
        run = create_run(
            experiment,
            run_id=run_id,
            status=RunStatus.QUEUED,
            run_type=run_type,
            parent_id=parent.id if parent is not None else None,
            display_name=display_name or config.script or "command",
            definition=definition_of(config, source, interpreter, compute, workspace),
            tags=tags,
            properties={SNAPSHOT_PROPERTY: snapshot.snapshot_id, **dict(properties or {})},
            owned=False,
            record_owner=True,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        start_run(workspace, compute, run.id, workdir)
    except OSError as error:
        shutil.rmtree(workdir, ignore_errors=True)
        run.fail(f"The run's supervisor could not be started: {error}", "SupervisorError")
        raise ExperimentExecutionException(
            f"Could not start the supervisor of run {run.id}: {error}"
        ) from error
    record = workspace.store.get_run(run.id)  # the status it has now (Queued or beyond)
    return run if record is None else attach_run(experiment, record)


def start_run(
    workspace: Workspace, compute: Mapping[str, Any] | None, run_id: str, cwd: Path
) -> None:
    """Start a Queued script run on its target from a process that may exit at once.

    A detached executor starts the run's supervisor itself; any other is driven by a
    local process of its own (``run_widgets.submit.remote``) that owns the run while it
    waits for the target, so a notebook kernel can restart meanwhile.
    """
    if is_detached(compute):
        executor_for(workspace, compute).start(run_id)
        return
    files_dir = workspace.artifacts.run_folder(run_id)
    pid = start_supervisor(
        workspace.description(), run_id, files_dir, workspace.folder, module=REMOTE_MODULE
    )
    hand_over(workspace.store, run_id, pid)


class LocalProcessExecutor(RunExecutor):
    """Runs each job in a supervisor process on this machine (plain local and AmlCompute).

    ``AmlCompute``'s ``max_nodes`` is enforced by the supervisors themselves (node slots,
    see ``slots``), so it holds across every process that submits to the target.
    """

    detached = True

    def start(self, run_id: str, module: str = SCRIPT_MODULE) -> None:
        """Start the run's supervisor (``python -m module``) and hand the run to it."""
        workspace = self.workspace
        files_dir = workspace.artifacts.run_folder(run_id)
        # Not the job's working folder: ``python -m`` puts its cwd first on sys.path, and a
        # script there named like a standard module (copy.py, json.py) would shadow it in
        # the supervisor. The supervisor starts the job in its working folder itself.
        pid = start_supervisor(
            workspace.description(), run_id, files_dir, workspace.folder, module=module
        )
        hand_over(workspace.store, run_id, pid)


REMOTE_MODULE = "run_widgets.submit.remote"
register_executor("local", LocalProcessExecutor)
register_executor(compute_targets.AmlCompute.compute_type, LocalProcessExecutor)


def hand_over(store: TrackingStore, run_id: str, supervisor_pid: int) -> None:
    """Make the supervisor the owner of the queued run (not the submitting process).

    The submitting process (a notebook kernel) may then exit or be killed at once without
    the run counting as lost. The supervisor takes the run over itself when it starts
    (Queued → Starting with its own owner row); this covers the moment before that. If the
    supervisor dies first, the run is reaped as lost, as it should be.
    """
    try:
        started = process_started_at(psutil.Process(supervisor_pid))
    except psutil.Error:  # gone already: if it never took the run over, nothing will
        lifecycle.mark_failed(
            store,
            run_id,
            "The run's supervisor exited before starting the run; see logs/control_log.txt.",
            "SupervisorError",
            from_statuses=lifecycle.QUEUED,
        )
        return
    record = store.get_run(run_id)
    if record is None or record.owner_id is None:
        return
    owner = store.register_owner(local_host(), supervisor_pid, started)
    lifecycle.write(store, lifecycle.hand_over_op(run_id, owner, from_owner=record.owner_id))


def start_supervisor(
    workspace: WorkspaceDescription,
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
                workspace.artifacts,
                run_id,
            ],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=control_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, **workspace.environ(), "PYTHONUNBUFFERED": "1"},
        )
    # Wait for it in the background so it never lingers as a zombie of this process.
    threading.Thread(
        target=_reap,
        args=(process, files_dir / CONTROL_LOG),
        name=f"run-widgets-reaper-{run_id}",
        daemon=True,
    ).start()
    return process.pid


def _reap(process: subprocess.Popen[bytes], control_log: Path) -> None:
    """Wait for a supervisor; note in its control log how it ended if it did not end well."""
    code = process.wait()
    if code == 0:
        return
    how = f"signal {-code}" if code < 0 else f"exit status {code}"
    with contextlib.suppress(OSError), open(control_log, "a", encoding="utf-8") as log:
        log.write(f"{iso(time.time())} the supervisor process {process.pid} ended by {how}\n")
