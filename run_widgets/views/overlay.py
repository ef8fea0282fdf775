"""Overlay charts of several runs: one chart per metric, one line per selected run.

:class:`RunSeries` reads one run's scalar metrics incrementally (only chunks written
since the last read) and keeps, per metric and x axis, a bounded min/max-preserving
sampler (the one ``RunDetails`` uses), so a refresh costs the new points and every line
holds at most ``MAX_POINTS`` points however long the history. The x axis is the step,
the point's index, its wall time, the time since the run started, or another metric of
the run (``metric:<name>``: its values paired point by point with the charted metric's,
as for metrics logged in lockstep, mse against alpha); smoothing is an exponential moving
average (debiased, as TensorBoard's) computed on the raw points before sampling. Colours
are assigned per run and kept while the run stays selected, so a run has the same colour
in every chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..store import PointChunk, RunRecord
from .export import RELATIVE_AXIS
from .mapping import as_float, values_from
from .sampler import SeriesSampler

X_MODES = ("step", "index", "wall", "relative")
X_LABELS = {
    "step": "step",
    "index": "index",
    "wall": "wall time",
    "relative": "time since start",
}
METRIC_X = "metric:"
"""Prefix of an x mode that is another metric (``metric:alpha``)."""
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
MAX_OVERLAY_RUNS = len(PALETTE)
DEFAULT_RUNS = 5
EMA_BLOCK = 64


def check_x_mode(mode: str) -> str:
    """Return ``mode`` if it is an x axis the overlay knows (a mode or ``metric:<name>``).

    Raises:
        ValueError: an unknown mode.
    """
    if mode not in X_MODES and not (mode.startswith(METRIC_X) and len(mode) > len(METRIC_X)):
        raise ValueError(f"x must be one of {', '.join(X_MODES)} or 'metric:<name>'; got {mode!r}.")
    return mode


def x_label(mode: str) -> str:
    """The x axis' label for ``mode`` (a metric's name for ``metric:<name>``)."""
    if mode.startswith(METRIC_X):
        return mode[len(METRIC_X) :]
    return RELATIVE_AXIS if mode == "relative" else X_LABELS[mode]


def x_kind(mode: str) -> str:
    """How ``mode`` is drawn (see ``export.ChartData.x_kind``)."""
    if mode in ("step", "index"):
        return "integer"
    return mode if mode in ("wall", "relative") else "number"


def check_smoothing(weight: float) -> float:
    """Return ``weight`` if it is a valid EMA weight (0 = off, below 1).

    Raises:
        ValueError: outside ``[0, 0.999]``.
    """
    if not 0.0 <= float(weight) <= 0.999:
        raise ValueError(f"smoothing must be between 0 and 0.999, got {weight!r}.")
    return float(weight)


def ema(
    values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)
) -> tuple[np.ndarray, tuple[float, int]]:
    """Debiased exponential moving average of ``values``, continuing from ``state``.

    ``state`` is ``(biased last value, points seen)``; the returned state continues the
    average over the next values, so a series smoothed in pieces equals one smoothed
    whole. Vectorised in blocks (so ``weight ** -k`` stays finite).
    """
    values = np.asarray(values, dtype=np.float64)
    last, count = state
    if weight <= 0.0 or not len(values):
        return values.copy(), (float(values[-1]) if len(values) else last, count + len(values))
    out = np.empty_like(values)
    for start in range(0, len(values), EMA_BLOCK):
        block = values[start : start + EMA_BLOCK]
        k = np.arange(1, len(block) + 1, dtype=np.float64)
        up = weight**k
        biased = up * (last + (1.0 - weight) * np.cumsum(block / up))
        seen = count + k
        out[start : start + len(block)] = biased / (1.0 - weight**seen)
        last, count = float(biased[-1]), int(seen[-1])
    return out, (last, count)


class _Metric:
    """The points of one metric of one run, and its samplers."""

    def __init__(self) -> None:
        self.chunks: list[PointChunk] = []
        self.count = 0
        self.samplers: dict[tuple[str, float], tuple[SeriesSampler, tuple[float, int]]] = {}
        self.pairs: dict[tuple[str, float], int] = {}  # metric-x samplers: pairs held

    def add(self, chunk: PointChunk, start: float) -> None:
        fresh = chunk.since(self.count)  # a compacted chunk may repeat points held
        if fresh is None:
            return
        self.chunks.append(fresh)
        self.count += fresh.n
        for key, (sampler, state) in list(self.samplers.items()):
            if not key[0].startswith(METRIC_X):  # those grow when drawn (both metrics' points)
                self.samplers[key] = (sampler, self._feed(sampler, fresh, key, state, start))

    @staticmethod
    def _feed(
        sampler: SeriesSampler,
        chunk: PointChunk,
        key: tuple[str, float],
        state: tuple[float, int],
        start: float,
    ) -> tuple[float, int]:
        mode, weight = key
        y = as_float(chunk.values)
        if mode == "step":
            x = chunk.steps.astype(np.float64)
        elif mode == "index":
            x = np.arange(chunk.first_index, chunk.first_index + chunk.n, dtype=np.float64)
        elif mode == "wall":
            x = chunk.times * 1000.0  # epoch milliseconds (a date axis)
        else:
            x = chunk.times - start
        finite = np.isfinite(y)
        if not finite.all():  # NaN cannot be drawn, nor averaged
            x, y = x[finite], y[finite]
        smoothed, state = ema(y, weight, state)
        sampler.extend(x, smoothed)
        return state

    def values_from(self, start: int) -> np.ndarray:
        """Values (as float) of the points from index ``start`` on (only the chunks needed)."""
        return values_from(self.chunks, start)

    def against(
        self, partner: _Metric, partner_name: str, weight: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """This metric (smoothed) over ``partner``'s values, paired by index.

        The sampler grows by the new pairs only.
        """
        key = (METRIC_X + partner_name, weight)
        sampler, state = self.samplers.get(key, (SeriesSampler(), (0.0, 0)))
        done = self.pairs.get(key, 0)
        n = min(self.count, partner.count)
        if n > done:
            y = self.values_from(done)[: n - done]
            x = partner.values_from(done)[: n - done]
            finite = np.isfinite(y)
            smoothed, state = ema(y[finite], weight, state)
            sampler.extend(x[finite], smoothed)
        self.samplers[key] = (sampler, state)
        self.pairs[key] = n
        return sampler.arrays()

    def arrays(self, mode: str, weight: float, start: float) -> tuple[np.ndarray, np.ndarray]:
        key = (mode, weight)
        if key not in self.samplers:
            sampler = SeriesSampler()
            state = (0.0, 0)
            for chunk in self.chunks:
                state = self._feed(sampler, chunk, key, state, start)
            self.samplers[key] = (sampler, state)
        return self.samplers[key][0].arrays()


class RunSeries:
    """The scalar metrics of one run, read incrementally (see the module docstring)."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.run_id = record.id
        self.metrics: dict[str, _Metric] = {}
        self.cursor = 0

    @property
    def start(self) -> float:
        """When the run started (the origin of relative time)."""
        record = self.record
        return record.start_time if record.start_time is not None else record.created_at

    def add(self, chunks: Iterable[PointChunk]) -> set[str]:
        """Take new chunks (scalar ones only); return the metrics that grew."""
        grown: set[str] = set()
        for chunk in chunks:
            self.cursor = max(self.cursor, chunk.id)
            if chunk.kind not in ("scalar", "list"):
                continue
            metric = self.metrics.setdefault(chunk.metric_name, _Metric())
            before = metric.count
            metric.add(chunk, self.start)
            if metric.count != before:
                grown.add(chunk.metric_name)
        return grown

    def arrays(
        self, name: str, mode: str = "step", smoothing: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chart arrays (at most ``MAX_POINTS`` points) of one metric."""
        metric = self.metrics.get(name)
        if metric is None:
            return np.empty(0), np.empty(0)
        if mode.startswith(METRIC_X):
            partner = self.metrics.get(mode[len(METRIC_X) :])
            if partner is None:
                return np.empty(0), np.empty(0)
            return metric.against(partner, mode[len(METRIC_X) :], smoothing)
        return metric.arrays(mode, smoothing, self.start)


def assign_colors(selected: Sequence[str], previous: Mapping[str, str]) -> dict[str, str]:
    """A colour per selected run: a run keeps its colour; new runs take free ones."""
    colors = {run_id: previous[run_id] for run_id in selected if run_id in previous}
    free = [c for c in PALETTE if c not in colors.values()]
    for run_id in selected:
        if run_id not in colors:
            colors[run_id] = free.pop(0) if free else PALETTE[len(colors) % len(PALETTE)]
    return colors


def run_label(record: RunRecord) -> str:
    """How a run is named in legends: its number and display name."""
    name = record.display_name or record.id[:8]
    return f"{record.number}: {name}"


@dataclass(frozen=True)
class Line:
    """One run's line on one overlay chart."""

    run_id: str
    label: str
    color: str
    x: np.ndarray
    y: np.ndarray


def chart_lines(
    series: Mapping[str, RunSeries],
    selected: Sequence[str],
    colors: Mapping[str, str],
    name: str,
    mode: str,
    smoothing: float,
) -> list[Line]:
    """The lines of metric ``name``'s chart: one per selected run that has the metric."""
    lines = []
    for run_id in selected:
        run = series.get(run_id)
        if run is None or name not in run.metrics:
            continue
        x, y = run.arrays(name, mode, smoothing)
        lines.append(Line(run_id, run_label(run.record), colors[run_id], x, y))
    return lines


def chart_names(series: Mapping[str, RunSeries], selected: Sequence[str]) -> list[str]:
    """The metrics charted: those a selected run logged more than once, by name.

    A metric logged once per run (a hyperparameter, a final score) is a value, not a
    curve: it is a column of the table and an axis of the across-run views.
    """
    names = {
        name
        for run_id in selected
        if run_id in series
        for name, metric in series[run_id].metrics.items()
        if metric.count > 1
    }
    return sorted(names, key=str.lower)
