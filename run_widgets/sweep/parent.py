"""``HyperDriveRun``: the parent run of a sweep, and ``experiment.submit(HyperDriveConfig)``.

Layer: sweep (registers ``HyperDriveRun`` as the run class of run type ``hyperdrive``).
"""

from __future__ import annotations

import io
import json
import os
import uuid
from typing import TYPE_CHECKING, Any

from ..exceptions import UserErrorException
from ..run import SNAPSHOT_PROPERTY, Run, RunType, attach_run, create_run
from ..runtime import REGISTRY
from ..store import RunRecord, RunStatus
from ..submit import compute as compute_targets
from ..submit.launcher import definition_of, hand_over, start_supervisor
from ..tracking import values as _values
from .config import HyperDriveConfig
from .results import best_values, hyperparameters, primary_metric_config, ranked
from .trial import FUNCTION_FILE

if TYPE_CHECKING:
    from ..experiment import Experiment

MAX_FUNCTION_BYTES = 512 * 1024 * 1024


class HyperDriveRun(Run):
    """The parent run of a sweep: its children are the trials."""

    @property
    def primary_metric(self) -> tuple[str, str]:
        """(name, goal) of the primary metric."""
        record = self.workspace.store.get_run(self.id)
        return primary_metric_config(record) if record is not None else ("", "MINIMIZE")

    def _children_records(self) -> list[RunRecord]:
        return self.workspace.store.find_runs(parent_id=self.id)

    def get_children_sorted_by_primary_metric(
        self, top: int = 0, reverse: bool = False, discard_no_metric: bool = False
    ) -> list[dict[str, Any]]:
        """Children best first (worst first with ``reverse``), as v1 dicts.

        Each item: ``{"run_id", "hyperparameters", "best_primary_metric", "status"}``;
        children without the metric come last (or are left out with ``discard_no_metric``).
        ``top`` > 0 keeps that many.
        """
        self.flush()
        metric, goal = self.primary_metric
        children = {c.id: c for c in self._children_records()}
        values = best_values(self.workspace.store, list(children.values()), metric, goal)
        order = ranked(values, goal)
        if reverse:
            order.reverse()
        if not discard_no_metric:
            order += sorted(
                (i for i in children if i not in values), key=lambda i: children[i].number
            )
        items = [
            {
                "run_id": run_id,
                "hyperparameters": json.dumps(hyperparameters(children[run_id])),
                "best_primary_metric": values.get(run_id),
                "status": children[run_id].status,
            }
            for run_id in order
        ]
        return items[:top] if top > 0 else items

    def get_best_run_by_primary_metric(
        self, include_failed: bool = True, include_canceled: bool = True, **kwargs: Any
    ) -> Run | None:
        """The child with the best primary-metric value (``None`` if none logged it)."""
        for item in self.get_children_sorted_by_primary_metric(discard_no_metric=True):
            status = item["status"]
            if status == RunStatus.FAILED and not include_failed:
                continue
            if status == RunStatus.CANCELED and not include_canceled:
                continue
            return Run(self.experiment, item["run_id"])
        return None

    def get_hyperparameters(self) -> dict[str, str]:
        """``{child run id: its hyperparameters as JSON}``."""
        return {c.id: json.dumps(hyperparameters(c)) for c in self._children_records()}

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """``{child run id: metrics}`` for every child (v1 HyperDriveRun behaviour)."""
        result = super().get_metrics(name, recursive=True, run_type=run_type, populate=populate)
        result.pop(self.id, None)
        return result

    def cancel(self) -> None:
        """Cancel the sweep: no new children, and every running or queued child stops."""
        super().cancel()
        for child in self._children_records():
            if not child.is_terminal and child.status != RunStatus.CANCEL_REQUESTED:
                attach_run(self.experiment, child).cancel()


def submit_sweep(
    experiment: Experiment, config: HyperDriveConfig, parent: Run | None = None, **_options: Any
) -> Run:
    """Create the sweep's parent run (Queued) and start its driver; return it at once."""
    workspace = experiment.workspace
    if config.custom_run_id is not None:
        _values.validate_run_id(config.custom_run_id)
        if workspace.store.get_run(config.custom_run_id) is not None:
            raise UserErrorException(
                f"custom_run_id {config.custom_run_id!r} is already the id of a run."
            )
    settings = config.sweep_settings()
    compute = compute_targets.resolve(workspace, config.compute_target)
    definition: dict[str, Any] = {
        "target": str(compute["name"]) if compute else compute_targets.LOCAL,
        "compute": compute,
        "sweep": settings,
    }
    properties: dict[str, str] = {
        "generator_config": json.dumps(settings["sampling"]),
        "policy_config": json.dumps(settings["policy"]),
    }
    function_bytes = None
    if config.run_config is not None:
        source, _ = config.run_config.validate()
        interpreter = config.run_config.environment.python.resolved_interpreter()
        snapshot = workspace.artifacts.take_snapshot(
            source,
            exclude=(workspace.folder,),
            hint=" Sweeps snapshot the source_directory of their ScriptRunConfig.",
        )
        definition["script"] = definition_of(
            config.run_config, source, interpreter, compute, workspace
        )
        properties[SNAPSHOT_PROPERTY] = snapshot.snapshot_id
    else:
        import cloudpickle

        # The trials run in this directory, as the notebook cell would: relative paths
        # and modules next to the notebook work in the workers too.
        definition["function_cwd"] = os.getcwd()
        try:
            function_bytes = cloudpickle.dumps(config.function)
        except Exception as error:
            raise UserErrorException(
                f"The sweep function cannot be sent to worker processes: {error}"
            ) from error
        if len(function_bytes) > MAX_FUNCTION_BYTES:
            raise UserErrorException(
                f"The sweep function with what it refers to is {len(function_bytes) / 1e6:.0f} MB"
                " once pickled; load large data inside the function instead."
            )
    metric_config = {"name": config.primary_metric_name, "goal": config.primary_metric_goal.value}
    run = create_run(
        experiment,
        cls=HyperDriveRun,
        run_id=config.custom_run_id or f"HD_{uuid.uuid4()}",
        status=RunStatus.QUEUED,
        run_type=RunType.SWEEP,
        parent_id=parent.id if parent is not None else None,
        display_name=f"sweep of {config.primary_metric_name}",
        definition=definition,
        tags={
            "max_concurrent_jobs": str(config.max_concurrent_runs),
            "max_total_jobs": str(config.max_total_runs),
            "primary_metric_config": json.dumps(metric_config),
        },
        properties=properties,
        owned=False,
        record_owner=True,
    )
    if function_bytes is not None:
        run.upload_file(FUNCTION_FILE, io.BytesIO(function_bytes))
    pid = start_supervisor(
        workspace.description(),
        run.id,
        run.files_dir,
        workspace.folder,
        module="run_widgets.sweep.driver",
    )
    hand_over(workspace.store, run.id, pid)
    record = workspace.store.get_run(run.id)  # the status it has now (Queued or beyond)
    return run if record is None else attach_run(experiment, record, cls=HyperDriveRun)


REGISTRY.run_types.register(RunType.SWEEP, HyperDriveRun)
