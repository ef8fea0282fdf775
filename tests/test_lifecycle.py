"""Run lifecycle: complete/fail/cancel, sticky terminal statuses, context manager, reopen,
and what happens when the process ends (normal exit, exception, SIGTERM, kill -9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from foundation_helpers import run_python
from support import python_env

from run_widgets import Experiment, Run, RunNotFoundError, Workspace
from run_widgets.exceptions import ArgumentTypeError, RunStateError


def _start(exp: Experiment) -> Run:
    return exp.start_logging(snapshot_directory=None, outputs=False)


# ----------------------------------------------------------------------- statuses ----
def test_complete(exp: Experiment) -> None:
    run = _start(exp)
    run.log("a", 1)
    run.complete()
    assert run.get_status() == "Completed"
    details = run.get_details()
    assert details["status"] == "Completed"
    assert details["endTimeUtc"] >= details["startTimeUtc"]
    assert "error" not in details
    assert Run(exp, run.id).get_metrics() == {"a": 1}


def test_fail_with_string(exp: Experiment) -> None:
    run = _start(exp)
    run.fail("it broke", error_code="MyCode")
    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["code"] == "MyCode"
    assert error["message"] == "it broke"


def test_fail_with_exception_has_v1_message_and_debug_info(exp: Experiment) -> None:
    run = _start(exp)
    try:
        raise KeyError("missing column")
    except KeyError as exc:
        run.fail(exc)
    error = run.get_details()["error"]["error"]
    assert error["code"] == "UserError"
    assert error["message"] == "User program failed with KeyError: 'missing column'"
    debug = error["debugInfo"]
    assert debug["type"] == "KeyError"
    assert "Traceback (most recent call last)" in debug["stackTrace"]
    assert "test_fail_with_exception_has_v1_message_and_debug_info" in debug["stackTrace"]
    assert run.get_detailed_status() == {
        "status": "Failed",
        "details": "User program failed with KeyError: 'missing column'",
    }


@pytest.mark.parametrize("bad", [5, ["x"], {"a": 1}, object()])
def test_fail_with_bad_type(exp: Experiment, bad: object) -> None:
    run = _start(exp)
    with pytest.raises(TypeError) as info:
        run.fail(bad)
    assert str(info.value) == "error_details must be instance of string or BaseException."
    assert isinstance(info.value, ArgumentTypeError)
    assert run.get_status() == "Running"  # nothing changed
    run.complete()


def test_fail_without_details(exp: Experiment) -> None:
    run = _start(exp)
    run.fail()
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["message"]


def test_cancel(exp: Experiment) -> None:
    run = _start(exp)
    run.cancel()
    assert run.get_status() == "Canceled"


@pytest.mark.parametrize("first", ["complete", "fail", "cancel"])
def test_terminal_statuses_are_sticky(exp: Experiment, first: str) -> None:
    run = _start(exp)
    getattr(run, first)()
    status = run.get_status()
    end = run.get_details()["endTimeUtc"]
    run.complete()
    run.fail("later")
    run.cancel()
    fresh = Run(exp, run.id)
    assert fresh.get_status() == status
    assert fresh.get_details()["endTimeUtc"] == end
    if first != "fail":
        assert "error" not in fresh.get_details()


def test_logging_to_finished_run_raises(exp: Experiment) -> None:
    run = _start(exp)
    run.log("a", 1.0)
    run.log("a", 2.0)  # fast path is warm
    run.complete()
    for call in (
        lambda: run.log("a", 3.0),
        lambda: run.log("new", 1),
        lambda: run.log_list("l", [1]),
        lambda: run.log_row("r", x=1),
        lambda: run.log_table("t", {"x": [1]}),
        lambda: run.log_confusion_matrix("c", {"a": 1}),
    ):
        with pytest.raises(RunStateError, match="is Completed"):
            call()
    reopened = Run(exp, run.id)
    with pytest.raises(RunStateError):
        reopened.log("a", 4.0)
    assert reopened.get_metrics() == {"a": [1.0, 2.0]}


def test_context_manager_completes(exp: Experiment) -> None:
    with _start(exp) as run:
        run.log("a", 1)
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"a": 1}


def test_context_manager_fails_and_reraises(exp: Experiment) -> None:
    with pytest.raises(ZeroDivisionError), _start(exp) as run:
        run.log("a", 1)
        _ = 1 / 0
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["message"].startswith(
        "User program failed with ZeroDivisionError: division by zero"
    )
    assert run.get_metrics() == {"a": 1}


def test_context_manager_system_exit_zero_completes(exp: Experiment) -> None:
    with pytest.raises(SystemExit), _start(exp) as run:
        sys.exit(0)
    assert run.get_status() == "Completed"


def test_get_details_keys(exp: Experiment) -> None:
    run = _start(exp)
    run.tag("t", "1")
    run.add_properties({"p": "2"})
    details = run.get_details()
    for key in (
        "runId",
        "status",
        "startTimeUtc",
        "properties",
        "tags",
        "runDefinition",
        "logFiles",
        "target",
        "submittedBy",
    ):
        assert key in details, key
    assert "endTimeUtc" not in details
    assert "error" not in details
    assert details["runId"] == run.id
    assert details["tags"] == {"t": "1"}
    assert details["properties"] == {"p": "2"}
    assert details["startTimeUtc"].endswith("Z")
    run.upload_file("logs/user_log.txt", __file__)
    run.fail("x")
    details = run.get_details()
    assert "endTimeUtc" in details and "error" in details
    assert list(details["logFiles"]) == ["logs/user_log.txt"]
    with_logs = run.get_details_with_logs()
    assert "get_details_with_logs" in with_logs["logFiles"]["logs/user_log.txt"]


def test_reopen_unknown_and_wrong_experiment(ws: Workspace, exp: Experiment) -> None:
    run = _start(exp)
    with pytest.raises(RunNotFoundError, match="No run with id 'nope'"):
        Run(exp, "nope")
    other = Experiment(ws, "other")
    with pytest.raises(RunNotFoundError, match="belongs to experiment 'test-exp'"):
        Run(other, run.id)
    with pytest.raises(ValueError, match="run_id must be a non-empty str"):
        Run(exp, "")
    assert Run.get(ws, run.id) == run
    with pytest.raises(RunNotFoundError):
        Run.get(ws, "nope")
    run.complete()


def test_reopened_handle_shares_state(exp: Experiment) -> None:
    run = _start(exp)
    again = Run(exp, run.id)
    again.log("a", 1)
    assert run.get_metrics() == {"a": 1}
    again.complete()
    assert run.get_status() == "Completed"


def test_flush_waits_for_a_write_in_flight_and_retries_a_failed_one(exp: Experiment) -> None:
    """``flush()`` returns once the points are stored, whoever took them from the buffer."""
    import threading

    from run_widgets.runtime import RUNTIME

    run = _start(exp)
    store = exp.workspace.store
    flusher = RUNTIME.flusher
    buffer = run._core.state.buffer

    def stored() -> int:
        return sum(chunk.n for chunk in store.read_chunks(run.id))

    # The background flusher has drained the buffer and is writing (it holds its lock).
    run.log("a", 1.0)
    run.log("a", 2.0)
    taken = threading.Event()

    def background_write() -> None:
        with flusher._flush_lock:
            ops = buffer.drain()
            taken.set()
            time.sleep(0.5)
            store.write(ops)

    writer = threading.Thread(target=background_write)
    writer.start()
    taken.wait(10)
    run.flush()
    assert stored() == 2  # not returned early because the buffer looked empty
    writer.join()
    # A write that failed left its points with the flusher for a retry.
    run.log("a", 3.0)
    with flusher._flush_lock:
        flusher._retry[id(buffer)] = buffer.drain()
    run.flush()
    assert stored() == 3
    run.complete()


def test_flush_makes_points_visible_to_another_process(exp: Experiment, ws: Workspace) -> None:
    run = _start(exp)
    for i in range(100):
        run.log("a", float(i))
    run.flush()
    code = f"""
        import json
        from run_widgets import Workspace, Experiment, Run
        ws = Workspace(store={ws.store_uri!r}, artifacts={str(ws.folder)!r})
        run = Run(Experiment(ws, "test-exp"), {run.id!r})
        print(json.dumps({{"m": run.get_metrics(), "status": run.get_status()}}))
    """
    result = run_python(code, cwd=Path.cwd(), check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"m": {"a": [float(i) for i in range(100)]}, "status": "Running"}
    run.complete()


def test_reopen_and_complete_from_another_process(exp: Experiment, ws: Workspace) -> None:
    run = _start(exp)
    run.log("mine", 1)
    run.flush()
    code = f"""
        from run_widgets import Workspace, Experiment, Run
        ws = Workspace(store={ws.store_uri!r}, artifacts={str(ws.folder)!r})
        run = Run(Experiment(ws, "test-exp"), {run.id!r})
        run.log("theirs", 2)
        run.tag("from", "child")
    """
    run_python(code, cwd=Path.cwd(), check=True)
    # the other process did not own the run: it stays Running, its points are durable
    assert run.get_status() == "Running"
    assert run.get_metrics() == {"mine": 1, "theirs": 2}
    assert run.get_tags() == {"from": "child"}
    run.complete()


# ------------------------------------------------------------------- process end ----
def _script_header(ws: Workspace) -> str:
    return f"""
        import os, sys, time
        from run_widgets import Workspace, Experiment
        ws = Workspace(store={ws.store_uri!r}, artifacts={str(ws.folder)!r})
        run = Experiment(ws, "test-exp").start_logging(snapshot_directory=None, outputs=False)
        print(run.id, flush=True)
    """


@pytest.mark.fault
def test_normal_exit_without_complete_completes(ws: Workspace, exp: Experiment) -> None:
    code = (
        _script_header(ws)
        + """
        for i in range(10000):
            run.log("x", float(i))
        run.log_list("l", [1, 2])
    """
    )
    result = run_python(code, cwd=Path.cwd(), check=True)
    run = Run(exp, result.stdout.split()[0])
    assert run.get_status() == "Completed"
    metrics = run.get_metrics()
    assert metrics["x"] == [float(i) for i in range(10000)]
    assert metrics["l"] == [1, 2]


def test_uncaught_exception_fails_the_run(ws: Workspace, exp: Experiment) -> None:
    code = (
        _script_header(ws)
        + """
        run.log("before", 1)
        raise RuntimeError("bad things")
    """
    )
    result = run_python(code, cwd=Path.cwd())
    assert result.returncode == 1
    assert "RuntimeError: bad things" in result.stderr
    run = Run(exp, result.stdout.split()[0])
    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["message"] == "User program failed with RuntimeError: bad things"
    assert run.get_metrics() == {"before": 1}


def _spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.strip() == text:
            return lines
    raise AssertionError(f"never saw {text!r}; got {lines}")


@pytest.mark.fault
def test_sigterm_fails_the_run_and_keeps_points(ws: Workspace, exp: Experiment) -> None:
    code = (
        _script_header(ws)
        + """
        for i in range(1000):
            run.log("x", i)
        print("logged", flush=True)
        time.sleep(60)
    """
    )
    proc = _spawn(code)
    try:
        lines = _wait_for_line(proc, "logged")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGTERM  # i.e. exit status 143 in a shell
    run = Run(exp, lines[0])
    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["code"] == "ProcessTerminated"
    assert "SIGTERM" in error["message"]
    assert run.get_metrics() == {"x": list(range(1000))}


@pytest.mark.fault
@pytest.mark.parametrize("delay", [0.2, 0.35, 0.5])
def test_sigterm_while_logging_in_a_tight_loop(
    ws: Workspace, exp: Experiment, delay: float
) -> None:
    """SIGTERM can land while the main thread holds a buffer lock or is inside a write:
    the process must still end promptly, with a contiguous, durable series."""
    code = (
        _script_header(ws)
        + """
        i = 0
        while True:
            run.log("x", float(i))
            i += 1
            if i % 5000 == 0:
                run.log_list("l", [i])
    """
    )
    proc = _spawn(code)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGTERM
    run = Run(exp, run_id)
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["code"] == "ProcessTerminated"
    values = run.get_metric_history("x").values
    assert len(values) > 0
    assert list(values) == [float(i) for i in range(len(values))]


@pytest.mark.fault
def test_sigterm_unwinds_with_run_and_finally(ws: Workspace, exp: Experiment) -> None:
    code = f"""
        import os, sys, time
        from run_widgets import Workspace, Experiment
        ws = Workspace(store={ws.store_uri!r}, artifacts={str(ws.folder)!r})
        exp = Experiment(ws, "test-exp")
        try:
            with exp.start_logging(snapshot_directory=None, outputs=False) as run:
                print(run.id, flush=True)
                run.log("a", 1)
                time.sleep(60)
        finally:
            print("finally ran", flush=True)
    """
    proc = _spawn(code)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert "finally ran" in out
    assert proc.returncode == -signal.SIGTERM
    run = Run(exp, run_id)
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["code"] == "ProcessTerminated"
    assert run.get_metrics() == {"a": 1}


def test_sigterm_exit_status_in_a_shell(ws: Workspace) -> None:
    script = Path("term.py")
    script.write_text(
        textwrap.dedent(
            _script_header(ws)
            + """
        os.kill(os.getpid(), 15)
        time.sleep(30)
        """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        ["/bin/sh", "-c", f"{sys.executable} {script}; echo status=$?"],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "status=143" in result.stdout


@pytest.mark.fault
def test_kill_9_is_detected_by_a_reader(ws: Workspace, exp: Experiment) -> None:
    code = (
        _script_header(ws)
        + """
        for i in range(500):
            run.log("x", i)
        run.flush()
        print("flushed", flush=True)
        time.sleep(60)
    """
    )
    proc = _spawn(code)
    try:
        lines = _wait_for_line(proc, "flushed")
        run = Run(exp, lines[0])
        assert run.get_status() == "Running"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    started = time.monotonic()
    assert run.get_status() == "Failed"
    assert time.monotonic() - started < 2
    error = run.get_details()["error"]["error"]
    assert error["code"] == "ProcessLost"
    assert "process lost" in error["message"]
    assert run.get_metrics() == {"x": list(range(500))}
    # the listing notices it too, and never flips it back
    assert [r.status for r in exp.get_runs()] == ["Failed"]


def test_exit_with_open_child_runs(ws: Workspace, exp: Experiment) -> None:
    code = (
        _script_header(ws)
        + """
        child = run.child_run("c")
        child.log("c", 1)
        print(child.id, flush=True)
    """
    )
    result = run_python(code, cwd=Path.cwd(), check=True)
    parent_id, child_id = result.stdout.split()[:2]
    assert Run(exp, parent_id).get_status() == "Completed"
    child = Run(exp, child_id)
    assert child.get_status() == "Completed"
    assert child.get_metrics() == {"c": 1}


def test_env_passthrough_is_clean() -> None:
    # the helpers give child processes this source tree, not an installed copy
    env = python_env()
    assert str(Path(__file__).resolve().parents[1]) in env["PYTHONPATH"].split(os.pathsep)


def test_cancel_from_another_process_is_carried_out_by_the_owner(
    ws: Workspace, exp: Experiment
) -> None:
    code = (
        _script_header(ws)
        + """
        run.log("x", 1)
        print("ready", flush=True)
        for _ in range(300):
            if run.get_status() == "Canceled":
                print("saw cancel", flush=True)
                break
            time.sleep(0.1)
    """
    )
    proc = _spawn(code)
    try:
        lines = _wait_for_line(proc, "ready")
        run = Run(exp, lines[0])
        run.cancel()
        assert Run(exp, run.id).get_status() in ("CancelRequested", "Canceled")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "saw cancel" in out, err
    assert proc.returncode == 0
    fresh = Run(exp, run.id)
    assert fresh.get_status() == "Canceled"
    assert fresh.get_metrics() == {"x": 1}
