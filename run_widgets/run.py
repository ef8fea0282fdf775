"""``Run``: one execution of training code, with the Azure ML SDK v1 API.

A ``Run`` object is a thin handle on a run kept in the workspace's tracking store and folder
(``Run(experiment, run_id)`` reopens it from any process), and a façade: each method is the
method of one of the run's parts in :mod:`run_widgets.tracking` (``delegate``), so this
module only says which part does what. :func:`create_run` and :func:`attach_run` (not v1
API) make run objects for the layers above (submit, sweep, the run context).

Layer: API façade (above ``workspace``, below ``experiment``; imports ``tracking``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from .runtime import REGISTRY
from .store import RunRecord
from .tracking import links
from .tracking.children import RunChildren, RunType, create_record, new_run_id
from .tracking.core import RunCore, find_record
from .tracking.details import run_html, run_repr
from .tracking.facade import delegate, record_field
from .tracking.files import SNAPSHOT_PROPERTY, RunFileOps
from .tracking.labels import RunLabels
from .tracking.logger import RunLogger
from .tracking.metrics import RunMetrics
from .tracking.status import RunStatusControl, close_on_exit
from .tracking.wait import wait_for_completion
from .workspace import ExperimentHandle as ExperimentRef
from .workspace import Workspace


class Run:
    """A run of an experiment: metrics, tags, properties, files, children and status.

    ``Run(experiment, run_id)`` reopens an existing run (from any process); new runs come
    from ``experiment.start_logging()``, ``experiment.submit(config)``, ``run.child_run()``
    or ``Run.get_context()`` inside a submitted script.

    Args:
        experiment: the run's experiment.
        run_id: the run's id.
        outputs: accepted for v1 code; ignored (a reopened run's files are in the store).

    Raises:
        RunNotFoundError: no run ``run_id`` in ``experiment``.
    """

    def __init__(
        self, experiment: ExperimentRef, run_id: str, outputs: Any = None, **kwargs: Any
    ) -> None:
        store, folder = experiment.workspace.store, experiment.workspace.folder
        self._setup(experiment, find_record(store, run_id, str(folder), experiment.name))

    def _setup(
        self, experiment: ExperimentRef, record: RunRecord, launcher_owned: bool = False
    ) -> None:
        self._experiment = experiment
        workspace = experiment.workspace
        self._core = core = RunCore(workspace.store, workspace.artifacts, record)
        self._logger = RunLogger(core)
        self._labels = RunLabels(core)
        self._files = RunFileOps(core, self._labels, workspace.folder)
        self._metrics = RunMetrics(core)
        self._children = RunChildren(core, experiment.name, partial(attach_run, experiment))
        self._status = RunStatusControl(core, self._files, launcher_owned=launcher_owned)

    @staticmethod
    def get(workspace: Workspace, run_id: str) -> Run:
        """Reopen a run by id, whatever its experiment."""
        record = find_record(workspace.store, run_id, str(workspace.folder))
        experiment = REGISTRY.experiment_class.require()(workspace, record.experiment_name)
        return attach_run(experiment, record, cls=run_class(record.run_type))

    @classmethod
    def get_context(cls, allow_offline: bool = True, offline: bool = False, **kwargs: Any) -> Run:
        """The run this code executes in.

        Inside a script started by ``experiment.submit`` this is the submitted run (the
        same object on every call). Elsewhere, so that no metric is thrown away, it is a run
        recorded in the configured workspace, in an experiment named after the script; one
        line on stderr says where. ``offline=True`` (or ``RUN_WIDGETS_OFFLINE=1``) gives an
        offline run instead, which prints what it is given as v1 did.

        Args:
            allow_offline: False raises outside a submitted run (v1's error) instead of
                giving a run.
            offline: outside a submitted run, give v1's offline run (prints, stores nothing).

        Returns:
            The ``Run`` (an offline run when asked for).

        Raises:
            RunEnvironmentException: not in a submitted run and ``allow_offline=False``.
        """
        return links.get_context(cls, allow_offline, offline)

    list = staticmethod(links.list_runs)

    # ------------------------------------------------------------------------ identity --
    id = record_field(lambda r: r.id, "The run id.")
    number = record_field(lambda r: r.number, "The run's number in its experiment (1, 2, ...).")
    type = record_field(
        lambda r: r.run_type,
        "``interactive`` (start_logging, child_run), ``scriptrun`` or ``hyperdrive``.",
    )
    name = record_field(
        lambda r: r.display_name or r.id, "The display name, or the id (deprecated in v1)."
    )
    status = record_field(
        lambda r: r.status, "The status as last read (``get_status()`` reads it again)."
    )
    tags = record_field(
        lambda r: dict(r.tags), "The tags as last read (``get_tags()`` reads them again)."
    )
    properties = record_field(
        lambda r: dict(r.properties),
        "The properties as last read (``get_properties()`` reads them again).",
    )

    @property
    def experiment(self) -> ExperimentRef:
        """The experiment the run belongs to."""
        return self._experiment

    @property
    def display_name(self) -> str | None:
        """A human name for the run; settable."""
        return self._core.record.display_name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._labels.set_display_name(value)

    @property
    def description(self) -> str | None:
        """A free-text description; settable."""
        return self._core.record.description

    @description.setter
    def description(self, value: str) -> None:
        self._labels.set_description(value)

    @property
    def parent(self) -> Run | None:
        """The parent run, or ``None`` for a top-level run."""
        parent_id = self._core.record.parent_id
        record = self._core.store.get_run(parent_id) if parent_id is not None else None
        return None if record is None else attach_run(self._experiment, record)

    @property
    def workspace(self) -> Workspace:
        """The workspace holding the run."""
        return self._experiment.workspace

    @property
    def files_dir(self) -> Path:
        """The folder holding the run's files."""
        return self._files.root

    # ---------------------------------------------------------- the run's parts (tracking) --
    tag = delegate("_labels", RunLabels.tag)
    set_tags = delegate("_labels", RunLabels.set_tags)
    get_tags = delegate("_labels", RunLabels.get_tags)
    remove_tags = delegate("_labels", RunLabels.remove_tags)
    add_properties = delegate("_labels", RunLabels.add_properties)
    get_properties = delegate("_labels", RunLabels.get_properties)

    log = delegate("_logger", RunLogger.log)
    log_list = delegate("_logger", RunLogger.log_list)
    log_row = delegate("_logger", RunLogger.log_row)
    log_table = delegate("_logger", RunLogger.log_table)
    log_image = delegate("_logger", RunLogger.log_image)
    log_confusion_matrix = delegate("_logger", RunLogger.log_confusion_matrix)
    log_accuracy_table = delegate("_logger", RunLogger.log_accuracy_table)
    log_residuals = delegate("_logger", RunLogger.log_residuals)
    log_predictions = delegate("_logger", RunLogger.log_predictions)

    upload_file = delegate("_files", RunFileOps.upload_file)
    upload_files = delegate("_files", RunFileOps.upload_files)
    upload_folder = delegate("_files", RunFileOps.upload_folder)
    get_file_names = delegate("_files", RunFileOps.get_file_names)
    get_file_path = delegate("_files", RunFileOps.get_file_path)
    download_file = delegate("_files", RunFileOps.download_file)
    download_files = delegate("_files", RunFileOps.download_files)
    get_all_logs = delegate("_files", RunFileOps.get_all_logs)
    take_snapshot = delegate("_files", RunFileOps.take_snapshot)
    get_snapshot_id = delegate("_files", RunFileOps.get_snapshot_id)
    restore_snapshot = delegate("_files", RunFileOps.restore_snapshot)

    child_run = delegate("_children", RunChildren["Run"].child_run)
    create_children = delegate("_children", RunChildren["Run"].create_children)
    get_children = delegate("_children", RunChildren["Run"].get_children)

    flush = delegate("_metrics", RunMetrics.flush)
    get_metrics = delegate("_metrics", RunMetrics.get_metrics)
    get_metric_history = delegate("_metrics", RunMetrics.get_metric_history)
    get_metrics_dataframe = delegate("_metrics", RunMetrics.get_metrics_dataframe)

    start = delegate("_status", RunStatusControl.start)
    complete = delegate("_status", RunStatusControl.complete)
    fail = delegate("_status", RunStatusControl.fail)
    cancel = delegate("_status", RunStatusControl.cancel)
    get_status = delegate("_status", RunStatusControl.get_status)
    get_detailed_status = delegate("_status", RunStatusControl.get_detailed_status)
    get_details = delegate("_status", RunStatusControl.get_details)
    get_details_with_logs = delegate("_status", RunStatusControl.get_details_with_logs)
    wait_for_completion = wait_for_completion

    submit_child = links.submit_child
    register_model = links.register_model
    get_environment = links.get_environment
    get_portal_url = links.get_portal_url
    input_datasets = property(links.input_datasets)

    # -------------------------------------------------------------------------- display --
    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: Any, value: BaseException | None, traceback: Any) -> None:
        close_on_exit(self, value)

    def __repr__(self) -> str:
        return run_repr(self._core.record)

    def _repr_html_(self) -> str:
        return run_html(self._core.record)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Run) and other.id == self.id and other._core.store is self._core.store
        )

    def __hash__(self) -> int:
        return hash(self.id)


