"""Closing a store while another thread is using it must not crash the process.

(It did: ``Workspace.close()`` closed the flusher thread's SQLite connection in the middle of
a heartbeat, and the interpreter died with a segmentation fault.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from run_widgets import Experiment, Workspace
from run_widgets.exceptions import StoreError
from run_widgets.store import AppendPoints, TrackingStore


def _hammer(store: TrackingStore, run_id: str, outcome: list[str]) -> None:
    try:
        while True:
            store.write([AppendPoints(run_id, "x", "scalar", np.arange(50.0), np.zeros(50))])
            store.read_chunks(run_id)
    except StoreError:
        outcome.append("closed")
    finally:
        store.release_thread_resources()


def test_closing_a_store_under_a_busy_thread(make_ws: Callable[[str], Workspace]) -> None:
    for attempt in range(20):
        ws = make_ws(f"ws{attempt}")
        run = Experiment(ws, "race").start_logging(snapshot_directory=None)
        store = ws.store
        outcome: list[str] = []
        worker = threading.Thread(target=_hammer, args=(store, run.id, outcome))
        worker.start()
        time.sleep(0.02 * (attempt % 5))
        ws.close()  # while the worker is in the middle of its writes and reads
        worker.join(10)
        assert not worker.is_alive()
        assert outcome == ["closed"]
        deadline = time.time() + 5  # the flusher thread releases its own connection
        while store.open_connection_count() and time.time() < deadline:
            time.sleep(0.05)
        assert store.open_connection_count() == 0
