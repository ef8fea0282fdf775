"""One line of a chart, read as a window of its series and kept up to date point by point.

A chart never holds a history. :class:`LiveSeries` starts from a windowed read of the
store (:meth:`~run_widgets.store.TrackingStore.read_series_window`: the exact points of
the x range, or at most ``max_points // 4`` buckets of first/min/max/last) and folds in
the points logged since, exactly:

* while exact, new points are appended; past ``max_points`` they are grouped into
  buckets of equal size;
* buckets take new points into the last bucket until it holds ``width`` points, then
  into new ones; past the budget, neighbours merge in pairs and ``width`` doubles
  (the minimum and maximum of every point survive every merge). New points first wait,
  drawn as they are, in a short raw tail (at most ``RAW_TAIL``), so that most refreshes
  only add points at the end of what is drawn (the chart then sends only those).

So a poll costs the new points, the memory is O(``max_points``) whatever the run's length,
and what is drawn is always first/min/max/last of every point shown (M4: a spike is never
lost). Points whose x is outside the x range, or whose y is not a finite number, are not
part of the line.
"""

from __future__ import annotations

import math

import numpy as np

from ..store import SeriesWindow
from ..store.entities import ArrayF8, ArrayI8
from ..store.summaries import INDEX, Buckets, Columns, bucketize, coarsen, m4, merge
from ..store.summaries.buckets import extremes_x

RAW_TAIL = 256
"""New points drawn as they are before they are folded into buckets."""


