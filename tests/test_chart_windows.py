"""Charts of long runs: windows of the store, points folded in, zoom ranges (no kernel).

A run view holds, per chart line, a :class:`~run_widgets.views.series.LiveSeries`: a
windowed read, then the points each poll brings. These tests check that what it draws is
exact (every extreme of every point shown), bounded (``max_points``), that a zoomed
range reads the exact points and keeps them while the run grows, and that bad ranges are
refused by name with nothing changed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import append, new_run
from widget_helpers import append_points
from widget_helpers import new_run as new_workspace_run

from run_widgets import Experiment
from run_widgets.exceptions import MetricNotFoundError, UserErrorException
from run_widgets.store import TrackingStore
from run_widgets.views.reader import run_reader
from run_widgets.views.series import LiveSeries
from run_widgets.views.tracker import RunTracker

SQLITE_ONLY = "the views read through the store contract, tested on every backend elsewhere"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_first=st.integers(1, 30_000),
    more=st.lists(st.integers(1, 5_000), max_size=8),
    max_points=st.sampled_from([8, 40, 400]),
    seed=st.integers(0, 2**32 - 1),
    window=st.one_of(st.none(), st.tuples(st.floats(0, 40_000), st.floats(0, 40_000))),
)
def test_a_live_line_draws_every_extreme_of_its_points(
    tmp_path_factory: pytest.TempPathFactory,
    n_first: int,
    more: list[int],
    max_points: int,
    seed: int,
    window: tuple[float, float] | None,
) -> None:
    from run_widgets.store import open_store

    rng = np.random.default_rng(seed)
    total = n_first + sum(more)
    values = np.cumsum(rng.normal(size=total))
    values[rng.random(total) < 0.02] = np.nan
    folder = tmp_path_factory.mktemp("store")
    store: TrackingStore = open_store(f"sqlite://{folder / 'db'}")
    try:
        run_id = new_run(store)
        append(store, run_id, "loss", values[:n_first])
        lo, hi = sorted(window) if window is not None else (None, None)
        start = store.read_series_window(run_id, "loss", lo=lo, hi=hi, max_points=max_points)
        line = LiveSeries(start, "#step", "#value", max_points)
        done = n_first
        for n in more:
            index = np.arange(done, done + n)
            line.extend(index, index.astype(float), values[done : done + n])
            done += n
            x, y = line.arrays()
            assert len(x) <= max_points
            steps = np.arange(done, dtype=float)
            inside = (steps >= (lo if lo is not None else -np.inf)) & (
                steps <= (hi if hi is not None else np.inf)
            )
            inside &= np.isfinite(values[:done])
            shown = values[:done][inside]
            if line.exact:
                assert y.tolist() == shown.tolist()
                assert x.tolist() == steps[inside].tolist()
            elif len(shown):
                assert y.max() == shown.max() and y.min() == shown.min()
                assert x[np.argmax(y)] == steps[inside][np.argmax(shown)]
    finally:
        store.close()


def test_a_zoom_reads_the_exact_points_and_keeps_them_while_the_run_grows(exp: Experiment) -> None:
    run = new_workspace_run(exp)
    values = np.sin(np.arange(300_000) / 1000.0)
    values[123_456] = 7.0
    append_points(run, "loss", values)
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    x, y = tracker.chart_xy("loss", "step")
    assert len(x) <= 2000 and not tracker.chart_line("loss", "step").exact and y.max() == 7.0
    tracker.set_x_range("loss", 123_000, 124_000)
    x, y = tracker.chart_xy("loss", "step")
    assert tracker.chart_line("loss", "step").exact
    assert x.tolist() == list(range(123_000, 124_001)) and y.max() == 7.0
    assert y.tolist() == values[123_000:124_001].tolist()
    # The run grows: points past the range are not drawn, the range stays.
    append_points(run, "loss", np.full(1000, -3.0))
    tracker.poll()
    x, y = tracker.chart_xy("loss", "step")
    assert x.max() == 124_000 and tracker.x_range("loss") == (123_000.0, 124_000.0)
    # A range reaching past the end draws the new points as they come.
    tracker.set_x_range("loss", 300_500, 400_000)
    assert tracker.chart_xy("loss", "step")[0].tolist() == list(range(300_500, 301_000))
    append_points(run, "loss", np.full(10, 5.0))
    tracker.poll()
    x, y = tracker.chart_xy("loss", "step")
    assert x[-1] == 301_009 and y[-1] == 5.0 and len(x) == 510
    tracker.set_x_range("loss", None)
    x, y = tracker.chart_xy("loss", "step")
    assert tracker.x_range("loss") is None and len(x) <= 2000 and y.max() == 7.0


def test_bad_ranges_are_refused_by_name_and_change_nothing(exp: Experiment) -> None:
    run = new_workspace_run(exp)
    append_points(run, "loss", np.arange(5000.0))
    run.log("note", "text")
    run.log("note", "more text")
    run.flush()
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    tracker.set_x_range("loss", 10, 20)
    before = tracker.chart_xy("loss", "step")
    cases = [
        (("nope", 1, 2), MetricNotFoundError, "'nope'"),
        (("loss", 5, 1), UserErrorException, "reversed"),
        (("loss", float("nan"), 1), UserErrorException, "finite"),
        (("loss", 0, float("inf")), UserErrorException, "finite"),
        (("loss", 3, None), UserErrorException, "both ends"),
        (("note", 0, 1), UserErrorException, "'note' is not a numeric series"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            tracker.set_x_range(*args)
    assert tracker.x_range("loss") == (10.0, 20.0)
    after = tracker.chart_xy("loss", "step")
    assert after[0].tolist() == before[0].tolist() == list(range(10, 21))


def test_a_view_of_a_long_run_holds_its_screen_not_its_history(exp: Experiment) -> None:
    run = new_workspace_run(exp)
    for name in ("a", "b", "c"):
        append_points(run, name, np.random.default_rng(0).normal(size=500_000))
    run.log_table("curve", {"x": list(range(50_000)), "y": list(range(50_000))})
    run.flush()
    tracker = RunTracker(run_reader(run))
    tracker.poll()
    for name in ("a", "b", "c"):
        tracker.chart_xy(name, "step")
    tracker.chart_xy("curve", "x", "y")
    tracker.chart_xy("a", "b")  # one metric against another
    for _ in range(5):
        for name in ("a", "b", "c"):
            append_points(run, name, np.arange(3000.0))
        tracker.poll()
    held = 0
    for data in tracker.metrics.values():
        assert data.chunks == [] and data.held == 0  # charts keep no points
        for line in data.lines.values():
            held += len(line)
            assert len(line.arrays()[0]) <= 2000
        assert sum(c.n for c in data.waiting) <= 3000
    assert held <= 6 * 1000
    assert tracker.chart_xy("a", "b")[1].max() == 2999.0
