"""The background refresh of displayed runs: one named daemon thread per displayed run.

* A registry keyed by (workspace, run id): showing a run again replaces its old poller.
* ``stop()`` wakes the thread at once (an ``Event.wait``, not a sleep).
* The tick returns True when the run reached a terminal status: that tick was the final
  refresh and the thread ends.
* It never prints (under ipykernel 7 a thread's output lands in whichever cell runs);
  errors go to ``on_error`` (the widget's error bar) and the interval backs off, doubling
  up to ``MAX_BACKOFF_S``; the next success restores it.
* ``wait`` is injectable (``wait(stop_event, seconds) -> stopped``), so the lifecycle is
  tested with a fake clock instead of real time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import ClassVar

from ..runtime import REGISTRY

DEFAULT_INTERVAL_S = 12.0
MAX_BACKOFF_S = 120.0
THREAD_PREFIX = "run-widgets-poll-"

Tick = Callable[[], bool]
ErrorHandler = Callable[[BaseException | None, int, float], None]
Wait = Callable[[threading.Event, float], bool]
"""``wait(stop, seconds)``: block up to ``seconds`` or until ``stop`` is set; True if set."""


def event_wait(stop: threading.Event, seconds: float) -> bool:
    """The real wait: ``stop.wait(seconds)`` (``stop()`` wakes it at once)."""
    return stop.wait(seconds)


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
        on_stop: called on the poller thread when it ends (e.g. to close its connection).
        wait: how the thread waits between ticks (see :data:`Wait`); tests pass a fake clock.
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
        wait: Wait = event_wait,
    ) -> None:
        if not 0 < interval < float("inf"):
            raise ValueError(f"The refresh interval must be positive and finite, got {interval}.")
        self.key = key
        self.interval = float(interval)
        self._tick = tick
        self._on_error = on_error
        self._on_stop = on_stop
        self._name = THREAD_PREFIX + (name or key[1])
        self._immediate = immediate
        self._wait = wait
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
        """Seconds until the next tick: the interval, doubled per failure in a row.

        The doubling stops at ``MAX_BACKOFF_S``, or at the interval itself if that is longer
        (backing off never makes refreshes more frequent).
        """
        if not self.failures:
            return self.interval
        doubled = self.interval * 2.0 ** min(self.failures, 32)
        return float(max(self.interval, min(MAX_BACKOFF_S, doubled)))

    def run_once(self) -> bool:
        """One tick with error handling; True when polling should end."""
        self.ticks += 1
        try:
            done = self._tick()
        except Exception as error:
            self.failures += 1
            self._report(error, self.failures, self.next_delay())
            return False
        if self.failures:
            self.failures = 0
            self._report(None, 0, self.interval)
        return bool(done)

    def _report(self, error: BaseException | None, failures: int, delay: float) -> None:
        if self._on_error is not None:
            # A failing error handler must not kill the thread (whose death would print).
            with contextlib.suppress(Exception):
                self._on_error(error, failures, delay)

    def _loop(self) -> None:
        try:
            if self._immediate and not self._stop.is_set() and self.run_once():
                self.finished = True
                return
            while not self._wait(self._stop, self.next_delay()):
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


def finish_run(source_location: str, run_id: str) -> None:
    """Do the final refresh of a run's pollers now, in the calling thread, and stop them.

    ``wait_for_completion`` calls this when the run it waited for ends, so the view and its
    static snapshot show the final state while the waiting cell still runs (output sent
    from there reaches the notebook for sure; a poller thread's might come too late).
    """
    poller = Poller.active().get((source_location, run_id))
    if poller is not None:
        if poller.run_once():
            poller.finished = True
        poller.stop()


def poll_threads() -> list[threading.Thread]:
    """Live poller threads of this process (for leak checks)."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


REGISTRY.wait_finished.add(finish_run)
