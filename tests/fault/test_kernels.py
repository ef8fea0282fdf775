"""Real notebook kernels: a killed kernel does not take its submitted run along, and kernels
showing the same run leak no poller threads or store connections."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager
from support import python_env

from run_widgets import Experiment, Run, Workspace

pytestmark = pytest.mark.notebook  # real kernels (jupyter_client), not the quick tier

TRAIN = """
import time
from run_widgets import Run
run = Run.get_context()
for i in range({points}):
    run.log("x", float(i))
    print("step", i, flush=True)
    time.sleep({delay})
"""


@contextmanager
def kernel(cwd: Path, env: dict[str, str]) -> Iterator[tuple[KernelManager, Any]]:
    """A python3 kernel started in ``cwd`` with ``env``; shut down afterwards."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(cwd), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=90)
        yield manager, client
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def execute(client: Any, code: str, timeout: float = 120) -> str:
    """Run ``code`` in the kernel; return its stdout, raising on an error."""
    out: list[str] = []
    errors: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        kind = message["header"]["msg_type"]
        if kind == "stream" and message["content"]["name"] == "stdout":
            out.append(message["content"]["text"])
        elif kind == "error":
            errors.append("\n".join(message["content"]["traceback"]))

    client.execute_interactive(textwrap.dedent(code), output_hook=hook, timeout=timeout)
    if errors:
        raise AssertionError(errors[0])
    return "".join(out)


def last_json(text: str) -> Any:
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture
def kernel_env(ws: Workspace) -> dict[str, str]:
    """The kernels' environment: ``Workspace.from_config()`` opens the test's workspace."""
    env = {**python_env(), **ws.description().environ()}
    env.pop("RUN_WIDGETS_HOME", None)
    return env


def _write_script(folder: Path, points: int, delay: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(TRAIN.format(points=points, delay=delay))


def test_kernel_killed_while_a_submitted_run_continues(
    tmp_path: Path, kernel_env: dict[str, str], ws: Workspace
) -> None:
    _write_script(tmp_path / "scripts", points=12, delay=0.4)
    with kernel(tmp_path, kernel_env) as (manager, client):
        output = execute(
            client,
            """
            import json
            from run_widgets import Experiment, RunDetails, ScriptRunConfig, Workspace
            ws = Workspace.from_config()
            run = Experiment(ws, "kernel-killed").submit(
                ScriptRunConfig(source_directory="scripts", script="train.py"))
            RunDetails(run, refresh_interval=1).show()
            print(json.dumps(run.id))
            """,
        )
        run_id = last_json(output)
        # SIGKILL to the kernel's whole process group, as when it crashes or is killed.
        pid = manager.provisioner.process.pid  # type: ignore[union-attr]
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        deadline = time.time() + 10
        while manager.is_alive() and time.time() < deadline:
            time.sleep(0.1)
        assert not manager.is_alive()
    run = Run(Experiment(ws, "kernel-killed"), run_id)
    deadline = time.time() + 60
    while run.get_status() not in ("Completed", "Failed", "Canceled") and time.time() < deadline:
        time.sleep(0.3)
    assert run.get_status() == "Completed"
    assert run.get_metrics()["x"] == [float(i) for i in range(12)]
    # A new kernel reattaches with Run(exp, id) and RunDetails shows the finished run.
    with kernel(tmp_path, kernel_env) as (_, client):
        output = execute(
            client,
            f"""
            import json
            from run_widgets import Experiment, Run, RunDetails, Workspace
            run = Run(Experiment(Workspace.from_config(), "kernel-killed"), {run_id!r})
            view = RunDetails(run)
            view.show()
            data = view.get_widget_data()
            print(json.dumps([data["status"], [m["points"] for m in data["run_metrics"]],
                              "step 11" in data["run_logs"]]))
            """,
        )
        assert last_json(output) == ["Completed", [12], True]


LEAK_CHECK = """
import json, threading, time
from run_widgets import Experiment, Run, RunDetails, Workspace
from run_widgets.widgets.poller import Poller, poll_threads
ws = Workspace.from_config()
run = Run(Experiment(ws, "two-kernels"), {run_id!r})
for _ in range(50):  # shown and closed, many times
    again = RunDetails(run, refresh_interval=0.5)
    again.show()
    again.close()
view = RunDetails(run, refresh_interval=0.5)  # then left live until the run ends
view.show()
deadline = time.time() + 60
while run.get_status() != "Completed" and time.time() < deadline:
    time.sleep(0.2)
def reapers():  # the submitting kernel waits for the run's supervisor process to exit,
    return [t for t in threading.enumerate() if t.name.startswith("run-widgets-reaper")]
deadline = time.time() + 10  # which may be a while after it wrote Completed on a loaded machine
while (poll_threads() or Poller.active() or reapers()) and time.time() < deadline:
    time.sleep(0.1)
# The result goes to a file: the 50 shows above send thousands of iopub messages, and a
# subscriber that is not reading (the test drains one kernel at a time) may lose some of them.
open({result_path!r}, "w").write(json.dumps({{
    "status": view.tracker.record.status,
    "points": view.tracker.metrics["x"].count,
    "pollers": len(poll_threads()),
    "registered": len(Poller.active()),
    "connections": ws.store.open_connection_count(),
    "threads": sorted(t.name for t in threading.enumerate() if t.name.startswith("run-widgets")),
}}))
"""


def test_two_kernels_showing_the_same_run_leak_nothing(
    tmp_path: Path, kernel_env: dict[str, str]
) -> None:
    _write_script(tmp_path / "scripts", points=15, delay=0.3)
    with kernel(tmp_path, kernel_env) as (_, first), kernel(tmp_path, kernel_env) as (_, second):
        run_id = last_json(
            execute(
                first,
                """
                import json
                from run_widgets import Experiment, ScriptRunConfig, Workspace
                run = Experiment(Workspace.from_config(), "two-kernels").submit(
                    ScriptRunConfig(source_directory="scripts", script="train.py"))
                print(json.dumps(run.id))
                """,
            )
        )
        first_path, second_path = tmp_path / "first.json", tmp_path / "second.json"
        first_id = first.execute(
            textwrap.dedent(LEAK_CHECK.format(run_id=run_id, result_path=str(first_path)))
        )
        execute(second, LEAK_CHECK.format(run_id=run_id, result_path=str(second_path)))
        _wait_for_reply(first, first_id, timeout=120)
        first_result = json.loads(first_path.read_text())
        second_result = json.loads(second_path.read_text())
    for result in (first_result, second_result):
        assert result["status"] == "Completed"
        assert result["points"] == 15
        assert result["pollers"] == 0 and result["registered"] == 0
        # the flusher is the only background thread left; one connection per live thread
        assert result["threads"] in ([], ["run-widgets-flusher"])
        assert result["connections"] <= 2


def _wait_for_reply(client: Any, msg_id: str, timeout: float) -> None:
    """Wait for the shell reply of the cell ``msg_id`` (the shell channel loses nothing)."""
    deadline = time.time() + timeout
    while True:
        reply = client.get_shell_msg(timeout=max(1.0, deadline - time.time()))
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        content = reply["content"]
        if content["status"] != "ok":
            raise AssertionError("\n".join(content.get("traceback", [content["status"]])))
        return
