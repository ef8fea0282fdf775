"""bqplot charts of metrics, updated in place with bounded, binary-serialised arrays.

One :class:`MetricChart` per charted metric: a bqplot Figure with one line per series, an
x-axis chooser (step, or another metric logged in lockstep, or a table column) and a
log-scale toggle. Arrays are float64 numpy arrays, which bqplot sends as binary buffers;
each update reassigns x and y together under ``hold_sync`` so the front-end redraws once.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from ..views.mapping import STEP
from ..views.run_charts import PAGE_SIZE
from ..views.ticks import MAX_TICKS, linear_ticks, log_domain, log_ticks, nice_domain, tick_format
from .panels import ChartVisibility

# Tableau-10 hues darkened where needed for 3:1 against white (WCAG 1.4.11, graphics).
PALETTE = ("#1f77b4", "#d35f00", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
CHART_HEIGHT = "260px"
CARD_HEIGHT = "300px"
TAIL_MAX = 128  # points appended in the tail mark before the body is resent
# 0 turns appending off (every refresh resends whole series): the browser benchmark's anchor.
ENV_TAIL_MAX = "RUN_WIDGETS_TAIL_MAX"


class MetricChart(ipywidgets.VBox):  # type: ignore[misc]
    """A chart of one metric with its x chooser and log toggle.

    Args:
        name: the metric name (the chart title).
        x_options: axes the user may choose (``"step"`` first for series).
        on_x_change: called with the chosen x when the user changes it.
    """

    def __init__(
        self,
        name: str,
        x_options: Sequence[str] = (STEP,),
        on_x_change: Callable[[MetricChart, str], None] | None = None,
    ) -> None:
        self.name = name
        self._on_x_change = on_x_change
        self._quiet = False
        # No padding on x and d3's own "nice" ticks: steps read 0, 10, 20, not -0.14, 7.18.
        self.x_scale = bqplot.LinearScale(allow_padding=False)
        self.y_linear = bqplot.LinearScale()
        self.y_log = bqplot.LogScale()
        self.x_axis = bqplot.Axis(scale=self.x_scale, label=STEP, grid_lines="dashed")
        # One axis per y scale, swapped in the figure: bqplot's axis view keeps the old
        # scale's tick labels when only ``Axis.scale`` changes (log y showed 0 … 1).
        self.y_axis_linear = bqplot.Axis(scale=self.y_linear, side="left", grid_lines="dashed")
        self.y_axis_log = bqplot.Axis(scale=self.y_log, side="left", grid_lines="dashed")
        # Per series, two marks: the body, resent only when the kernel's summary changes,
        # and the tail of points appended since (what most refreshes send).
        self.lines: list[bqplot.Lines] = []
        self.tails: list[bqplot.Lines] = []
        self._body_len: list[int] = []
        self._log_shown = False
        self._tail_max = int(os.environ.get(ENV_TAIL_MAX, TAIL_MAX))
        self._series: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.figure = bqplot.Figure(
            title=name,
            marks=[],
            axes=[self.x_axis, self.y_axis_linear],
            animation_duration=0,
            fig_margin={"top": 36, "bottom": 40, "left": 60, "right": 20},
            # The hover toolbar covered the title; the x chooser and log toggle stay.
            display_toolbar=False,
            layout=ipywidgets.Layout(width="100%", height=CHART_HEIGHT),
            legend_location="top-right",
        )
        self.x_select = ipywidgets.Dropdown(
            options=list(x_options),
            value=x_options[0] if x_options else STEP,
            description="x",
            layout=ipywidgets.Layout(width="200px"),
            style={"description_width": "14px"},
        )
        self.log_toggle = ipywidgets.ToggleButton(
            value=False,
            description="log y",
            tooltip="Logarithmic y axis (non-positive values are hidden)",
            layout=ipywidgets.Layout(width="64px"),
        )
        self.x_select.observe(self._x_changed, names="value")
        self.log_toggle.observe(self._log_changed, names="value")
        controls = ipywidgets.HBox(
            [self.x_select, self.log_toggle], layout=ipywidgets.Layout(justify_content="flex-end")
        )
        super().__init__(
            [controls, self.figure],
            layout=ipywidgets.Layout(min_width="300px", overflow="hidden"),
        )
        self.add_class("rw-chart")
        self.set_x_options(list(x_options))

    # ------------------------------------------------------------------------ data --
    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold this chart's messages to the front-end until the block ends.

        Each bqplot change is one message, and each message the page receives costs it a
        frame (bqplot redraws on the next animation frame): sent together, the updates of
        one refresh arrive in a burst that the page draws in one or two frames.
        """
        with contextlib.ExitStack() as stack:
            # Released last-in first-out: scales, axes, then the marks, then the figure.
            for widget in (
                self.figure,
                *self.tails,
                *self.lines,
                self.y_axis_log,
                self.y_axis_linear,
                self.x_axis,
                self.y_log,
                self.y_linear,
                self.x_scale,
            ):
                stack.enter_context(widget.hold_sync())
            yield

    @property
    def y_axis(self) -> bqplot.Axis:
        """The y axis on show (linear or log)."""
        return self.y_axis_log if self.log_toggle.value else self.y_axis_linear

    @property
    def x_choice(self) -> str:
        """The x axis currently chosen."""
        return str(self.x_select.value)

    def set_x_options(self, options: Sequence[str]) -> bool:
        """Offer these x axes (keeping the current choice if still possible).

        Returns:
            True if the current choice had to change (the caller redraws).
        """
        options = list(options) or [STEP]
        current = self.x_select.value
        if list(self.x_select.options) != options:
            self._quiet = True  # a programmatic change is not the user's choice
            try:
                self.x_select.options = options
                self.x_select.value = current if current in options else options[0]
            finally:
                self._quiet = False
        self.x_select.layout.display = "" if len(options) > 1 else "none"
        return bool(self.x_select.value != current)

    def set_series(
        self, x_label: str, series: Sequence[tuple[str, np.ndarray, np.ndarray]]
    ) -> None:
        """Show ``series`` (label, x, y), one line each, replacing what was shown."""
        self._series = [(label, np.asarray(x), np.asarray(y)) for label, x, y in series]
        self.x_axis.label = x_label
        self._draw()

    def _draw(self) -> None:
        log = bool(self.log_toggle.value)
        y_scale = self.y_log if log else self.y_linear
        while len(self.lines) < len(self._series):
            color = PALETTE[len(self.lines) % len(PALETTE)]
            self.lines.append(self._line(color, y_scale))
            self.tails.append(self._line(color, y_scale))
            self._body_len.append(0)
        show_legend = len(self._series) > 1
        reset = log != self._log_shown
        self._log_shown = log
        for i, (label, x, y) in enumerate(self._series):
            x = x.astype(np.float64, copy=False)
            y = y.astype(np.float64, copy=False)
            if log:
                keep = y > 0
                x, y = x[keep], y[keep]
            body, tail = self.lines[i], self.tails[i]
            marker = "circle" if len(y) <= 40 else None
            n = self._body_len[i]
            appended = (
                not reset
                and 0 < n <= len(x)
                and len(x) - n <= self._tail_max
                and np.array_equal(body.x, x[:n])
                and np.array_equal(body.y, y[:n])
            )
            if appended:
                # Only the new points travel: the tail mark starts at the body's last point.
                with tail.hold_sync():
                    tail.x, tail.y = x[n - 1 :], y[n - 1 :]
                    tail.marker = marker
                if body.marker != marker:
                    body.marker = marker
                continue
            self._body_len[i] = len(x)
            with body.hold_sync(), tail.hold_sync():
                if body.scales["y"] is not y_scale:
                    body.scales = {"x": self.x_scale, "y": y_scale}
                    tail.scales = {"x": self.x_scale, "y": y_scale}
                body.x, body.y = x, y
                tail.x, tail.y = np.empty(0), np.empty(0)
                body.labels = [label]
                body.display_legend = show_legend
                body.marker = tail.marker = marker
        self._set_ticks(log)
        count = len(self._series)
        marks = [*self.lines[:count], *self.tails[:count]]
        axes = [self.x_axis, self.y_axis]
        with self.figure.hold_sync():
            if list(self.figure.marks) != marks:
                self.figure.marks = marks
            if list(self.figure.axes) != axes:
                self.figure.axes = axes

    def _line(self, color: str, y_scale: bqplot.Scale) -> bqplot.Lines:
        return bqplot.Lines(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self.x_scale, "y": y_scale},
            colors=[color],
            stroke_width=1.5,
            marker="circle",
            marker_size=12,
        )

    def _set_ticks(self, log: bool) -> None:
        """Few round ticks and a domain rounded out to them.

        Whole numbers on a step axis, decades (or 1-2-5) on a log axis. The rounded domain
        changes only when the data crosses it, so most refreshes move no existing mark.
        """
        xs = [x[np.isfinite(x)] for _, x, _ in self._series]
        ys = [y[y > 0] if log else y for _, _, y in self._series]
        ys = [y[np.isfinite(y)] for y in ys]
        xs = [x for x in xs if len(x)]
        ys = [y for y in ys if len(y)]
        integer = self.x_axis.label == STEP
        if xs:
            lo = min(float(x.min()) for x in xs)
            hi = max(float(x.max()) for x in xs)
            low, high = nice_domain(lo, hi, integer=integer)
            ticks = linear_ticks(low, high, MAX_TICKS, integer=integer)
            _set_domain(self.x_scale, low, high)
            _set_axis_ticks(self.x_axis, ticks, tick_format(ticks, integer))
        if ys:
            lo = min(float(y.min()) for y in ys)
            hi = max(float(y.max()) for y in ys)
            if log:
                low, high = log_domain(lo, hi)
                ticks = log_ticks(low, high)
            else:
                low, high = nice_domain(lo, hi)
                ticks = linear_ticks(low, high)
            _set_domain(self.y_log if log else self.y_linear, low, high)
            _set_axis_ticks(self.y_axis, ticks, tick_format(ticks))

    def points_shown(self) -> list[int]:
        """Number of points drawn per line (for tests and benchmarks)."""
        return [len(x) for x, _ in self.series_shown()]

    def series_shown(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (x, y) drawn per line: the body and the appended tail, joined."""
        shown = []
        for body, tail in zip(self.lines, self.tails, strict=True):
            if len(tail.x):
                shown.append(
                    (np.concatenate([body.x, tail.x[1:]]), np.concatenate([body.y, tail.y[1:]]))
                )
            else:
                shown.append((np.asarray(body.x), np.asarray(body.y)))
        return shown[: len(self._series)]

    # ---------------------------------------------------------------------- events --
    def _x_changed(self, change: dict[str, object]) -> None:
        if self._on_x_change is not None and not self._quiet:
            self._on_x_change(self, str(change["new"]))

    def _log_changed(self, change: dict[str, object]) -> None:
        self._draw()


def _set_domain(scale: bqplot.Scale, low: float, high: float) -> None:
    if scale.min != low:
        scale.min = low
    if scale.max != high:
        scale.max = high


def round_ticks(axis: bqplot.Axis, arrays: Sequence[np.ndarray], integer: bool = False) -> None:
    """Give a linear ``axis`` a few round ticks over the finite values of ``arrays``.

    For charts built outside :class:`MetricChart` (the sweep view): whole numbers for steps
    and run numbers, at most ``MAX_TICKS`` intervals.
    """
    values = [a[np.isfinite(a)] for a in (np.asarray(x, dtype=np.float64) for x in arrays)]
    values = [v for v in values if len(v)]
    if not values:
        return
    lo = min(float(v.min()) for v in values)
    hi = max(float(v.max()) for v in values)
    ticks = linear_ticks(*nice_domain(lo, hi, integer=integer), MAX_TICKS, integer=integer)
    _set_axis_ticks(axis, ticks, tick_format(ticks, integer))


def _set_axis_ticks(axis: bqplot.Axis, ticks: np.ndarray, fmt: str) -> None:
    if axis.tick_values is None or not np.array_equal(axis.tick_values, ticks):
        axis.tick_values = ticks
    if axis.tick_format != fmt:
        axis.tick_format = fmt


def natural_key(name: str) -> list[Any]:
    """Sort key reading digit runs as numbers: m0, m1, m2 … m10 (not m0, m1, m10, m2)."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    ]


class ChartGrid(ipywidgets.VBox):  # type: ignore[misc]
    """Cards (properties, then charts in natural name order) in as many columns as fit.

    Past ``page_size`` charts a filter box and pages appear (a compact layout for 30+
    metrics): only the charts on the page are drawn, and of those, once the front-end has
    said which cards are in or near the window (:class:`ChartVisibility`), only those;
    the others are marked and drawn when they come into view, so a refresh costs what is
    shown, not every metric. One marked chart of the page, the longest marked, is drawn per
    refresh all the same (:meth:`catch_up`): a notebook saved while the run goes on keeps
    what the charts' models hold, and this bounds how far an off-screen chart lags behind.

    Args:
        draw: redraws one chart from the current data.
        lead: cards shown before the charts (the Run Properties panel).
        page_size: charts per page.
        lock: held while charts are drawn on a visibility report (the owner's lock).
    """

    def __init__(
        self,
        draw: Callable[[MetricChart], None],
        lead: Sequence[ipywidgets.Widget] = (),
        page_size: int = PAGE_SIZE,
        lock: threading.RLock | None = None,
    ) -> None:
        self._draw = draw
        self._lead = tuple(lead)
        self.page_size = page_size
        self.page = 0
        self.charts: dict[str, MetricChart] = {}
        # Charts whose data changed since drawn, the longest-waiting first (dict: ordered).
        self._dirty: dict[str, None] = {}
        self._shown: list[str] = []
        self._card: dict[str, str] = {}  # chart name -> card number (its rw-card-<n> class)
        self._lock = lock or threading.RLock()
        self.visibility = ChartVisibility()
        self.visibility.observe(self._visibility_changed, names="visible")
        self.grid = ipywidgets.GridBox(
            list(self._lead),
            layout=ipywidgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(300px, 1fr))",
                grid_gap="8px",
                width="100%",
                align_items="flex-start",
            ),
        )
        self.filter = ipywidgets.Text(
            placeholder="filter metrics (e.g. loss or val_)",
            layout=ipywidgets.Layout(width="260px"),
        )
        self.previous = ipywidgets.Button(description="◀", layout=ipywidgets.Layout(width="36px"))
        self.next = ipywidgets.Button(description="▶", layout=ipywidgets.Layout(width="36px"))
        self.page_label = ipywidgets.Label("")
        self.previous.tooltip = "previous charts"
        self.next.tooltip = "next charts"
        self.controls = ipywidgets.HBox(
            [self.filter, self.previous, self.page_label, self.next],
            layout=ipywidgets.Layout(display="none", align_items="center"),
        )
        self.controls.add_class("rw-chart-picker")
        self.grid.add_class("rw-chart-grid")
        self.filter.observe(self._filter_changed, names="value")
        self.previous.on_click(lambda _: self.show_page(self.page - 1))
        self.next.on_click(lambda _: self.show_page(self.page + 1))
        super().__init__(
            [self.controls, self.grid, self.visibility], layout=ipywidgets.Layout(width="100%")
        )

    # ------------------------------------------------------------------------ data --
    def add(self, charts: Sequence[MetricChart]) -> None:
        """Add charts (each drawn when it is on screen)."""
        for chart in charts:
            self.charts[chart.name] = chart
            self._dirty.setdefault(chart.name)
            self._card[chart.name] = str(len(self._card))
            chart.add_class(f"rw-card-{self._card[chart.name]}")
        if charts:
            self._layout()

    def changed(self, name: str) -> None:
        """The data of ``name`` changed: redraw it now if in view, else when it is."""
        if self._in_view(name):
            self._dirty.pop(name, None)
            self._draw(self.charts[name])
        else:
            self._dirty.setdefault(name)

    def catch_up(self) -> None:
        """Draw the page's chart that has waited longest to be drawn, if any (one per refresh)."""
        name = next((n for n in self._dirty if n in self._shown), None)
        if name is not None:
            del self._dirty[name]
            self._draw(self.charts[name])

    def draw_all(self) -> None:
        """Draw every chart of the page now, in view or not (a finished run's last state)."""
        for name in self._shown:
            if name in self._dirty:
                del self._dirty[name]
                self._draw(self.charts[name])

    def _in_view(self, name: str) -> bool:
        visible = self.visibility.visible
        return name in self._shown and (visible is None or self._card[name] in visible)

    def _visibility_changed(self, change: dict[str, object]) -> None:
        with self._lock, self.held():
            for name in self._shown:
                if name in self._dirty and self._in_view(name):
                    del self._dirty[name]
                    self._draw(self.charts[name])

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the messages of every chart on screen until the block ends.

        See :meth:`MetricChart.held`.
        """
        with contextlib.ExitStack() as stack:
            for name in self._shown:
                stack.enter_context(self.charts[name].held())
            yield

    @property
    def shown(self) -> list[str]:
        """Names of the charts on screen, in order."""
        return list(self._shown)

    def matching(self) -> list[str]:
        """Chart names passing the filter, in natural order."""
        words = self.filter.value.lower().split()
        names = sorted(self.charts, key=natural_key)
        return [n for n in names if all(w in n.lower() for w in words)]

    # ---------------------------------------------------------------------- layout --
    def show_page(self, page: int) -> None:
        """Show page ``page`` (clamped) of the matching charts."""
        self.page = page
        self._layout()

    def _filter_changed(self, change: dict[str, object]) -> None:
        self.page = 0
        self._layout()

    def _layout(self) -> None:
        names = self.matching()
        pages = max(1, -(-len(names) // self.page_size))
        self.page = min(max(0, self.page), pages - 1)
        paged = len(self.charts) > self.page_size
        shown = names[self.page * self.page_size : (self.page + 1) * self.page_size]
        if shown != self._shown and self._shown:
            # Other cards: drawn at once, until the front-end says which are in view.
            self.visibility.visible = None  # type: ignore[assignment]
        for name in shown:
            if name in self._dirty:
                del self._dirty[name]
                self._draw(self.charts[name])
        if shown != self._shown:
            self._shown = shown
            self.grid.children = (*self._lead, *(self.charts[n] for n in shown))
        self.controls.layout.display = "" if paged else "none"
        if paged:
            first = self.page * self.page_size + 1 if names else 0
            self.page_label.value = (
                f"charts {first}–{first + len(shown) - 1 if names else 0} of {len(names)}"
                + (f" (of {len(self.charts)})" if len(names) != len(self.charts) else "")
            )
            self.previous.disabled = self.page == 0
            self.next.disabled = self.page >= pages - 1
