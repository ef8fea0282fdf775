"""``run.wait_for_completion``: v1's streamed output, its return value, failures and Ctrl-C."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from submit_helpers import (  # noqa: F401 - fixture
    driver_log,
    no_leftover_processes,
    submit,
    wait_terminal,
)

import run_widgets.tracking.wait as wait_module
from run_widgets import (
    ActivityFailedException,
    Experiment,
    ExperimentExecutionException,
    Run,
)

PRINTING_SCRIPT = """
    import time
    from run_widgets import Run

    run = Run.get_context()
    for i in range(6):
        run.log("step", i)
        print(f"line {i}", flush=True)
        time.sleep(0.2)
    print("partial line without newline", end="")
"""

FAILING_SCRIPT = """
    from run_widgets import Run

    run = Run.get_context()
    run.log("before", 1)
    run.flush()
    print("about to fail", flush=True)


    def inner():
        raise ValueError("bad alpha value 42")


    inner()
"""


def _web_view(run: Run) -> str:
    """The report's path, as "Web View:" prints it (not a file:// URL, a dead link)."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    return url2pathname(urlparse(run.get_portal_url()).path)


def _summary(run_id: str, url: str) -> str:
    return f"\nExecution Summary\n=================\nRunId: {run_id}\nWeb View: {url}\n\n"