class LiveSeries:
    """A chart line: a windowed read, then the points logged since (module docstring).

    Args:
        window: the windowed read the line starts from.
        x: the x column id (``#step``, ``#time``, ``=<column>``, ``INDEX``, a partner).
        y: the y column id (``#value`` or ``=<column>``).
        max_points: the most points to draw.
    """

    def __init__(self, window: SeriesWindow, x: str, y: str, max_points: int) -> None:
        self.x_id = x
        self.y_id = y
        self.max_points = max_points
        # The raw tail holds fewer than ``tail_max`` points and each bucket draws at most
        # four: together, never more than ``max_points``.
        self.tail_max = min(RAW_TAIL, max(1, max_points // 2))
        self.budget = max(1, (max_points - self.tail_max) // 4)
        self.lo = -math.inf if window.lo is None else float(window.lo)
        self.hi = math.inf if window.hi is None else float(window.hi)
        self.covered = window.covered
        self._columns = Columns(
            tuple(c for c in (y, x) if c != INDEX), (y,), () if x == INDEX else (x,)
        )
        self._points: tuple[ArrayI8, ArrayF8, ArrayF8] | None = None
        self._buckets = Buckets.empty()
        self._members = np.empty(0, dtype=np.int64)
        self._tail: list[tuple[ArrayI8, ArrayF8, ArrayF8]] = []
        self._tail_len = 0
        self.width = 1
        # A source that samples its windows (MLflow) gives points that are not all of them.
        self.sampled = not window.exact and window.buckets is None
        if window.exact or self.sampled:
            self._points = (window.index, window.x, window.y)
        else:
            assert window.buckets is not None
            self._buckets = coarsen(_keep(window.buckets, x, y), self.budget)
            self._members = self._buckets.count
            self.width = max(1, int(self._members.max(initial=1)))

    @property
    def exact(self) -> bool:
        """True while the line draws every point of its window."""
        return self._points is not None and not self.sampled

    def extend(self, index: ArrayI8, x: ArrayF8, y: ArrayF8) -> None:
        """Fold in new points (``index`` at or after :attr:`covered`, increasing)."""
        if len(index):
            self.covered = max(self.covered, int(index[-1]) + 1)
        keep = (x >= self.lo) & (x <= self.hi) & np.isfinite(y) & np.isfinite(x)
        index, x, y = index[keep], x[keep], y[keep]
        if not len(index):
            return
        if self._points is not None:
            old_index, old_x, old_y = self._points
            joined = (
                np.concatenate([old_index, index]),
                np.concatenate([old_x, x]),
                np.concatenate([old_y, y]),
            )
            if len(joined[0]) <= self.max_points:
                self._points = joined
                return
            self._points = None
            self.width = -(-len(joined[0]) // self.budget)
            self._buckets, self._members = Buckets.empty(), np.empty(0, dtype=np.int64)
            self._fold(*joined)
            return
        self._tail.append((index, x, y))
        self._tail_len += len(index)
        if self._tail_len >= min(self.width, self.tail_max):
            parts = self._tail
            self._tail, self._tail_len = [], 0
            self._fold(*(np.concatenate([p[i] for p in parts]) for i in range(3)))

    def _fold(self, index: ArrayI8, x: ArrayF8, y: ArrayF8) -> None:
        """Add points to the buckets (the last one first, up to ``width``)."""
        room = int(self.width - self._members[-1]) if len(self._members) else 0
        slot = np.arange(len(index), dtype=np.int64)
        # The first ``room`` points top up the last bucket (group -1), then groups of width.
        group = np.where(slot < room, -1, (slot - room) // self.width)
        data = {self.y_id: y} if self.x_id == INDEX else {self.y_id: y, self.x_id: x}
        fresh = bucketize(index, data, self._columns, group)
        counts = np.bincount(group - group[0], minlength=0)
        counts = counts[counts > 0]
        if room > 0 and group[0] == -1:
            joined = Buckets.concat([self._buckets, fresh])
            last = len(self._buckets) - 1
            groups = np.concatenate([np.arange(len(self._buckets)), np.arange(len(fresh)) + last])
            self._buckets = merge(joined, groups)
            self._members = np.concatenate(
                [self._members[:-1], [self._members[-1] + counts[0]], counts[1:]]
            )
        else:
            self._buckets = Buckets.concat([self._buckets, fresh])
            self._members = np.concatenate([self._members, counts])
        while len(self._buckets) > self.budget:
            pairs = np.arange(len(self._buckets), dtype=np.int64) // 2
            self._buckets = merge(self._buckets, pairs)
            self._members = np.bincount(pairs, weights=self._members).astype(np.int64)
            self.width *= 2

    def arrays(self) -> tuple[ArrayF8, ArrayF8]:
        """What the line draws: its points, or each bucket's first/min/max/last."""
        if self._points is not None:
            return self._points[1], self._points[2]
        xs, ys, _ = m4(self._buckets, self.x_id, self.y_id)
        if self._tail:
            xs = np.concatenate([xs, *(p[1] for p in self._tail)])
            ys = np.concatenate([ys, *(p[2] for p in self._tail)])
        return xs, ys

    def __len__(self) -> int:
        """Points or buckets held (bounded by ``max_points``)."""
        return len(self._points[0]) if self._points is not None else len(self._buckets)


def _keep(buckets: Buckets, x: str, y: str) -> Buckets:
    """Only the fields a line draws from (the stored buckets carry every column's).

    Where the stored buckets did not keep x at the y extremes, it is placed now (see
    :func:`~run_widgets.store.summaries.buckets.extremes_x`), so that every bucket of the
    line, stored or folded in later, has it.
    """
    wanted = {
        ("first", y),
        ("last", y),
        ("min", y),
        ("max", y),
        ("imin", y),
        ("imax", y),
        ("first", x),
        ("last", x),
        ("min", x),
        ("max", x),
        ("vmin", y, x),
        ("vmax", y, x),
    }
    fields = {key: values for key, values in buckets.fields.items() if key in wanted}
    if x != INDEX:
        for kind in ("min", "max"):
            if (f"v{kind}", y, x) not in fields:
                fields[(f"v{kind}", y, x)] = extremes_x(buckets, y, x, kind)
    return Buckets.of(buckets.start, buckets.end, fields)
