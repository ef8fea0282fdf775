"""``Experiment``: a named group of runs in a workspace (v1 API).

Layer: API façade, the highest of the three (``workspace`` → ``run`` → ``experiment``): it
makes runs (``start_logging``) and reopens them (``get_runs``, with the run class registered
for each run type); ``submit`` hands configs to the submit functions the layers above
registered (``runtime.REGISTRY.submitters``).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import ExperimentExecutionException, ExperimentNotFoundError
from .run import SNAPSHOT_PROPERTY, Run, attach_run, create_run, run_class
from .runtime import REGISTRY, RUNTIME
from .store import TagFilter
from .tracking import values as _values
from .tracking.children import outputs_dir
from .tracking.reaper import reap_lost
from .tracking.run_table import runs_frame
from .workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

Submitter = Callable[..., Run]


def register_submit_function(config_type: type, submit: Submitter) -> None:
    """Teach ``Experiment.submit`` a config type (ScriptRunConfig, HyperDriveConfig...).

    ``submit(experiment, config, parent=..., **options)`` must return the new run at once
    (the registry's ``submitters`` table); ``options`` are the keyword arguments of
    ``experiment.submit`` besides ``tags``.
    """
    REGISTRY.submitters.register(config_type, submit)


class Experiment:
    """A named group of runs; created on first use (get-or-create, as in v1).

    Args:
        workspace: the workspace holding it.
        name: 1–255 characters, alphanumeric first, then letters, digits, ``-`` or ``_``.
    """

    def __init__(self, workspace: Workspace, name: str, **kwargs: Any) -> None:
        if not isinstance(workspace, Workspace):
            raise ExperimentExecutionException(
                f"workspace must be a run_widgets Workspace, not {type(workspace).__name__}."
            )
        self._workspace = workspace
        self._name = _values.validate_experiment_name(name)
        self._record = workspace.store.ensure_experiment(self._name)

    @property
    def name(self) -> str:
        """The experiment name."""
        return self._name

    @property
    def id(self) -> int:
        """The experiment's id in its workspace."""
        return self._record.id

    @property
    def workspace(self) -> Workspace:
        """The workspace holding the experiment."""
        return self._workspace

    @staticmethod
    def list(
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: str = "ActiveOnly",
        tags: Any = None,
    ) -> list[Experiment]:
        """Experiments of a workspace, oldest first (only ``experiment_name`` if given)."""
        records = workspace.store.list_experiments()
        if experiment_name is not None:
            records = [r for r in records if r.name == experiment_name]
        return [Experiment(workspace, r.name) for r in records]

    @staticmethod
    def get(workspace: Workspace, name: str) -> Experiment:
        """An existing experiment; unlike the constructor, never creates one."""
        if workspace.store.get_experiment(name) is None:
            raise ExperimentNotFoundError(
                f"No experiment {name!r} in workspace {workspace.folder}; it has "
                f"{[r.name for r in workspace.store.list_experiments()]}."
            )
        return Experiment(workspace, name)

    # -------------------------------------------------------------------------- runs --
    def start_logging(
        self,
        *args: Any,
        outputs: Any = None,
        snapshot_directory: str | os.PathLike[str] | None = ".",
        display_name: str | None = None,
        description: str | None = None,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start an interactive run (status Running) in this process.

        Args:
            outputs: folder uploaded to the run's ``outputs/`` on complete: ``None``/True
                means ``./outputs`` (created now), False none, a path that folder.
            snapshot_directory: folder zipped into the run's snapshot; ``None`` skips it.
            display_name: a human name for the run.
            description: free text.
            run_id: an explicit id (default: a new uuid).
            tags: tags to set at creation.

        Returns:
            The new ``Run``, Running (also a context manager: ``with ... as run:``
            completes it, or fails it on an exception).

        Raises:
            SnapshotException: the snapshot is over the limits (see ``_snapshot``).
        """
        snapshot = None
        if snapshot_directory is not None:
            snapshot = self._workspace.artifacts.take_snapshot(
                Path(os.fspath(snapshot_directory)),
                exclude=(self._workspace.folder,),
                hint=" Pass snapshot_directory=None to start_logging to skip taking a snapshot "
                "of the given directory.",
            )
        clean_tags = {
            _values.tag_key(k): _values.tag_value(v, str(k)) for k, v in (tags or {}).items()
        }
        properties = {SNAPSHOT_PROPERTY: snapshot.snapshot_id} if snapshot else {}
        if display_name is not None and not isinstance(display_name, str):
            raise ExperimentExecutionException("display_name must be a str.")
        return create_run(
            self,
            run_id=run_id,
            display_name=display_name,
            description=description,
            tags=clean_tags,
            properties=properties,
            definition={"target": "local", "source": "start_logging", "cwd": str(Path.cwd())},
            outputs_dir=outputs_dir(outputs),
        )

    def submit(self, config: Any, tags: Mapping[str, Any] | None = None, **kwargs: Any) -> Run:
        """Submit a config; return its run at once.

        Args:
            config: a ``ScriptRunConfig``, ``HyperDriveConfig``, ``Pipeline``,
                ``PublishedPipeline`` or ``PipelineEndpoint``.
            tags: tags of the new run.

        Keyword arguments are what the config's kind takes, e.g. ``pipeline_parameters=``
        and ``continue_on_step_failure=`` for a pipeline.

        Returns:
            The new run (a ``PipelineRun`` for a pipeline, a ``HyperDriveRun`` for a sweep).
        """
        options = {k: v for k, v in kwargs.items() if k != "_parent_run"}
        for config_type, submit in REGISTRY.submitters.items():
            if isinstance(config, config_type):
                run: Run = submit(self, config, parent=kwargs.get("_parent_run"), **options)
                if tags:
                    run.set_tags(dict(tags))
                return run
        raise ExperimentExecutionException(
            f"Method to be submitted has not been registered: cannot submit a "
            f"{type(config).__name__}. Submit a ScriptRunConfig, a HyperDriveConfig or a "
            "Pipeline."
        )

    def get_runs(
        self,
        type: str | None = None,
        tags: TagFilter = None,
        properties: TagFilter = None,
        include_children: bool = False,
        status: str | None = None,
    ) -> Iterator[Run]:
        """Runs of the experiment, newest first; top-level only unless ``include_children``.

        Args:
            type: ``interactive``, ``scriptrun`` or ``hyperdrive``.
            tags: a tag name (the run has it) or a dict (the run has each with that value).
            properties: like ``tags``, for properties.
            include_children: also child runs.
            status: only runs with this status.

        Returns:
            An iterator of ``Run`` objects (a sweep's parent is a ``HyperDriveRun``).
        """
        records = self._workspace.store.find_runs(
            experiment_id=self.id,
            top_level_only=not include_children,
            run_type=type,
            status=status,
            tags=tags,
            properties=properties,
        )
        records = reap_lost(self._workspace.store, records)
        return (attach_run(self, record, cls=run_class(record.run_type)) for record in records)

    def get_runs_dataframe(self, include_children: bool = False) -> pd.DataFrame:
        """One row per run: id, number, status, times, tags, properties, metrics.

        Scalar metrics appear as ``metric.<name>`` columns holding their last value.
        """
        RUNTIME.flusher.flush()  # what this process logged is what it reads
        store = self._workspace.store
        records = store.find_runs(experiment_id=self.id, top_level_only=not include_children)
        return runs_frame(store, reap_lost(store, records))

    def get_portal_url(self) -> str:
        """``file://`` URL of the experiment's folder in the workspace."""
        return self._workspace.folder.as_uri()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Experiment)
            and other._name == self._name
            and other._workspace == self._workspace
        )

    def __hash__(self) -> int:
        return hash((self._name, self._workspace.folder))

    def __repr__(self) -> str:
        return f"Experiment(Name: {self._name},\nWorkspace: {self._workspace.name})"

    def _repr_html_(self) -> str:
        return (
            "<table><tr><th>Name</th><th>Workspace</th></tr>"
            f"<tr><td>{html.escape(self._name)}</td>"
            f"<td>{html.escape(self._workspace.name)}</td></tr></table>"
        )


REGISTRY.experiment_class.register(Experiment)
