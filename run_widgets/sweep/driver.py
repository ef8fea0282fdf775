"""The sweep driver: ``python -m run_widgets.sweep.driver WORKSPACE PARENT_RUN_ID``.

It owns the sweep's parent run, in its own process so the notebook kernel can restart:

1. takes the parent over (Queued → Running);
2. keeps up to ``max_concurrent_runs`` children running, drawing parameters from the
   sampler until ``max_total_runs`` children were started; a child that cannot start,
   whose process died, or whose trial was lost ends Failed and the sweep goes on;
3. whenever children report new values of the primary metric, asks the early-termination
   policy about every running child, and stops the ones it condemns (tag
   ``early_terminated``);
4. on a cancel request (or ``max_duration_minutes``, or the parent ended by another
   process) stops launching and cancels every running child; on SIGTERM it cancels them
   too, then ends the parent Failed;
5. ends the parent: Canceled if cancelled, Failed if every child failed, else Completed,
   with the best child recorded in the tags ``best_child_run_id`` / ``best_metric``.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from ..run import attach_run
from ..runtime.exit_hooks import Terminated
from ..store import RunRecord, RunStatus
from ..submit.driver_process import ParentRunDriver, driver_main, log
from ..submit.executors import executor_for
from ..tracking import lifecycle
from ..tracking.details import error_dict
from ..workspace import Workspace
from .executor import FunctionExecutor, ModuleFunctionExecutor, ScriptExecutor, TrialExecutor
from .policy import policy_from_json
from .results import best_value, primary_metric_config
from .space import sampling_from_json
from .trial import FUNCTION_FILE

POLL_S = 0.25


class SweepDriver(ParentRunDriver):
    """Runs one sweep to its end (see the module docstring)."""

    def __init__(self, workspace: Workspace, parent_id: str) -> None:
        super().__init__(workspace, parent_id, "sweep run")
        record = self.parent_record
        self.definition: dict[str, Any] = dict(record.definition)
        self.settings: dict[str, Any] = dict(record.definition["sweep"])
        self.metric, self.goal = primary_metric_config(record)
        self.policy = policy_from_json(self.settings.get("policy"))
        self.histories: dict[str, list[float]] = {}
        self._chunk_cursors: dict[str, int] = {}
        self._fully_read: set[str] = set()
        self._terminated: set[str] = set()

    def executor(self) -> TrialExecutor:
        """The executor for this sweep's kind, on its compute target."""
        workers = int(self.settings["max_concurrent_runs"])
        definition = self.definition
        runner = executor_for(self.workspace, definition.get("compute"))
        if self.settings["kind"] == "function":
            cwd = definition.get("function_cwd")
            if not runner.detached:  # a cluster: one process per trial, on its workers
                return ModuleFunctionExecutor(self.experiment, workers, runner, cwd=cwd)
            return FunctionExecutor(
                self.experiment,
                self.parent.files_dir / FUNCTION_FILE,
                workers,
                cwd=cwd,
                compute=definition.get("compute"),
            )
        return ScriptExecutor(
            self.experiment,
            definition["script"],
            self.parent.properties["ContentSnapshotId"],
            workers,
            runner,
        )

    # ------------------------------------------------------------------------ loop --
    def run(self) -> None:
        """Drive the sweep to its end."""
        if not self.adopt():
            log("not starting: the sweep was cancelled")
            return
        executor = self.executor()
        sampling = sampling_from_json(self.settings["sampling"])
        samples = enumerate(sampling.samples(int(self.settings["max_total_runs"])))
        deadline = time.monotonic() + 60 * float(self.settings["max_duration_minutes"])
        exhausted = False
        try:
            while True:
                self.check_parent()
                if self.cancel_reason is None and time.monotonic() > deadline:
                    self.cancel_reason = "max_duration_minutes reached"
                lost = executor.check()
                if lost is not None and self.cancel_reason is None:
                    log(f"stopping: {lost}")
                    self.cancel_reason = lost
                children = self.children()
                running = [c for c in children if not c.is_terminal]
                if self.cancel_reason is not None:
                    for child in running:
                        if child.status != RunStatus.CANCEL_REQUESTED:
                            executor.cancel(self.experiment, child.id)
                    if not running:
                        break
                else:
                    self.apply_policy(executor, children)
                    while not exhausted and len(running) < executor.max_workers:
                        if self.cancel_requested():
                            break  # checked again just before each launch
                        item = next(samples, None)
                        if item is None:
                            exhausted = True
                            break
                        index, params = item
                        started = self.launch(executor, index, params)
                        if started is not None and not started.is_terminal:
                            running.append(started)
                    if exhausted and not running:
                        break
                executor.pause(POLL_S)
        except Terminated:
            log("SIGTERM: cancelling the running children")
            self.cancel_children(lambda run_id: executor.cancel(self.experiment, run_id))
            raise
        finally:
            executor.close()
        self.finish()

    def launch(
        self, executor: TrialExecutor, index: int, params: dict[str, Any]
    ) -> RunRecord | None:
        """Start one child; a child that cannot start ends Failed and the sweep goes on."""
        known = {c.id for c in self.store.find_runs(parent_id=self.parent.id)}
        try:
            run_id = executor.launch(self.parent, params, index)
        except Exception as error:
            log(f"could not start child {index} with {params}: {error!r}")
            for child in self.store.find_runs(parent_id=self.parent.id):
                if child.id not in known and not child.is_terminal:
                    lifecycle.mark_failed(
                        self.store, child.id, f"could not start: {error}", "TrialStartFailed"
                    )
            return None
        log(f"started child {run_id} with {params}")
        return self.store.get_run(run_id)

    def read_histories(self, children: list[RunRecord]) -> set[str]:
        """Read the new primary-metric values of every child; the ids that got some.

        A child that ended is read once more after its end, then never again.
        """
        updated = set()
        for child in children:
            if child.id in self._fully_read:
                continue
            chunks = self.store.read_chunks(
                child.id, after_chunk_id=self._chunk_cursors.get(child.id, 0), names=[self.metric]
            )
            history = self.histories.setdefault(child.id, [])
            for chunk in chunks:
                self._chunk_cursors[child.id] = chunk.id
                fresh = chunk.since(len(history))  # a compacted chunk may repeat points
                if fresh is None:
                    continue
                values = fresh.values.tolist() if hasattr(fresh.values, "tolist") else fresh.values
                history.extend(
                    float(v) if isinstance(v, (int, float)) else math.nan for v in values
                )
            if chunks:
                updated.add(child.id)
            if child.is_terminal:
                self._fully_read.add(child.id)
        return updated

    def apply_policy(self, executor: TrialExecutor, children: list[RunRecord]) -> None:
        """Stop the running children the early-termination policy condemns.

        Whenever new values arrived, every running child is judged (at the latest
        evaluation point it reached that others reached too: see ``policy``) against the
        histories of every child, finished ones included.
        """
        if self.policy.name in ("NoTermination", "Default"):
            return
        if not self.read_histories(children):
            return
        finished = {c.id for c in children if c.is_terminal}
        for child in children:
            if child.status != RunStatus.RUNNING or child.id in self._terminated:
                continue
            if self.policy.should_terminate(self.goal, self.histories, child.id, finished=finished):
                reported = len(self.histories.get(child.id, ()))
                log(f"early termination of {child.id} after {reported} values ({self.policy.name})")
                self._terminated.add(child.id)
                attach_run(self.experiment, child).tag("early_terminated", "True")
                executor.cancel(self.experiment, child.id)

    def finish(self) -> None:
        """Write the parent's final status and its best child."""
        children = self.children()
        best = best_value(self.store, children, self.metric, self.goal)
        tags = {}
        if best is not None:
            tags = {"best_child_run_id": best[0], "best_metric": repr(best[1])}
            self.parent.set_tags(tags)
        failed = [c for c in children if c.status == RunStatus.FAILED]
        failure = None
        if children and len(failed) == len(children):
            message = f"All {len(children)} child runs failed; see their logs."
            failure = error_dict(message, "AllChildrenFailed")
        status, error = self.ending("sweep", "SweepStopped", failure)
        lifecycle.mark_ended(self.store, self.parent.id, status, error, from_statuses=None)
        log(f"sweep ended: {len(children)} children, {len(failed)} failed, best {tags}")


def main(argv: list[str]) -> int:
    """Entry point: ``driver WORKSPACE PARENT_RUN_ID``."""
    return driver_main(
        argv,
        "run_widgets.sweep.driver",
        lambda workspace, run_id: SweepDriver(workspace, run_id).run,
        "The sweep driver was stopped (SIGTERM); its running children were cancelled.",
        "SweepDriverError",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
