"""Multi-resolution summaries and windowed reads: the store contract, on every backend.

Each test gets a new store from the ``store`` fixture, once per backend (``[sqlite]``,
``[postgresql]``). Hypothesis draws series (with NaNs, appended in batches that straddle
bucket and block boundaries) and windows, and checks the exactness the views rely on:

* every stored bucket, at every level, equals the bucket of the stored points it covers
  (first/last/min/max of every column, where the extremes are);
* a window read is either the exact points of the window (always so when it holds at
  most ``max_points`` and x grows) or buckets that cover every point of the window, each
  the exact aggregate of the points it stands for, never more than the budget.

Small ``max_points`` values make small series reach the stored levels (the descent and
the level choice), which a default 2,000-point budget would only reach past 128,000
points.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import (
    append,
    check_summary,
    fold_every,
    metric_columns,
    new_run,
    summary_levels,
)

from run_widgets.exceptions import MetricNotFoundError, UserErrorException
from run_widgets.store import (
    AddProperties,
    SeriesWindow,
    TrackingStore,
    open_store,
)
from run_widgets.store.summaries import INDEX, bucketize, size
from run_widgets.store.summaries.levels import STEP, TIME, VALUE

PROPERTY = settings(
    max_examples=int(os.environ.get("RW_SUMMARY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

values_st = st.lists(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.just(float("nan")),
        st.sampled_from([0.0, -0.0, 1.0, 1e300, -1e300]),
    ),
    min_size=1,
    max_size=40,
)


@st.composite
def series(draw: st.DrawFn) -> tuple[np.ndarray, list[int]]:
    """Values (some NaN, ties, runs of equal values) and the batch sizes they arrive in."""
    n = draw(st.one_of(st.integers(1, 3_000), st.integers(3_000, 60_000)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from(["noise", "walk", "steps", "constant"]))
    if shape == "noise":
        values = rng.normal(size=n)
    elif shape == "walk":
        values = np.cumsum(rng.normal(size=n))
    elif shape == "steps":
        values = np.round(rng.normal(size=n))  # many ties
    else:
        values = np.full(n, 2.5)
    holes = draw(st.floats(0, 0.3))
    values[rng.random(n) < holes] = np.nan
    special = draw(values_st)
    values[rng.integers(0, n, len(special))] = special
    cuts = sorted(set(rng.integers(1, n, draw(st.integers(0, 12))).tolist())) if n > 1 else []
    sizes = np.diff([0, *cuts, n]).tolist()
    return values, [int(s) for s in sizes]


def _window_check(
    window: SeriesWindow,
    index: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    lo: float | None,
    hi: float | None,
    max_points: int,
    monotonic: bool,
) -> None:
    """The answer is exact points or exact buckets covering the window (module docstring)."""
    low = -np.inf if lo is None else lo
    high = np.inf if hi is None else hi
    inside = (xs >= low) & (xs <= high) & np.isfinite(ys)
    wanted = index[inside]
    if window.exact:
        assert np.array_equal(window.index, wanted)
        assert np.array_equal(window.x, xs[inside])
        assert np.array_equal(window.y, ys[inside])
        return
    if monotonic:
        assert len(wanted) > max_points, "a window of few points in growing x must be exact"
    buckets = window.buckets
    assert buckets is not None and len(buckets) <= max(1, max_points // 4)
    assert len(window.x) <= max_points
    covered = np.zeros(len(index) + 1, dtype=np.int64)
    for start, end in zip(buckets.start.tolist(), buckets.end.tolist(), strict=True):
        covered[start] += 1
        covered[end] -= 1
    assert np.all(np.cumsum(covered)[:-1][inside] >= 1), "a point of the window is in no bucket"
    for i in range(len(buckets)):
        part = slice(int(buckets.start[i]), int(buckets.end[i]))
        chosen = np.arange(len(index))[part]
        if window.level == 0:  # buckets of the window's own points
            chosen = chosen[inside[part]]
        y = ys[chosen]
        finite = y[np.isfinite(y)]
        if len(finite):
            assert buckets.get(("min", VALUE))[i] == finite.min()
            assert buckets.get(("max", VALUE))[i] == finite.max()
            where = chosen[np.flatnonzero(y == finite.min())[0]]
            assert buckets.get(("imin", VALUE))[i] == where
        else:
            assert np.isnan(buckets.get(("min", VALUE))[i])
        assert np.array_equal(buckets.get(("first", VALUE))[i], y[0], equal_nan=True)
        assert np.array_equal(buckets.get(("last", VALUE))[i], y[-1], equal_nan=True)


FOLDS = st.sampled_from([1, 256, 1000, 16_384])
"""How often the write path folds points into summaries (the default is the last)."""


@PROPERTY
@given(
    data=series(),
    window=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    max_points=st.sampled_from([8, 16, 64, 2000]),
    fold=FOLDS,
)
def test_summaries_and_windows_are_exact(
    store: TrackingStore,
    data: tuple[np.ndarray, list[int]],
    window: tuple[float, float],
    max_points: int,
    fold: int,
) -> None:
    values, sizes = data
    run_id = new_run(store)
    start = 0
    with fold_every(fold):
        for n in sizes:
            append(store, run_id, "loss", values[start : start + n])
            start += n
        check_summary(store, run_id, "loss")
    index = np.arange(len(values))
    steps = index.astype(np.float64)
    lo, hi = sorted(w * len(values) for w in window)
    for bounds in ((lo, hi), (None, None), (None, hi), (lo, None)):
        answer = store.read_series_window(
            run_id, "loss", "step", lo=bounds[0], hi=bounds[1], max_points=max_points
        )
        _window_check(answer, index, steps, values, bounds[0], bounds[1], max_points, True)
        assert answer.covered == len(values)
    by_index = store.read_series_window(
        run_id, "loss", "index", lo=lo, hi=hi, max_points=max_points
    )
    _window_check(by_index, index, steps, values, lo, hi, max_points, True)


@PROPERTY
@given(
    data=series(),
    shuffle=st.integers(0, 2**32 - 1),
    window=st.tuples(st.floats(-0.1, 1.1), st.floats(-0.1, 1.1)),
    fold=FOLDS,
)
def test_windows_over_an_x_that_goes_back(
    store: TrackingStore,
    data: tuple[np.ndarray, list[int]],
    shuffle: int,
    window: tuple[float, float],
    fold: int,
) -> None:
    """Steps logged out of order: the window is the points whose step is in range, in the
    order they were logged; buckets are whole stored buckets that cover them."""
    values, sizes = data
    rng = np.random.default_rng(shuffle)
    steps = np.arange(len(values), dtype=np.int64)
    moved = rng.random(len(values)) < 0.05
    steps[moved] = rng.integers(0, len(values), int(moved.sum()))
    run_id = new_run(store)
    start = 0
    with fold_every(fold):
        for n in sizes:
            append(store, run_id, "loss", values[start : start + n], steps=steps[start : start + n])
            start += n
        check_summary(store, run_id, "loss")
    lo, hi = sorted(w * len(values) for w in window)
    answer = store.read_series_window(run_id, "loss", "step", lo=lo, hi=hi, max_points=16)
    _window_check(
        answer, np.arange(len(values)), steps.astype(np.float64), values, lo, hi, 16, False
    )


@fold_every(1)
def test_levels_across_reopening_and_big_appends(store_uri: str) -> None:
    """Summaries grow the same whether the points come in one append, in many, or from
    several processes one after the other (each a new store object)."""
    rng = np.random.default_rng(7)
    values = np.cumsum(rng.normal(size=300_000))
    cuts = [1, 255, 256, 257, 16_383, 16_384, 16_385, 70_000, 299_999]
    first = open_store(store_uri)
    run_id = new_run(first)
    first.close()
    start = 0
    for cut in [*cuts, len(values)]:
        opened = open_store(store_uri)
        append(opened, run_id, "loss", values[start:cut])
        opened.close()
        start = cut
    final = open_store(store_uri)
    try:
        assert check_summary(final, run_id, "loss") == len(values)
        _, levels = summary_levels(final, run_id, "loss")
        assert sorted(levels) == [1, 2, 3, 4]
        assert [len(levels[level]) for level in (1, 2, 3, 4)] == [1172, 293, 74, 19]
        full = final.read_series_window(run_id, "loss")
        assert not full.exact and full.level == 2 and len(full.buckets or ()) == 293
        assert full.y.max() == values.max() and full.y.min() == values.min()
    finally:
        final.close()


def test_tables_lists_and_time_are_series(store: TrackingStore) -> None:
    run_id = new_run(store)
    n = 5_000
    epoch = np.arange(n)
    table = {"epoch": epoch.tolist(), "acc": (epoch / n).tolist(), "note": ["x"] * n}
    append(store, run_id, "curve", table, kind="table")
    append(store, run_id, "curve", {"epoch": [n], "loss": [0.5]}, kind="row")  # a new column
    append(store, run_id, "weights", np.linspace(0, 1, 3_000), kind="list")
    times = 1_700_000_000 + np.arange(2_500) * 0.5
    append(store, run_id, "lr", np.geomspace(1, 1e-4, 2_500), times=times)
    for name in ("curve", "weights", "lr"):
        check_summary(store, run_id, name)
    acc = store.read_series_window(run_id, "curve", "epoch", "acc", lo=10, hi=19)
    assert acc.exact and acc.x.tolist() == list(range(10, 20)) and acc.y[0] == 10 / n
    loss = store.read_series_window(run_id, "curve", "epoch", "loss")
    assert loss.exact and loss.x.tolist() == [n] and loss.y.tolist() == [0.5]
    by_index = store.read_series_window(run_id, "weights", "index", lo=100, hi=199)
    assert by_index.exact and by_index.index.tolist() == list(range(100, 200))
    over_time = store.read_series_window(run_id, "lr", "time", lo=times[10], hi=times[20])
    assert over_time.exact and over_time.x.tolist() == times[10:21].tolist()
    wide = store.read_series_window(run_id, "lr", "time", max_points=40)
    assert not wide.exact and len(wide.x) <= 40 and wide.y.max() == 1.0


def test_an_x_column_of_a_table_that_goes_back(store: TrackingStore) -> None:
    run_id = new_run(store)
    x = np.concatenate([np.arange(1000), np.arange(1000)])  # a second pass over the same x
    y = np.concatenate([np.zeros(1000), np.ones(1000)])
    append(store, run_id, "t", {"x": x.tolist(), "y": y.tolist()})
    answer = store.read_series_window(run_id, "t", "x", "y", lo=10, hi=12)
    assert answer.exact
    assert answer.index.tolist() == [10, 11, 12, 1010, 1011, 1012]  # in logged order
    assert answer.y.tolist() == [0, 0, 0, 1, 1, 1]


@fold_every(1)
def test_points_dropped_by_the_store_never_enter_a_summary(store: TrackingStore) -> None:
    run_id = new_run(store)
    batch = np.arange(1000, dtype=np.float64)
    append(store, run_id, "loss", batch, writer="w1", seq=1)
    append(store, run_id, "loss", batch + 5000, writer="w1", seq=1)  # a resend: dropped
    store.write([AddProperties(run_id, {"attempt_2": "retried"})])
    append(store, run_id, "loss", batch - 5000, attempt=1)  # a superseded attempt: dropped
    append(store, run_id, "loss", batch + 1, attempt=2)
    assert check_summary(store, run_id, "loss") == 2000
    full = store.read_series_window(run_id, "loss", max_points=8)
    assert full.y.min() == 0 and full.y.max() == 1000


def test_metrics_stored_before_summaries_are_built_on_first_read(store: TrackingStore) -> None:
    """A store migrated from before summaries holds points without one: the first windowed
    read builds it (in bounded batches), and building again does nothing."""
    run_id = new_run(store)
    values = np.sin(np.arange(50_000) / 100)
    append(store, run_id, "old", values[:20_000])
    append(store, run_id, "old", values[20_000:])
    with store._writing() as conn:  # type: ignore[attr-defined]
        conn.execute("DELETE FROM summaries")
        conn.execute("UPDATE metrics SET summarized = 0, summary_tail = NULL")
    append(store, run_id, "old", values[:10])  # appended while behind: not folded
    assert summary_levels(store, run_id, "old")[0] == 0
    answer = store.read_series_window(run_id, "old", lo=100, hi=120)
    assert answer.exact and answer.y.tolist() == values[100:121].tolist()
    assert check_summary(store, run_id, "old") == 50_010
    assert store.build_summaries(run_id) == 0


def test_bad_windows_are_refused_by_name(store: TrackingStore) -> None:
    run_id = new_run(store)
    append(store, run_id, "loss", np.arange(10.0))
    append(store, run_id, "pic", ["a.png"], kind="image")
    with pytest.raises(MetricNotFoundError, match="'nope'"):
        store.read_series_window(run_id, "nope")
    for lo, hi, message in (
        (5, 1, "reversed"),
        (float("nan"), 1, "finite"),
        (0, float("inf"), "finite"),
    ):
        with pytest.raises(UserErrorException, match=message) as info:
            store.read_series_window(run_id, "loss", lo=lo, hi=hi)
        assert "'loss'" in str(info.value)
    with pytest.raises(UserErrorException, match="'pic' is not a numeric series"):
        store.read_series_window(run_id, "pic")
    with pytest.raises(UserErrorException, match="no x column 'epoch'"):
        store.read_series_window(run_id, "loss", "epoch")
    with pytest.raises(UserErrorException, match="max_points"):
        store.read_series_window(run_id, "loss", max_points=2)


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from run_widgets.store import AppendPoints, open_store
    store = open_store(sys.argv[1])
    run_id = sys.argv[2]
    rng = np.random.default_rng(int(sys.argv[3]))
    print("ready", flush=True)
    while True:
        n = int(rng.integers(1, 40_000))
        values = np.cumsum(rng.normal(size=n))
        store.write([AppendPoints(run_id=run_id, name=name, kind="scalar", values=values,
                                  times=np.full(n, time.time())) for name in ("a", "b")])
    """
)


