"""What a run view holds of one metric: its header, and either its points or its chart lines.

A metric drawn as a chart (a numeric series: ``line``, ``line2``) is never held whole:
each line the view draws (an x axis, a y column, the chart's x range) is a
:class:`~.series.LiveSeries`, opened by a windowed read of the store and kept up to date
with the points each poll brings. A metric shown otherwise (a table of strings, images,
a single value) keeps its points, which the gallery and the report show.

A line against another metric (``mse`` over ``alpha``) pairs the two by index: the points
each poll brings for either metric wait (only as long as the other is behind, a flush at
most) until both have them.

Nothing here reads a store or a widget; :class:`~.tracker.RunTracker` hands in what it
read (chunks) and how to read a window (a :class:`~.reader.RunReader`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..store import MetricInfo, PointChunk, SeriesWindow
from ..store.entities import ArrayF8, ArrayI8
from ..store.summaries import INDEX, MAX_POINTS, point_data
from ..store.summaries.levels import STEP as STEP_ID
from ..store.summaries.levels import TIME, VALUE, table_column
from ..store.summaries.window import PARTNER
from ..tracking.metric_views import MetricHistory, history
from . import mapping
from .mapping import STEP, classify
from .series import LiveSeries

CHART_VIEWS = frozenset({"line", "line2"})
"""Views drawn as charts: their metrics are read as windows, never held whole."""
LINES_PER_METRIC = 8
"""Lines a metric keeps (x axes and ranges drawn recently); older ones are read again."""

XRange = tuple[float, float] | None

TIME_LINES = {
    mapping.INDEX: ("index", INDEX),
    mapping.WALL: ("time", TIME),
    mapping.RELATIVE: ("time", TIME),
}
"""x axes every series has besides its step (its position, its wall-clock time): the
store column each reads and its summary column id."""


@dataclass(frozen=True)
class LineKey:
    """Which line of a metric: its x axis, its y column (``None``: the value), its range."""

    x: str
    y: str | None
    x_range: XRange


@dataclass(frozen=True)
class LineSpec:
    """How a line is read: a store x column, or another metric paired by index."""

    x_column: str | None  # "step", "index", "time" or a table column
    partner: str | None  # the other metric, for a line over another metric
    x_id: str  # the summary column id of x
    y_id: str  # and of y


WindowReader = Callable[[LineSpec, str | None, XRange], SeriesWindow]
"""Reads a line's window: ``(spec, y column, x range) -> SeriesWindow``."""


