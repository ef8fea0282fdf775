"""``PipelineRun`` and ``StepRun`` (v1 ``azureml.pipeline.core``): a pipeline's run and its steps'.

A pipeline run (type ``azureml.PipelineRun``, started by ``launch``) has one child run per
step that started, of type ``azureml.StepRun``; a reused step's run is Completed at once
and names the run it reused. Outputs and inputs are read from the steps' lineage
properties (``run_widgets.data.job_io``).

Layer: pipeline.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from ..data.dataset import Dataset
from ..data.datastore import Datastore
from ..data.job_io import INPUT_PROPERTY, OUTPUT_PROPERTY, lineage
from ..exceptions import ActivityFailedException, UserErrorException
from ..run import Run, attach_run
from ..runtime import REGISTRY
from ..store import RunRecord, RunStatus
from ..tracking.wait import wait_for_completion as wait_for_run
from .launch import NODE_PROPERTY, REUSED_PROPERTY
from .published import PublishedPipeline

POLL_S = 0.5


class PortDataReference:
    """Where a step's output lives on a datastore (v1 ``PortDataReference``).

    Attributes:
        datastore_name: the datastore's name.
        path_on_datastore: the folder on it.
        name: the output's name.
    """

    def __init__(
        self, workspace: Any, name: str, datastore_name: str, path_on_datastore: str
    ) -> None:
        self._workspace = workspace
        self.name = name
        self.datastore_name = datastore_name
        self.path_on_datastore = path_on_datastore

    @property
    def datastore(self) -> Datastore:
        """The datastore."""
        return Datastore(self._workspace, self.datastore_name)

    def download(
        self, local_path: str | Path, overwrite: bool = False, show_progress: bool = True
    ) -> str:
        """Copy the output's files below ``local_path`` (keeping the datastore path); the folder."""
        self.datastore.download(
            local_path,
            prefix=self.path_on_datastore,
            overwrite=overwrite,
            show_progress=show_progress,
        )
        return str(Path(local_path) / self.path_on_datastore)

    def as_dataset(self) -> Any:
        """The output's files as a ``FileDataset``."""
        return Dataset.File.from_files((self.datastore, self.path_on_datastore + "/"))

    def __repr__(self) -> str:
        return (
            f"PortDataReference(name={self.name!r}, datastore_name={self.datastore_name!r}, "
            f"path_on_datastore={self.path_on_datastore!r})"
        )


class StepRunOutput:
    """One output of a step run (v1 ``StepRunOutput``)."""

    def __init__(self, reference: PortDataReference) -> None:
        self._reference = reference
        self.name = reference.name

    def get_port_data_reference(self) -> PortDataReference:
        """Where the output lives."""
        return self._reference

    def __repr__(self) -> str:
        return f"StepRunOutput(name={self.name!r})"


class StepRun(Run):
    """The run of one pipeline step (type ``azureml.StepRun``)."""

    @property
    def reused(self) -> bool:
        """Whether the step was not run again but reused an earlier identical run."""
        return REUSED_PROPERTY in self.get_properties()

    @property
    def reused_run_id(self) -> str | None:
        """The id of the earlier run whose results were reused, if any."""
        return self.get_properties().get(REUSED_PROPERTY)

    @property
    def node_id(self) -> str | None:
        """The step's node id in its pipeline's graph."""
        return self.get_properties().get(NODE_PROPERTY)

    def get_outputs(self) -> dict[str, StepRunOutput]:
        """The step's outputs by name (written, or reused)."""
        return {name: StepRunOutput(ref) for name, ref in self._references().items()}

    def get_output(self, name: str) -> StepRunOutput:
        """One output by name."""
        outputs = self.get_outputs()
        if name not in outputs:
            raise UserErrorException(
                f"Step run {self.id} has no output {name!r}; it has {sorted(outputs)}."
            )
        return outputs[name]

    def get_output_data(self, name: str) -> PortDataReference:
        """Where the output ``name`` lives (``.download(path)`` copies it)."""
        return self.get_output(name).get_port_data_reference()

    def _references(self) -> dict[str, PortDataReference]:
        found = lineage(self.get_properties(), OUTPUT_PROPERTY)
        return {
            name: PortDataReference(self.workspace, name, str(o["datastore"]), str(o["path"]))
            for name, o in found.items()
        }

    def get_job_log(self) -> str:
        """The step's output log (its driver log)."""
        names = self.get_file_names()
        for candidate in ("logs/driver_log.txt", "logs/control_log.txt"):
            if candidate in names:
                return Path(self.get_file_path(candidate)).read_text(
                    encoding="utf-8", errors="replace"
                )
        return ""

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """The step's metrics (a reused step's are those of the run it reused, as in v1)."""
        original = self.reused_run_id
        if original:
            return Run.get(self.workspace, original).get_metrics(name, recursive=recursive)
        return super().get_metrics(name, recursive=recursive, run_type=run_type, populate=populate)

    def get_details(self) -> dict[str, Any]:
        """The run's details, with v1's ``inputDatasets`` / ``outputDatasets`` lineage."""
        details = super().get_details()
        properties = details.get("properties", {})
        details["inputDatasets"] = _dataset_lineage(
            self.workspace, lineage(properties, INPUT_PROPERTY), "RunInput"
        )
        details["outputDatasets"] = _dataset_lineage(
            self.workspace, lineage(properties, OUTPUT_PROPERTY), "RunOutput"
        )
        return details


