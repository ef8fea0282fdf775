"""RunTracker polls read only what is new: chunks, changed children, appended log bytes."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from widget_helpers import append_points, new_run, unowned_run

from run_widgets import Experiment, Run, RunDetails
from run_widgets.runtime.host import local_host
from run_widgets.store import CreateRun, RunStatus
from run_widgets.store import artifacts as artifacts_module
from run_widgets.views.metric_lines import MetricData
from run_widgets.views.reader import run_reader
from run_widgets.views.tracker import RunTracker


class StoreSpy:
    """Records the incremental reads the tracker makes on a store."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, store: Any) -> None:
        self.chunk_calls: list[tuple[int, int]] = []  # (after_chunk_id, rows returned)
        self.child_calls: list[tuple[int | None, list[str]]] = []
        self.info_calls = 0
        read_chunks, find_runs, metric_infos = (
            store.read_chunks,
            store.find_runs,
            store.metric_infos,
        )

        def spy_chunks(run_id: str, **kwargs: Any) -> Any:
            chunks = read_chunks(run_id, **kwargs)
            self.chunk_calls.append((kwargs.get("after_chunk_id", 0), sum(c.n for c in chunks)))
            return chunks

        def spy_runs(**kwargs: Any) -> Any:
            runs = find_runs(**kwargs)
            if kwargs.get("parent_id") is not None:
                self.child_calls.append((kwargs.get("changed_after"), [r.id for r in runs]))
            return runs

        def spy_infos(run_ids: Any) -> Any:
            self.info_calls += 1
            return metric_infos(run_ids)

        monkeypatch.setattr(store, "read_chunks", spy_chunks)
        monkeypatch.setattr(store, "find_runs", spy_runs)
        monkeypatch.setattr(store, "metric_infos", spy_infos)

    def reset(self) -> None:
        self.chunk_calls.clear()
        self.child_calls.clear()
        self.info_calls = 0