def run_class(run_type: str | None = None) -> type[Run]:
    """The class that reopens runs of ``run_type`` (v1's rehydration of e.g. sweeps)."""
    cls = REGISTRY.run_types.get(run_type) if run_type is not None else None
    return cls if cls is not None and issubclass(cls, Run) else Run


def attach_run(
    experiment: ExperimentRef,
    record: RunRecord,
    *,
    cls: type[Run] = Run,
    owned: bool = False,
    outputs_dir: Path | None = None,
    executes: bool = False,
    launcher_owned: bool = False,
) -> Run:
    """The ``cls`` object of an existing run's ``record`` (the layers above use it).

    Args:
        owned: this process runs the run: it is ended at exit and answers cancel requests.
        outputs_dir: with ``owned``, the folder uploaded as the run's ``outputs/`` at its end.
        executes: this process executes the run's current attempt (a job): what it writes
            carries that attempt, so a retry's data is never mixed with a lost attempt's.
        launcher_owned: the run of a submitted script in its own process: its supervisor
            writes its status (``complete()`` only flushes, ``fail()`` records the error).
    """
    run = cls.__new__(cls)
    run._setup(experiment, record, launcher_owned=launcher_owned)
    if executes:
        run._core.execute_attempt()
    if owned:
        run._status.take_ownership(run, outputs_dir)
    return run


def create_run(
    experiment: ExperimentRef,
    *,
    cls: type[Run] = Run,
    owned: bool = True,
    record_owner: bool | None = None,
    outputs_dir: Path | None = None,
    **fields: Any,
) -> Run:
    """Record a new run (``fields``: see ``lifecycle.create_op``) and return its ``cls`` object.

    ``run_id`` defaults to a new one, ``run_type`` to interactive, ``status`` to Running.
    ``record_owner`` (default: ``owned``) records this process as the owner in the store: a
    launcher records itself until its supervisor takes the run over.
    """
    owner = owned if record_owner is None else record_owner
    record = create_record(experiment.workspace.store, experiment.name, owner, **fields)
    return attach_run(experiment, record, cls=cls, owned=owned, outputs_dir=outputs_dir)


REGISTRY.run_class.register(Run)

__all__ = ["SNAPSHOT_PROPERTY", "Run", "RunType", "attach_run", "create_run", "new_run_id"]
