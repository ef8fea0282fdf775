"""``Run.get_context()``: the submitted run inside a job, and what to do outside one.

Inside a script started by ``experiment.submit`` the launcher sets ``RUN_WIDGETS_RUN_ID``,
``RUN_WIDGETS_RUN_WORKSPACE`` and ``RUN_WIDGETS_RUN_EXPERIMENT``; the context run is that
run, and its status belongs to the launcher: ``complete()`` only flushes, ``fail()``
records the error for the launcher to report.

Outside a job v1 returned an "offline" run that printed metrics and dropped them. Here the
default keeps them: a run is recorded in the configured workspace, and one line on stderr
says where. The offline behaviour is still there when asked for.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
import warnings
from pathlib import Path
from typing import Any

from . import _attempts, lifecycle
from ._extensions import register_context_provider
from ._runtime import RUNTIME
from .exceptions import RunEnvironmentException, RunWidgetsWarning
from .run import ENV_EXPERIMENT, ENV_OFFLINE, ENV_RUN_ID, ENV_WORKSPACE_DIR, Run, RunType

_lock = threading.Lock()
_context: Run | None = None

NO_CONTEXT_MESSAGE = (
    "Could not load a submitted run, if outside of an execution context, use "
    "experiment.start_logging to initialize a run_widgets.Run."
)


def get_context(allow_offline: bool = True, offline: bool = False) -> Run:
    """See ``Run.get_context``."""
    global _context
    with _lock:
        if _context is not None and not (offline and not isinstance(_context, OfflineRun)):
            return _context
        if os.environ.get(ENV_RUN_ID):
            _context = _submitted_run()
        elif offline or os.environ.get(ENV_OFFLINE, "") not in ("", "0"):
            _context = OfflineRun.create()
        elif not allow_offline:
            raise RunEnvironmentException(NO_CONTEXT_MESSAGE)
        else:
            _context = _local_run()
        return _context


def _submitted_run() -> Run:
    from .experiment import Experiment
    from .workspace import Workspace

    workspace = Workspace.for_child_process(os.environ[ENV_WORKSPACE_DIR])
    experiment = Experiment(workspace, os.environ[ENV_EXPERIMENT])
    record = workspace.store.get_run(os.environ[ENV_RUN_ID])
    if record is None:
        raise RunEnvironmentException(
            f"The submitted run {os.environ[ENV_RUN_ID]} is not in {workspace.folder}."
        )
    run = SubmittedRun._attach(experiment, record)
    run._state.submitted_context = True
    _attempts.fence_logging(run._state.buffer, record)
    atexit.register(_flush_quietly)
    return run


def _flush_quietly() -> None:
    try:
        RUNTIME.flusher.flush()
    except Exception as error:
        print(f"run_widgets: could not save the last metrics: {error!r}", file=sys.stderr)


def _local_run() -> Run:
    from .experiment import Experiment
    from .workspace import Workspace

    workspace = Workspace.from_config()
    experiment = Experiment(workspace, _experiment_name())
    run = experiment.start_logging(snapshot_directory=None, outputs=False)
    print(
        f"run_widgets: not inside a submitted run; logging to run {run.id} of experiment "
        f"{experiment.name!r} in workspace {workspace.folder}",
        file=sys.stderr,
    )
    return run


def _experiment_name() -> str:
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    if not script or script in ("ipykernel_launcher", "-c", "__main__", "pytest"):
        return "interactive"
    name = re.sub(r"[^\w\-]", "-", script, flags=re.ASCII).strip("-_") or "interactive"
    return name if name[0].isalnum() else f"run-{name}"


class SubmittedRun(Run):
    """The context run of a submitted script; the launcher owns its status."""

    def complete(self, _set_status: bool = True) -> None:
        """Flush only: the launcher marks the run Completed when the script exits."""
        self.flush()

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        """Record the error; the launcher marks the run Failed when the script exits."""
        from ._details import error_dict

        error = error_dict(error_details, error_code)
        self.flush()
        self._write(lifecycle.record_error_op(self.id, error))

    def cancel(self) -> None:
        """Cancelling from inside the script is not supported (as in v1)."""
        warnings.warn(
            "cancel is not supported for submitted runs.", RunWidgetsWarning, stacklevel=2
        )


class OfflineRun(Run):
    """A run that prints what it is given, as v1's ``_OfflineRun`` did.

    It also keeps everything in a throwaway workspace, so reads (``get_metrics``...) work.
    """

    @classmethod
    def create(cls) -> OfflineRun:
        """A new offline run in a temporary workspace deleted at exit."""
        from .experiment import Experiment
        from .workspace import Workspace

        folder = tempfile.mkdtemp(prefix="run_widgets_offline_")
        atexit.register(shutil.rmtree, folder, True)
        experiment = Experiment(Workspace(folder), "offline")
        run = Run._create(
            experiment, run_id=f"OfflineRun_{uuid.uuid4()}", run_type=RunType.INTERACTIVE
        )
        offline = cls._attach(experiment, run._record, owned=True)
        assert isinstance(offline, OfflineRun)
        return offline

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Print, then keep the value."""
        print(f"Attempted to log scalar metric {name}:\n{value}")
        super().log(name, value, description, step)

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Print, then keep the values."""
        print(f"Attempted to log list metric {name}:\n{value}")
        super().log_list(name, value, description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Print, then keep the row."""
        print(f"Attempted to log row metric {name}:\n{kwargs}")
        super().log_row(name, description, **kwargs)

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        """Print, then keep the table."""
        print(f"Attempted to log table metric {name}:\n{value}")
        super().log_table(name, value, description)

    def log_image(
        self, name: str, path: Any = None, plot: Any = None, description: str = ""
    ) -> None:
        """Print, then keep the image."""
        print(f"Attempted to log image metric {name}:\n{path if path is not None else plot}")
        super().log_image(name, path, plot, description)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        """Print, then keep the confusion matrix."""
        print(f"Attempted to log confusion_matrix metric {name}:\n{value}")
        super().log_confusion_matrix(name, value, description)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        """Print, then keep the accuracy table."""
        print(f"Attempted to log accuracy_table metric {name}:\n{value}")
        super().log_accuracy_table(name, value, description)

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        """Print, then keep the residuals."""
        print(f"Attempted to log residuals metric {name}:\n{value}")
        super().log_residuals(name, value, description)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        """Print, then keep the predictions."""
        print(f"Attempted to log predictions metric {name}:\n{value}")
        super().log_predictions(name, value, description)

    def upload_files(
        self,
        names: Any,
        paths: Any,
        return_artifacts: bool = False,
        timeout_seconds: float | None = None,
        datastore_name: Any = None,
    ) -> list[str]:
        """Print, then store the files."""
        print(f"Attempted to track files {names} at {paths} with timeout {timeout_seconds}s")
        return super().upload_files(names, paths, return_artifacts, timeout_seconds)

    def upload_folder(self, name: str, path: Any, datastore_name: Any = None) -> list[str]:
        """Print, then store the folder."""
        print(f"Attempted to track folder {name} at {path}")
        return super().upload_folder(name, path)

    def tag(self, key: str, value: Any = None) -> None:
        """Print, then set the tag."""
        print(f"Attempted to add tag {key} with value {value}")
        super().tag(key, value)

    def set_tags(self, tags: Any) -> None:
        """Print, then set the tags."""
        print(f"Attempted to set tags {tags}")
        super().set_tags(tags)

    def add_properties(self, properties: Any) -> None:
        """Print, then add the properties."""
        print(f"Attempted to add properties {properties}")
        super().add_properties(properties)

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: Any = None) -> str:
        """Print, then store the file."""
        print(f"Attempted to track file {name} at {path_or_stream}")
        return super().upload_file(name, path_or_stream)

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        """Print, then mark the run failed."""
        print(f"Run failed with error code {error_code}:\n{error_details}")
        super().fail(error_details, error_code)

    def flush(self, timeout_seconds: float = 300) -> None:
        """Print, then flush."""
        print(f"Attempted to flush run with id {self.id}")
        super().flush(timeout_seconds)

    def __enter__(self) -> Run:
        print(f"[START] Run {self.id} context")
        return self

    def __exit__(self, kind: Any, value: BaseException | None, traceback: Any) -> None:
        print(f"[STOP] Run {self.id} context")
        super().__exit__(kind, value, traceback)


def reset() -> None:
    """Forget the cached context run (tests, and forked children)."""
    global _context
    _context = None


os.register_at_fork(after_in_child=reset)
register_context_provider(get_context)
