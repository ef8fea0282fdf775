"""The process-wide background thread that makes logged points durable and sends heartbeats.

One daemon thread per process ("run-widgets-flusher") writes every watched run buffer to
its store at least every ``FLUSH_INTERVAL_S`` (so a point is durable about half a second
after ``run.log``), and records a heartbeat for every store where this process owns runs,
so readers can tell a live run from one whose process died.

Flushes of all buffers are serialised by one lock: a ``flush()`` called by user code waits
for an ongoing background flush, so points of one metric are always written in order.
A failed write keeps its points and is retried on the next tick; an explicit ``flush()``
raises the error. A write the store refuses for good because of the client's rights
(``StorePermissionError``: a viewer role, another role's run) is not retried: those points
are dropped with one line on stderr saying how many, of which run and why, and ``flush()``
raises the error; the other runs' points are written as usual.

It knows buffers only as :class:`PointBuffer` (``tracking.buffer.RunBuffer`` is one), so
the run's parts stay above it.

Layer: runtime (imports the store and the runtime's exit hooks and host id).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import psutil

from ..exceptions import StoreError, StorePermissionError
from ..store import AppendPoints, RunStatus, TrackingStore
from .exit_hooks import ExitHooks
from .host import local_host, process_started_at

FLUSH_INTERVAL_S = 0.5
HEARTBEAT_INTERVAL_S = 5.0
COMPACT_INTERVAL_S = 60.0  # merge the small chunks of long-running runs this often
THREAD_NAME = "run-widgets-flusher"

CancelHandler = Callable[[TrackingStore, list[str]], None]
"""Called with runs owned by this process whose cancellation another process requested."""


class PointBuffer(Protocol):
    """The pending points of one run, as the flusher sees them."""

    run_id: str

    def drain(self) -> list[AppendPoints]:
        """Take every pending point; the operations that store them."""


class Flusher:
    """Registry of run buffers to flush, owner ids to heartbeat, and the thread doing both.

    Args:
        exit_hooks: the process's exit hooks (whatever is still buffered at exit is
            written by one of them).
    """

    def __init__(self, exit_hooks: ExitHooks) -> None:
        self._exit_hooks = exit_hooks
        self._registry_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffers: dict[int, tuple[TrackingStore, PointBuffer]] = {}
        self._retry: dict[int, list[AppendPoints]] = {}
        self._outages: dict[int, _Outage] = {}
        self._errors: dict[int, BaseException] = {}
        self._owners: dict[int, tuple[TrackingStore, int]] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_heartbeat = 0.0
        self._release: list[TrackingStore] = []
        self._last_compaction = time.monotonic()
        self._cancel_handlers: list[CancelHandler] = []

    # ----------------------------------------------------------------- registration --
    def watch(self, store: TrackingStore, buffer: PointBuffer) -> None:
        """Flush ``buffer`` into ``store`` from now on."""
        with self._registry_lock:
            self._buffers[id(buffer)] = (store, buffer)
        self._ensure_thread()

    def unwatch(self, buffer: PointBuffer) -> None:
        """Stop watching ``buffer`` (after a final :meth:`flush`)."""
        with self._registry_lock:
            self._buffers.pop(id(buffer), None)

    def owner_id(self, store: TrackingStore) -> int:
        """This process's owner id in ``store``, registered on first use."""
        with self._registry_lock:
            known = self._owners.get(id(store))
            if known is not None:
                return known[1]
        started = process_started_at(psutil.Process(os.getpid()))
        owner = store.register_owner(local_host(), os.getpid(), started)
        with self._registry_lock:
            self._owners.setdefault(id(store), (store, owner))
            owner = self._owners[id(store)][1]
        self._ensure_thread()
        return owner

    def add_cancel_handler(self, handler: CancelHandler) -> None:
        """Call ``handler(store, run_ids)`` when runs this process owns get CancelRequested."""
        with self._registry_lock:
            if handler not in self._cancel_handlers:
                self._cancel_handlers.append(handler)

    def forget_store(self, store: TrackingStore) -> None:
        """Flush and stop watching every buffer of ``store``; stop its heartbeats."""
        with self._registry_lock:
            entries = [(s, b) for s, b in self._buffers.values() if s is store]
        self._flush_entries(entries)
        with self._registry_lock:
            for _, buffer in entries:
                self._buffers.pop(id(buffer), None)
                self._retry.pop(id(buffer), None)
                self._errors.pop(id(buffer), None)
            self._owners.pop(id(store), None)
            self._release.append(store)  # the thread closes its connection to it itself

    def watched_count(self) -> int:
        """Number of buffers being watched (for leak checks)."""
        with self._registry_lock:
            return len(self._buffers)

    # ------------------------------------------------------------------------ flushing --
    def flush(self, buffers: Iterable[PointBuffer] | None = None) -> None:
        """Write pending points now (of ``buffers``, or of every watched buffer).

        Raises:
            StoreError: if some points could not be written; they stay queued for a retry.
        """
        with self._registry_lock:
            if buffers is None:
                entries = list(self._buffers.values())
            else:
                wanted = {id(b) for b in buffers}
                entries = [e for k, e in self._buffers.items() if k in wanted]
        errors = self._flush_entries(entries, background=False)
        if errors:
            raise errors[0]

    def _flush_entries(
        self, entries: list[tuple[TrackingStore, PointBuffer]], background: bool = False
    ) -> list[BaseException]:
        errors: list[BaseException] = []
        with self._flush_lock:
            groups: dict[int, tuple[TrackingStore, list[PointBuffer]]] = {}
            for store, buffer in entries:
                groups.setdefault(id(store), (store, []))[1].append(buffer)
            now = time.monotonic()
            for store, buffers in groups.values():
                outage = self._outages.get(id(store))
                if background and outage is not None and now < outage.next_try:
                    continue  # the store is away: back off, points stay buffered
                ops: list[AppendPoints] = []
                keys = []
                for buffer in buffers:
                    key = id(buffer)
                    pending = self._retry.pop(key, []) + buffer.drain()
                    if pending:
                        ops.extend(pending)
                        keys.append((key, pending))
                if not ops:
                    continue
                try:
                    store.write(ops)
                    for key, _ in keys:
                        self._errors.pop(key, None)
                    if outage is not None:
                        self._outages.pop(id(store), None)
                        outage.recovered(store, sum(len(op.times) for op in ops))
                except StorePermissionError as exc:  # for good: not retried, said once
                    errors.append(exc)
                    for key, pending in keys:
                        self._refused(store, key, pending)
                except StoreError as exc:  # transient (server away, locked...): retry later
                    for key, pending in keys:
                        self._retry[key] = pending
                        self._errors[key] = exc
                    errors.append(exc)
                    if outage is None:
                        outage = self._outages[id(store)] = _Outage(exc)
                    outage.failed(store, exc, sum(len(op.times) for op in ops))
                except Exception as exc:
                    # A data error (a metric another process logged with another kind, a
                    # value that cannot be stored): retrying the batch would block every
                    # later point for good. Write op by op and drop only the failing ones.
                    errors.append(exc)
                    for key, pending in keys:
                        self._isolate(store, key, pending)
                except BaseException as exc:  # interrupted (SIGTERM, Ctrl-C): keep all
                    for key, pending in keys:
                        self._retry[key] = pending
                        self._errors[key] = exc
                    errors.append(exc)
        return errors

    def _refused(self, store: TrackingStore, key: int, pending: list[AppendPoints]) -> None:
        """One buffer of a batch the store refused for lack of rights: write it alone.

        The refusal may concern another buffer of the batch; this one's points are written
        if its run may be changed, else dropped with one line saying so (a permission does
        not come back by retrying).
        """
        try:
            store.write(pending)
            self._errors.pop(key, None)
        except StorePermissionError as exc:
            self._errors[key] = exc
            points = sum(len(op.times) for op in pending)
            print(
                f"run_widgets: dropped {points} logged point(s) of run {pending[0].run_id}: {exc}",
                file=sys.stderr,
                flush=True,
            )
        except StoreError as exc:
            self._retry[key] = pending
            self._errors[key] = exc
        except Exception:
            self._isolate(store, key, pending)

    def _isolate(self, store: TrackingStore, key: int, pending: list[AppendPoints]) -> None:
        for index, op in enumerate(pending):
            try:
                store.write([op])
            except StoreError as exc:
                self._retry[key] = pending[index:]  # keep this and later ops, in order
                self._errors[key] = exc
                return
            except Exception as exc:
                self._errors[key] = exc
                print(
                    f"run_widgets: dropped {len(op.times)} point(s) of metric {op.name!r} of "
                    f"run {op.run_id}: {exc}",
                    file=sys.stderr,
                )

    # -------------------------------------------------------------------------- thread --
    def _ensure_thread(self) -> None:
        with self._registry_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
            self._thread.start()
        # The thread is a daemon: whatever is still buffered when the process ends (even
        # for runs this process only reopened and does not own) is written by this hook.
        self._exit_hooks.register(self.flush_at_exit)

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            self.tick()

    def tick(self) -> None:
        """One round of background work: flush everything, heartbeat when due."""
        with self._registry_lock:
            released, self._release = self._release, []
        for store in released:
            store.release_thread_resources()
        with self._registry_lock:
            entries = list(self._buffers.values())
            owners = list(self._owners.values())
        # _flush_entries keeps failed points for a retry and flush() reports the error.
        self._flush_entries(entries, background=True)
        now = time.monotonic()
        if entries and now - self._last_compaction >= COMPACT_INTERVAL_S:
            self._last_compaction = now
            for store, buffer in entries:
                try:
                    store.compact_run(buffer.run_id)
                except Exception:  # noqa: S112 - an optimisation; retried next time
                    continue
        if owners and now - self._last_heartbeat >= HEARTBEAT_INTERVAL_S:
            self._last_heartbeat = now
            for store, owner in owners:
                try:
                    store.heartbeat(owner)
                    self._dispatch_cancel_requests(store, owner)
                except Exception:  # noqa: S112 - a missed beat is retried
                    continue

    def _dispatch_cancel_requests(self, store: TrackingStore, owner: int) -> None:
        requested = [
            run.id
            for run in store.find_runs(status=RunStatus.CANCEL_REQUESTED)
            if run.owner_id == owner
        ]
        if requested:
            for handler in list(self._cancel_handlers):
                handler(store, requested)

    def stop(self) -> None:
        """Stop the thread (used at interpreter exit, after the final flush)."""
        self._stop.set()

    def flush_at_exit(self, reason: str, exc: BaseException | None) -> None:
        """Exit hook: write every pending point before the process goes."""
        try:
            self.flush()
        except Exception as error:
            print(f"run_widgets: could not save the last metrics: {error!r}", file=sys.stderr)

    def reset_after_fork(self) -> None:
        """In a forked child: forget the parent's buffers, owners and thread."""
        for _, buffer in self._buffers.values():
            buffer.drain()  # the parent writes these points; the child must not
        handlers = self._cancel_handlers
        self.__init__(self._exit_hooks)  # type: ignore[misc]
        self._cancel_handlers = handlers


