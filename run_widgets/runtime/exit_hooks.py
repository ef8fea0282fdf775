"""What happens to open runs when the process ends: normal exit, uncaught exception, SIGTERM.

Run code registers callbacks, ``callback(reason, exc)``, with the process's
:class:`ExitHooks` (``RUNTIME.exit_hooks``); they are called once, with ``reason`` one of
``"exit"`` (normal interpreter exit), ``"exception"`` (the interpreter is ending because of
an uncaught exception, passed as ``exc``) or ``"sigterm"``. Whatever the reason, everything
logged is flushed before the process goes.

The SIGTERM handler is installed only from the main thread and chains to a previous
Python handler. With the default disposition it does not close runs inside the handler
(the main thread may be anywhere, e.g. holding a buffer lock or inside a store write, and
closing runs there deadlocks); it raises :class:`Terminated` (a ``SystemExit``) instead, so
the program unwinds (locks are released, ``finally`` blocks and ``with run:`` run), then
the exit hook closes the runs with reason ``"sigterm"`` and re-raises the signal, so the
process still ends "killed by SIGTERM" (exit status 143 in a shell).

Layer: runtime (imports nothing of run_widgets).
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
SigtermHandler = Callable[[int, FrameType | None], object] | int | None


class Terminated(SystemExit):
    """Raised in the main thread when SIGTERM arrives (exit code 143).

    Catching it and carrying on is allowed; a later SIGTERM raises it again.
    """


class ExitHooks:
    """The callbacks to run once when this process ends, and the hooks that call them.

    The interpreter hooks (``atexit``, ``sys.excepthook``, the SIGTERM handler) are
    installed on the first :meth:`register`.
    """

    def __init__(self) -> None:
        self._callbacks: list[ExitCallback] = []
        self._lock = threading.Lock()
        self._done = False
        self._terminated = False
        self._uncaught: BaseException | None = None
        self._installed = False
        self._previous_excepthook = sys.excepthook
        self._previous_sigterm: SigtermHandler = None

    @property
    def terminated(self) -> bool:
        """True once SIGTERM was received (and not handled by another handler that returned)."""
        return self._terminated

    def register(self, callback: ExitCallback) -> None:
        """Call ``callback(reason, exc)`` once when the process ends; installs the hooks."""
        with self._lock:
            if callback not in self._callbacks:
                self._callbacks.append(callback)
            if self._installed:
                return
            self._installed = True
        atexit.register(self._at_exit)
        sys.excepthook = self._excepthook
        self._install_sigterm()

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self._previous_sigterm = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._on_sigterm)
        except (ValueError, OSError):  # not the main interpreter, or signals unavailable
            self._previous_sigterm = None

    def _run_callbacks(self, reason: str, exc: BaseException | None) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(reason, exc)
            except Exception as error:
                print(f"run_widgets: could not close runs at exit: {error!r}", file=sys.stderr)

    def _at_exit(self) -> None:
        if self._terminated:
            self._run_callbacks("sigterm", None)
            if not callable(self._previous_sigterm):
                # End as the default disposition would have: killed by SIGTERM.
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
        elif self._uncaught is not None:
            self._run_callbacks("exception", self._uncaught)
        else:
            self._run_callbacks("exit", None)

    def _excepthook(
        self, kind: type[BaseException], value: BaseException, traceback: TracebackType | None
    ) -> None:
        self._uncaught = value
        self._previous_excepthook(kind, value, traceback)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous_sigterm
        if callable(previous):
            # Another handler decides; if it ends the process, runs close with "sigterm".
            self._terminated = True
            previous(signum, frame)
            self._terminated = False  # it returned: the program goes on
            return
        if previous == signal.SIG_IGN or self._done:
            return  # ignored, or the runs are being closed already
        self._terminated = True
        raise Terminated(128 + signum)

    def reset_after_fork(self) -> None:
        """A forked child starts with no callbacks; its own runs register again."""
        with self._lock:
            self._callbacks.clear()
        self._done = False
        self._uncaught = None
        self._terminated = False
