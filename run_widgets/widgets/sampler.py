"""A bounded, min/max-preserving summary of a series that keeps growing.

Re-downsampling a million-point history on every poll would make a poll cost grow with the
history. :class:`SeriesSampler` instead folds every ``block`` new points into a short
min/max summary once, and when the summaries fill half the budget it merges them pairwise
and doubles ``block``. Each point is touched O(log n) times overall, a poll costs about the
new points, and the global minimum and maximum always survive (a loss spike stays visible).
Up to ``max_points`` points the summary is the exact data.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxDownsampler

from .downsample import MAX_POINTS, downsample

_minmax = MinMaxDownsampler()  # type: ignore[no-untyped-call]


def _minmax_indices(y: np.ndarray, n_out: int) -> np.ndarray:
    if len(y) <= n_out:
        return np.arange(len(y))
    return np.asarray(_minmax.downsample(y, n_out=n_out), dtype=np.int64)


class SeriesSampler:
    """Points ``(x, y)`` appended in order; :meth:`arrays` gives at most ``max_points``."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max_points
        self.count = 0  # finite points seen
        self._block = max(64, max_points // 4)
        self._summary_x: list[np.ndarray] = []
        self._summary_y: list[np.ndarray] = []
        self._summary_len = 0
        self._tail_x: list[np.ndarray] = []
        self._tail_y: list[np.ndarray] = []
        self._tail_len = 0
        self._exact = True

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
        if self._exact and self.count <= self.max_points:
            return
        self._exact = False
        self._fold_tail()

    def _fold_tail(self) -> None:
        if self._tail_len < self._block:
            return
        x = np.concatenate(self._tail_x)
        y = np.concatenate(self._tail_y)
        per_block = self._points_per_block()
        full = (len(y) // self._block) * self._block
        for start in range(0, full, self._block):
            bx, by = x[start : start + self._block], y[start : start + self._block]
            index = _minmax_indices(by, per_block)
            self._summary_x.append(bx[index])
            self._summary_y.append(by[index])
            self._summary_len += len(index)
        self._tail_x, self._tail_y = [x[full:]], [y[full:]]
        self._tail_len = len(y) - full
        while self._summary_len > self.max_points // 2:
            self._merge_pairs()

    def _points_per_block(self) -> int:
        return max(4, (self.max_points // 16) & ~1)

    def _merge_pairs(self) -> None:
        merged_x, merged_y = [], []
        per_block = self._points_per_block()
        for i in range(0, len(self._summary_y), 2):
            x = np.concatenate(self._summary_x[i : i + 2])
            y = np.concatenate(self._summary_y[i : i + 2])
            index = _minmax_indices(y, per_block)
            merged_x.append(x[index])
            merged_y.append(y[index])
        self._summary_x, self._summary_y = merged_x, merged_y
        self._summary_len = sum(len(y) for y in merged_y)
        self._block *= 2

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The summary: exact data while short, else ≤ ``max_points`` min/max points."""
        parts_x = self._summary_x + self._tail_x
        parts_y = self._summary_y + self._tail_y
        if not parts_y:
            return np.empty(0), np.empty(0)
        x = np.concatenate(parts_x)
        y = np.concatenate(parts_y)
        if len(y) > self.max_points:  # only the raw tail can push it over
            x, y = downsample(x, y, self.max_points)
        return x, y
