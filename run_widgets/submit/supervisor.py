"""The supervisor of one submitted run: ``python -m run_widgets.submit.supervisor WS RUN_ID``.

It owns the run's status from Queued to the end:

1. on a target with ``max_nodes`` (``AmlCompute``), waits Queued for a free node;
   then takes the run over (owner row + heartbeat), Queued → Starting; if the environment
   is not user-managed, → Preparing while it is built (or reused), output in
   ``logs/image_build_log.txt``, → Starting;
2. lays out the run's data inputs and output folders (``run_widgets.data.job_io``), then
   starts the job in its own process group, cwd = the working copy of the snapshot,
   stdout and stderr appended line by line to ``logs/driver_log.txt``; → Running;
3. watches for the job's exit, a cancel request (→ SIGTERM to the whole process tree,
   SIGKILL after a grace period) and the run's time limit;
4. → Finalizing, uploads ``outputs/`` (in every case) and, when the job ended well, its
   data outputs to their datastores; then Completed, Failed (with the exception's type,
   message and traceback, the exit code or signal, or the failed upload) or Canceled.

If the supervisor itself is killed, its heartbeat stops, readers mark the run Failed
("process lost"), and the job gets SIGTERM from the kernel (``PR_SET_PDEATHSIG``) and,
should it ignore that, SIGKILL from its own watchdog after the grace period.

Every status it writes is a ``tracking.lifecycle`` transition, conditional where another
process may race it (a cancel request while starting or finalizing).

Layer: submit.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from ..data import job_io
from ..exceptions import UserErrorException
from ..runtime import RUNTIME
from ..runtime.context import SubmittedJob
from ..store import RunRecord, RunStatus, TrackingStore
from ..store.entities import AddProperties
from ..store.object_artifacts import SYNC_S
from ..tracking import lifecycle
from ..tracking.details import error_dict, iso
from ..tracking.status import compact_quietly
from ..workspace import Workspace
from .config import command_argv
from .envbuild import EnvironmentBuildError, EnvironmentSpec, ensure_environment
from .launcher import BOOTSTRAP, BUILD_LOG, DRIVER_LOG, workdir_of
from .slots import Slot, queue_order, wait_for_node
from .template import JobTemplate, TemplateJob

POLL_S = 0.2
STATUS_CHECK_S = 0.5
ENV_GRACE = "RUN_WIDGETS_CANCEL_GRACE_S"
DEFAULT_GRACE_S = 10.0
ENV_KEEP_WORKDIR = "RUN_WIDGETS_KEEP_WORKDIR"
ERROR_FILE_VARIABLE = "RUN_WIDGETS_ERROR_FILE"
SUPERVISOR_PID_VARIABLE = "RUN_WIDGETS_SUPERVISOR_PID"


def cancel_grace() -> float:
    """Seconds between SIGTERM and SIGKILL when stopping a job (``RUN_WIDGETS_CANCEL_GRACE_S``)."""
    try:
        grace = float(os.environ.get(ENV_GRACE, DEFAULT_GRACE_S))
    except ValueError:
        return DEFAULT_GRACE_S
    return grace if grace >= 0 else DEFAULT_GRACE_S


def log(message: str) -> None:
    """A line in the run's control log (this process's stdout)."""
    print(f"{iso(time.time())} {message}", flush=True)


class JobStartError(Exception):
    """The job's process could not be started (missing or non-executable program)."""


class DataPreparationError(Exception):
    """The run's data inputs could not be laid out (a missing file, a refused datastore)."""


class EnvironmentPreparationError(Exception):
    """The run's environment could not be built (its log is kept in the run's files)."""


