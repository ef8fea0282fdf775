"""A bounded, min/max-preserving summary of a series that keeps growing.

Re-downsampling a million-point history on every poll would make a poll cost grow with the
history. :class:`SeriesSampler` keeps instead a summary at a uniform *density* (summary
points per raw point):

* new points wait in a short raw tail; every ``SUB_BLOCK`` of them is folded into
  ``SUB_BLOCK × density`` points (at least its minimum and maximum);
* when the summary outgrows its budget, it is halved in place (the minimum and maximum of
  each pair of neighbouring windows survive) and the density halves.

So ``extend`` costs about the new points, ``arrays`` costs the budget (never the history),
every part of the x range has the same resolution, and the global minimum and maximum
always survive (a loss spike stays visible). Below ``max_points`` it is the exact data.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxDownsampler

from .downsample import MAX_POINTS

SUB_BLOCK = 256
_minmax = MinMaxDownsampler()  # type: ignore[no-untyped-call]


def minmax_indices(y: np.ndarray, n_out: int) -> np.ndarray:
    """Indices of at most ``n_out`` points of ``y`` keeping each window's min and max."""
    if len(y) <= n_out:
        return np.arange(len(y))
    n_out = max(2, n_out - n_out % 2)
    index = np.asarray(_minmax.downsample(y, n_out=n_out), dtype=np.int64)
    # tsdownsample picks per-bucket extremes; make sure the global ones are in.
    extremes = np.array([int(np.argmin(y)), int(np.argmax(y))], dtype=np.int64)
    return np.union1d(index, extremes)


class SeriesSampler:
    """Points ``(x, y)`` appended in order; :meth:`arrays` gives at most ``max_points``."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max_points
        self.count = 0  # finite points seen
        self.density = 1.0
        self._budget = max(2 * SUB_BLOCK, max_points - SUB_BLOCK)
        self._summary_x: list[np.ndarray] = []
        self._summary_y: list[np.ndarray] = []
        self._summary_len = 0
        self._tail_x: list[np.ndarray] = []
        self._tail_y: list[np.ndarray] = []
        self._tail_len = 0

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        """Append points; non-finite ones are dropped (they cannot be drawn)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        if not keep.all():
            x, y = x[keep], y[keep]
        if not len(y):
            return
        self.count += len(y)
        self._tail_x.append(x)
        self._tail_y.append(y)
        self._tail_len += len(y)
        if self._tail_len >= SUB_BLOCK:
            self._fold_tail()

    def _fold_tail(self) -> None:
        x = np.concatenate(self._tail_x)
        y = np.concatenate(self._tail_y)
        full = (len(y) // SUB_BLOCK) * SUB_BLOCK
        start = 0
        while start < full:
            keep = max(2, round(SUB_BLOCK * self.density))
            if keep == 2:  # low density: each block keeps its min and max, all at once
                blocks = (full - start) // SUB_BLOCK
                bx = x[start:full].reshape(blocks, SUB_BLOCK)
                by = y[start:full].reshape(blocks, SUB_BLOCK)
                low, high = by.argmin(axis=1), by.argmax(axis=1)
                index = np.stack([np.minimum(low, high), np.maximum(low, high)], axis=1)
                rows = np.arange(blocks)[:, None]
                self._summary_x.append(bx[rows, index].ravel())
                self._summary_y.append(by[rows, index].ravel())
                self._summary_len += 2 * blocks
                start = full
            else:
                bx, by = x[start : start + SUB_BLOCK], y[start : start + SUB_BLOCK]
                index = minmax_indices(by, keep)
                self._summary_x.append(bx[index])
                self._summary_y.append(by[index])
                self._summary_len += len(index)
                start += SUB_BLOCK
            while self._summary_len > self._budget:
                self._halve()
        self._tail_x, self._tail_y = [x[full:]], [y[full:]]
        self._tail_len = len(y) - full

    def _halve(self) -> None:
        x = np.concatenate(self._summary_x)
        y = np.concatenate(self._summary_y)
        index = minmax_indices(y, len(y) // 2)
        self._summary_x, self._summary_y = [x[index]], [y[index]]
        self._summary_len = len(index)
        self.density /= 2

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The summary and the raw tail: at most ``max_points`` points."""
        parts_x = self._summary_x + self._tail_x
        parts_y = self._summary_y + self._tail_y
        if not parts_y:
            return np.empty(0), np.empty(0)
        return np.concatenate(parts_x), np.concatenate(parts_y)
