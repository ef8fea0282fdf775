"""Performance sanity (no timing assertions): a refresh of a huge run costs the new data only.

The run: a 1,000,000-point metric and 1,000 child runs. After 100 new points, one refresh
must read only the new chunk (not the history), no unchanged child, and send at most 2,000
points per line to the front-end, as binary float64 buffers.
"""

from __future__ import annotations

import numpy as np
import pytest
from widget_helpers import CommSpy, add_children_fast, append_points, new_run

from run_widgets import Experiment, Run, RunDetails
from run_widgets.views.downsample import MAX_POINTS

N_POINTS = 1_000_000
N_CHILDREN = 1_000


@pytest.mark.slow
def test_refresh_of_a_million_points_and_a_thousand_children(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = new_run(exp)
    history = np.sin(np.arange(N_POINTS) / 10_000.0)
    history[777_777] = 99.0  # a spike that must stay visible
    for start in range(0, N_POINTS, 250_000):  # a few big flushes
        append_points(run, "loss", history[start : start + 250_000])
    child_ids = add_children_fast(run, N_CHILDREN, running=10)
    comms = CommSpy(monkeypatch)
    view = RunDetails(run)
    try:
        chart = view._charts["loss"]
        assert chart.points_shown()[0] <= MAX_POINTS
        assert chart.lines[0].y.max() == 99.0
        assert len(view.children_table.rows) == N_CHILDREN

        store = run.workspace.store
        reads: list[int] = []
        read_chunks, find_runs = store.read_chunks, store.find_runs
        children_read: list[int] = []

        def spy_chunks(run_id: str, **kwargs: object) -> object:
            chunks = read_chunks(run_id, **kwargs)  # type: ignore[arg-type]
            reads.append(sum(c.n for c in chunks))
            return chunks

        def spy_runs(**kwargs: object) -> object:
            runs = find_runs(**kwargs)  # type: ignore[arg-type]
            children_read.append(len(runs))
            return runs

        monkeypatch.setattr(store, "read_chunks", spy_chunks)
        monkeypatch.setattr(store, "find_runs", spy_runs)
        comms.clear()

        append_points(run, "loss", np.linspace(0, 1, 100))
        changes = view.refresh()
        assert changes.metrics == {"loss"}
        assert reads == [100]  # the new chunk, not the history
        assert children_read == [0]  # no child changed
        assert not changes.children
        # One message, x and y together, carrying the new points only (the tail mark).
        assert comms.updates(chart.lines[0]) == []
        (update,) = comms.updates(chart.tails[0])
        state, buffers = update
        assert set(buffers) == {"x/value", "y/value"}
        assert state["x"]["dtype"] == state["y"]["dtype"] == "float64"
        for nbytes in buffers.values():
            assert nbytes <= (100 + 1) * 8
        assert comms.updates(view.children_table) == []  # the 1,000 rows are not resent
        assert chart.lines[0].y.max() == 99.0

        # Two children log a value: only those two are read again.
        reads.clear()
        children_read.clear()
        append_points(run, "loss", np.zeros(100))
        for child_id in child_ids[:2]:
            append_points(Run.get(run.workspace, child_id), "mse", np.array([0.01]))
        changes = view.refresh()
        assert children_read == [2]
        assert changes.children == set(child_ids[:2])
        assert reads == [100]
    finally:
        view.close()
