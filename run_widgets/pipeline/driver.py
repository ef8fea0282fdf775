"""The pipeline driver: ``python -m run_widgets.pipeline.driver WORKSPACE PIPELINE_RUN_ID``.

It owns a pipeline run, in its own process so the notebook kernel can restart:

1. takes the run over (Queued → Running);
2. starts every step whose upstream steps have Completed, in dependency order; steps that
   do not depend on each other run at the same time, at most ``max_nodes`` at once per
   compute target (this machine's CPU count for local steps; a Dask cluster schedules
   its own). Before a step starts its inputs are resolved (upstream outputs, parameter
   values) and its reuse key computed: with ``allow_reuse`` an earlier Completed run with
   the same key is reused instead (the step's run is Completed at once, marked reused);
3. a step that fails (or is cancelled) fails the pipeline: its downstream steps never
   start; without ``continue_on_step_failure`` the other running steps are cancelled and
   nothing new starts, with it the independent branches go on;
4. on a cancel request (or SIGTERM) cancels the running steps;
5. ends the run: Canceled if cancelled, Failed if a step failed, else Completed.

Each step is a script run (a child of type ``azureml.StepRun``) executed by its compute
target's executor, exactly as ``experiment.submit(ScriptRunConfig)`` runs one.

Layer: pipeline.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..data.job_io import OUTPUT_PROPERTY, input_lineage, lineage
from ..exceptions import UserErrorException
from ..run import SNAPSHOT_PROPERTY, Run, create_run
from ..runtime.exit_hooks import Terminated
from ..store import RunRecord, RunStatus
from ..store.object_artifacts import SYNC_S
from ..submit.driver_process import ParentRunDriver, driver_main, log
from ..submit.executors import RunExecutor, executor_for
from ..submit.launcher import workdir_of
from ..tracking import lifecycle
from ..tracking.details import error_dict
from ..workspace import Workspace
from . import parameters as params_module
from . import reuse
from .launch import NODE_PROPERTY, REUSE_KEY_PROPERTY, REUSED_PROPERTY, STEP_RUN, STEP_TYPE_PROPERTY

POLL_S = 0.25


class PipelineDriver(ParentRunDriver):
    """Runs one pipeline to its end (see the module docstring)."""

    def __init__(self, workspace: Workspace, run_id: str) -> None:
        super().__init__(workspace, run_id, "pipeline run")
        definition = dict(self.parent_record.definition)
        self.spec: dict[str, Any] = dict(definition["pipeline"])
        self.values: dict[str, Any] = dict(definition.get("parameter_values", {}))
        self.keep_going = bool(definition.get("continue_on_step_failure"))
        self.regenerate = bool(definition.get("regenerate_outputs"))
        self.steps: dict[str, dict[str, Any]] = {s["id"]: s for s in self.spec["steps"]}
        self.step_runs: dict[str, str] = {}  # node id → step run id
        self.outputs: dict[str, dict[str, Any]] = {}  # data name → where it was written
        self.executors: dict[str, RunExecutor] = {}
        self.finished: set[str] = set()
        self.failed: list[str] = []
        self._last_sync = 0.0

    # ---------------------------------------------------------------------- loop --
    def drive(self) -> None:
        """Run the pipeline to its end."""
        if not self.adopt():
            log("not starting: the pipeline run was cancelled")
            return
        try:
            while True:
                self.check_parent()
                for executor in self.executors.values():
                    lost = executor.check()
                    if lost is not None and self.cancel_reason is None:
                        self.cancel_reason = lost
                children = {c.id: c for c in self.children()}
                running = self.collect(children)
                if self.cancel_reason is not None or (self.failed and not self.keep_going):
                    for run_id in running:
                        self.cancel_step(run_id)
                    if not running:
                        break
                else:
                    launched = self.launch_ready(running)
                    if not running and not launched:
                        break
                self.pause()
        except Terminated:
            log("SIGTERM: cancelling the running steps")
            self.cancel_children(self.cancel_step)
            raise
        finally:
            for executor in self.executors.values():
                executor.close()
        self.finish()

    def collect(self, children: Mapping[str, RunRecord]) -> list[str]:
        """Take in what ended since the last round; the ids of step runs still going."""
        running = []
        for node, run_id in self.step_runs.items():
            record = children.get(run_id)
            if record is None:
                continue
            if not record.is_terminal:
                running.append(run_id)
                continue
            if node in self.finished:
                continue
            self.finished.add(node)
            if record.status == RunStatus.COMPLETED:
                for name, output in lineage(record.properties, OUTPUT_PROPERTY).items():
                    self.outputs[name] = output
                log(f"step {self.steps[node]['name']!r} completed")
            else:
                self.failed.append(node)
                log(f"step {self.steps[node]['name']!r} ended {record.status}")
        return running

    def launch_ready(self, running: list[str]) -> int:
        """Start every step whose upstream steps completed, within the targets' limits."""
        busy: dict[str, int] = {}
        for node, run_id in self.step_runs.items():
            if run_id in running:
                key = _target_key(self.steps[node])
                busy[key] = busy.get(key, 0) + 1
        launched = 0
        blocked = set(self.failed)
        for node, step in self.steps.items():  # the spec lists steps in dependency order
            if node in self.step_runs:
                continue
            if any(up in blocked or up not in self.finished for up in step["after"]):
                if any(up in blocked for up in step["after"]):
                    blocked.add(node)  # downstream of a failure: never starts
                continue
            key = _target_key(step)
            limit = _target_limit(step)
            if limit is not None and busy.get(key, 0) >= limit:
                continue
            if self.cancel_requested():
                break
            self.launch(node, step)
            launched += 1
            busy[key] = busy.get(key, 0) + 1
        return launched

    # -------------------------------------------------------------------- launch --
    def launch(self, node: str, step: Mapping[str, Any]) -> None:
        """Resolve a step's inputs and start it (or reuse an earlier identical run)."""
        try:
            inputs = [self.resolve_input(entry) for entry in step["inputs"]]
            arguments = [params_module.substitute(a, self.values) for a in step["arguments"]]
            definition = self.step_definition(step, arguments, inputs)
            prints = {
                e["name"]: reuse.input_fingerprint(self.workspace, e, self.outputs) for e in inputs
            }
            key = reuse.reuse_key(step, arguments, definition["environment"], prints)
        except UserErrorException as error:
            self.fail_unstarted(node, step, f"The step could not be prepared: {error}")
            return
        properties = {
            NODE_PROPERTY: node,
            REUSE_KEY_PROPERTY: key,
            STEP_TYPE_PROPERTY: str(step["kind"]),
            SNAPSHOT_PROPERTY: str(step["snapshot"]),
        }
        if step["allow_reuse"] and not self.regenerate:
            earlier = reuse.reusable_run(self.workspace, self.store, key)
            if earlier is not None:
                self.reuse(node, step, definition, properties, earlier)
                return
        run_id = str(uuid.uuid4())
        workdir = workdir_of(self.workspace.folder, run_id)
        self.workspace.artifacts.restore_snapshot(str(step["snapshot"]), workdir)
        create_run(
            self.experiment,
            run_id=run_id,
            status=RunStatus.QUEUED,
            run_type=STEP_RUN,
            parent_id=self.parent.id,
            display_name=str(step["name"]),
            definition=definition,
            properties=properties,
            owned=False,
            record_owner=True,
        )
        self.step_runs[node] = run_id
        log(f"starting step {step['name']!r} as run {run_id}")
        self.executor(step).start(run_id)

    def resolve_input(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A step input as ``job_io`` lays it out: upstream outputs and parameters resolved."""
        kind = entry["kind"]
        resolved = {k: v for k, v in entry.items()}
        if kind == "pipeline_data":
            output = self.outputs.get(entry["data"])
            if output is None:
                raise UserErrorException(
                    f"the output {entry['data']!r} of an upstream step is missing"
                )
            resolved.update(
                kind="datapath",
                datastore=output["datastore"],
                path=f"{output['path']}/",
                fingerprint=output.get("fingerprint"),
            )
        elif kind == "datapath_parameter":
            value = self.values[entry["parameter"]]
            if not isinstance(value, dict) or value.get("kind") != "datapath":
                raise UserErrorException(
                    f"parameter {entry['parameter']!r} must hold a DataPath, not {value!r:.60}"
                )
            resolved.update(kind="datapath", datastore=value["datastore"], path=value["path"])
        elif kind == "dataset_parameter":
            value = self.values[entry["parameter"]]
            if not isinstance(value, dict) or value.get("kind") != "dataset":
                raise UserErrorException(
                    f"parameter {entry['parameter']!r} must hold a Dataset, not {value!r:.60}"
                )
            resolved.update(
                kind="dataset", dataset_id=value["dataset_id"], definition=value["definition"]
            )
        resolved.pop("parameter", None)
        resolved.pop("data", None)
        return resolved

    def step_definition(
        self, step: Mapping[str, Any], arguments: list[str], inputs: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The script-run definition of a step about to start."""
        definition: dict[str, Any] = json.loads(json.dumps(step["definition"]))
        definition["arguments"] = arguments
        definition["data"] = {"inputs": inputs, "outputs": [dict(o) for o in step["outputs"]]}
        environment = definition["environment"]
        variables = dict(environment.get("environmentVariables") or {})
        for name, value in step.get("params", {}).items():
            variables[f"AML_PARAMETER_{name}"] = params_module.substitute(str(value), self.values)
        environment["environmentVariables"] = variables
        definition["pipelineStep"] = {"node": step["id"], "pipelineRunId": self.parent.id}
        return definition

    def reuse(
        self,
        node: str,
        step: Mapping[str, Any],
        definition: dict[str, Any],
        properties: dict[str, str],
        earlier: RunRecord,
    ) -> None:
        """Record a reused step run, Completed at once, pointing at the run it reuses."""
        original = earlier.properties.get(REUSED_PROPERTY) or earlier.id
        copied = {k: v for k, v in earlier.properties.items() if k.startswith(OUTPUT_PROPERTY)}
        copied.update(input_lineage(definition.get("data") or {}))
        run_id = str(uuid.uuid4())
        create_run(
            self.experiment,
            run_id=run_id,
            status=RunStatus.RUNNING,
            run_type=STEP_RUN,
            parent_id=self.parent.id,
            display_name=str(step["name"]),
            definition=definition,
            properties={**properties, **copied, REUSED_PROPERTY: original},
            owned=False,
            record_owner=True,
        )
        lifecycle.mark_ended(self.store, run_id, RunStatus.COMPLETED, None, from_statuses=None)
        self.step_runs[node] = run_id
        log(f"step {step['name']!r} reused run {original}")

    def fail_unstarted(self, node: str, step: Mapping[str, Any], message: str) -> None:
        """Record a step that could not start as a Failed step run."""
        run_id = str(uuid.uuid4())
        create_run(
            self.experiment,
            run_id=run_id,
            status=RunStatus.RUNNING,
            run_type=STEP_RUN,
            parent_id=self.parent.id,
            display_name=str(step["name"]),
            properties={NODE_PROPERTY: node, STEP_TYPE_PROPERTY: str(step["kind"])},
            owned=False,
            record_owner=True,
        )
        lifecycle.mark_ended(
            self.store,
            run_id,
            RunStatus.FAILED,
            error_dict(message, "StepPreparationFailed"),
            from_statuses=None,
        )
        self.step_runs[node] = run_id
        log(f"step {step['name']!r} could not start: {message}")

    def executor(self, step: Mapping[str, Any]) -> RunExecutor:
        """The executor of a step's compute target (one per target, kept while driving)."""
        key = _target_key(step)
        if key not in self.executors:
            self.executors[key] = executor_for(self.workspace, step["definition"].get("compute"))
        return self.executors[key]

    def cancel_step(self, run_id: str) -> None:
        """Ask a running step to stop; withdraw it from its target if it has not started."""
        record = self.store.get_run(run_id)
        if record is None or record.is_terminal or record.status == RunStatus.CANCEL_REQUESTED:
            return
        Run(self.experiment, run_id).cancel()
        for node, step_run in self.step_runs.items():
            if step_run == run_id:
                self.executor(self.steps[node]).cancel(run_id)

    def sync_log(self) -> None:
        """Push the pipeline run's control log (object storage), at most every SYNC_S."""
        now = time.monotonic()
        if now - self._last_sync >= SYNC_S:
            self._last_sync = now
            with contextlib.suppress(Exception):  # a later push carries it
                self.workspace.artifacts.sync_run(self.parent.id)

    def pause(self) -> None:
        """Wait a little (less if a cluster reports a step's end)."""
        self.sync_log()
        if self.executors:
            next(iter(self.executors.values())).pause(POLL_S)
        else:
            time.sleep(POLL_S)

    # --------------------------------------------------------------------- finish --
    def finish(self) -> None:
        """Write the pipeline run's final status."""
        children = self.children()
        failed = [c for c in children if c.status == RunStatus.FAILED]
        canceled = [c for c in children if c.status == RunStatus.CANCELED]
        never = [s["name"] for n, s in self.steps.items() if n not in self.step_runs]
        failure = _steps_failure([*failed, *canceled], never)
        status, error = self.ending("pipeline", "PipelineStopped", failure)
        log(f"pipeline ended {status}: {len(children)} step run(s), {len(failed)} failed")
        self._last_sync = 0.0
        self.sync_log()
        lifecycle.mark_ended(self.store, self.parent.id, status, error, from_statuses=None)


def _steps_failure(unfinished: list[RunRecord], never: list[str]) -> dict[str, Any] | None:
    """The pipeline's error when steps failed or were cancelled, or never started."""
    if not unfinished and not never:
        return None
    names = ", ".join(repr(c.display_name) for c in unfinished)
    message = f"Step(s) {names} did not complete"
    if never:
        message += f"; not started: {', '.join(repr(n) for n in never)}"
    return error_dict(message + ". See the steps' logs.", "StepFailed")


def _target_key(step: Mapping[str, Any]) -> str:
    compute = step["definition"].get("compute")
    return str(compute["name"]) if compute else "local"


def _target_limit(step: Mapping[str, Any]) -> int | None:
    """Steps of a target running at once: ``max_nodes``, local CPUs, or the cluster's say."""
    compute = step["definition"].get("compute")
    if not compute:
        return os.cpu_count() or 1
    properties = compute.get("properties", {})
    if "maxNodes" in properties:
        return int(properties["maxNodes"])
    return None


def main(argv: list[str]) -> int:
    """Entry point: ``driver WORKSPACE RUN_ID``."""
    return driver_main(
        argv,
        "run_widgets.pipeline.driver",
        lambda workspace, run_id: PipelineDriver(workspace, run_id).drive,
        "The pipeline driver was stopped (SIGTERM); its running steps were cancelled.",
        "PipelineDriverError",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
