"""Chunk compaction: small chunks merge into big ones without changing a single point."""

from __future__ import annotations

import time

import numpy as np
import pytest

from run_widgets import Experiment
from run_widgets.runtime import flusher as _flusher
from run_widgets.store import AppendPoints
from run_widgets.store.rules import MIN_CHUNKS_TO_COMPACT
from run_widgets.views.reader import run_reader
from run_widgets.views.tracker import RunTracker


def _append(exp: Experiment, run_id: str, name: str, kind: str, values: object) -> None:
    n = len(values["x"]) if isinstance(values, dict) else len(values)  # type: ignore[arg-type]
    exp.workspace.store.write(
        [AppendPoints(run_id, name, kind, values, np.full(n, time.time()))]  # type: ignore[arg-type]
    )


def test_compaction_keeps_every_point_of_every_encoding(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    chunks = MIN_CHUNKS_TO_COMPACT + 4
    for i in range(chunks):
        _append(exp, run.id, "floats", "scalar", np.array([i + 0.5, i + 0.25]))
        _append(exp, run.id, "ints", "list", np.array([i, -i], dtype=np.int64))
        _append(exp, run.id, "mixed", "scalar", [i, "text", None] if i % 2 else np.array([1.5]))
        _append(exp, run.id, "table", "table", {"x": [i], "y": [f"row {i}"]})
    before = run.get_metrics()
    history_before = run.get_metric_history("floats")
    store = exp.workspace.store
    removed = store.compact_run(run.id)
    assert removed > 3 * (chunks - 2)  # each metric collapsed to a few chunks
    assert len(store.read_chunks(run.id, names=["floats"])) == 1
    assert run.get_metrics() == before
    after = run.get_metric_history("floats")
    assert np.array_equal(after.steps, history_before.steps)
    assert np.array_equal(after.values, history_before.values)
    assert store.compact_run(run.id) == 0  # nothing left to merge


def test_few_or_big_chunks_are_left_alone(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    for _ in range(MIN_CHUNKS_TO_COMPACT - 1):
        _append(exp, run.id, "few", "scalar", np.arange(3.0))
    for _ in range(MIN_CHUNKS_TO_COMPACT + 1):
        _append(exp, run.id, "big", "scalar", np.arange(5000.0))
    assert exp.workspace.store.compact_run(run.id) == 0


def test_incremental_readers_do_not_double_count_after_compaction(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    half = MIN_CHUNKS_TO_COMPACT
    for i in range(half):
        _append(exp, run.id, "loss", "scalar", np.array([float(i)]))
    partial = RunTracker(run_reader(run))  # has read the first half when compaction happens
    partial.poll()
    partial.chart_xy("loss", "step")  # its chart's line folds in what later polls bring
    for i in range(half, 2 * half):
        _append(exp, run.id, "loss", "scalar", np.array([float(i)]))
    complete = RunTracker(run_reader(run))  # has read everything
    complete.poll()
    complete.chart_xy("loss", "step")
    assert exp.workspace.store.compact_run(run.id) > 0
    _append(exp, run.id, "loss", "scalar", np.array([99.0]))
    expected = [*map(float, range(2 * half)), 99.0]
    for tracker in (partial, complete, RunTracker(run_reader(run))):
        tracker.poll()
        assert (
            tracker.chart_xy("loss", "step")[1].tolist() == expected
        )  # exact: drawn from a window, then the new points
        assert tracker.history("loss").values.tolist() == expected


def test_finishing_a_run_compacts_it(exp: Experiment, monkeypatch: pytest.MonkeyPatch) -> None:
    # The flusher also compacts every COMPACT_INTERVAL_S in the background; a tick falling
    # between these flushes (a loaded machine, a long-lived flusher) would merge early.
    monkeypatch.setattr(_flusher, "COMPACT_INTERVAL_S", float("inf"))
    run = exp.start_logging(snapshot_directory=None)
    for i in range(MIN_CHUNKS_TO_COMPACT + 2):
        run.log("loss", float(i))
        run.flush()
    assert len(exp.workspace.store.read_chunks(run.id)) == MIN_CHUNKS_TO_COMPACT + 2
    run.complete()
    assert len(exp.workspace.store.read_chunks(run.id)) == 1
    assert run.get_metrics()["loss"] == [float(i) for i in range(MIN_CHUNKS_TO_COMPACT + 2)]
