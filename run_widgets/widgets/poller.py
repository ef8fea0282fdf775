"""The background refresh of displayed runs: one named daemon thread per displayed run.

* A registry keyed by (workspace, run id): showing a run again replaces its old poller.
* ``stop()`` wakes the thread at once (an ``Event.wait``, not a sleep).
* The tick returns True when the run reached a terminal status: that tick was the final
  refresh and the thread ends.
* It never prints (under ipykernel 7 a thread's output lands in whichever cell runs);
  errors go to ``on_error`` (the widget's error bar) and the interval backs off, doubling
  up to ``MAX_BACKOFF_S``; the next success restores it.
* ``wait`` and ``clock`` are injectable, so the lifecycle is tested without real time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import ClassVar

DEFAULT_INTERVAL_S = 12.0
MAX_BACKOFF_S = 120.0
THREAD_PREFIX = "run-widgets-poll-"

Tick = Callable[[], bool]
ErrorHandler = Callable[[BaseException | None, int, float], None]


class Poller:
    """Calls ``tick`` every ``interval`` seconds on a daemon thread until it returns True.

    Args:
        key: registry key; starting a poller stops the one registered under the same key.
        tick: one refresh; returns True when polling should end (terminal status).
        interval: seconds between refreshes.
        on_error: called with (exception, failures in a row, next delay) after a failed tick,
            and with (None, 0, interval) after the first success that follows failures.
        name: thread name suffix (the run id).
        immediate: do the first tick right away instead of after one interval.
    """

    _registry: ClassVar[dict[tuple[str, str], Poller]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        key: tuple[str, str],
        tick: Tick,
        interval: float = DEFAULT_INTERVAL_S,
        on_error: ErrorHandler | None = None,
        name: str = "",
        immediate: bool = False,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"The refresh interval must be positive, got {interval}.")
        self.key = key
        self.interval = float(interval)
        self._tick = tick
        self._on_error = on_error
        self._on_stop = on_stop
        self._name = THREAD_PREFIX + (name or key[1])
        self._immediate = immediate
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.ticks = 0
        self.finished = False  # True when the loop ended because tick returned True

    # ------------------------------------------------------------------- lifecycle --
    def start(self) -> Poller:
        """Register this poller (stopping the previous one of the same run) and start it."""
        with Poller._registry_lock:
            previous = Poller._registry.get(self.key)
            Poller._registry[self.key] = self
        if previous is not None and previous is not self:
            previous.stop()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: float | None = None) -> None:
        """Ask the thread to end; with ``wait``, join it for that many seconds."""
        self._stop.set()
        with Poller._registry_lock:
            if Poller._registry.get(self.key) is self:
                del Poller._registry[self.key]
        if (
            wait is not None
            and self._thread is not None
            and self._thread is not threading.current_thread()
        ):
            self._thread.join(wait)

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @classmethod
    def active(cls) -> dict[tuple[str, str], Poller]:
        """The registered pollers (for leak checks)."""
        with cls._registry_lock:
            return dict(cls._registry)

    # ------------------------------------------------------------------------ loop --
    def next_delay(self) -> float:
        """Seconds until the next tick: the interval, doubled per failure in a row."""
        if not self.failures:
            return self.interval
        return float(min(MAX_BACKOFF_S, self.interval * 2.0**self.failures))

    def run_once(self) -> bool:
        """One tick with error handling; True when polling should end."""
        self.ticks += 1
        try:
            done = self._tick()
        except Exception as error:
            self.failures += 1
            if self._on_error is not None:
                self._on_error(error, self.failures, self.next_delay())
            return False
        if self.failures:
            self.failures = 0
            if self._on_error is not None:
                self._on_error(None, 0, self.interval)
        return bool(done)

    def _loop(self) -> None:
        try:
            if self._immediate and not self._stop.is_set() and self.run_once():
                self.finished = True
                return
            while not self._stop.wait(self.next_delay()):
                if self.run_once():
                    self.finished = True
                    return
        finally:
            with Poller._registry_lock:
                if Poller._registry.get(self.key) is self:
                    del Poller._registry[self.key]
            if self._on_stop is not None:
                with contextlib.suppress(Exception):  # a thread must end quietly
                    self._on_stop()


def poll_threads() -> list[threading.Thread]:
    """Live poller threads of this process (for leak checks)."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
