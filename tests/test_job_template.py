"""Jobs forked from a pre-imported template process (``submit.template``): real processes.

Each job must behave as ``python _bootstrap.py script`` would (own process, session,
working folder, ``sys.argv``, ``sys.path[0]``, environment, log, exit code, error file),
share no state with the other jobs of the same template, and die with its owner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from submit_helpers import wait_until

from run_widgets.submit.template import JobTemplate, preload_modules

SCRIPT = """
import json, os, sys
import run_widgets
out = {
    "pid": os.getpid(), "sid": os.getsid(0), "cwd": os.getcwd(), "argv": sys.argv,
    "path0": sys.path[0], "flag": os.environ.get("FLAG"),
    "seen": getattr(run_widgets, "_test_marker", None),
}
run_widgets._test_marker = sys.argv[1]
print("hello from", sys.argv[1])
(open(sys.argv[1] + ".json", "w")).write(json.dumps(out))
if sys.argv[1] == "fail":
    raise ValueError("boom")
"""


def job_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


def test_jobs_are_isolated_processes_with_their_own_folder_log_and_exit(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "job.py").write_text(SCRIPT)
    template = JobTemplate()
    try:
        assert template.can_run(sys.executable, job_env())
        assert not template.can_run(sys.executable, job_env(PYTHONPATH="/elsewhere"))
        assert not template.can_run("/usr/bin/python3-other", job_env())
        results = {}
        for name in ("ok", "fail"):
            errors = tmp_path / f"{name}.error.json"
            env = job_env(FLAG=name, RUN_WIDGETS_ERROR_FILE=str(errors))
            job = template.spawn([str(source / "job.py"), name], source, env, tmp_path / name)
            results[name] = job.wait(timeout=60)
        assert results == {"ok": 0, "fail": 1}
        seen = {n: json.loads((source / f"{n}.json").read_text()) for n in ("ok", "fail")}
        for name, out in seen.items():
            assert out["argv"] == [str(source / "job.py"), name]
            assert out["cwd"] == str(source) and out["path0"] == str(source)
            assert out["flag"] == name and out["seen"] is None  # nothing left by the other
            assert out["sid"] == out["pid"]  # a session of its own, as the supervisor's jobs
            assert out["pid"] != template.process.pid
            assert f"hello from {name}" in (tmp_path / name).read_text()
        assert "ValueError: boom" in (tmp_path / "fail").read_text()
        assert json.loads((tmp_path / "fail.error.json").read_text())["type"] == "ValueError"
    finally:
        template.close()
    assert template.process.poll() is not None


def test_a_killed_job_reports_the_signal(tmp_path: Path) -> None:
    (tmp_path / "sleep.py").write_text("import time\ntime.sleep(600)\n")
    template = JobTemplate()
    try:
        job = template.spawn([str(tmp_path / "sleep.py")], tmp_path, job_env(), tmp_path / "log")
        assert job.poll() is None
        os.kill(job.pid, signal.SIGKILL)
        assert job.wait(timeout=30) == -signal.SIGKILL
    finally:
        template.close()


OWNER = """
import os, sys, time
from pathlib import Path
from run_widgets.submit.template import JobTemplate, preload_modules
folder = Path(sys.argv[1])
template = JobTemplate()
env = {**os.environ, "PYTHONUNBUFFERED": "1", "RUN_WIDGETS_CANCEL_GRACE_S": "1"}
env.setdefault("PYTHONIOENCODING", "utf-8")
env["RUN_WIDGETS_SUPERVISOR_PID"] = str(template.process.pid)
job = template.spawn([str(folder / "sleep.py")], folder, env, folder / "log")
print(template.process.pid, job.pid, flush=True)
time.sleep(600)
"""


def test_the_template_and_its_jobs_die_with_their_owner(tmp_path: Path) -> None:
    (tmp_path / "sleep.py").write_text("import time\ntime.sleep(600)\n")
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    started: list[psutil.Process] = []
    try:
        assert owner.stdout is not None
        started = [psutil.Process(int(p)) for p in owner.stdout.readline().split()]
        owner.kill()  # kill -9: no chance to clean up
        owner.wait()
        wait_until(lambda: not any(_alive(p) for p in started), timeout=30)
    finally:
        owner.kill()
        owner.wait()
        for process in started:  # only if the test failed: leave nothing behind
            if _alive(process):
                process.kill()


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_preloaded_modules_are_there_before_the_job_imports_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_WIDGETS_JOB_PRELOAD", " decimal , fractions")
    assert preload_modules() == ("run_widgets", "decimal", "fractions")
    (tmp_path / "job.py").write_text(
        "import sys\nprint(sorted(m for m in ('decimal', 'fractions') if m in sys.modules))\n"
    )
    template = JobTemplate(preload_modules())
    try:
        job = template.spawn([str(tmp_path / "job.py")], tmp_path, job_env(), tmp_path / "log")
        assert job.wait(timeout=60) == 0
        assert (tmp_path / "log").read_text().strip() == "['decimal', 'fractions']"
    finally:
        template.close()