def test_poll_reads_only_new_chunks(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening reads no chunk of a chart (it reads a window when drawn); polls read the new."""
    run = new_run(exp)
    append_points(run, "loss", np.linspace(1, 0, 10_000))
    spy = StoreSpy(monkeypatch, run.workspace.store)
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    assert spy.chunk_calls == []
    x, y = tracker.chart_xy("loss", "step")
    assert len(x) <= 2000 and y.max() == 1.0 and y.min() == 0.0
    last = run.workspace.store.last_chunk_id(run.id)
    spy.reset()
    append_points(run, "loss", np.full(100, -1.0))
    changes = tracker.poll()
    assert changes.metrics == {"loss"}
    assert spy.chunk_calls == [(last, 100)]  # after the last chunk seen: only the new one
    assert tracker.chart_xy("loss", "step")[1].min() == -1.0
    assert len(tracker.history("loss")) == 10_100  # read whole on demand (a report)
    spy.reset()
    changes = tracker.poll()  # nothing new
    assert spy.chunk_calls[0][1] == 0
    assert not changes.metrics


def test_points_logged_in_this_process_are_flushed_by_the_poll(exp: Experiment) -> None:
    run = new_run(exp)
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    run.log("acc", 0.5)
    run.log("acc", 0.6)  # still in the run's buffer
    assert tracker.poll().metrics == {"acc"}
    assert tracker.history("acc").values.tolist() == [0.5, 0.6]


def test_poll_reads_only_changed_children(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = new_run(exp)
    children = [parent.child_run() for _ in range(5)]
    spy = StoreSpy(monkeypatch, parent.workspace.store)
    tracker = RunTracker(run_reader(parent))
    tracker.poll()
    assert len(spy.child_calls) == 1 and spy.child_calls[0][0] == 0
    assert sorted(spy.child_calls[0][1]) == sorted(c.id for c in children)
    spy.reset()
    children[2].log("mse", 0.25)
    children[2].flush()
    children[4].complete()
    changes = tracker.poll()
    ((cursor, returned),) = spy.child_calls
    assert cursor > 0
    assert sorted(returned) == sorted([children[2].id, children[4].id])
    assert changes.children == {children[2].id, children[4].id}
    assert tracker.children[children[2].id].metrics == {"mse": 0.25}
    assert tracker.children[children[4].id].status == "Completed"
    spy.reset()
    assert not tracker.poll().children
    assert spy.child_calls[0][1] == []


class CountingFile:
    """A file whose reads are counted (bytes and from which offset)."""

    def __init__(self, handle: Any, reads: list[tuple[int, int]]) -> None:
        self._handle = handle
        self._reads = reads

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._handle.close()

    def seek(self, offset: int) -> int:
        return int(self._handle.seek(offset))

    def read(self, *args: Any) -> bytes:
        start = self._handle.tell()
        data: bytes = self._handle.read(*args)
        self._reads.append((start, len(data)))
        return data


def test_poll_reads_only_new_log_bytes(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    run = new_run(exp)
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"x" * 5000 + b"\n")
    reads: list[tuple[int, int]] = []
    real_open = builtins.open

    def counting_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(path, mode, *args, **kwargs)
        return CountingFile(handle, reads) if Path(path) == log else handle

    monkeypatch.setattr(
        artifacts_module, "open", counting_open, raising=False
    )  # where run files are read
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    assert reads == [(0, 5001)]
    reads.clear()
    with open(log, "ab") as handle:
        handle.write(b"new line\n")
    changes = tracker.poll()
    assert changes.log_appended
    assert reads == [(5001, 9)]  # only the appended bytes
    assert tracker.log_text.endswith("x\nnew line\n")
    reads.clear()
    assert not tracker.poll().log_appended
    assert reads == [(5010, 0)]


def test_a_long_log_is_read_from_its_tail(exp: Experiment) -> None:
    run = new_run(exp)
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i}\n" for i in range(200_000)), encoding="utf-8")
    tracker = RunTracker(run_reader(run), log_tail_chars=1000)
    tracker.poll()
    assert len(tracker.log_text) <= 1000
    assert tracker.log_text.endswith("line 199999\n")
    assert tracker.log_text.startswith("line ")  # cut at a line boundary


def dead_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_child_whose_process_died_is_marked_failed_by_the_parents_poll(
    exp: Experiment,
) -> None:
    parent = new_run(exp)
    store = parent.workspace.store
    owner = store.register_owner(local_host(), dead_pid(), 0.0)
    store.write(
        [
            CreateRun(
                run_id="orphan",
                experiment_name=exp.name,
                run_type="interactive",
                status=RunStatus.RUNNING,
                parent_id=parent.id,
                owner_id=owner,
            )
        ]
    )
    view = RunDetails(parent)  # one poll
    try:
        child = view.tracker.children["orphan"]
        assert child.status == "Failed"
        record = store.get_run("orphan")
        assert record is not None and record.status == "Failed"
        assert "process lost" in str(record.error)
        (row,) = view.children_table.rows
        assert row["status"] == "Failed"
        assert parent.get_status() == "Running"  # the parent's own process is alive
    finally:
        view.close()


def test_a_run_whose_process_died_is_shown_failed(exp: Experiment) -> None:
    store = exp.workspace.store
    owner = store.register_owner(local_host(), dead_pid(), 0.0)
    store.write(
        [
            CreateRun(
                run_id="lost",
                experiment_name=exp.name,
                run_type="interactive",
                status=RunStatus.RUNNING,
                owner_id=owner,
            )
        ]
    )
    view = RunDetails(Run(exp, "lost"))
    try:
        assert view.tracker.is_terminal
        assert view.header.header["status"] == "Failed"
        assert "process lost" in view.logs.text
    finally:
        view.close()


def _handles_under(folder: Path) -> list[str]:
    """The targets of this process's open file descriptors that lie under ``folder``.

    Counting every descriptor is not a measure of the tracker: other threads of the test
    process (a finishing run's flusher, pytest's capture) open and close their own.
    """
    fd_dir = Path("/proc/self/fd")
    targets = []
    for entry in fd_dir.iterdir():
        try:
            target = os.readlink(entry)
        except OSError:  # closed between listing and reading
            continue
        if target.startswith(str(folder)):
            targets.append(target)
    return sorted(targets)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_tracker_does_not_leak_file_handles(exp: Experiment, tmp_path: Path) -> None:
    # A run this process does not own: the flusher thread's heartbeat would open its own
    # connection to the store at some point of the loop (seen on a loaded machine).
    run = unowned_run(exp)
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True)
    log.write_text("a\n", encoding="utf-8")
    tracker = RunTracker(run_reader(run))
    tracker.poll()  # the first poll may open the store's connection for this thread
    before = _handles_under(tmp_path)
    with log.open("a", encoding="utf-8") as growing:
        for i in range(50):
            growing.write(f"line {i}\n")
            growing.flush()
            tracker.poll()
        assert str(log) in _handles_under(tmp_path)  # the measure sees an open file
    assert _handles_under(tmp_path) == before


def test_a_chart_over_another_metric_grows_with_the_new_pairs_only(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = new_run(exp)
    n = 200_000
    append_points(run, "alpha", np.linspace(0.0, 1.0, n))
    append_points(run, "mse", np.linspace(1.0, 2.0, n))
    view = RunDetails(run)
    try:
        chart = view._charts["mse"]
        chart.x_select.value = "alpha"
        assert chart.points_shown()[0] <= 2000

        def no_history(self: Any) -> Any:
            raise AssertionError("the whole history was read again")

        monkeypatch.setattr(MetricData, "history", no_history)
        append_points(run, "alpha", np.array([5.0, 6.0]))
        append_points(run, "mse", np.array([7.0]))  # one pair complete, one waiting
        view.refresh()
        x, y = chart.series_shown()[0]
        assert x.max() == 5.0 and y.max() == 7.0
        append_points(run, "mse", np.array([8.0]))
        view.refresh()
        x, y = chart.series_shown()[0]
        assert x.max() == 6.0 and y.max() == 8.0
        line = view.tracker.chart_line("mse", "alpha")
        assert line.covered == n + 2 and not line.exact
    finally:
        view.close()


def test_progress_bars_in_a_log_show_their_last_state(exp: Experiment) -> None:
    run = new_run(exp)
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"start\r\n" + b"".join(b"\r%3d%%" % i for i in range(0, 101, 10)) + b"\n")
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    assert tracker.log_text == "start\n100%\n"
