"""Process-wide state, owned by one object: :data:`RUNTIME`.

One process shares, across every ``Workspace``/``Run`` object it creates:

* ``stores``: one open tracking store per store URI (connections are per process);
* ``exit_hooks``: what runs when the process ends (see :mod:`.exit_hooks`);
* ``flusher``: the background thread that writes buffered metric points and heartbeats;
* ``runs``: what this process knows about each run (its point buffer, whether it owns it)
  and the runs it started and has not ended (closed at exit);
* ``context``: the run ``Run.get_context()`` hands out.

Keeping them in one object gives one place to release a store (``release_store``) and one
fork hook: a forked child forgets the parent's connections, buffers, threads and hooks.

Layer: runtime.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..store import TrackingStore, open_store
from .context import ContextSlot
from .exit_hooks import ExitHooks
from .flusher import Flusher

StateT = TypeVar("StateT")
RunT = TypeVar("RunT")


class StoreCache:
    """The process's open tracking stores, by canonical store URI."""

    def __init__(self) -> None:
        self._stores: dict[str, TrackingStore] = {}
        self._lock = threading.Lock()

    def get(self, uri: str) -> TrackingStore:
        """The open store of ``uri``, opening it on first use."""
        with self._lock:
            store = self._stores.get(uri)
            if store is None:
                store = open_store(uri)
                self._stores[uri] = store
            return store

    def pop(self, uri: str) -> None:
        """Forget the store of ``uri`` (the caller closes it)."""
        with self._lock:
            self._stores.pop(uri, None)

    def reset_after_fork(self) -> None:
        """In a forked child: a new lock, and every store drops inherited connections."""
        self._lock = threading.Lock()
        for store in self._stores.values():
            store.reset_after_fork()


class RunTable(Generic[StateT, RunT]):
    """Per-run state shared by all objects of one run, and the runs this process owns.

    Keys are ``(id(store), run_id)``: the same run id in two stores is two runs.
    """

    def __init__(self) -> None:
        self._states: weakref.WeakValueDictionary[tuple[int, str], Any] = (
            weakref.WeakValueDictionary()
        )
        self._lock = threading.Lock()
        self._owned: dict[tuple[int, str], RunT] = {}

    def state_for(self, store: TrackingStore, run_id: str, make: Callable[[], StateT]) -> StateT:
        """The shared state of a run, made by ``make()`` if no live object holds one."""
        key = (id(store), run_id)
        with self._lock:
            state: StateT | None = self._states.get(key)
            if state is None:
                state = make()
                self._states[key] = state
            return state

    def own(self, store: TrackingStore, run_id: str, run: RunT) -> None:
        """Record that this process started ``run`` and must end it."""
        self._owned[(id(store), run_id)] = run

    def disown(self, store: TrackingStore, run_id: str) -> None:
        """The run ended (or is handed over): this process no longer closes it at exit."""
        self._owned.pop((id(store), run_id), None)

    def owned(self, store: TrackingStore, run_id: str) -> RunT | None:
        """The owned run with this id, if any."""
        return self._owned.get((id(store), run_id))

    def all_owned(self) -> list[RunT]:
        """Every run this process started and has not ended."""
        return list(self._owned.values())

    def forget_store(self, store: TrackingStore) -> None:
        """Stop tracking the runs of ``store``."""
        for key in [k for k in self._owned if k[0] == id(store)]:
            self._owned.pop(key, None)


class Runtime:
    """The process-wide state of run_widgets (one instance: :data:`RUNTIME`)."""

    def __init__(self) -> None:
        self.stores = StoreCache()
        self.exit_hooks = ExitHooks()
        self.flusher = Flusher(self.exit_hooks)
        self.runs: RunTable[Any, Any] = RunTable()
        self.context = ContextSlot()

    def release_store(self, uri: str, store: TrackingStore) -> None:
        """Stop using a store in this process: flush and forget its runs, then close it."""
        self.flusher.forget_store(store)
        self.runs.forget_store(store)
        self.stores.pop(uri)
        store.close()

    def reset_after_fork(self) -> None:
        """In a forked child: forget the parent's buffers, threads, connections and hooks."""
        self.exit_hooks.reset_after_fork()
        self.flusher.reset_after_fork()
        self.stores.reset_after_fork()
        self.context.reset()


RUNTIME = Runtime()
os.register_at_fork(after_in_child=RUNTIME.reset_after_fork)
