"""Job processes forked from a pre-imported template, instead of started from scratch.

Starting a script's interpreter and importing run_widgets (numpy, the store, ...) costs
most of a second on a loaded machine, paid by every trial. A long-lived process (a Dask
worker) can instead keep a *template*: ``python -m run_widgets.submit.template``, a
single-threaded process that imported run_widgets once and forks one child per job. Each
child is still a process of its own, as isolation requires: it starts a new session, takes
the job's working folder, environment and ``sys.argv``, writes stdout/stderr to the job's
log and runs the script through ``_bootstrap.py`` exactly as ``python _bootstrap.py
script`` would (``sys.path[0]`` = the script's folder); modules the template did not
import (the user's) are imported fresh in every job. The template is the children's
parent: it reaps them and reports each exit code to the owner.

Protocol (one JSON object per line): the owner writes ``{"id", "argv", "cwd", "env",
"log"}`` to the template's stdin; the template answers ``{"id", "pid"}`` (or ``{"id",
"error"}``) and later ``{"pid", "exit"}`` (negative: killed by that signal, as
``Popen.returncode``). When the owner dies its end of the pipe closes: the template exits,
and its jobs get SIGTERM (``PR_SET_PDEATHSIG``, set by ``_bootstrap.py``) as they would on
their supervisor's death.

Only jobs an unchanged interpreter can run this way use it (``JobTemplate.can_run``): the
same Python, and the same ``PYTHON*`` variables (they act at interpreter start-up).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import itertools
import json
import os
import runpy
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
START_TIMEOUT_S = 60.0
PRELOAD_VARIABLE = "RUN_WIDGETS_JOB_PRELOAD"
_STARTUP_KEYS = "PYTHON"


def _startup_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_STARTUP_KEYS)}


class TemplateJob:
    """A job forked by the template: the subset of ``Popen`` the supervisor uses."""

    def __init__(self, pid: int, argv: Sequence[str]) -> None:
        self.pid = pid
        self.args = list(argv)
        self.returncode: int | None = None
        self._ended = threading.Event()

    def poll(self) -> int | None:
        """The exit code, or ``None`` while the job runs."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end (``subprocess.TimeoutExpired`` after ``timeout`` seconds)."""
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def ended(self, code: int) -> None:
        """Record the exit code the template reported."""
        self.returncode = code
        self._ended.set()


