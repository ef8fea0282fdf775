"""A windowed read of one series: what to draw of an x range, from O(pixels) rows.

:func:`read_window` answers "the points of metric M with ``lo <= x <= hi``, at most
``max_points`` of them to draw", for any backend that offers a :class:`SeriesSource`
(stored blocks by level, raw points by index range) over one consistent snapshot:

* **exact** when the window holds at most ``max_points`` points: those points, read from
  the chunks that cover them, nothing else;
* otherwise **buckets**, each drawn as its first, minimum, maximum and last point (M4),
  at most ``max_points // 4`` of them: computed from the raw points when the window holds
  few enough (up to ``BUCKET × max_points / 4`` points: a few MB), else the stored buckets
  of the finest level that fits.

The level is found from the top (one block) down: at each level only the children of the
buckets that meet the window are read, so a deep zoom reads a few rows per level, and
the descent stops at the finest level whose buckets meeting the window still fit.

**Which points a window holds.** Points are in the order they were logged (index order).
The window holds the points whose x lies in ``[lo, hi]`` (``None``: unbounded) and whose
y is a finite number (a NaN, an infinity or a table cell left empty is not drawn and is
not a point of the series), in that order. When x only grows (steps logged in order, the index, wall time), those are one
run of consecutive points. When x goes back (a step logged out of order, a table whose x
column is not sorted), they can be scattered: an exact answer is still exactly those
points, in logged order; buckets are still exact aggregates of whole stored buckets, all
those that hold any point of the window (so a bucket can also hold points outside it,
which the chart's x domain clips), and the answer is exact as soon as those buckets hold
few enough points to read them all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ...exceptions import UserErrorException
from ..entities import TABLE_KINDS, ArrayF8, ArrayI8
from .buckets import INDEX, Buckets, Columns, bucketize, coarsen, m4, x_range
from .levels import (
    BLOCK,
    BUCKET,
    STEP,
    SUMMARIZED_KINDS,
    TIME,
    VALUE,
    SummaryState,
    columns_for,
    n_levels,
    size,
    table_column,
)

MAX_POINTS = 2000
"""Points a chart draws at most (the default of a window read)."""

X_AXES = {"step": STEP, "index": INDEX, "time": TIME}
"""The built-in x columns by name (a table's own column of the same name wins)."""


@dataclass(frozen=True)
class SeriesHeader:
    """What a window read needs of a metric's header row.

    Attributes:
        metric_id: the metric's id in its store.
        name: the metric's name.
        kind: how it was logged (``scalar``, ``list``, ``row``, ``table``…).
        n_points: points stored.
        state: how far its summary goes.
        table_columns: a table's columns, in order.
    """

    metric_id: int
    name: str
    kind: str
    n_points: int
    state: SummaryState
    table_columns: tuple[str, ...] = ()


class SeriesSource(Protocol):
    """One metric's stored summary blocks and raw points, read in one snapshot."""

    def blocks(self, level: int, numbers: Sequence[int]) -> Buckets:
        """The complete buckets stored in those blocks of ``level``, in order."""

    def points(
        self, ranges: Sequence[tuple[int, int]], columns: Sequence[str]
    ) -> tuple[ArrayI8, dict[str, ArrayF8]]:
        """Index and ``columns`` (column ids) of the points in the index ``ranges``."""


@dataclass(frozen=True)
class SeriesWindow:
    """What a chart draws of an x range of one series (see :func:`read_window`).

    Attributes:
        name: the metric.
        x_column: the x asked for (``step``, ``index``, ``time`` or a table column).
        y_column: the y (``None``: the metric's value; or a table column).
        lo: the window's low end (``None``: unbounded).
        hi: its high end.
        exact: True when ``x``/``y`` are the window's logged points themselves.
        x: x of what to draw: the points, or each bucket's first/min/max/last point.
        y: y of what to draw (finite pairs only: NaN and infinities cannot be drawn).
        index: the metric index of each drawn point.
        buckets: the buckets drawn (``None`` when exact).
        level: the stored level the buckets come from (0: computed from raw points).
        covered: points of the metric the answer covers (indices below it); a live view
            folds in points from there on.
    """

    name: str
    x_column: str
    y_column: str | None
    lo: float | None
    hi: float | None
    exact: bool
    x: ArrayF8
    y: ArrayF8
    index: ArrayI8
    buckets: Buckets | None
    level: int
    covered: int


def check_range(name: str, lo: float | None, hi: float | None) -> None:
    """Refuse a window that is reversed or not finite, naming the metric.

    Raises:
        UserErrorException: (a ``ValueError``) the range is reversed, NaN or infinite.
    """
    for end, value in (("low", lo), ("high", hi)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
        ):
            raise UserErrorException(
                f"The {end} end of the x range of {name!r} must be a number, not {value!r}."
            )
        if value is not None and not math.isfinite(float(value)):
            raise UserErrorException(
                f"The {end} end of the x range of {name!r} must be finite, not {value!r}."
            )
    if lo is not None and hi is not None and float(lo) > float(hi):
        raise UserErrorException(
            f"The x range of {name!r} is reversed: low end {lo!r} is above high end {hi!r}."
        )


def resolve_columns(header: SeriesHeader, x_column: str, y_column: str | None) -> tuple[str, str]:
    """The column ids of ``x_column`` and ``y_column`` for this metric.

    Raises:
        UserErrorException: (a ``ValueError``) the metric is not a numeric series, or it
            has no such column.
    """
    name = header.name
    if header.kind not in SUMMARIZED_KINDS:
        raise UserErrorException(
            f"Metric {name!r} is not a numeric series (it holds {header.kind} values)."
        )
    table = header.kind in TABLE_KINDS
    own = header.table_columns
    if table:
        if y_column is None or y_column not in own:
            raise UserErrorException(
                f"Metric {name!r} is a table: choose its y among its columns {list(own)}, "
                f"not {y_column!r}."
            )
        y = table_column(y_column)
    else:
        if y_column not in (None, name, "value"):
            raise UserErrorException(
                f"Metric {name!r} has one value per point: its y is the value, not {y_column!r}."
            )
        y = VALUE
    if table and x_column in own:
        x = table_column(x_column)
    elif x_column in X_AXES:
        x = X_AXES[x_column]
    else:
        choices = sorted({*X_AXES, *own})
        raise UserErrorException(
            f"Metric {name!r} has no x column {x_column!r}; choose one of {choices}."
        )
    if x == y:
        raise UserErrorException(f"Metric {name!r}: x and y are the same column {x_column!r}.")
    return x, y


def read_window(
    source: SeriesSource,
    header: SeriesHeader,
    x_column: str = "step",
    y_column: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    max_points: int = MAX_POINTS,
) -> SeriesWindow:
    """What to draw of ``lo <= x <= hi`` (see the module docstring).

    Raises:
        UserErrorException: (a ``ValueError``) a bad range, column or ``max_points``.
    """
    check_range(header.name, lo, hi)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise UserErrorException(f"max_points must be an int of at least 4, not {max_points!r}.")
    x, y = (
        (PARTNER, VALUE)
        if isinstance(source, PairedSource)
        else resolve_columns(header, x_column, y_column)
    )
    low = -np.inf if lo is None else float(lo)
    high = np.inf if hi is None else float(hi)
    # Buckets made here keep x at the y extremes only where stored buckets do, so that
    # the two draw alike (a field missing from some buckets would read as NaN: not drawn).
    stored_xs = () if x == PARTNER else columns_for(header.kind, header.table_columns).xs
    kept_x = (x,) if x in stored_xs else ()
    budget = max(1, max_points // 4)
    raw_limit = BUCKET * budget
    n = header.n_points
    summarized = min(header.state.n, n)

    def meets(buckets: Buckets) -> np.ndarray:
        first, last = x_range(buckets, x)
        return (last >= low) & (first <= high)

    def answer(
        exact: bool, xs: ArrayF8, ys: ArrayF8, index: ArrayI8, buckets: Buckets | None, level: int
    ) -> SeriesWindow:
        return SeriesWindow(
            header.name, x_column, y_column, lo, hi, exact, xs, ys, index, buckets, level, n
        )

    def from_raw(ranges: list[tuple[int, int]]) -> SeriesWindow:
        wanted = [c for c in (x, y) if c != INDEX]
        index, data = source.points(ranges, wanted)
        xs = index.astype(np.float64) if x == INDEX else data[x]
        inside = (xs >= low) & (xs <= high) & np.isfinite(data[y])
        index, xs, ys = index[inside], xs[inside], data[y][inside]
        if len(index) <= max_points:
            return answer(True, xs, ys, index, None, 0)
        group = np.arange(len(index), dtype=np.int64) * budget // len(index)
        columns = Columns(tuple(c for c in (y, x) if c != INDEX), (y,), kept_x)
        buckets = bucketize(index, {y: ys, x: xs}, columns, group)
        return drawn(buckets, 0)

    def drawn(buckets: Buckets, level: int) -> SeriesWindow:
        buckets = coarsen(buckets, budget)
        xs, ys, index = m4(buckets, x, y)
        return answer(False, xs, ys, index, buckets, level)

    if summarized == 0 or n <= max_points:
        return from_raw([(0, n)])
    level = top_level = n_levels(summarized)
    top = _level_buckets(source, header, level, summarized, None)
    chosen = top.take(meets(top))
    while int(chosen.count.sum()) > raw_limit and level > 1:
        numbers = _children(chosen, level)
        children = _level_buckets(source, header, level - 1, summarized, numbers)
        children = children.take(meets(children))
        if len(children) > budget:
            break
        level -= 1
        chosen = children
    remainder = [(summarized, n)] if summarized < n else []
    if int(chosen.count.sum()) <= raw_limit:
        return from_raw(_ranges(chosen) + remainder)

    def unsummarized(level: int) -> Buckets:
        """The points the summary does not cover yet, bucketed at ``level``'s size."""
        if not remainder:
            return Buckets.empty()
        index, data = source.points(remainder, [c for c in (x, y) if c != INDEX])
        if x == INDEX:
            data = {**data, INDEX: index.astype(np.float64)}
        columns = Columns((y, x), (y,), kept_x)
        return bucketize(index, data, columns, index // size(level))

    extra = unsummarized(level)
    meeting = extra.take(meets(extra))
    if len(chosen) + len(meeting) <= budget:
        return drawn(Buckets.concat([chosen, meeting]), level)
    # Too many to draw: buckets are merged, and only neighbours may be (a merge across a
    # gap would claim points it does not hold). At the top level every bucket is at hand:
    # merge whole neighbours from the first that meets the range to the last, gaps
    # included (when x goes back, a range can meet buckets far apart).
    if level != top_level:
        level, extra = top_level, unsummarized(top_level)
    every = Buckets.concat([top, extra])  # neighbours from the first point to the last
    hit = np.flatnonzero(meets(every))
    return drawn(every.take(slice(int(hit[0]), int(hit[-1]) + 1)), level)


def _level_buckets(
    source: SeriesSource,
    header: SeriesHeader,
    level: int,
    summarized: int,
    numbers: Sequence[int] | None,
) -> Buckets:
    """Buckets ``numbers`` (all for ``None``) of ``level``: stored blocks and the tail."""
    width = size(level)
    complete = summarized // width
    if numbers is None:
        wanted = np.arange(-(-summarized // width), dtype=np.int64)
    else:
        wanted = np.asarray(numbers, dtype=np.int64)
    stored = wanted[wanted < complete]
    parts = []
    if len(stored):
        blocks = sorted({int(b) for b in stored // BLOCK})
        held = source.blocks(level, blocks)
        keep = np.isin(held.start // width, stored)
        parts.append(held.take(keep))
    tail = header.state.tails.get(level)
    if tail is not None and len(tail) and np.any(wanted == complete):
        parts.append(tail)
    return Buckets.concat(parts)


def _children(buckets: Buckets, level: int) -> list[int]:
    """Numbers of the buckets of ``level - 1`` under ``buckets`` (of ``level``)."""
    width = size(level - 1)
    first = buckets.start // width
    last = (buckets.end - 1) // width
    numbers: set[int] = set()
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        numbers.update(range(a, b + 1))
    return sorted(numbers)


def _ranges(buckets: Buckets) -> list[tuple[int, int]]:
    """The index ranges the buckets cover, neighbours joined."""
    ranges: list[tuple[int, int]] = []
    for a, b in zip(buckets.start.tolist(), buckets.end.tolist(), strict=True):
        if ranges and a <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], b))
        else:
            ranges.append((a, b))
    return ranges


PARTNER = "@partner"
"""Column id of the other metric's value in a paired read (:class:`PairedSource`)."""


class PairedSource:
    """One metric against another, paired by index: the second one's value is x.

    Two metrics logged in lockstep (``mse`` and ``alpha``) have buckets over the same
    index ranges, so a paired bucket is the y metric's bucket with the x metric's
    first/last/min/max of the same points. (Where x was at the y extremes is not kept:
    it is placed by index between the bucket's first and last x.) Points pair up to the
    shorter of the two; when their summaries reach different points (one is a flush
    ahead), only the levels' complete buckets both have are paired, and the rest is read
    as points.
    """

    def __init__(
        self, y: SeriesSource, y_header: SeriesHeader, x: SeriesSource, x_header: SeriesHeader
    ) -> None:
        for header in (y_header, x_header):
            if header.kind not in ("scalar", "list"):
                raise UserErrorException(
                    f"Metric {header.name!r} is not a series of single numbers: it cannot "
                    "be drawn against another metric."
                )
        self.y, self.x = y, x
        n = min(y_header.n_points, x_header.n_points)
        done = min(y_header.state.n, x_header.state.n, n)
        if y_header.state.n == x_header.state.n == done:
            tails = {
                level: self._pair(tail, x_header.state.tails[level])
                for level, tail in y_header.state.tails.items()
                if level in x_header.state.tails
            }
            state = SummaryState(done, tails)
        else:  # complete buckets only, up to where the coarsest level both have ends
            width = size(n_levels(done)) if done else 1
            state = SummaryState(done // width * width, {})
        self.header = SeriesHeader(y_header.metric_id, y_header.name, y_header.kind, n, state)

    @staticmethod
    def _pair(y: Buckets, x: Buckets) -> Buckets:
        both = np.intersect1d(y.start, x.start)  # one metric may have more complete buckets
        y = y.take(np.isin(y.start, both))
        x = x.take(np.isin(x.start, both))
        stats = ("first", "last", "min", "max")
        partner = x.with_keys(tuple((stat, VALUE) for stat in stats))
        keys = (*y.keys, *((stat, PARTNER) for stat in stats))
        return Buckets(y.start, y.end, keys, np.hstack([y.matrix, partner.matrix]))

    def blocks(self, level: int, numbers: Sequence[int]) -> Buckets:
        """Both metrics' stored buckets, paired."""
        return self._pair(self.y.blocks(level, numbers), self.x.blocks(level, numbers))

    def points(
        self, ranges: Sequence[tuple[int, int]], columns: Sequence[str]
    ) -> tuple[ArrayI8, dict[str, ArrayF8]]:
        """Index, the y metric's columns and the x metric's value (``PARTNER``)."""
        ranges = [(a, min(b, self.header.n_points)) for a, b in ranges]
        index, data = self.y.points(ranges, [c for c in columns if c != PARTNER])
        if PARTNER in columns:
            x_index, x_data = self.x.points(ranges, [VALUE])
            assert np.array_equal(index, x_index)
            data[PARTNER] = x_data[VALUE]
        return index, data
