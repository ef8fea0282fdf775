"""Helpers of the pipeline tests: step scripts, waiting for a pipeline, cleaning up.

Scripts that must be caught mid-run wait for a release file the test writes, so what the
tests see never depends on timing.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from submit_helpers import source_dir, wait_until

from run_widgets import PipelineRun, Workspace

TERMINAL = ("Completed", "Failed", "Canceled")

COPY = """
import argparse, os, shutil
from run_widgets import Run
parser = argparse.ArgumentParser()
parser.add_argument("--input")
parser.add_argument("--output")
parser.add_argument("--tag", default="")
args = parser.parse_args()
os.makedirs(args.output, exist_ok=True)
source = args.input
files = [source] if os.path.isfile(source) else [os.path.join(source, n) for n in sorted(os.listdir(source))]
total = 0
for path in files:
    text = open(path).read()
    total += len(text)
    with open(os.path.join(args.output, os.path.basename(path)), "w") as out:
        out.write(text + args.tag)
Run.get_context().log("chars", total)
print("copied", len(files), "file(s) from", source)
"""
"""A step: copies ``--input`` (a file or folder) into ``--output``, appending ``--tag``."""

MERGE = """
import argparse, os
from run_widgets import Run
parser = argparse.ArgumentParser()
parser.add_argument("--left")
parser.add_argument("--right")
parser.add_argument("--output")
args = parser.parse_args()
os.makedirs(args.output, exist_ok=True)
text = "".join(open(os.path.join(folder, n)).read() for folder in (args.left, args.right) for n in sorted(os.listdir(folder)))
open(os.path.join(args.output, "merged.txt"), "w").write(text)
Run.get_context().log("merged_chars", len(text))
print("merged", len(text), "characters")
"""
"""A step: concatenates the files of ``--left`` and ``--right`` into ``merged.txt``."""

WAIT = """
import argparse, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--flag")
parser.add_argument("--release")
parser.add_argument("--output")
args = parser.parse_args()
open(args.flag, "w").write(str(os.getpid()))
while not os.path.exists(args.release):
    time.sleep(0.05)
print("released")
"""
"""A step: writes ``--flag`` once running, then waits until ``--release`` exists."""

FAIL = """
raise RuntimeError("the data is broken")
"""


def scripts(tmp_path: Path, name: str = "steps") -> Path:
    """A source folder with the step scripts above."""
    return source_dir(
        tmp_path,
        {"copy_files.py": COPY, "merge.py": MERGE, "wait.py": WAIT, "fail.py": FAIL},
        name,
    )


def wait_pipeline(run: PipelineRun, timeout: float = 120.0) -> str:
    """Wait until the pipeline run has a terminal status; return it."""
    return wait_until(
        lambda: run.get_status() if run.get_status() in TERMINAL else "",
        timeout,
        interval=0.2,
        what=f"pipeline {run.id} to end (status {run.get_status()})",
    )


def statuses(run: PipelineRun) -> dict[str, tuple[str, bool]]:
    """Step name → (status, reused)."""
    return {step.name: (step.get_status(), step.reused) for step in run.get_steps()}


def _ours(process: psutil.Process, workspace: Workspace) -> bool:
    cmdline = process.info["cmdline"] or []
    modules = ("run_widgets.pipeline.driver", "run_widgets.submit.supervisor")
    return any(m in cmdline for m in modules) and str(workspace.folder) in cmdline


@pytest.fixture(autouse=True)
def no_leftover_pipelines(ws: Workspace) -> Iterator[None]:
    """After the test, kill the pipeline drivers and supervisors it left running."""
    yield
    for process in psutil.process_iter(["cmdline"]):
        if not _ours(process, ws):
            continue
        with contextlib.suppress(psutil.Error):
            for member in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    os.killpg(member.pid, signal.SIGKILL)
                with contextlib.suppress(psutil.Error):
                    member.kill()