class JobTemplate:
    """The owner's handle on one template process (thread-safe; one per owner process).

    Args:
        preload: the modules the template imports once for all its jobs.

    Raises:
        OSError: the template process could not be started or did not come up.
    """

    def __init__(self, preload: Sequence[str] = ("run_widgets",)) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("PYTHONIOENCODING", "utf-8")
        self.startup = _startup_variables(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests: IO[bytes] = self.process.stdin
        self._replies: IO[bytes] = self.process.stdout
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._started: dict[int, tuple[threading.Event, dict[str, Any]]] = {}
        self._jobs: dict[int, TemplateJob] = {}
        self._early_exits: dict[int, int] = {}
        self.alive = True
        ready = self._replies.readline()
        if not ready.startswith(b'{"ready"'):
            self.process.kill()
            raise OSError(f"the job template did not start: {ready[:200]!r}")
        threading.Thread(target=self._read, name="run-widgets-template", daemon=True).start()

    def can_run(self, interpreter: str, env: Mapping[str, str]) -> bool:
        """Whether a job with this interpreter and environment can be forked from here."""
        return (
            self.alive
            and os.path.realpath(interpreter) == os.path.realpath(sys.executable)
            and _startup_variables(env) == self.startup
        )

    def spawn(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path
    ) -> TemplateJob:
        """Fork a job running ``_bootstrap.py argv...`` (``argv``: script and arguments).

        Raises:
            OSError: the template is gone or could not fork.
        """
        request_id = next(self._ids)
        done = threading.Event()
        answer: dict[str, Any] = {}
        message = {"id": request_id, "argv": list(argv), "cwd": str(cwd), "env": dict(env)}
        message["log"] = str(log)
        with self._lock:
            if not self.alive:
                raise OSError("the job template process is gone")
            self._started[request_id] = (done, answer)
            self._requests.write(json.dumps(message).encode() + b"\n")
            self._requests.flush()
        if not done.wait(START_TIMEOUT_S) or "pid" not in answer:
            raise OSError(f"the job template could not start the job: {answer.get('error')}")
        job = TemplateJob(int(answer["pid"]), argv)
        with self._lock:
            self._jobs[job.pid] = job
            early = self._early_exits.pop(job.pid, None)
        if early is not None:
            job.ended(early)
        return job

    def _read(self) -> None:
        for line in self._replies:
            reply = json.loads(line)
            with self._lock:
                if "exit" in reply:
                    job = self._jobs.pop(int(reply["pid"]), None)
                    if job is None:  # ended before spawn() registered it
                        self._early_exits[int(reply["pid"])] = int(reply["exit"])
                    else:
                        job.ended(int(reply["exit"]))
                    continue
                done, answer = self._started.pop(int(reply["id"]), (None, {}))
            answer.update(reply)
            if done is not None:
                done.set()
        # The template died: its jobs died with it (PR_SET_PDEATHSIG), nobody reaps them.
        with self._lock:
            self.alive = False
            for job in self._jobs.values():
                job.ended(-signal.SIGKILL)
            self._jobs.clear()
            for done, answer in self._started.values():
                answer["error"] = "the job template process ended"
                done.set()
            self._started.clear()

    def close(self) -> None:
        """Stop the template (its running jobs get SIGTERM, as on their owner's death)."""
        with contextlib.suppress(OSError):
            self._requests.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


_TEMPLATE: JobTemplate | None = None
_TEMPLATE_LOCK = threading.Lock()


def preload_modules() -> tuple[str, ...]:
    """run_widgets, plus the modules named in ``RUN_WIDGETS_JOB_PRELOAD`` (comma-separated)."""
    extra = os.environ.get(PRELOAD_VARIABLE, "")
    return ("run_widgets", *(m.strip() for m in extra.split(",") if m.strip()))


def process_template() -> JobTemplate | None:
    """This process's template, started on first use; ``None`` if it cannot start.

    ``RUN_WIDGETS_JOB_PRELOAD`` (in the worker's environment) names more modules for it to
    import once for every job, e.g. ``sklearn.linear_model,pandas``: only libraries that
    start no threads at import (a fork copies just the calling thread).
    """
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        if _TEMPLATE is None or not _TEMPLATE.alive:
            try:
                _TEMPLATE = JobTemplate(preload_modules())
            except OSError as error:
                print(f"run_widgets: no job template ({error}); starting jobs afresh")
                _TEMPLATE = None
        return _TEMPLATE


# ---------------------------------------------------------------- the template side --
def _send(message: Mapping[str, Any]) -> None:
    data = json.dumps(message).encode() + b"\n"
    while data:
        data = data[os.write(1, data) :]


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send({"pid": pid, "exit": os.waitstatus_to_exitcode(status)})


def _serve() -> dict[str, Any] | None:
    """Fork a child per request; returns (in the child only) the request it must run."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    pending = b""
    _send({"ready": os.getpid()})
    while True:
        for key, _ in selector.select():
            if key.fd == wake_read:
                os.read(wake_read, 512)
                _reap()
                continue
            data = os.read(0, 1 << 16)
            if not data:  # the owner is gone
                return None
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                try:
                    pid = os.fork()
                except OSError as error:
                    _send({"id": request["id"], "error": repr(error)})
                    continue
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    os.close(wake_read)
                    os.close(wake_write)
                    return dict(request)
                _send({"id": request["id"], "pid": pid})
            _reap()


def _become_job(request: Mapping[str, Any]) -> None:
    """In the forked child: take the job's session, files, environment, then run it."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if "numpy.random" in sys.modules:  # a fork shares the template's seed
        sys.modules["numpy.random"].seed()
    sys.argv = [str(BOOTSTRAP), *request["argv"]]
    sys.path.insert(0, str(BOOTSTRAP.parent))  # as ``python _bootstrap.py``; it replaces it
    runpy.run_path(str(BOOTSTRAP), run_name="__main__")


def main(preload: Sequence[str]) -> int:
    """Entry point: import ``preload``, then serve fork requests until stdin closes."""
    sys.path.pop(0)  # the owner's working folder (``-m``): not the jobs' business
    for module in preload:
        importlib.import_module(module)
    # The collector never scans what the jobs inherit: no copy-on-write of every page.
    gc.freeze()
    request = _serve()
    if request is None:
        # The owner is gone: go at once (no interpreter shutdown), so that the jobs get
        # their SIGTERM (``PR_SET_PDEATHSIG``) now, before a retry of a lost run starts.
        os._exit(0)
    _become_job(request)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
