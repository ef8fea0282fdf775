"""How a chart's axes are laid out: domain, ticks, number format, outliers, time units.

Every chart of the package (RunDetails' metric charts, the overlay charts, the sweep and
across-run charts) asks :func:`linear_axis` or :func:`log_axis` for each axis and draws
the :class:`AxisLayout` it gets:

* the domain is the data's range rounded out to the tick step, then padded by
  ``PAD_FRACTION`` of its span on both ends, so the first and last tick labels sit inside
  the axis (not on its end caps), the two axes' zero labels never meet in the corner, and
  the right-most point and its label are not cut at the edge;
* ticks are few and round (whole numbers where every value is whole: steps, epochs, run
  numbers), printed without exponents below a million ("5,000", not "5e+3");
* *ignore outliers* scales the axis to the 5–95 % quantiles of the values shown; the
  points outside are drawn at the edge (``AxisLayout.clip``), not dropped;
* an x axis keeps as many ticks as its labels fit side by side (``X_LABEL_CHARS``): a
  narrow range of long fractions gets fewer ticks, not labels run together;
* relative time starts at 0 and is shown in the unit that reads best for its span (ms,
  s, min, h, days).

Pure functions of numpy arrays: tested without a kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .ticks import MAX_TICKS, linear_ticks, log_domain, log_ticks, nice_domain

PAD_FRACTION = 0.06  # of the span: about 14 px of a 240 px axis, a tick label's height
OUTLIER_QUANTILES = (5.0, 95.0)
# (unit, seconds per unit, the span from which it is used)
TIME_UNITS = (
    ("ms", 0.001, 0.0),
    ("s", 1.0, 1.0),
    ("min", 60.0, 120.0),
    ("h", 3600.0, 7200.0),
    ("days", 86400.0, 172800.0),
)


X_LABEL_CHARS = 40
"""Characters an x axis' tick labels may take, a gap of two after each: the plot area of
a chart in RunDetails' three-column grid (about 260 px of 11 px digits)."""


@dataclass(frozen=True)
class AxisLayout:
    """What to draw on one axis.

    Attributes:
        low, high: the scale's domain.
        ticks: the tick values.
        fmt: the d3 format of the tick labels.
        clip: ``(low, high)`` to clip values to (points outside drawn at the edge), or
            ``None`` (nothing is outside).
    """

    low: float
    high: float
    ticks: np.ndarray
    fmt: str
    clip: tuple[float, float] | None = None

    def clipped(self, values: np.ndarray) -> np.ndarray:
        """``values`` with those outside ``clip`` moved to its edge (unchanged if no clip)."""
        if self.clip is None:
            return values
        inside: np.ndarray = np.clip(values, self.clip[0], self.clip[1])
        return inside


def finite_values(arrays: Sequence[np.ndarray], positive: bool = False) -> np.ndarray:
    """The finite values of ``arrays`` joined (only the positive ones for a log axis)."""
    parts = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    joined = np.concatenate(parts) if parts else np.empty(0)
    keep = np.isfinite(joined)
    if positive:
        keep &= joined > 0
    kept: np.ndarray = joined[keep]
    return kept


def all_whole(values: np.ndarray) -> bool:
    """True when every value is a whole number (steps, epochs, run numbers)."""
    return bool(len(values)) and bool(np.all(values == np.round(values)))


def robust_range(values: np.ndarray) -> tuple[float, float] | None:
    """The 5–95 % quantiles of ``values``, or ``None`` when they do not narrow the range."""
    if len(values) < 3:
        return None
    lo, hi = (float(q) for q in np.percentile(values, OUTLIER_QUANTILES))
    if not hi > lo or (lo <= float(values.min()) and hi >= float(values.max())):
        return None
    return lo, hi


def tick_format(ticks: np.ndarray, integer: bool = False) -> str:
    """The d3 format of these ticks: grouped digits, no exponent below a million.

    ``,d`` for whole numbers ("5,000"), ``,~g`` for fractions ("0.25", "1,250.5"), SI
    prefixes from a million on ("2.5M"). (A precision below the number of digits, as
    ``.3~g`` was, prints 5000 as "5e+3".) More digits where six would print a tick other
    than it is, or two ticks alike (1.000025; a zoom on steps 1,000,100-1,000,400).
    """
    if ticks.size == 0:
        return ",~g"
    largest = float(np.max(np.abs(ticks)))
    whole = integer or all_whole(ticks)
    # Three digits or six would print ticks alike on a zoom (1,000,100 … as "1M"): more.
    if largest >= 1e6 and len({f"{t:.3g}" for t in ticks.tolist()}) == ticks.size:
        return ".3~s"
    if whole:
        return ",d"
    gaps = np.diff(np.sort(ticks))
    gap = float(gaps[gaps > 0].min()) if np.any(gaps > 0) else largest
    digits = 6
    if largest > 0:
        digits = max(digits, math.floor(math.log10(largest)) - math.floor(math.log10(gap)) + 1)
    while digits < 15 and any(abs(float(f"{t:.{digits}g}") - t) > gap / 1000 for t in ticks):
        digits += 1
    return ",~g" if digits == 6 else f",.{digits}~g"


