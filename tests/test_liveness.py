"""Liveness: who is judged dead, and a step of the wall clock never kills a live owner.

The intermittent ``ProcessLost`` of issue 19 (a local sweep's parent marked lost while its
driver ran) came from a step of the wall clock: psutil computes a Linux process's start as
its start since boot plus the boot time the kernel reports *now*, which a step moves, so a
live owner looked like a newer process reusing its pid. A step is simulated here the way
the kernel shows it to psutil (``/proc/stat`` btime moves), in this process only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from run_widgets import Experiment, Run
from run_widgets.runtime import RUNTIME, liveness
from run_widgets.runtime.host import boot_epoch, local_host, process_started_at
from run_widgets.store import RunStatus
from run_widgets.tracking import lifecycle
from run_widgets.views.reader import run_reader
from run_widgets.views.tracker import RunTracker

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="psutil derives process starts from btime on Linux"
)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def step_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``step_clock(s)``: this process now sees the wall clock stepped by ``s`` seconds."""
    from psutil import _pslinux

    boot_epoch()  # recorded before the step, as by the first process of the boot
    reported = _pslinux.boot_time

    def step(seconds: float) -> None:
        monkeypatch.setattr(_pslinux, "boot_time", lambda: reported() + seconds)

    return step


def exited_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@linux_only
@pytest.mark.parametrize("seconds", [1.0, 30.0, 57_600.0, -3_600.0])
def test_a_live_owner_stays_alive_when_the_wall_clock_is_stepped(
    exp: Experiment, step_clock: Callable[[float], None], seconds: float
) -> None:
    store = exp.workspace.store
    owner = store.get_owners([RUNTIME.flusher.owner_id(store)]).popitem()[1]
    before = psutil.Process().create_time()
    step_clock(seconds)
    assert psutil.Process().create_time() == pytest.approx(before + seconds)  # psutil moved
    assert process_started_at(psutil.Process()) == pytest.approx(owner.pid_started_at)
    assert liveness.owner_alive(owner)


@linux_only
def test_a_run_whose_process_lives_through_a_clock_step_stays_running(
    exp: Experiment, step_clock: Callable[[float], None]
) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    step_clock(30.0)
    assert Run(exp, run.id).get_status() == RunStatus.RUNNING  # the reader reaps first
    assert [r.status for r in exp.get_runs()] == [RunStatus.RUNNING]
    run.complete()


def test_an_owner_whose_process_ended_is_dead(exp: Experiment) -> None:
    store = exp.workspace.store
    owner_id = store.register_owner(local_host(), exited_pid(), time.time())
    assert liveness.dead_owners(store, [owner_id]).keys() == {owner_id}


@pytest.mark.parametrize("offset", [-5.0, 3.0, 0.5 - 7.0])
def test_a_pid_now_running_another_process_is_dead(exp: Experiment, offset: float) -> None:
    """The owner's pid was reused: the process there started at another time."""
    store = exp.workspace.store
    started = process_started_at(psutil.Process())
    owner_id = store.register_owner(local_host(), os.getpid(), started + offset)
    assert liveness.dead_owners(store, [owner_id]).keys() == {owner_id}


def test_an_owner_on_another_host_is_judged_by_its_heartbeat(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = exp.workspace.store
    owner_id = store.register_owner("another-host", 4242, time.time())
    (owner,) = store.get_owners([owner_id]).values()
    timeout = liveness.heartbeat_timeout()
    assert liveness.owner_alive(owner, now=owner.heartbeat_at + timeout - 1)
    assert not liveness.owner_alive(owner, now=owner.heartbeat_at + timeout + 1)
    # This process's wall clock jumped forward 100 s (a VM resumed from a pause): the
    # heartbeat is not 100 s older for that.
    monkeypatch.setattr(liveness, "_WALL_MINUS_MONOTONIC", liveness._WALL_MINUS_MONOTONIC - 100)
    assert liveness.clock_jump() == pytest.approx(100, abs=1)
    assert liveness.owner_alive(owner, now=owner.heartbeat_at + timeout + 50)


def test_every_judgement_can_be_logged(
    exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "liveness.jsonl"
    monkeypatch.setenv(liveness.ENV_DECISION_LOG, str(log))
    store = exp.workspace.store
    dead = store.register_owner(local_host(), exited_pid(), time.time())
    alive = RUNTIME.flusher.owner_id(store)
    liveness.dead_owners(store, [dead, alive])
    entries = {e["owner"]: e for e in map(json.loads, log.read_text().splitlines())}
    assert entries[dead]["alive"] is False and entries[dead]["error"] == "NoSuchProcess"
    assert entries[alive]["alive"] is True and entries[alive]["pid"] == os.getpid()
    assert entries[alive]["judge_pid"] == os.getpid()


def test_the_reader_only_reads_and_the_tracker_reaps(exp: Experiment) -> None:
    store = exp.workspace.store
    owner = store.register_owner(local_host(), exited_pid(), 0.0)
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    orphan = run.child_run("orphan")
    orphan_id = orphan.id
    store.write([lifecycle.owner_op(orphan_id, owner)])
    reader = run_reader(orphan)
    seq = store.current_seq()
    assert reader.run() is not None and reader.run().status == RunStatus.RUNNING  # type: ignore[union-attr]
    assert store.current_seq() == seq  # reading wrote nothing
    tracker = RunTracker(reader)  # its liveness check ends the run before the first read
    assert tracker.record.status == RunStatus.FAILED
    assert "process lost" in str(tracker.record.error)
    run.complete()


@linux_only
@pytest.mark.slow
def test_a_local_sweep_survives_a_clock_step_while_it_runs(tmp_path: Path) -> None:
    """The stress benchmark's smoke run: bench_dask's local sweep, a 30 s step mid-sweep."""
    log = tmp_path / "verdicts.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "stress_sweep_liveness.py"),
            "--repeats=1",
            "--trials=8",
            "--clock-step=30",
            "--step-at=2",
            f"--log={log}",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = [json.loads(line) for line in log.read_text().splitlines()]
    assert verdicts and all(v["alive"] for v in verdicts)
    assert any(v.get("create_time") != v.get("started") for v in verdicts if "started" in v)
