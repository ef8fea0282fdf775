"""What happens to open runs when the process ends: normal exit, uncaught exception, SIGTERM.

Run code registers one callback, ``on_exit(reason, exc)``; this module calls it once, with
``reason`` one of ``"exit"`` (normal interpreter exit), ``"exception"`` (the interpreter is
ending because of an uncaught exception, passed as ``exc``) or ``"sigterm"``. Whatever the
reason, everything logged is flushed before the process goes.

The SIGTERM handler is installed only from the main thread and chains to a previous
Python handler. With the default disposition it does not close runs inside the handler
(the main thread may be anywhere, e.g. holding a buffer lock or inside a store write, and
closing runs there deadlocks); it raises :class:`Terminated` (a ``SystemExit``) instead, so
the program unwinds (locks are released, ``finally`` blocks and ``with run:`` run), then
the exit hook closes the runs with reason ``"sigterm"`` and re-raises the signal, so the
process still ends "killed by SIGTERM" (exit status 143 in a shell).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

ExitCallback = Callable[[str, BaseException | None], None]

_callbacks: list[ExitCallback] = []
_lock = threading.Lock()
_done = False
_terminated = False
_uncaught: BaseException | None = None
_installed = False
_previous_excepthook = sys.excepthook
_previous_sigterm: Callable[[int, FrameType | None], object] | int | None = None


class Terminated(SystemExit):
    """Raised in the main thread when SIGTERM arrives (exit code 143).

    Catching it and carrying on is allowed; a later SIGTERM raises it again.
    """


def terminated() -> bool:
    """True once SIGTERM was received (and not handled by another handler that returned)."""
    return _terminated


def register(callback: ExitCallback) -> None:
    """Call ``callback(reason, exc)`` once when the process ends; installs the hooks."""
    global _installed
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)
        if _installed:
            return
        _installed = True
    atexit.register(_at_exit)
    sys.excepthook = _excepthook
    _install_sigterm()


def _install_sigterm() -> None:
    global _previous_sigterm
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        _previous_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main interpreter, or signals unavailable
        _previous_sigterm = None


def _run_callbacks(reason: str, exc: BaseException | None) -> None:
    global _done
    with _lock:
        if _done:
            return
        _done = True
        callbacks = list(_callbacks)
    for callback in callbacks:
        try:
            callback(reason, exc)
        except Exception as error:
            print(f"run_widgets: could not close runs at exit: {error!r}", file=sys.stderr)


def _at_exit() -> None:
    if _terminated:
        _run_callbacks("sigterm", None)
        if not callable(_previous_sigterm):
            # End as the default disposition would have: killed by SIGTERM.
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
    elif _uncaught is not None:
        _run_callbacks("exception", _uncaught)
    else:
        _run_callbacks("exit", None)


def _excepthook(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    global _uncaught
    _uncaught = value
    _previous_excepthook(kind, value, traceback)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    previous = _previous_sigterm
    if callable(previous):
        # Another handler decides; if it ends the process, runs close with "sigterm".
        _terminated = True
        previous(signum, frame)
        _terminated = False  # it returned: the program goes on
        return
    if previous == signal.SIG_IGN or _done:
        return  # ignored, or the runs are being closed already
    _terminated = True
    raise Terminated(128 + signum)


def reset_after_fork() -> None:
    """A forked child starts with no callbacks; its own runs register again."""
    global _done, _uncaught, _terminated
    with _lock:
        _callbacks.clear()
    _done = False
    _uncaught = None
    _terminated = False


os.register_at_fork(after_in_child=reset_after_fork)