@pytest.mark.fault
@pytest.mark.slow
def test_a_writer_killed_mid_flush_leaves_summaries_consistent(
    store: TrackingStore, store_uri: str
) -> None:
    run_id = new_run(store)
    for seed in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, store_uri, run_id, str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.5 + seed * 0.37)
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
        for name in ("a", "b"):
            check_summary(store, run_id, name)
    index, data = metric_columns(store, run_id, "a")
    assert len(index) > 0
    full = store.read_series_window(run_id, "a")
    assert full.y.max() == np.nanmax(data[VALUE]) and full.y.min() == np.nanmin(data[VALUE])


def test_bucketize_is_what_the_levels_merge_to() -> None:
    """Merging level buckets gives the buckets of the points (the idempotent merge)."""
    from run_widgets.store.summaries import columns_for, merge

    rng = np.random.default_rng(3)
    n = 10_000
    data = {VALUE: rng.normal(size=n), STEP: np.arange(n, dtype=float), TIME: np.arange(n) * 0.1}
    index = np.arange(n)
    columns = columns_for("scalar", ())
    small = bucketize(index, data, columns, index // size(1))
    merged = merge(small, small.start // size(2))
    direct = bucketize(index, data, columns, index // size(2))
    for key, values in direct.fields.items():
        assert np.array_equal(merged.get(key), values, equal_nan=True), key
    assert INDEX not in columns.columns


@pytest.mark.parametrize("ahead", [0, 300])
def test_a_metric_against_another_is_paired_by_index(store: TrackingStore, ahead: int) -> None:
    """mse against alpha: windows in alpha's values; buckets pair the same points."""
    run_id = new_run(store)
    n = 100_000
    alpha = np.linspace(1.0, 0.0, n + ahead)
    mse = (np.arange(n) % 997) / 997.0
    mse[54_321] = 50.0  # a spike
    for start in range(0, n, 30_000):
        append(store, run_id, "mse", mse[start : start + 30_000])
        append(store, run_id, "alpha", alpha[start : start + 30_000])
    if ahead:
        append(store, run_id, "alpha", alpha[n:])
    full = store.read_paired_window(run_id, "mse", "alpha", max_points=400)
    assert not full.exact and full.y.max() == 50.0 and len(full.x) <= 400
    assert full.x.min() == alpha[n - 1] and full.x.max() == 1.0
    near = store.read_paired_window(run_id, "mse", "alpha", lo=alpha[54_330], hi=alpha[54_300])
    assert near.exact
    assert near.index.tolist() == list(range(54_300, 54_331))
    assert near.x.tolist() == alpha[54_300:54_331].tolist()
    assert near.y.max() == 50.0
    with pytest.raises(UserErrorException, match="'curve' is not a series of single numbers"):
        append(store, run_id, "curve", {"a": [1, 2], "b": [3, 4]})
        store.read_paired_window(run_id, "mse", "curve")


@pytest.mark.parametrize("seed", [5, 16])
def test_buckets_merged_for_a_range_far_apart_are_neighbours(
    store: TrackingStore, seed: int
) -> None:
    """Steps that go back put a range's points in buckets far apart, some not summarized
    yet: merged to fit the budget, each drawn bucket holds every point between its ends
    (a merge across a gap once claimed points it did not hold; found by hypothesis)."""
    n, sizes = 4135, [1608, 1134, 1227, 166]
    values = np.cumsum(np.random.default_rng(seed + 1000).normal(size=n))
    rng = np.random.default_rng(seed)
    steps = np.arange(n, dtype=np.int64)
    moved = rng.random(n) < 0.05
    steps[moved] = rng.integers(0, n, int(moved.sum()))
    run_id = new_run(store)
    start = 0
    with fold_every(256):
        for size_ in sizes:
            chunk = slice(start, start + size_)
            append(store, run_id, "loss", values[chunk], steps=steps[chunk])
            start += size_
    answer = store.read_series_window(run_id, "loss", "step", lo=0.0, hi=258.4, max_points=16)
    assert not answer.exact and answer.level > 0
    _window_check(answer, np.arange(n), steps.astype(np.float64), values, 0.0, 258.4, 16, False)
