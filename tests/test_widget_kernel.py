"""RunDetails in a real kernel (nbclient): live refreshes, stopping, the static snapshot.

One notebook, built here with nbformat, runs in a python3 kernel with
``RUN_WIDGETS_REFRESH_S=1``. Its cells assert from inside the kernel (a failing assert fails
the execution); the saved outputs are then checked from here.
"""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from run_widgets import Workspace
from run_widgets.widgets.details import ENV_REFRESH, WIDGET_MIME

LOGGER = '''
"""Logs a run from another process: 2 points, then (once told to go) 6 more, then ends."""
import sys, time
from pathlib import Path
from run_widgets import Experiment, Workspace

go = Path(sys.argv[1])
exp = Experiment(Workspace.from_config(), "kernel")  # the test's workspace, from the environment
with exp.start_logging(run_id="elsewhere", snapshot_directory=None, outputs=False) as run:
    run.log("loss", 1.0)
    run.log("loss", 0.9)
    run.flush()
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    for i in range(6):
        run.log("loss", 0.8 - 0.1 * i)
        run.flush()
        time.sleep(0.7)  # several 1-s refreshes see the metric grow
'''

WAIT = """
import time


def wait_until(condition, timeout=90):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
"""


def cells(logger: Path, go: Path) -> list[str]:
    return [
        WAIT,
        f"""
        import subprocess, sys
        from run_widgets import Experiment, Run, RunDetails, Workspace
        from run_widgets.widgets.poller import poll_threads

        ws = Workspace.from_config()  # the test's workspace, described in the environment
        exp = Experiment(ws, "kernel")
        proc = subprocess.Popen([sys.executable, {str(logger)!r}, {str(go)!r}])
        store = ws.store
        wait_until(lambda: any(i.n_points >= 2 for i in store.metric_infos(["elsewhere"])))
        run = Run(exp, "elsewhere")
        """,
        """
        details = RunDetails(run)
        details.show()
        """,
        f"""
        chart = details._charts["loss"]
        first = chart.points_shown()
        sizes = []
        for mark in (chart.lines[0], chart.tails[0]):
            mark.observe(lambda change: sizes.append(chart.points_shown()[0]), "y")
        open({str(go)!r}, "w").close()  # the other process logs 6 more points
        wait_until(lambda: not details.poller.alive)  # this cell blocks; the thread refreshes
        assert first == [2], first
        assert chart.points_shown() == [8], chart.points_shown()
        assert len(sizes) >= 2 and sizes == sorted(sizes) and sizes[-1] == 8, sizes
        assert details.tracker.record.status == "Completed"
        assert details.poller.finished
        assert not poll_threads()
        assert proc.wait(60) == 0
        details.close()
        """,
        """
        own = exp.start_logging(snapshot_directory=None, outputs=False)
        live = RunDetails(own)
        live.show()
        """,
        """
        polls = live.tracker.polls
        for i in range(30):  # a training loop in this kernel: the cell blocks for 3 s
            own.log("acc", i / 30)
            time.sleep(0.1)
        assert live.tracker.polls > polls, "no refresh while the cell ran"
        assert "acc" in live._charts  # drawn by the poller thread, during the loop
        own.complete()
        wait_until(lambda: not live.poller.alive)
        assert live._charts["acc"].points_shown() == [30]
        assert live.header.header["status"] == "Completed"
        assert not poll_threads()
        """,
        """
        third = exp.start_logging(snapshot_directory=None, outputs=False)
        closing = RunDetails(third)
        closing.show()
        poller = closing.poller
        assert poller.alive
        third.log("x", 1.0)
        third.log("x", 2.0)
        closing.refresh()
        closing.close()
        assert not poller.alive and not poller.finished
        assert not poll_threads()
        third.complete()
        live.close()
        print("threads:", sorted(t.name for t in __import__("threading").enumerate()))
        """,
    ]


def execute(tmp_path: Path, sources: list[str]) -> Any:
    notebook = new_notebook(
        cells=[new_code_cell(textwrap.dedent(source).strip()) for source in sources],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    nbformat.validate(notebook)
    return notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_run_details_in_a_real_kernel(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_REFRESH, "1")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    for name, value in ws.description().environ().items():  # what from_config() opens
        monkeypatch.setenv(name, value)
    logger = tmp_path / "logger.py"
    logger.write_text(LOGGER, encoding="utf-8")
    notebook = execute(tmp_path, cells(logger, tmp_path / "go"))
    for cell in notebook.cells:  # the poller never printed into any cell
        for output in cell.outputs:
            assert output.output_type != "stream" or output.name == "stdout", output
            assert output.output_type != "error", output

    # The RunDetails cell: the live view, then the static snapshot, rewritten at the end.
    for index in (2, 4):
        live, snapshot = notebook.cells[index].outputs
        assert live.output_type == snapshot.output_type == "display_data"
        assert WIDGET_MIME in live.data
        assert live.data["text/plain"].startswith("RunDetails(run_id=")
        assert "Status: Completed" in snapshot.data["text/plain"]
        assert "Status: Completed" not in live.data["text/plain"]  # the live repr is as shown
        assert base64.b64decode(snapshot.data["image/png"]).startswith(b"\x89PNG")
        assert 'class="rw-static-snapshot"' in snapshot.data["text/html"]
        assert snapshot.metadata == {} or isinstance(snapshot.metadata, dict)
    assert "Charts: loss (8 points)" in notebook.cells[2].outputs[1].data["text/plain"]
    assert "Charts: acc (30 points)" in notebook.cells[4].outputs[1].data["text/plain"]
    # A view closed while its run was active: its snapshot froze what it last showed.
    _, closed, printed = notebook.cells[6].outputs
    assert "Status: Running" in closed.data["text/plain"]
    assert "Charts: x (2 points)" in closed.data["text/plain"]
    assert "image/png" in closed.data
    assert "run-widgets-poll-" not in printed.text
