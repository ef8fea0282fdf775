"""Runs a submitted script and records an uncaught exception for the supervisor.

This file is executed by the job's interpreter (which may be another Python than the
notebook's), so it only uses the standard library and is started by path, not imported:
``<python> _bootstrap.py <script> [args...]``. The exception's type, message and
traceback go to the JSON file named by ``RUN_WIDGETS_ERROR_FILE``; Python then prints the
traceback to stderr (the run's log) and exits with status 1 as usual.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
import types

ERROR_FILE_VARIABLE = "RUN_WIDGETS_ERROR_FILE"


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the supervisor dies (so no orphan job)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() == 1:  # the supervisor died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _record(kind: str, message: str, trace: str) -> None:
    path = os.environ.get(ERROR_FILE_VARIABLE)
    if not path:
        return
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"type": kind, "message": message, "traceback": trace}, handle)


def main() -> None:
    """Run ``sys.argv[1]`` as ``__main__`` with the remaining arguments."""
    _die_with_parent()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    # sys.path[0] is this file's folder; the script must see its own folder there instead.
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            _record("SystemExit", f"The script called sys.exit({exit_.code!r}).", "")
        raise
    except BaseException as error:
        user_frames = _skip_own_frames(error.__traceback__)
        trace = "".join(traceback.format_exception(type(error), error, user_frames))
        _record(type(error).__name__, str(error), trace)
        raise error.with_traceback(user_frames) from error.__cause__


def _skip_own_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback from the user's script on (without this file and runpy)."""
    own = (os.path.abspath(__file__), "<frozen runpy>", runpy.__file__)
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename in own:
        tb = tb.tb_next
    return tb


if __name__ == "__main__":
    main()
