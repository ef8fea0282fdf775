"""Runs a submitted script and records an uncaught exception for the supervisor.

This file is executed by the job's interpreter (which may be another Python than the
notebook's), so it only uses the standard library and is started by path, not imported:
``<python> _bootstrap.py <script> [args...]`` (or ``-m <module> [args...]``). The
exception's type, message and traceback go to the JSON file named by
``RUN_WIDGETS_ERROR_FILE``; the traceback is then printed to stderr (the run's log) as
Python would, and the process exits with status 1.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import threading
import time
import traceback
import types

ERROR_FILE_VARIABLE = "RUN_WIDGETS_ERROR_FILE"
SUPERVISOR_PID_VARIABLE = "RUN_WIDGETS_SUPERVISOR_PID"
GRACE_VARIABLE = "RUN_WIDGETS_CANCEL_GRACE_S"


def _die_with_parent() -> None:
    """End this job when its supervisor dies, so that no orphan job runs on.

    On Linux the kernel sends SIGTERM at once (``PR_SET_PDEATHSIG``). A watchdog thread
    also notices the new parent and, should the script ignore SIGTERM, kills the job after
    the cancel grace period, as a cancel would.
    """
    supervisor = int(os.environ.get(SUPERVISOR_PID_VARIABLE) or os.getppid())
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if os.getppid() != supervisor:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(
        target=_watch_parent, args=(supervisor,), name="run-widgets-orphan-watch", daemon=True
    ).start()


def _watch_parent(supervisor: int) -> None:
    while os.getppid() == supervisor:
        time.sleep(0.5)
    try:
        grace = float(os.environ.get(GRACE_VARIABLE, "10"))
    except ValueError:
        grace = 10.0
    os.kill(os.getpid(), signal.SIGTERM)  # in case PR_SET_PDEATHSIG is not available
    time.sleep(grace)
    os.kill(os.getpid(), signal.SIGKILL)


def _record(kind: str, message: str, trace: str) -> None:
    path = os.environ.get(ERROR_FILE_VARIABLE)
    if not path:
        return
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"type": kind, "message": message, "traceback": trace}, handle)


def main() -> None:
    """Run ``sys.argv[1]`` as ``__main__`` with the remaining arguments.

    ``-m MODULE args...`` runs a module instead, as ``python -m`` would.
    """
    _die_with_parent()
    module = sys.argv[2] if sys.argv[1] == "-m" else None
    script = sys.argv[1]
    sys.argv = sys.argv[2:] if module else sys.argv[1:]
    # sys.path[0] is this file's folder; the script must see its own folder there instead
    # (``-m``: the working folder, as ``python -m`` has it).
    sys.path[0] = os.getcwd() if module else os.path.dirname(os.path.abspath(script))
    try:
        if module:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            _record("SystemExit", f"The script called sys.exit({exit_.code!r}).", "")
        raise
    except BaseException as error:
        user_frames = _skip_own_frames(error.__traceback__)
        trace = "".join(traceback.format_exception(type(error), error, user_frames))
        _record(type(error).__name__, str(error), trace)
        if isinstance(error, KeyboardInterrupt):
            raise
        # As if uncaught in the script: the traceback (from the script's own frames, not
        # this file's) goes to stderr through sys.excepthook, then exit status 1.
        sys.excepthook(type(error), error.with_traceback(user_frames), user_frames)
        sys.exit(1)


def _skip_own_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback from the user's script on (without this file and runpy).

    ``None`` when no frame is the user's (a syntax error in the script): Python then shows
    just the offending line, as ``python script.py`` would.
    """
    own = (os.path.abspath(__file__), "<frozen runpy>", runpy.__file__)
    while tb is not None and tb.tb_frame.f_code.co_filename in own:
        tb = tb.tb_next
    return tb


if __name__ == "__main__":
    main()
