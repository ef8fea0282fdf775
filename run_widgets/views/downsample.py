"""Reduce a long series to at most ``MAX_POINTS`` points, keeping its minima and maxima.

MinMaxLTTB (``tsdownsample``) keeps the visual shape and, unlike plain LTTB, nearly every
spike; the global minimum and maximum are added explicitly (LTTB keeps one point per
bucket, so a spike up next to a spike down would lose one), so a loss spike in a
million-point history always shows in a 2,000-point chart. The result is deterministic,
so a chart does not change between refreshes unless the data does.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler

MAX_POINTS = 2000
_downsampler = MinMaxLTTBDownsampler()  # type: ignore[no-untyped-call]


def downsample(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Return at most ``max_points`` finite points of ``(x, y)`` as float64 arrays.

    Non-finite points (NaN, inf) are dropped first: they cannot be drawn.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.all():
        x, y = x[keep], y[keep]
    if len(y) <= max_points:
        return x, y
    sorted_x = bool(np.all(x[1:] >= x[:-1]))
    n_out = max(4, max_points - 2)  # room for the global extremes, added below
    if sorted_x:
        index = _downsampler.downsample(x, y, n_out=n_out)
    else:  # e.g. mse against alpha: choose points by position, not by x
        index = _downsampler.downsample(y, n_out=n_out)
    # LTTB keeps one point per bucket: a bucket holding both a spike up and a spike down
    # keeps only one of them. The global minimum and maximum are always kept.
    index = np.union1d(np.asarray(index, dtype=np.int64), [int(np.argmin(y)), int(np.argmax(y))])
    return x[index], y[index]
