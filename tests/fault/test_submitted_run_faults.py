"""Stopping submitted runs: cancel, SIGTERM-proof scripts, kill -9 of the job or supervisor,
and the submitting process (a notebook kernel) dying right after ``submit()``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from submit_helpers import (  # noqa: F401 - fixtures
    driver_log,
    fast_env,
    gone,
    no_leftover_processes,
    source_dir,
    submit,
    supervisors,
    wait_for_file,
    wait_terminal,
    wait_until,
)

from run_widgets import Experiment, Run, Workspace

# Writes "<own pid> <grandchild pid>" to argv[1] once it is running, then sleeps.
SLEEPER = """
    import os
    import signal
    import subprocess
    import sys
    import time
    from run_widgets import Run

    if "--ignore-sigterm" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    run = Run.get_context()
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.flush()
    grandchild = subprocess.Popen(["sleep", "120"])
    print("working", flush=True)
    with open(sys.argv[1] + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()} {grandchild.pid}")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(120)
    print("never printed")
"""


def _start_sleeper(exp: Experiment, tmp_path: Path, name: str, *extra: str) -> tuple[Run, int, int]:
    pid_file = tmp_path / f"{name}.pids"
    run = submit(exp, tmp_path, SLEEPER, name=name, arguments=[str(pid_file), *extra])
    job, grandchild = (int(p) for p in wait_for_file(pid_file).split())
    return run, job, grandchild


@pytest.mark.usefixtures("fast_env")
def test_cancel_stops_the_whole_process_tree(exp: Experiment, tmp_path: Path) -> None:
    run, job, grandchild = _start_sleeper(exp, tmp_path, "polite")
    stubborn, stubborn_job, stubborn_grandchild = _start_sleeper(
        exp, tmp_path, "stubborn", "--ignore-sigterm"
    )
    assert run.get_status() == "Running"

    run.cancel()
    assert run.get_status() == "CancelRequested"
    started = time.monotonic()
    stubborn.cancel()
    assert wait_terminal(run, timeout=10) == "Canceled"
    assert wait_until(lambda: gone(job) and gone(grandchild), 5, what="the job tree to end")

    # the script that ignores SIGTERM is SIGKILLed after the grace period (1 s here)
    assert wait_terminal(stubborn, timeout=10) == "Canceled"
    assert time.monotonic() - started >= 0.9
    assert wait_until(lambda: gone(stubborn_job) and gone(stubborn_grandchild), 5)
    control = stubborn.get_file_path("logs/control_log.txt").read_text()
    assert "SIGKILL" in control

    for cancelled in (run, stubborn):
        assert "working" in driver_log(cancelled)
        assert "never printed" not in driver_log(cancelled)
        assert cancelled.get_metrics() == {"loss": [0.5, 0.25]}
        assert "error" not in cancelled.get_details()
        assert cancelled.wait_for_completion()["status"] == "Canceled"  # returns, no raise
    wait_until(lambda: not supervisors(exp.workspace), 10, what="the supervisors to exit")


def test_cancel_before_the_job_starts(exp: Experiment, tmp_path: Path) -> None:
    run = submit(exp, tmp_path, "print('should not run')\n")
    run.cancel()
    assert wait_terminal(run) == "Canceled"
    wait_until(lambda: not supervisors(exp.workspace), 10, what="the supervisor to exit")
    assert "should not run" not in run.get_details_with_logs()["logFiles"].get(
        "logs/driver_log.txt", ""
    )


def test_kill_9_of_the_job_fails_the_run_as_process_lost(exp: Experiment, tmp_path: Path) -> None:
    run, job, grandchild = _start_sleeper(exp, tmp_path, "victim")
    os.kill(job, signal.SIGKILL)
    os.kill(grandchild, signal.SIGKILL)
    assert wait_terminal(run, timeout=10) == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["message"].startswith("process lost")
    assert run.get_metrics() == {"loss": [0.5, 0.25]}  # flushed before the kill
    assert driver_log(run) == "working\n"


def test_kill_9_of_the_supervisor_is_noticed_by_readers_and_the_job_dies(
    exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_WIDGETS_HEARTBEAT_TIMEOUT", "2")
    run, job, grandchild = _start_sleeper(exp, tmp_path, "orphan")
    (supervisor,) = supervisors(exp.workspace)
    supervisor.kill()
    killed = time.monotonic()
    reader = Run(exp, run.id)
    assert wait_terminal(reader, timeout=10) == "Failed"
    # By the heartbeat's age (2 s here), not the default timeout: the bound is loose for a
    # loaded machine, well under the default.
    assert time.monotonic() - killed < 8.0
    assert reader.get_details()["error"]["error"]["message"].startswith("process lost")
    # the orphaned job got SIGTERM from the kernel (PR_SET_PDEATHSIG)
    assert wait_until(lambda: gone(job), 10, what="the orphaned job to end")
    os.kill(grandchild, signal.SIGKILL)  # the script's own child is not ours to reap
    assert run.get_metrics() == {"loss": [0.5, 0.25]}
    assert "working" in driver_log(run)


@pytest.mark.usefixtures("fast_env")
def test_an_orphaned_job_that_ignores_sigterm_is_killed_after_the_grace_period(
    exp: Experiment, tmp_path: Path
) -> None:
    run, job, grandchild = _start_sleeper(exp, tmp_path, "stubborn", "--ignore-sigterm")
    (supervisor,) = supervisors(exp.workspace)
    supervisor.kill()
    assert wait_terminal(run, timeout=10) == "Failed"
    assert wait_until(lambda: gone(job), 10, what="the orphaned job to be killed")
    os.kill(grandchild, signal.SIGKILL)


SUBMITTER = """
import sys
import time
from run_widgets import Experiment, ScriptRunConfig, Workspace