def _dataset_lineage(
    workspace: Any, entries: Mapping[str, Mapping[str, Any]], kind: str
) -> list[dict[str, Any]]:
    result = []
    for name, entry in entries.items():
        dataset = None
        if entry.get("dataset_id"):
            try:
                dataset = Dataset.get_by_id(workspace, str(entry["dataset_id"]))
            except UserErrorException:
                dataset = None
        elif entry.get("datastore"):
            dataset = Dataset.File.from_files(
                (Datastore(workspace, str(entry["datastore"])), str(entry["path"])), validate=False
            )
        mechanism = str(entry.get("mode", "mount")).capitalize()
        result.append(
            {
                "dataset": dataset,
                "consumptionDetails": {"type": kind, "inputName": name, "mechanism": mechanism},
            }
        )
    return result


class PipelineRun(Run):
    """The run of a pipeline: its children are the steps' runs (v1 ``PipelineRun``)."""

    def _step_records(self) -> list[RunRecord]:
        records = self.workspace.store.find_runs(parent_id=self.id)
        return sorted(records, key=lambda r: (r.created_at, r.number))

    def get_steps(self) -> list[StepRun]:
        """The steps' runs, in the order they started."""
        return [_step(self.experiment, record) for record in self._step_records()]

    def find_step_run(self, name: str) -> list[StepRun]:
        """The runs of the steps called ``name`` (a list, as several steps may share it)."""
        return [_step(self.experiment, r) for r in self._step_records() if r.display_name == name]

    def get_graph(self) -> dict[str, Any]:
        """The pipeline's graph as recorded: steps, data nodes, edges."""
        record = self.workspace.store.get_run(self.id)
        spec = dict(record.definition.get("pipeline", {})) if record is not None else {}
        return {"steps": spec.get("steps", []), **spec.get("graph", {})}

    def get_pipeline_parameters(self) -> dict[str, Any]:
        """The parameter values this run was submitted with."""
        record = self.workspace.store.get_run(self.id)
        return dict(record.definition.get("parameter_values", {})) if record is not None else {}

    def cancel(self) -> None:
        """Cancel the pipeline: no new step starts, running steps are cancelled."""
        super().cancel()
        for record in self._step_records():
            if not record.is_terminal and record.status != RunStatus.CANCEL_REQUESTED:
                attach_run(self.experiment, record).cancel()

    def publish_pipeline(
        self,
        name: str,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> Any:
        """Publish the pipeline this run ran (v1 ``PipelineRun.publish_pipeline``)."""
        record = self.workspace.store.get_run(self.id)
        assert record is not None
        definition = dict(record.definition)
        return PublishedPipeline.create(
            self.workspace,
            name,
            description,
            version,
            dict(definition["pipeline"]),
            bool(definition.get("continue_on_step_failure"))
            if continue_on_step_failure is None
            else continue_on_step_failure,
        )

    def wait_for_completion(  # type: ignore[override]  # v1's returns the final status
        self,
        show_output: bool = True,
        timeout_seconds: float = sys.maxsize,
        raise_on_error: bool = True,
        out: TextIO | None = None,
    ) -> str:
        """Wait until the pipeline ends; with ``show_output`` stream each step's log in turn.

        Args:
            show_output: print each step's log as it runs, then a summary (v1).
            timeout_seconds: stop waiting after this long.
            raise_on_error: raise if the pipeline Failed.
            out: where to print (default: ``sys.stdout``).

        Returns:
            The final status.

        Raises:
            ActivityFailedException: the pipeline Failed and ``raise_on_error`` is True.
        """
        stream = out or sys.stdout
        deadline = time.monotonic() + float(timeout_seconds)
        if show_output:
            print(f"PipelineRunId: {self.id}", file=stream)
            print(f"Link to Portal: {self.get_portal_url()}", file=stream)
            print(f"PipelineRun Status: {self.get_status()}", file=stream, flush=True)
        followed: set[str] = set()
        while time.monotonic() < deadline:
            status = self.get_status()
            for step in self.get_steps() if show_output else []:
                if step.id in followed or step.get_status() in (
                    RunStatus.QUEUED,
                    RunStatus.NOT_STARTED,
                ):
                    continue
                followed.add(step.id)
                print(
                    f"\n\nStepRunId: {step.id}\nStepRun( {step.name} ) Status: {step.get_status()}",
                    file=stream,
                    flush=True,
                )
                if step.reused:
                    print(
                        f"StepRun( {step.name} ) was reused from run {step.reused_run_id}",
                        file=stream,
                    )
                    continue
                wait_for_run(step, show_output=True, raise_on_error=False, out=stream)
            if status in RunStatus.TERMINAL:
                break
            time.sleep(POLL_S)
        status = self.get_status()
        if show_output:
            print("\nPipelineRun Execution Summary", file=stream)
            print("==============================", file=stream)
            print(f"PipelineRun Status: {status}", file=stream)
            print(json.dumps(_summary(self), indent=4), file=stream, flush=True)
        for hook in REGISTRY.wait_finished.all():
            hook(self.workspace.store.location, self.id)
        if status == RunStatus.FAILED and raise_on_error:
            error = self.get_details().get("error")
            raise ActivityFailedException(
                "Activity Failed:\n" + json.dumps(error, indent=4), self.get_details()
            )
        return status


def _summary(run: PipelineRun) -> dict[str, Any]:
    details = run.get_details()
    return {
        key: details.get(key)
        for key in ("runId", "status", "startTimeUtc", "endTimeUtc", "properties")
    }


def _step(experiment: Any, record: RunRecord) -> StepRun:
    run = attach_run(experiment, record, cls=StepRun)
    assert isinstance(run, StepRun)
    return run