class _Outage:
    """A store that failed to take points: when to retry (backoff) and what was said."""

    FIRST_DELAY_S = 0.5
    MAX_DELAY_S = 8.0

    def __init__(self, exc: BaseException) -> None:
        self.since = time.monotonic()
        self.delay = self.FIRST_DELAY_S
        self.next_try = self.since + self.delay
        self.warned = False

    def failed(self, store: TrackingStore, exc: BaseException, points: int) -> None:
        """Schedule the next attempt; warn once per outage."""
        self.delay = min(self.delay * 2, self.MAX_DELAY_S)
        self.next_try = time.monotonic() + self.delay
        if not self.warned:
            self.warned = True
            if getattr(exc, "announced", False):
                return  # the store already said it (a full server the main thread waits for)
            print(
                f"run_widgets: cannot write to the tracking store {store.location} ({exc}). "
                f"{points} point(s) are kept in memory and retried with backoff (up to every "
                f"{self.MAX_DELAY_S:.0f} s) until it is back; nothing is lost while this "
                "process runs.",
                file=sys.stderr,
                flush=True,
            )

    def recovered(self, store: TrackingStore, points: int) -> None:
        """Say that the store is back (only if the outage was announced)."""
        if self.warned:
            print(
                f"run_widgets: the tracking store {store.location} is reachable again; "
                f"{points} buffered point(s) written after {time.monotonic() - self.since:.1f} s.",
                file=sys.stderr,
                flush=True,
            )