def test_show_output_streams_the_driver_log_in_the_v1_format(
    exp: Experiment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = submit(exp, tmp_path, PRINTING_SCRIPT)
    details = run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    url = _web_view(run)
    header = "Streaming logs/driver_log.txt"
    body = "\n".join(f"line {i}" for i in range(6)) + "\npartial line without newline\n"
    expected = (
        f"RunId: {run.id}\nWeb View: {url}\n\n"
        f"{header}\n{'=' * len(header)}\n\n" + body + _summary(run.id, url)
    )
    assert out == expected
    assert details["status"] == "Completed"
    assert details["runId"] == run.id


def test_show_output_false_returns_the_details_and_prints_nothing(
    exp: Experiment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = submit(exp, tmp_path, "print('quiet')\n")
    details = run.wait_for_completion()
    assert capsys.readouterr().out == ""
    assert details == run.get_details()
    assert details["status"] == "Completed"


def test_failed_script_records_the_exception_and_wait_raises(
    exp: Experiment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = submit(exp, tmp_path, FAILING_SCRIPT)
    with pytest.raises(ActivityFailedException) as caught:
        run.wait_for_completion(show_output=True)
    assert run.get_status() == "Failed"
    details = run.get_details()
    error = details["error"]
    message = str(caught.value)
    assert message.startswith("Activity Failed:\n")
    assert message == "Activity Failed:\n" + json.dumps(error, indent=4)
    assert caught.value.run_details["error"] == error

    inner = error["error"]
    assert inner["message"] == "User program failed with ValueError: bad alpha value 42"
    debug = inner["debugInfo"]
    assert debug["type"] == "ValueError"
    assert debug["message"] == "bad alpha value 42"
    trace = debug["stackTrace"]
    assert trace.startswith("Traceback (most recent call last):")
    assert 'train.py", line 13, in <module>' in trace
    assert "in inner" in trace and 'raise ValueError("bad alpha value 42")' in trace
    assert "runpy" not in trace and "_bootstrap" not in trace
    assert trace.rstrip().endswith("ValueError: bad alpha value 42")

    out = capsys.readouterr().out
    assert "about to fail" in out
    assert "ValueError: bad alpha value 42" in out  # the traceback is in the log
    assert 'Traceback (most recent call last):\n  File "train.py", line 13' in out
    assert "_bootstrap" not in out
    assert out.endswith(_summary(run.id, _web_view(run))[:-1])  # v1: no blank line
    assert run.get_metrics() == {"before": 1}

    # raise_on_error=False: the error is printed after the summary and the details returned
    returned = run.wait_for_completion(show_output=True, raise_on_error=False)
    assert returned["status"] == "Failed"
    out = capsys.readouterr().out
    expected_end = (
        _summary(run.id, _web_view(run)).rstrip("\n")
        + "\n\nError:\n"
        + json.dumps(error, indent=4)
        + "\n\n"
    )
    assert out.endswith(expected_end)
    returned = run.wait_for_completion(raise_on_error=False)
    assert returned["error"] == error
    assert capsys.readouterr().out == ""


def test_exit_codes_and_system_exit(exp: Experiment, tmp_path: Path) -> None:
    runs = {
        "exit0": submit(exp, tmp_path, "import sys\nprint('bye')\nsys.exit(0)\n", name="a"),
        "exit3": submit(exp, tmp_path, "import sys\nprint('bye')\nsys.exit(3)\n", name="b"),
        "os_exit": submit(exp, tmp_path, "import os\nos._exit(5)\n", name="c"),
        "message": submit(exp, tmp_path, "import sys\nsys.exit('no data found')\n", name="d"),
        "syntax": submit(exp, tmp_path, "print('hi')\ndef f(:\n", name="e"),
    }
    statuses = {key: wait_terminal(run) for key, run in runs.items()}
    assert statuses == {
        "exit0": "Completed",
        "exit3": "Failed",
        "os_exit": "Failed",
        "message": "Failed",
        "syntax": "Failed",
    }
    assert "exited with code 3" in runs["exit3"].get_details()["error"]["error"]["message"]
    assert "exited with code 5" in runs["os_exit"].get_details()["error"]["error"]["message"]
    assert "no data found" in runs["message"].get_details()["error"]["error"]["message"]
    syntax = runs["syntax"].get_details()["error"]["error"]
    assert syntax["message"].startswith("User program failed with SyntaxError: invalid syntax")
    # as `python train.py` shows it: the offending line, no frames of the machinery
    assert syntax["debugInfo"]["stackTrace"].startswith('  File "train.py", line 2\n')
    assert "runpy" not in driver_log(runs["syntax"])


def test_ctrl_c_while_streaming_stops_streaming_but_not_the_run(
    exp: Experiment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = submit(exp, tmp_path, PRINTING_SCRIPT)
    real_sleep = wait_module._sleep
    calls = []

    def interrupted_sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(wait_module, "_sleep", interrupted_sleep)
    with pytest.raises(ExperimentExecutionException) as caught:
        run.wait_for_completion(show_output=True)
    message = str(caught.value)
    assert message.startswith("The output streaming for the run interrupted.")
    assert "still executing" in message
    assert run.get_status() in ("Queued", "Starting", "Running")
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics()["step"] == list(range(6))
    assert capsys.readouterr().out.startswith(f"RunId: {run.id}\n")


class _ReleasingStream(io.StringIO):
    """Captures the streamed text; creates ``release`` once ``trigger`` was streamed."""

    def __init__(self, trigger: str, release: Path) -> None:
        super().__init__()
        self.trigger = trigger
        self.release = release

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.trigger in self.getvalue() and not self.release.exists():
            self.release.write_text("go")
        return written


def test_lines_are_streamed_while_the_run_is_still_running(exp: Experiment, tmp_path: Path) -> None:
    release = tmp_path / "release"
    run = submit(
        exp,
        tmp_path,
        """
        import os
        import sys
        import time

        print("waiting for the reader", flush=True)
        deadline = time.time() + 20
        while not os.path.exists(sys.argv[1]):
            if time.time() > deadline:
                sys.exit("the first line was not streamed while the run was running")
            time.sleep(0.05)
        print("released", flush=True)
        """,
        arguments=[str(release)],
    )
    stream = _ReleasingStream("waiting for the reader\n", release)
    details = wait_module.wait_for_completion(run, show_output=True, out=stream)
    assert details["status"] == "Completed", details.get("error")
    text = stream.getvalue()
    assert text.count("waiting for the reader") == 1
    assert text.index("waiting for the reader") < text.index("released")
