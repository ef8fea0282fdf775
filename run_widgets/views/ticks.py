"""Axis ticks chosen in the kernel (for the widgets and the static charts): few, round, right.

bqplot leaves ticks to d3, which gives fractional steps (0, 0.2 … 2) early in a run, a
label per minor decade on log axes (0.08, 0.09, 0.1 overlapping) and, in a narrow chart,
more labels than fit. These functions return at most a handful of tick values and the
d3 format that prints them, so every chart reads the same at any width.
"""

from __future__ import annotations

import math

import numpy as np

MAX_TICKS = 5


def nice_step(span: float, count: int = MAX_TICKS, integer: bool = False) -> float:
    """A 1/2/5 × 10^k step giving at most ``count`` intervals over ``span``."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = factor * power
        if step >= raw - 1e-12 * raw:
            break
    if integer:
        step = max(1.0, round(step))
    return float(step)


def linear_ticks(lo: float, hi: float, count: int = MAX_TICKS, integer: bool = False) -> np.ndarray:
    """Round tick values inside ``[lo, hi]`` (whole numbers only if ``integer``)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.empty(0)
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return np.array([float(round(lo)) if integer else lo])
    step = nice_step(hi - lo, count, integer)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    # Floating steps (0.1 * 3) print as 0.30000000000000004 without this.
    return np.round(ticks, max(0, -math.floor(math.log10(step)) + 2))


def log_ticks(lo: float, hi: float, count: int = MAX_TICKS) -> np.ndarray:
    """Powers of ten inside ``[lo, hi]`` (thinned to ``count``), or 1-2-5 steps within one."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= 0:
        return np.empty(0)
    lo = max(lo, hi * 1e-12) if lo <= 0 else lo
    low, high = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = [10.0**k for k in range(low, high + 1) if lo <= 10.0**k <= hi]
    if len(decades) >= 2:
        stride = math.ceil(len(decades) / count)
        return np.array(decades[::stride])
    ticks = [
        m * 10.0**k
        for k in range(low, high + 1)
        for m in (1.0, 2.0, 5.0)
        if lo <= m * 10.0**k <= hi
    ]
    if len(ticks) < 2:
        return linear_ticks(lo, hi, 3)
    return np.array(ticks[:: math.ceil(len(ticks) / count)])


def nice_domain(
    lo: float, hi: float, count: int = MAX_TICKS, integer: bool = False
) -> tuple[float, float]:
    """``[lo, hi]`` rounded out to the tick step (a small range around a single value)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        if integer:
            hi = lo + 1
        else:
            pad = 1.0 if lo == 0 else abs(lo) * 0.1
            lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count, integer)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def log_domain(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` (positive) rounded out to 1-2-5 × 10^k."""
    if hi <= 0:
        return 0.1, 1.0
    lo = lo if lo > 0 else hi / 10

    def down(v: float) -> float:
        k = math.floor(math.log10(v))
        return max(m * 10.0**k for m in (1.0, 2.0, 5.0) if m * 10.0**k <= v * (1 + 1e-12))

    def up(v: float) -> float:
        k = math.floor(math.log10(v))
        return min(m * 10.0**k for m in (1.0, 2.0, 5.0, 10.0) if m * 10.0**k >= v * (1 - 1e-12))

    low, high = down(lo), up(hi)
    return (low, high) if high > low else (low / 2, high * 2)