def label_text(value: float, fmt: str) -> str:
    """About what d3 prints for ``value`` in format ``fmt`` (to measure labels here)."""
    if fmt == ",d":
        return f"{round(value):,}"
    if fmt == ".3~s":
        return f"{value / 1e6:.3g}M"
    precision = fmt[2:-2] if fmt.startswith(",.") and fmt.endswith("~g") else "6"
    return f"{value:,.{precision}g}"


def labels_fit(ticks: np.ndarray, fmt: str, chars: int) -> bool:
    """True when the labels of ``ticks`` fit side by side in ``chars`` characters."""
    return sum(len(label_text(float(t), fmt)) + 2 for t in ticks) <= chars


def _pad(low: float, high: float) -> tuple[float, float]:
    pad = (high - low) * PAD_FRACTION
    return low - pad, high + pad


def linear_axis(
    arrays: Sequence[np.ndarray],
    integer: bool | None = None,
    ignore_outliers: bool = False,
    count: int = MAX_TICKS,
    label_chars: int | None = None,
) -> AxisLayout | None:
    """The layout of a linear axis over ``arrays`` (``None`` when nothing is finite).

    Args:
        arrays: the values shown on this axis (every series).
        integer: whole-number ticks; ``None``: when every value is whole.
        ignore_outliers: scale to the 5–95 % quantiles; values outside are clipped.
        count: at most this many tick intervals.
        label_chars: fewer ticks until their labels fit in this many characters (an x
            axis: ``X_LABEL_CHARS``); ``None``: no limit.
    """
    values = finite_values(arrays)
    if not len(values):
        return None
    whole = all_whole(values) if integer is None else integer
    lo, hi = float(values.min()), float(values.max())
    clip = None
    if ignore_outliers and (narrow := robust_range(values)) is not None:
        lo, hi = narrow
    for intervals in range(count, 0, -1):
        low, high = nice_domain(lo, hi, intervals, integer=whole)
        ticks = linear_ticks(low, high, intervals, integer=whole)
        fmt = tick_format(ticks, whole)
        if label_chars is None or labels_fit(ticks, fmt, label_chars):
            break
    padded_low, padded_high = _pad(low, high)
    if ignore_outliers and (values.min() < padded_low or values.max() > padded_high):
        clip = (padded_low, padded_high)
    return AxisLayout(padded_low, padded_high, ticks, fmt, clip)


def range_axis(
    low: float,
    high: float,
    integer: bool,
    count: int = MAX_TICKS,
    label_chars: int | None = None,
) -> AxisLayout:
    """The layout of a zoomed axis: exactly ``[low, high]``, with round ticks inside it.

    Rounded out like :func:`linear_axis`, the range dragged would not fill the plot.
    ``label_chars``: fewer ticks until their labels fit (as in :func:`linear_axis`).
    """
    if not high > low:
        low, high = nice_domain(low, high, count, integer=integer)
    for intervals in range(count, 0, -1):
        ticks = linear_ticks(low, high, intervals, integer=integer)
        fmt = tick_format(ticks, integer)
        if label_chars is None or labels_fit(ticks, fmt, label_chars):
            break
    return AxisLayout(low, high, ticks, fmt, None)


def log_axis(arrays: Sequence[np.ndarray], ignore_outliers: bool = False) -> AxisLayout | None:
    """The layout of a log axis over the positive values of ``arrays`` (``None``: none)."""
    values = finite_values(arrays, positive=True)
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    if ignore_outliers and (narrow := robust_range(np.log10(values))) is not None:
        lo, hi = 10.0 ** narrow[0], 10.0 ** narrow[1]
    low, high = log_domain(lo, hi)
    ticks = log_ticks(low, high)
    exponent = (math.log10(high) - math.log10(low)) * PAD_FRACTION
    padded_low, padded_high = low / 10.0**exponent, high * 10.0**exponent
    clip = None
    if ignore_outliers and (values.min() < padded_low or values.max() > padded_high):
        clip = (padded_low, padded_high)
    return AxisLayout(padded_low, padded_high, ticks, tick_format(ticks), clip)


def time_unit(span_seconds: float) -> tuple[str, float]:
    """``(unit, seconds per unit)`` for a relative-time axis spanning ``span_seconds``."""
    chosen = TIME_UNITS[0]
    for unit in TIME_UNITS:
        if span_seconds >= unit[2]:
            chosen = unit
    return chosen[0], chosen[1]


def relative_time(arrays: Sequence[np.ndarray]) -> tuple[str, float]:
    """The unit of a relative-time axis over ``arrays`` (seconds): ``(unit, divisor)``.

    The span counts from 0 (the run's start), which the axis shows.
    """
    values = finite_values(arrays)
    span = float(values.max() - min(0.0, float(values.min()))) if len(values) else 0.0
    return time_unit(span)
