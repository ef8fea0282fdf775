"""The sweep driver does not depend on the concrete executor.

A tiny in-process ``TrialExecutor`` (threads instead of processes) drives ``SweepDriver``
in the test process: the driver's scheduling, concurrency limit, early termination,
cancel handling and final status work the same as with the script and loky executors —
which is what a future distributed executor relies on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from submit_helpers import wait_until

from run_widgets import Experiment, Run
from run_widgets.exceptions import RunStateError
from run_widgets.run import RunType, create_run
from run_widgets.store import RunStatus
from run_widgets.sweep import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    TrialExecutor,
    choice,
)
from run_widgets.sweep.driver import SweepDriver
from run_widgets.sweep.executor import child_labels, child_run_id

Trial = Callable[[Mapping[str, Any], Run], None]


class ThreadExecutor(TrialExecutor):
    """Runs each trial in a thread of this process: the smallest possible executor."""

    def __init__(self, experiment: Experiment, trial: Trial, max_workers: int) -> None:
        self.experiment = experiment
        self.trial = trial
        self.max_workers = max_workers
        self.launched: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.closed = False
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.active = 0
        self.most_active = 0

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        tags, properties = child_labels(params)
        run = create_run(
            self.experiment,
            run_id=child_run_id(parent.id, index),
            status=RunStatus.RUNNING,
            run_type=RunType.INTERACTIVE,
            parent_id=parent.id,
            tags=tags,
            properties=properties,
            owned=True,
        )
        self.launched.append(dict(params))
        thread = threading.Thread(target=self._run, args=(run, params), daemon=True)
        self.threads.append(thread)
        thread.start()
        return run.id

    def _run(self, run: Run, params: Mapping[str, Any]) -> None:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            self.trial({k.lstrip("-"): v for k, v in params.items()}, run)
        except RunStateError:
            pass  # cancelled
        except Exception as error:
            run.fail(error)
        else:
            run.complete()
        finally:
            with self._lock:
                self.active -= 1

    def cancel(self, experiment: Experiment, run_id: str) -> None:
        self.cancelled.append(run_id)
        super().cancel(experiment, run_id)  # owned here: Canceled at once

    def close(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)
        self.closed = True


def start_parent(exp: Experiment, config: HyperDriveConfig, run_id: str) -> HyperDriveRun:
    """A sweep parent as ``submit`` would store it, without starting a driver process."""
    run = create_run(
        exp,
        run_id=run_id,
        status=RunStatus.QUEUED,
        run_type=RunType.SWEEP,
        definition={"target": "local", "sweep": config.sweep_settings()},
        tags={"max_concurrent_jobs": str(config.max_concurrent_runs)},
        owned=False,
        record_owner=False,
    )
    return HyperDriveRun(exp, run.id)


def driver_with(exp: Experiment, parent: Run, executor: TrialExecutor) -> SweepDriver:
    driver = SweepDriver(exp.workspace, parent.id)
    driver.executor = lambda: executor  # type: ignore[method-assign]
    return driver


def config_for(
    policy: Any = None, values: tuple[float, ...] = (1.0, 1.1, 1.2, 9.0)
) -> HyperDriveConfig:
    return HyperDriveConfig(
        function=lambda params, run: None,  # not used: the executor decides what runs
        hyperparameter_sampling=GridParameterSampling({"--level": choice(*values)}),
        primary_metric_name="loss",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=2,
        policy=policy,
    )


def steps(n: int, pause: float = 0.02) -> Trial:
    def trial(params: Mapping[str, Any], run: Run) -> None:
        for step in range(n):
            run.log("loss", params["level"] + 1 / (step + 1))
            run.flush()
            time.sleep(pause)

    return trial


def test_driver_with_a_fake_executor(exp: Experiment) -> None:
    config = config_for()
    parent = start_parent(exp, config, "HD_fake_1")
    executor = ThreadExecutor(exp, steps(5), max_workers=config.max_concurrent_runs)
    driver_with(exp, parent, executor).run()
    assert parent.get_status() == "Completed"
    assert executor.closed
    assert executor.launched == [{"--level": v} for v in (1.0, 1.1, 1.2, 9.0)]  # grid order
    assert 1 <= executor.most_active <= 2
    children = {c.id: c for c in parent.get_children()}
    assert len(children) == 4 and all(c.get_status() == "Completed" for c in children.values())
    best = parent.get_best_run_by_primary_metric()
    assert best is not None and best.id == "HD_fake_1_0"
    tags = parent.get_tags()
    assert tags["best_child_run_id"] == "HD_fake_1_0"
    assert float(tags["best_metric"]) == pytest.approx(1.0 + 1 / 5)


def test_driver_applies_the_policy_through_the_executor(exp: Experiment) -> None:
    config = config_for(BanditPolicy(slack_amount=2.0, delay_evaluation=2), values=(1.0, 9.0))
    parent = start_parent(exp, config, "HD_fake_2")
    executor = ThreadExecutor(exp, steps(60, pause=0.03), max_workers=2)
    driver_with(exp, parent, executor).run()
    assert parent.get_status() == "Completed"
    assert executor.cancelled == ["HD_fake_2_1"]
    bad = Run.get(exp.workspace, "HD_fake_2_1")
    assert bad.get_status() == "Canceled" and bad.get_tags()["early_terminated"] == "True"
    assert len(bad.get_metrics()["loss"]) < 60
    assert Run.get(exp.workspace, "HD_fake_2_0").get_status() == "Completed"


def test_driver_cancel_through_the_executor(exp: Experiment) -> None:
    parent = start_parent(exp, config_for(), "HD_fake_3")
    executor = ThreadExecutor(exp, steps(2000, pause=0.01), max_workers=2)
    driver = driver_with(exp, parent, executor)
    thread = threading.Thread(target=driver.run, daemon=True)
    thread.start()
    wait_until(lambda: len(executor.launched) == 2 and executor.active == 2, timeout=10)
    parent.cancel()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert parent.get_status() == "Canceled"
    assert len(executor.launched) == 2  # nothing new after the cancel
    assert [c.get_status() for c in parent.get_children()] == ["Canceled", "Canceled"]
    assert executor.closed


def test_driver_all_failed_and_cancel_before_start(exp: Experiment) -> None:
    def broken(params: Mapping[str, Any], run: Run) -> None:
        raise RuntimeError("broken")

    parent = start_parent(exp, config_for(), "HD_fake_4")
    driver_with(exp, parent, ThreadExecutor(exp, broken, 2)).run()
    assert parent.get_status() == "Failed"
    assert parent.get_details()["error"]["error"]["code"] == "AllChildrenFailed"

    early = start_parent(exp, config_for(), "HD_fake_5")
    early.cancel()  # still Queued: the driver must not start anything
    executor = ThreadExecutor(exp, steps(1), 2)
    driver_with(exp, early, executor).run()
    assert early.get_status() == "Canceled"
    assert executor.launched == []


class FlakyLauncher(ThreadExecutor):
    """Cannot start index 1 (after creating its child) nor index 2 (before)."""

    def launch(self, parent: Run, params: Mapping[str, Any], index: int) -> str:
        if index == 2:
            raise OSError("no such interpreter")
        if index == 1:
            create_run(
                self.experiment,
                run_id=child_run_id(parent.id, index),
                status=RunStatus.QUEUED,
                parent_id=parent.id,
                owned=False,
                record_owner=True,
            )
            raise OSError("the supervisor could not start")
        return super().launch(parent, params, index)


def test_a_child_that_cannot_start_fails_and_the_sweep_goes_on(exp: Experiment) -> None:
    parent = start_parent(exp, config_for(), "HD_fake_6")
    driver_with(exp, parent, FlakyLauncher(exp, steps(2), 2)).run()
    assert parent.get_status() == "Completed"
    statuses = {c.id: c.get_status() for c in parent.get_children()}
    assert statuses == {
        "HD_fake_6_0": "Completed",
        "HD_fake_6_1": "Failed",  # created, then its start failed: not left Queued
        "HD_fake_6_3": "Completed",
    }
    error = Run.get(exp.workspace, "HD_fake_6_1").get_details()["error"]["error"]
    assert error["code"] == "TrialStartFailed" and "supervisor" in error["message"]


def test_max_duration_stops_the_sweep(exp: Experiment) -> None:
    config = HyperDriveConfig(
        function=lambda params, run: None,
        hyperparameter_sampling=GridParameterSampling({"--level": choice(1.0, 2.0, 3.0)}),
        primary_metric_name="loss",
        primary_metric_goal="minimize",
        max_concurrent_runs=2,
        max_duration_minutes=0.01,  # 0.6 s
    )
    parent = start_parent(exp, config, "HD_fake_7")
    executor = ThreadExecutor(exp, steps(2000, pause=0.01), max_workers=2)
    driver_with(exp, parent, executor).run()
    assert parent.get_status() == "Failed"
    error = parent.get_details()["error"]["error"]
    assert error["code"] == "SweepStopped" and "max_duration_minutes" in error["message"]
    assert [c.get_status() for c in parent.get_children()] == ["Canceled", "Canceled"]
    assert len(executor.launched) == 2