class Supervisor:
    """Runs one job and keeps its run's status true.

    Args:
        workspace: the run's workspace.
        run_id: the Queued run to take over.
        template: a pre-imported process to fork the job from when it can (a Dask
            worker's, see ``template``); otherwise the job's interpreter starts afresh.
    """

    def __init__(
        self, workspace: Workspace, run_id: str, template: JobTemplate | None = None
    ) -> None:
        self.workspace = workspace
        self.store: TrackingStore = workspace.store
        self.run_id = run_id
        self.files = workspace.artifacts.files(run_id)
        self.workdir = workdir_of(workspace.folder, run_id)
        self.error_file = self.workdir.parent / f"{run_id}.error.json"
        self.template = template
        self.process: subprocess.Popen[bytes] | TemplateJob | None = None
        self.cancel_reason: str | None = None
        self.terminated = False
        self.built_environment: Path | None = None
        self.slot: Slot | None = None
        self.prepared: job_io.PreparedData | None = None

    def record(self) -> RunRecord:
        """The run as stored now."""
        record = self.store.get_run(self.run_id)
        if record is None:
            raise SystemExit(f"run {self.run_id} does not exist")
        return record

    def end(
        self, status: str, error: Mapping[str, Any] | None = None, at: float | None = None
    ) -> None:
        """Write the final status (ignored by the store once the run ended)."""
        lifecycle.mark_ended(self.store, self.run_id, status, error, from_statuses=None, at=at)
        log(f"status {status}")

    # ------------------------------------------------------------------------ steps --
    def wait_for_node(self) -> None:
        """On a target with ``max_nodes``, stay Queued until one of its nodes is free.

        Gives up as soon as the run is no longer Queued (a cancel request: ``adopt`` then
        ends it Canceled) or this process gets SIGTERM (the run ends Failed).
        """
        record = self.record()
        compute = record.definition.get("compute")
        name = (compute or {}).get("name")

        def keep_waiting() -> bool:
            return not self.terminated and self.record().status == RunStatus.QUEUED

        order = queue_order(record.created_at, self.run_id)
        _, self.slot = wait_for_node(self.workspace.folder, compute, keep_waiting, order)
        if self.slot is not None:
            log(f"running on node {self.slot.index} of compute target {name!r}")
        if self.terminated:
            raise JobStartError("The run's supervisor was stopped (SIGTERM) while queued.")

    def adopt(self) -> bool:
        """Take the run over; False if it was cancelled (or ended) before it started."""
        owner = RUNTIME.flusher.owner_id(self.store)
        lifecycle.write(self.store, lifecycle.adopt_op(self.run_id, owner))
        status = self.record().status
        if status == RunStatus.STARTING:
            log(f"status {status}")
            return True
        if status == RunStatus.CANCEL_REQUESTED:
            lifecycle.cancel_unstarted(self.store, self.run_id, owner)
            log(f"status {RunStatus.CANCELED}")
        log(f"not starting: the run is {status}")
        return False

    def prepare_environment(self) -> str | None:
        """The interpreter to run the job with, building its environment if needed.

        A built environment makes the run Preparing (as v1's image build), its output
        streamed into ``logs/image_build_log.txt``. Returns None when the run was
        cancelled meanwhile (it is then Canceled).
        """
        environment = self.record().definition["environment"]
        if environment["python"].get("userManagedDependencies", True):
            return str(environment["python"]["interpreterPath"])
        lifecycle.write(self.store, lifecycle.preparing_op(self.run_id))
        log(f"status {self.record().status}: building environment {environment['name']!r}")
        spec = EnvironmentSpec(
            name=str(environment["name"]),
            requirements=tuple(environment.get("pipRequirements") or ()),
            pip_options=tuple(environment.get("pipOptions") or ()),
        )
        build_log = self.files.root / BUILD_LOG
        build_log.parent.mkdir(parents=True, exist_ok=True)
        with open(build_log, "a", encoding="utf-8") as output:
            try:
                interpreter = ensure_environment(spec, self.workspace.folder, output)
            except EnvironmentBuildError as problem:
                raise EnvironmentPreparationError(str(problem)) from problem
        self.built_environment = interpreter.parent.parent
        if self.record().status == RunStatus.CANCEL_REQUESTED:
            self.end(RunStatus.CANCELED)
            return None
        lifecycle.write(self.store, lifecycle.prepared_op(self.run_id))
        return str(interpreter)

    def start_job(self, interpreter: str) -> None:
        """Start the job in its own process group, output appended to the driver log."""
        record = self.record()
        definition = dict(record.definition)
        if definition.get("script"):
            argv = [interpreter, str(BOOTSTRAP), definition["script"], *definition["arguments"]]
        else:
            argv = command_argv(definition["command"], interpreter)
        env = {
            **os.environ,
            **definition["environment"].get("environmentVariables", {}),
            **self.workspace.description().environ(),
            **SubmittedJob(
                # the artifacts location (a folder, or an object-storage URL) names it
                self.run_id,
                self.workspace.description().artifacts,
                record.experiment_name,
            ).environ(),
            ERROR_FILE_VARIABLE: str(self.error_file),
            SUPERVISOR_PID_VARIABLE: str(os.getpid()),
            "PYTHONUNBUFFERED": "1",
        }
        env.setdefault("PYTHONIOENCODING", "utf-8")  # the log is read as UTF-8
        data = definition.get("data")
        if data:
            argv = self.prepare_data(data, argv)
            env.update(self.prepared.environ() if self.prepared else {})
        if self.built_environment is not None:  # isolated: nothing of the submitter's paths
            env.pop("PYTHONPATH", None)
            env.pop("PYTHONHOME", None)
            env["VIRTUAL_ENV"] = str(self.built_environment)
            env["PATH"] = os.pathsep.join(
                [str(self.built_environment / "bin"), env.get("PATH", os.defpath)]
            )
        driver_log = self.files.root / DRIVER_LOG
        driver_log.parent.mkdir(parents=True, exist_ok=True)
        template = self.template
        if (
            template is not None
            and definition.get("script")
            and self.built_environment is None
            and template.can_run(interpreter, env)
        ):
            env[SUPERVISOR_PID_VARIABLE] = str(template.process.pid)  # the job's parent
            log(f"forking {argv[2:]!r} in {self.workdir} from the job template")
            try:
                self.process = template.spawn(argv[2:], self.workdir, env, driver_log)
            except OSError as error:
                log(f"the job template failed ({error}): starting the job afresh")
                env[SUPERVISOR_PID_VARIABLE] = str(os.getpid())
        if self.process is None:
            self._popen(argv, env, driver_log)
        # Conditional: a cancel request that came in while starting must not be overwritten
        # (watch() acts on it at its first check).
        lifecycle.write(self.store, *lifecycle.running_ops(self.run_id))
        log(f"status {self.record().status}")

    def prepare_data(self, data: Mapping[str, Any], argv: list[str]) -> list[str]:
        """Lay out the run's data inputs and output folders; ``argv`` with their paths."""
        log("preparing the run's data")
        try:
            self.prepared = job_io.prepare(
                self.workspace, self.run_id, data, job_io.data_folder(self.workdir)
            )
        except UserErrorException as problem:
            raise DataPreparationError(
                f"The run's data inputs could not be prepared: {problem}"
            ) from problem
        self.add_properties(job_io.input_lineage(data))
        return self.prepared.substitute(argv)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        """Record write-once properties of the run (data lineage)."""
        if properties:
            lifecycle.write(self.store, AddProperties(self.run_id, dict(properties)))

    def publish_outputs(self) -> dict[str, Any] | None:
        """Upload the run's data outputs; the error of a failed upload, else None."""
        record = self.record()
        data = record.definition.get("data") or {}
        if self.prepared is None or not data.get("outputs"):
            return None
        try:
            published = job_io.publish(self.workspace, self.run_id, data, self.prepared)
        except UserErrorException as problem:
            log(f"could not upload the data outputs: {problem}")
            return error_dict(
                f"The run's data outputs could not be uploaded: {problem}", "OutputUploadFailed"
            )
        self.add_properties(job_io.output_lineage(published))
        log(f"uploaded {len(published)} data output(s)")
        return None

    def _popen(self, argv: list[str], env: dict[str, str], driver_log: Path) -> None:
        log(f"starting {argv!r} in {self.workdir}")
        with open(driver_log, "ab", buffering=0) as output:
            try:
                self.process = subprocess.Popen(
                    argv,
                    cwd=self.workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                output.write(f"Could not start {argv[0]}: {error}\n".encode())
                raise JobStartError(f"The job could not be started: {error}") from error

    def watch(self) -> int:
        """Wait for the job to end, acting on cancel requests and the time limit."""
        assert self.process is not None
        limit = float(self.record().definition.get("maxRunDurationSeconds") or 0) or None
        started = time.monotonic()
        last_check = last_sync = 0.0
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.process.wait(timeout=POLL_S)  # returns as soon as the job ends
            now = time.monotonic()
            if now - last_sync >= SYNC_S:  # the growing log, for readers on other machines
                last_sync = now
                self.sync_files()
            if self.cancel_reason is None and now - last_check >= STATUS_CHECK_S:
                last_check = now
                if self.terminated:
                    self.request_stop("the supervisor received SIGTERM")
                elif self.record().status == RunStatus.CANCEL_REQUESTED:
                    self.request_stop("cancel requested")
                elif limit is not None and now - started > limit:
                    self.request_stop(f"exceeded max_run_duration_seconds={limit:g}")

    def sync_files(self) -> None:
        """Push what the job and this process wrote into the run's folder (object storage)."""
        try:
            self.workspace.artifacts.sync_run(self.run_id)
        except Exception as error:  # a later push carries it; the run goes on
            log(f"could not push the run's files: {error!r}")

    def request_stop(self, reason: str) -> None:
        """Stop the whole process tree: SIGTERM, then SIGKILL after the grace period."""
        assert self.process is not None
        self.cancel_reason = reason
        grace = cancel_grace()
        log(f"stopping the job ({reason}); SIGKILL after {grace:g} s")
        tree = _process_tree(self.process.pid)
        _signal_group(self.process.pid, signal.SIGTERM)
        for process in tree:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _, alive = psutil.wait_procs(tree, timeout=grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=max(0.0, grace))
        if self.process.poll() is None or alive:
            log("the job did not stop in time: SIGKILL")
            _signal_group(self.process.pid, signal.SIGKILL)
            for process in alive:
                with contextlib.suppress(psutil.Error):
                    process.kill()

    def finalize(self, code: int) -> None:
        """Upload outputs, then write the final status with the right error."""
        lifecycle.write(self.store, lifecycle.finalizing_op(self.run_id))
        log(f"status {self.record().status}")
        outputs = self.workdir / "outputs"
        if outputs.is_dir():
            try:
                names, sources = self.files.folder_listing("outputs", outputs)
                self.files.upload_many(names, sources, overwrite=True)
                log(f"uploaded {len(names)} output file(s)")
            except Exception as error:
                log(f"could not upload outputs: {error!r}")
        compact_quietly(self.store, self.run_id)  # the job is gone: no more points come
        self.sync_files()  # the whole log is in the run's files before its final status
        end = time.time()
        recorded = self.record().error
        if self.cancel_reason == "cancel requested":
            self.end(RunStatus.CANCELED, at=end)
        elif self.cancel_reason is not None:
            stopped = error_dict(f"The run was stopped: {self.cancel_reason}.", "RunStopped")
            self.end(RunStatus.FAILED, stopped, at=end)
        elif code == 0 and not recorded:
            upload_error = self.publish_outputs()
            if upload_error is None:
                self.end(RunStatus.COMPLETED, at=end)
            else:
                self.end(RunStatus.FAILED, upload_error, at=time.time())
        else:
            failed = dict(recorded) if recorded else self.failure(code)
            self.end(RunStatus.FAILED, failed, at=end)

    def failure(self, code: int) -> dict[str, Any]:
        """The error of a job that exited with ``code`` (negative: killed by a signal)."""
        details = _read_error_file(self.error_file)
        if details is not None and details["type"] != "SystemExit":
            error = error_dict(f"{details['message']}", "UserError")
            kind = details["type"]
            error["error"]["message"] = f"User program failed with {kind}: {details['message']}"
            error["error"]["debugInfo"] = {
                "type": kind,
                "message": details["message"],
                "stackTrace": details["traceback"],
            }
            return error
        if code < 0:
            name = _signal_name(-code)
            if -code == signal.SIGKILL:
                return error_dict(
                    f"process lost: the job was killed by {name} before it finished (killed "
                    "from outside, or out of memory). Metrics flushed before that and the log "
                    "are kept.",
                    "ProcessLost",
                )
            return error_dict(f"The job was terminated by {name}.", "ProcessTerminated")
        tail = _tail(self.files.root / DRIVER_LOG, 20)
        return error_dict(
            f"The job exited with code {code}."
            + (f" Last lines of its log:\n{tail}" if tail else ""),
            "ScriptExitCode",
        )

    def cleanup(self) -> None:
        """Remove the working folder (outputs are uploaded, the snapshot is kept)."""
        if os.environ.get(ENV_KEEP_WORKDIR, "") not in ("", "0"):
            return
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(job_io.data_folder(self.workdir), ignore_errors=True)
        with contextlib.suppress(OSError):
            self.error_file.unlink()

    def run(self) -> None:
        """Do it all; any unexpected error ends the run Failed instead of leaving it.

        Also runs inside a Dask worker's thread (one run per task): SIGTERM is then the
        worker's to handle, and the run's owner is the worker process.
        """
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            self.wait_for_node()
            if not self.adopt():
                return
            interpreter = self.prepare_environment()
            if interpreter is None:
                return
            self.start_job(interpreter)
            self.finalize(self.watch())
        except EnvironmentPreparationError as problem:
            log(str(problem))
            self.end(
                RunStatus.FAILED,
                error_dict(f"{problem} The build log is in {BUILD_LOG}.", "EnvironmentBuildFailed"),
            )
        except JobStartError as problem:
            log(str(problem))
            self.end(RunStatus.FAILED, error_dict(str(problem), "JobStartFailed"))
        except DataPreparationError as problem:
            log(str(problem))
            self.end(RunStatus.FAILED, error_dict(str(problem), "DataPreparationFailed"))
        except BaseException as problem:
            log(f"supervisor error: {problem!r}")
            if self.process is not None and self.process.poll() is None:
                self.request_stop("the supervisor failed")
            self.end(
                RunStatus.FAILED,
                error_dict(f"The run's supervisor failed: {problem!r}", "SupervisorError"),
            )
            raise
        finally:
            RUNTIME.flusher.flush()
            self.sync_files()
            self.cleanup()

    def _on_sigterm(self, signum: int, frame: object) -> None:
        self.terminated = True


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _read_error_file(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "type" not in data:
        return None
    return {k: str(data.get(k, "")) for k in ("type", "message", "traceback")}


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def main(argv: list[str]) -> int:
    """Entry point: ``supervisor WORKSPACE RUN_ID``."""
    if len(argv) != 2:
        print("usage: python -m run_widgets.submit.supervisor WORKSPACE RUN_ID", file=sys.stderr)
        return 2
    faulthandler.enable()  # a crash leaves its traceback in the control log
    workspace = Workspace.for_child_process(argv[0])
    Supervisor(workspace, argv[1]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