class MetricData:
    """One metric of a run view (see the module docstring).

    Attributes:
        info: the metric's header, as of the last poll.
        chunks: its points, for a metric not drawn as a chart.
        seen: points the polls brought so far (an index: everything below it).
        x_range: the chart's x range (``None``: the whole run).
    """

    def __init__(self, info: MetricInfo) -> None:
        self.info = info
        self.chunks: list[PointChunk] = []
        self.held = 0
        self.seen = 0
        self.x_range: XRange = None
        self.lines: dict[LineKey, LiveSeries] = {}
        self.specs: dict[LineKey, LineSpec] = {}
        self.waiting: list[PointChunk] = []  # points a line over another metric still needs
        self.paired = False  # x or y of a line over another metric: new points wait

    @property
    def charted(self) -> bool:
        """True when the metric is drawn as a chart (read as windows)."""
        return classify(self.info) in CHART_VIEWS

    @property
    def count(self) -> int:
        """Points of the metric the view knows of.

        The header's count as of the last poll, or the points the polls have brought when
        they are newer; a chart reads windows, so its points are counted, not held.
        """
        return max(self.info.n_points, self.seen, self.held)

    # ------------------------------------------------------------------- new points --
    def add(self, chunk: PointChunk) -> None:
        """Take in a chunk a poll read: folded into the lines, or held (not a chart)."""
        self.seen = max(self.seen, chunk.first_index + chunk.n)
        if not self.charted:
            fresh = chunk.since(self.held)  # a compacted chunk may repeat points held
            if fresh is not None:
                self.chunks.append(fresh)
                self.held += fresh.n
            return
        self.chunks, self.held = [], 0  # became a chart: read as windows from now on
        for key, line in self.lines.items():
            spec = self.specs[key]
            if spec.partner is not None:
                continue
            part = chunk.since(line.covered)
            if part is not None:
                index, x, y = self.columns(part, spec)
                line.extend(index, x, y)
        if self.paired:
            self.waiting.append(chunk)

    def columns(self, chunk: PointChunk, spec: LineSpec) -> tuple[ArrayI8, ArrayF8, ArrayF8]:
        """Index, x and y of a chunk's points for a line read as ``spec``."""
        data = point_data(self.info.kind, chunk.steps, chunk.times, chunk.values)
        index = np.arange(chunk.first_index, chunk.first_index + chunk.n, dtype=np.int64)
        x = index.astype(np.float64) if spec.x_id == INDEX else data.get(spec.x_id)
        y = data.get(spec.y_id)
        nan = np.full(chunk.n, np.nan)
        return index, nan if x is None else x, nan if y is None else y

    def paired_lines(self) -> list[tuple[LineKey, LineSpec, LiveSeries]]:
        """The lines over another metric."""
        return [
            (key, self.specs[key], line)
            for key, line in self.lines.items()
            if self.specs[key].partner is not None
        ]

    def release(self, below: int) -> None:
        """Forget waiting points below index ``below`` (every line over them has them)."""
        self.waiting = [c for c in self.waiting if c.first_index + c.n > below]

    # ------------------------------------------------------------------------- lines --
    def line(
        self, key: LineKey, spec: LineSpec, read: WindowReader, max_points: int = MAX_POINTS
    ) -> LiveSeries:
        """The line ``key``, opened by a windowed read on first use."""
        found = self.lines.get(key)
        if found is not None:
            return found
        window = read(spec, key.y, key.x_range)
        found = LiveSeries(window, spec.x_id, spec.y_id, max_points)
        if len(self.lines) >= LINES_PER_METRIC:
            oldest = next(iter(self.lines))
            del self.lines[oldest], self.specs[oldest]
        self.lines[key] = found
        self.specs[key] = spec
        return found

    def set_range(self, x_range: XRange) -> None:
        """Draw ``x_range`` from now on (lines of other ranges are read again when drawn)."""
        self.x_range = x_range
        for key in [k for k in self.lines if k.x_range != x_range]:
            del self.lines[key], self.specs[key]

    def history(self, read_all: Callable[[], list[PointChunk]]) -> MetricHistory:
        """Every point: held ones, or (a chart's) read whole with ``read_all``."""
        chunks = self.chunks if not self.charted and self.held else read_all()
        return history(self.info.name, self.info.kind, chunks)


def line_spec(
    info: MetricInfo, x_name: str, y_name: str | None, partner: MetricInfo | None
) -> LineSpec:
    """How to read a chart line of ``info`` over ``x_name`` (column ``y_name`` of a table).

    ``x_name`` is ``STEP``, a time axis (:data:`TIME_LINES`), a column of a table
    metric, or (with ``partner``) another metric.
    """
    table = info.kind in ("row", "table")
    y_id = table_column(y_name) if table and y_name is not None else VALUE
    if x_name in TIME_LINES:
        column, x_id = TIME_LINES[x_name]
        return LineSpec(column, None, x_id, y_id)
    if table and x_name != STEP:
        return LineSpec(x_name, None, table_column(x_name), y_id)
    if partner is not None:
        return LineSpec(None, partner.name, PARTNER, y_id)
    return LineSpec("step", None, STEP_ID, y_id)


def waiting_values(chunks: list[PointChunk], start: int, stop: int) -> ArrayF8 | None:
    """The values of points ``start … stop-1`` from ``chunks`` (``None``: not all there)."""
    out = np.full(stop - start, np.nan)
    filled = np.zeros(stop - start, dtype=bool)
    for chunk in chunks:
        a = max(start, chunk.first_index)
        b = min(stop, chunk.first_index + chunk.n)
        if b <= a:
            continue
        values = point_data(chunk.kind, chunk.steps, chunk.times, chunk.values)[VALUE]
        out[a - start : b - start] = values[a - chunk.first_index : b - chunk.first_index]
        filled[a - start : b - start] = True
    return out if filled.all() else None
