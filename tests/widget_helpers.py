"""Helpers shared by the widget tests: condition waits, a fake clock, runs logged every way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from run_widgets import Experiment, Run
from run_widgets.store import AppendPoints, CreateRun, RunStatus

XSS = "<img src=x onerror=alert(1)>"


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Wait for ``condition()`` to be truthy (never a fixed sleep); return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)


class FakeClock:
    """A fake ``wait(stop, seconds)`` for ``Poller``: time moves only when the test says so.

    ``waits`` records every delay the poller asked for; ``advance(s)`` moves time on and
    wakes the poller when its delay has passed. ``stop()`` still wakes it at once.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self._cond = threading.Condition()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        with self._cond:
            self.waits.append(seconds)
            self._cond.notify_all()
            deadline = self.now + seconds
            while self.now < deadline and not stop.is_set():
                self._cond.wait(0.005)
            return stop.is_set()

    def advance(self, seconds: float) -> None:
        with self._cond:
            self.now += seconds
            self._cond.notify_all()

    def wait_for_waits(self, count: int, timeout: float = 30.0) -> None:
        """Until the poller has started ``count`` waits (i.e. finished the tick before)."""
        wait_until(lambda: len(self.waits) >= count, timeout, f"{count} waits")


def new_run(exp: Experiment, **kwargs: Any) -> Run:
    """An interactive run without snapshot or outputs upload."""
    return exp.start_logging(snapshot_directory=None, outputs=False, **kwargs)


def log_every_way(run: Run) -> None:
    """One metric per way of logging (see mapping.py's table)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    run.log("scalar_once", 0.5)
    for i in range(5):
        run.log("loss", 1.0 / (i + 1))
    run.log_list("acc_list", [0.1, 0.2, 0.3, 0.4])
    run.log_row("row_once", x=1, y=0.4)
    for i in range(4):
        run.log_row("roc", fpr=i / 4, tpr=(i / 4) ** 0.5, thr=1 - i / 4)
    run.log_table("numeric_table", {"epoch": [1, 2, 3], "train": [0.9, 0.5, 0.3]})
    run.log_table("string_table", {"name": ["a", "b"], "size": [1, 2]})
    for text in ("red", "green", "blue"):
        run.log("colour", text)
    run.log("note", "hello")
    figure = Figure()
    figure.add_subplot(1, 1, 1).plot([1, 2, 3])
    run.log_image("plot", plot=figure)
    run.log_confusion_matrix(
        "confusion", {"class_labels": ["cat", "dog"], "matrix": [[5, 1], [2, 7]]}
    )


def add_children_fast(run: Run, count: int, running: int = 0) -> list[str]:
    """``count`` children of ``run`` in one batch write (Completed, 2 metrics each)."""
    ids = [f"{run.id}_c{i}" for i in range(count)]
    ops: list[Any] = []
    now = time.time()
    for index, child_id in enumerate(ids):
        ops.append(
            CreateRun(
                run_id=child_id,
                experiment_name=run.experiment.name,
                run_type="interactive",
                status=RunStatus.RUNNING if index < running else RunStatus.COMPLETED,
                parent_id=run.id,
                tags={"alpha": str(0.1 * (index + 1))},
                created_at=now + index * 1e-3,
            )
        )
        for name, value in (("alpha", 0.1 * (index + 1)), ("mse", 1.0 / (index + 1))):
            ops.append(
                AppendPoints(
                    run_id=child_id,
                    name=name,
                    kind="scalar",
                    values=np.array([value]),
                    times=np.array([now]),
                )
            )
    run.workspace.store.write(ops)
    return ids


def append_points(run: Run, name: str, values: np.ndarray) -> None:
    """Append ``values`` to scalar metric ``name`` in one store write (one chunk)."""
    values = np.asarray(values, dtype=np.float64)
    run.workspace.store.write(
        [
            AppendPoints(
                run_id=run.id,
                name=name,
                kind="scalar",
                values=values,
                times=np.full(len(values), time.time()),
            )
        ]
    )


class FakeHandle:
    """Stands for IPython's ``DisplayHandle``: records ``update`` calls."""

    def __init__(self, display_id: str) -> None:
        self.display_id = display_id
        self.updates: list[dict[str, Any]] = []

    def update(self, obj: dict[str, Any], **kwargs: Any) -> None:
        self.updates.append(obj)


class FakeDisplay:
    """Stands for ``IPython.display.display`` in a kernel: records outputs, gives handles."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.handles: list[FakeHandle] = []

    def __call__(self, obj: Any, raw: bool = False, display_id: Any = None, **kw: Any) -> Any:
        self.outputs.append(obj)
        if display_id is None:
            return None
        handle = FakeHandle(f"display-{len(self.handles)}")
        self.handles.append(handle)
        return handle


def fake_kernel(monkeypatch: Any) -> FakeDisplay:
    """Make ``RunDetails.show()`` behave as in a kernel, with a recording ``display``."""
    import IPython.display

    from run_widgets.widgets import _live, details

    fake = FakeDisplay()
    monkeypatch.setattr(_live, "in_kernel", lambda: True)  # show()
    monkeypatch.setattr(details, "in_kernel", lambda: True)  # a child's view
    monkeypatch.setattr(IPython.display, "display", fake)
    return fake


def unowned_run(exp: Experiment, run_id: str = "unowned", status: str = "Running") -> Run:
    """A run no process of this test owns, with a 2-point metric written directly.

    Nothing of it goes through this process's flusher thread, so the store's connections
    are only the test's own: leak checks can compare exact counts.
    """
    exp.workspace.store.write(
        [CreateRun(run_id=run_id, experiment_name=exp.name, run_type="interactive", status=status)]
    )
    run = Run(exp, run_id)
    append_points(run, "loss", np.array([1.0, 0.5]))
    return run


class CommSpy:
    """Records what kernel-free widgets would send to the front-end (ipywidgets' DummyComm).

    ``updates(widget)`` gives the ``update`` messages of one widget as
    ``(state, {buffer path: nbytes})`` pairs.
    """

    def __init__(self, monkeypatch: Any) -> None:
        import comm

        self.messages: list[tuple[str, dict[str, Any], list[Any]]] = []
        spy = self

        def publish_msg(
            self: Any,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            spy.messages.append(
                (msg_type, dict(data or {}, comm_id=self.comm_id), list(buffers or []))
            )

        monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)

    def clear(self) -> None:
        self.messages.clear()

    def updates(self, widget: Any) -> list[tuple[dict[str, Any], dict[str, int]]]:
        found = []
        for msg_type, data, buffers in self.messages:
            if msg_type != "comm_msg" or data.get("comm_id") != widget.model_id:
                continue
            if data.get("method") != "update":
                continue
            paths = data.get("buffer_paths", [])
            sizes = {
                "/".join(map(str, path)): memoryview(buffer).nbytes
                for path, buffer in zip(paths, buffers, strict=True)
            }
            found.append((data["state"], sizes))
        return found