experiment = Experiment(Workspace.from_config(), "test-exp")  # described in the environment
run = experiment.submit(ScriptRunConfig(source_directory=sys.argv[1], script="train.py"))
print(run.id, flush=True)
time.sleep(60)
"""

READER = """
import sys
from run_widgets import Experiment, Run, Workspace

run = Run(Experiment(Workspace.from_config(), "test-exp"), sys.argv[1])
print(run.wait_for_completion()["status"], run.get_metrics()["x"], flush=True)
"""


def test_killing_the_submitting_kernel_does_not_affect_the_run(
    exp: Experiment, ws: Workspace, tmp_path: Path
) -> None:
    folder = source_dir(
        tmp_path,
        {
            "train.py": """
                import time
                from run_widgets import Run

                run = Run.get_context()
                for i in range(3):
                    run.log("x", i)
                    time.sleep(0.2)
                print("finished")
            """
        },
    )
    kernel = subprocess.Popen(
        [sys.executable, "-c", SUBMITTER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **ws.description().environ()},
    )
    assert kernel.stdout is not None
    run_id = kernel.stdout.readline().strip()
    kernel.kill()  # "restart the kernel" right after submit() returned
    kernel.wait()
    kernel.stdout.close()
    run = Run(exp, run_id)
    # read at once and often: the dead submitter must not make the run look lost
    for _ in range(20):
        assert run.get_status() in ("Queued", "Starting", "Running", "Finalizing", "Completed")
        time.sleep(0.02)
    reader = subprocess.run(
        [sys.executable, "-c", READER, run_id],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **ws.description().environ()},
    )
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.split() == ["Completed", "[0,", "1,", "2]"]
    assert run.get_status() == "Completed"
    assert driver_log(run) == "finished\n"


def test_sigterm_to_the_supervisor_stops_the_job_and_fails_the_run(
    exp: Experiment, tmp_path: Path
) -> None:
    run, job, grandchild = _start_sleeper(exp, tmp_path, "shutdown")
    (supervisor,) = supervisors(exp.workspace)
    supervisor.terminate()  # e.g. the machine shuts down
    assert wait_terminal(run, timeout=10) == "Failed"
    message = run.get_details()["error"]["error"]["message"]
    assert "the supervisor received SIGTERM" in message
    assert wait_until(lambda: gone(job) and gone(grandchild), 5)
    assert run.get_metrics() == {"loss": [0.5, 0.25]}


def test_points_logged_until_a_cancel_are_kept(exp: Experiment, tmp_path: Path) -> None:
    """The job flushes on SIGTERM: nothing logged before the cancel is lost."""
    progress = tmp_path / "progress"
    run = submit(
        exp,
        tmp_path,
        """
        import os
        import sys
        from run_widgets import Run

        run = Run.get_context()
        handle = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
        i = 0
        while True:
            run.log("i", i)
            os.pwrite(handle, f"{i:>12}".encode(), 0)  # logged up to i, durably noted
            i += 1
        """,
        arguments=[str(progress)],
    )
    wait_until(lambda: progress.is_file() and int(progress.read_text() or 0) > 1000, 20)
    run.cancel()
    assert wait_terminal(run, timeout=15) == "Canceled"
    last_noted = int(progress.read_text())
    values = run.get_metrics()["i"]
    assert values == list(range(len(values)))
    assert len(values) >= last_noted + 1, f"lost {last_noted + 1 - len(values)} points"


def test_a_supervisor_that_died_before_taking_the_run_over_fails_it(exp: Experiment) -> None:
    from run_widgets.run import create_run
    from run_widgets.submit.launcher import hand_over

    queued = create_run(exp, status="Queued", owned=False, record_owner=True)
    finished = subprocess.Popen(["true"])
    finished.wait()  # reaped: its pid is gone
    hand_over(exp.workspace.store, queued.id, finished.pid)
    assert queued.get_status() == "Failed"
    assert "supervisor exited before starting" in queued.get_details()["error"]["error"]["message"]


def test_children_of_a_cancelled_job_end_canceled(exp: Experiment, tmp_path: Path) -> None:
    script = """
import time
from run_widgets import Run
run = Run.get_context()
child = run.child_run("inner")
child.log("m", 1.0)
child.flush()
print("ready", flush=True)
time.sleep(60)
"""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "job.py").write_text(script)
    from run_widgets import ScriptRunConfig

    run = exp.submit(ScriptRunConfig(source_directory=str(folder), script="job.py"))
    deadline = time.time() + 60
    while not list(run.get_children()) and time.time() < deadline:
        time.sleep(0.2)
    (child,) = list(run.get_children())
    run.cancel()
    while run.get_status() != "Canceled" and time.time() < deadline:
        time.sleep(0.2)
    assert run.get_status() == "Canceled"
    assert Run(exp, child.id).get_status() == "Canceled"
    assert Run(exp, child.id).get_metrics() == {"m": 1.0}
