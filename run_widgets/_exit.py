"""What happens to open runs when the process ends: normal exit, uncaught exception, SIGTERM.

Run code registers one callback, ``on_exit(reason, exc)``; this module calls it once, with
``reason`` one of ``"exit"`` (normal interpreter exit), ``"exception"`` (the interpreter is
ending because of an uncaught exception, passed as ``exc``) or ``"sigterm"``. Whatever the
reason, everything logged is flushed before the process goes.

The SIGTERM handler is installed only from the main thread and chains to the previous
handler; with the default handler it re-raises the signal so the exit status stays 143.
"""

from __future__ import annotations

import atexit
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
_uncaught: BaseException | None = None
_installed = False
_previous_excepthook = sys.excepthook
_previous_sigterm: Callable[[int, FrameType | None], object] | int | None = None


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
    if _uncaught is not None:
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
    _run_callbacks("sigterm", None)
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def reset_after_fork() -> None:
    """A forked child starts with no callbacks; its own runs register again."""
    global _done, _uncaught
    with _lock:
        _callbacks.clear()
    _done = False
    _uncaught = None


os.register_at_fork(after_in_child=reset_after_fork)
