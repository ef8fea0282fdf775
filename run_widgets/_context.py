"""``Run.get_context()``: the run objects behind it (the environment side is in ``runtime.context``).

Inside a script started by ``experiment.submit`` the context run is that run, and its
status belongs to the supervisor: ``complete()`` only flushes, ``fail()`` records the error
for the supervisor to report (``attach_run(..., launcher_owned=True)``).

Outside a job v1 returned an "offline" run that printed metrics and dropped them. Here the
default keeps them: a run is recorded in the configured workspace, and one line on stderr
says where. The offline behaviour is still there when asked for (:class:`OfflineRun`).

The context run is made once per process and kept in ``RUNTIME.context``.

Layer: above the API façades (it makes ``Experiment`` and ``Workspace`` objects and
subclasses ``Run``); it registers the ``Run.get_context`` provider.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import uuid
from typing import Any

from .exceptions import RunEnvironmentException
from .experiment import Experiment
from .run import Run, attach_run, create_run
from .runtime import REGISTRY, RUNTIME
from .runtime import context as environment
from .workspace import Workspace

NO_CONTEXT_MESSAGE = (
    "Could not load a submitted run, if outside of an execution context, use "
    "experiment.start_logging to initialize a run_widgets.Run."
)


def get_context(allow_offline: bool = True, offline: bool = False) -> Run:
    """See ``Run.get_context``."""

    def make(kept: Run | None) -> Run:
        if kept is not None and not (offline and not isinstance(kept, OfflineRun)):
            return kept
        job = environment.submitted_job()
        if job is not None:
            return _submitted_run(job)
        if offline or environment.offline_requested():
            return OfflineRun.create()
        if not allow_offline:
            raise RunEnvironmentException(NO_CONTEXT_MESSAGE)
        return _local_run()

    run: Run = RUNTIME.context.get(make)
    return run


def _submitted_run(job: environment.SubmittedJob) -> Run:
    workspace = Workspace.for_child_process(job.workspace_folder)
    experiment = Experiment(workspace, job.experiment_name)
    record = workspace.store.get_run(job.run_id)
    if record is None:
        raise RunEnvironmentException(
            f"The submitted run {job.run_id} is not in {workspace.folder}."
        )
    run = attach_run(experiment, record, executes=True, launcher_owned=True)
    atexit.register(_flush_quietly)
    return run


def _flush_quietly() -> None:
    try:
        RUNTIME.flusher.flush()
    except Exception as error:
        print(f"run_widgets: could not save the last metrics: {error!r}", file=sys.stderr)


def _local_run() -> Run:
    workspace = Workspace.from_config()
    experiment = Experiment(workspace, environment.experiment_name())
    run = experiment.start_logging(snapshot_directory=None, outputs=False)
    print(
        f"run_widgets: not inside a submitted run; logging to run {run.id} of experiment "
        f"{experiment.name!r} in workspace {workspace.folder}",
        file=sys.stderr,
    )
    return run


class OfflineRun(Run):
    """A run that prints what it is given, as v1's ``_OfflineRun`` did.

    It also keeps everything in a throwaway workspace, so reads (``get_metrics``...) work.
    """

    @classmethod
    def create(cls) -> OfflineRun:
        """A new offline run in a temporary workspace deleted at exit."""
        folder = tempfile.mkdtemp(prefix="run_widgets_offline_")
        atexit.register(shutil.rmtree, folder, True)
        experiment = Experiment(Workspace(folder), "offline")
        offline = create_run(experiment, cls=cls, run_id=f"OfflineRun_{uuid.uuid4()}")
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
    """Forget the cached context run (tests)."""
    RUNTIME.context.reset()


REGISTRY.context_provider.register(get_context)
