"""bqplot charts of metrics, updated in place with bounded, binary-serialised arrays.

One :class:`MetricChart` per charted metric: a bqplot Figure with one line per series, an
x-axis chooser (step, index, wall time, time since start, another metric logged in
lockstep, or a table column), a log-scale toggle, the chart menu (ignore outliers, save
as PNG, SVG or CSV), with a visually hidden data summary for screen readers, and zoom:
dragging over the plot selects an x range, which the owner reads from the store at the
finest resolution that fits (the exact points when few enough: ``views.run_charts``);
"reset zoom" returns to the whole run (a wall-clock axis zooms through the API only). What to draw
is a ``views.export.ChartData`` (``views.run_charts.chart_data``); how the axes read is
``views.axes``. Arrays are float64 numpy arrays, which bqplot sends as binary buffers;
each update reassigns x and y together under ``hold_sync`` so the front-end redraws once.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from ..views import a11y
from ..views.axes import linear_axis, log_axis
from ..views.export import ChartData, SeriesData, csv_text
from ..views.mapping import STEP, axis_title
from ..views.metric_filter import metric_filter
from ..views.run_charts import PAGE_SIZE
from .chart_parts import (
    ChartMenu,
    ZoomControls,
    apply_axis,
    data_summary,
    free_scale,
    set_summary,
    set_ticks,
    x_divisor,
    x_layout,
)
from .panels import ChartVisibility

# Tableau-10 hues darkened where needed for 3:1 against white (WCAG 1.4.11, graphics).
PALETTE = ("#1f77b4", "#d35f00", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
CHART_HEIGHT = "260px"
CARD_HEIGHT = "300px"
TAIL_MAX = 128  # points appended in the tail mark before the body is resent
# 0 turns appending off (every refresh resends whole series): the browser benchmark's anchor.
ENV_TAIL_MAX = "RUN_WIDGETS_TAIL_MAX"
FIG_MARGIN = {"top": 36, "bottom": 40, "left": 64, "right": 24}


class MetricChart(ipywidgets.VBox):  # type: ignore[misc]
    """A chart of one metric with its x chooser, log toggle and menu.

    Args:
        name: the metric name (the chart title).
        x_options: axes the user may choose (``"step"`` first for series).
        on_x_change: called with the chosen x when the user changes it.
        on_zoom: called with ``(chart, lo, hi)`` when the user drags over an x range (in
            x's units as ``data`` has them: seconds for time since start), and with
            ``(chart, None, None)`` on "reset zoom".
        lock: held while the chart redraws on the user's toggles (the owner's lock: a
            poller thread may be drawing too).
    """

    def __init__(
        self,
        name: str,
        x_options: Sequence[str] = (STEP,),
        on_x_change: Callable[[MetricChart, str], None] | None = None,
        lock: threading.RLock | None = None,
        on_zoom: Callable[[MetricChart, float | None, float | None], None] | None = None,
    ) -> None:
        self.name = name
        self._lock = lock or threading.RLock()
        self._on_x_change = on_x_change
        self._on_zoom = on_zoom
        self._x_divisor = 1.0  # drawn x = data x / this (a relative-time axis' unit)
        self._quiet = False
        # No padding on x: the axis layout pads its own domain (views.axes).
        self.x_scale = bqplot.LinearScale(allow_padding=False)
        self.x_date = bqplot.DateScale()
        self.y_linear = bqplot.LinearScale(allow_padding=False)
        self.y_log = bqplot.LogScale(allow_padding=False)
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
        self._drawn_as: tuple[bool, bool, str] | None = None  # (log, outliers, x kind)
        self._tail_max = int(os.environ.get(ENV_TAIL_MAX, TAIL_MAX))
        self.data = ChartData(name, axis_title(STEP))
        self.figure = bqplot.Figure(
            title=name,
            marks=[],
            axes=[self.x_axis, self.y_axis_linear],
            animation_duration=0,
            fig_margin=dict(FIG_MARGIN),
            # The hover toolbar covered the title; the x chooser and log toggle stay.
            display_toolbar=False,
            layout=ipywidgets.Layout(width="100%", height=CHART_HEIGHT),
            legend_location="top-right",
        )
        # Drag over the plot to zoom on an x range (read when the drag ends).
        self.zoom = ZoomControls(
            self.figure, self.x_scale, self._zoomed, reset_tooltip="Show the whole run again"
        )
        self.brush = self.zoom.brush
        self.zoom_label = self.zoom.label
        self.reset_zoom = self.zoom.reset
        self.x_select = ipywidgets.Dropdown(
            options=[],
            description="x",
            layout=ipywidgets.Layout(width="190px"),
            style={"description_width": "14px"},
        )
        self.log_toggle = ipywidgets.ToggleButton(
            value=False,
            description="log y",
            tooltip="Logarithmic y axis (non-positive values are hidden)",
            layout=ipywidgets.Layout(width="64px"),
        )
        self.menu = ChartMenu(name, self.figure, self.csv)
        self.summary = data_summary()
        self.x_select.observe(self._x_changed, names="value")
        self.log_toggle.observe(self._redraw, names="value")
        self.menu.observe(self._redraw, names="ignore_outliers")
        controls = ipywidgets.HBox(
            [self.zoom_label, self.reset_zoom, self.x_select, self.log_toggle, self.menu],
            layout=ipywidgets.Layout(
                justify_content="flex-end", align_items="center", flex_flow="row wrap"
            ),
        )
        super().__init__(
            [controls, self.figure, self.summary],
            layout=ipywidgets.Layout(min_width="300px", overflow="visible"),
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
                self.x_date,
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

    @property
    def x_values(self) -> list[str]:
        """The x axes offered (values, not their labels)."""
        return [value for _, value in self.x_select.options]

    @property
    def ignore_outliers(self) -> bool:
        """Whether the y axis ignores outliers (the menu's toggle)."""
        return bool(self.menu.ignore_outliers)

    @ignore_outliers.setter
    def ignore_outliers(self, value: bool) -> None:
        self.menu.ignore_outliers = bool(value)

    def set_x_options(self, options: Sequence[str]) -> bool:
        """Offer these x axes (keeping the current choice if still possible).

        Returns:
            True if the current choice had to change (the caller redraws).
        """
        options = list(options) or [STEP]
        current = self.x_select.value
        if self.x_values != options:
            self._quiet = True  # a programmatic change is not the user's choice
            try:
                self.x_select.options = [(axis_title(o), o) for o in options]
                self.x_select.value = current if current in options else options[0]
            finally:
                self._quiet = False
        self.x_select.layout.display = "" if len(options) > 1 else "none"
        return bool(self.x_select.value != current)

    def choose_x(self, x_name: str) -> None:
        """Show ``x_name`` as the x chosen (the owner's choice, not the user's: no callback)."""
        self._quiet = True
        try:
            self.x_select.value = x_name
        finally:
            self._quiet = False

    def set_series(
        self, x_label: str, series: Sequence[tuple[str, np.ndarray, np.ndarray]]
    ) -> None:
        """Show ``series`` (label, x, y), one line each, replacing what was shown."""
        lines = [SeriesData(label, np.asarray(x), np.asarray(y)) for label, x, y in series]
        kind = "integer" if x_label == STEP else "number"
        self.show(ChartData(self.name, axis_title(x_label), lines, x_kind=kind))

    def show(self, data: ChartData) -> None:
        """Draw ``data`` (what the chart shows), replacing what was shown."""
        self.data = data
        with self.held():  # scales, axes and marks in one burst (see held)
            self._draw()
        # A drag on a date axis is not read (bqplot's brush gives no usable dates there).
        self.zoom.show(self.data, self._x_divisor, enabled=self.data.x_kind != "wall")

    def csv(self) -> str:
        """What the chart draws, as CSV (the menu's "Save CSV")."""
        return csv_text([self.data])

    def _draw(self) -> None:
        log = bool(self.log_toggle.value)
        outliers = self.ignore_outliers
        y_scale = self.y_log if log else self.y_linear
        series = [
            (line.label, line.x.astype(np.float64, copy=False), line.y.astype(np.float64))
            for line in self.data.lines
        ]
        if log:
            series = [(label, x[y > 0], y[y > 0]) for label, x, y in series]
        xs, x_label, layout_x = x_layout(self.data, [x for _, x, _ in series])
        self._x_divisor = x_divisor(self.data, [x for _, x, _ in series])
        y_layout = (
            log_axis([y for *_, y in series], outliers)
            if log
            else linear_axis([y for *_, y in series], ignore_outliers=outliers)
        )
        while len(self.lines) < len(series):
            color = PALETTE[len(self.lines) % len(PALETTE)]
            self.lines.append(self._line(color, y_scale))
            self.tails.append(self._line(color, y_scale))
            self._body_len.append(0)
        show_legend = len(series) > 1
        drawn_as = (log, outliers, self.data.x_kind)
        reset = drawn_as != self._drawn_as
        self._drawn_as = drawn_as
        x_scale = self.x_date if self.data.x_kind == "wall" else self.x_scale
        for i, ((label, _, y), x) in enumerate(zip(series, xs, strict=True)):
            if y_layout is not None:
                y = y_layout.clipped(y)
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
                if body.scales["y"] is not y_scale or body.scales["x"] is not x_scale:
                    body.scales = {"x": x_scale, "y": y_scale}
                    tail.scales = {"x": x_scale, "y": y_scale}
                body.x, body.y = x, y
                tail.x, tail.y = np.empty(0), np.empty(0)
                body.labels = [label]
                body.display_legend = show_legend
                body.marker = tail.marker = marker
        if layout_x is None:
            free_scale(self.x_date)
            set_ticks(self.x_axis, None, None)
        else:
            apply_axis(self.x_scale, self.x_axis, layout_x)
        if self.x_axis.scale is not x_scale:
            self.x_axis.scale = x_scale
        if self.x_axis.label != x_label:
            self.x_axis.label = x_label
        apply_axis(y_scale, self.y_axis, y_layout)
        count = len(series)
        marks = [*self.lines[:count], *self.tails[:count]]
        axes = [self.x_axis, self.y_axis]
        with self.figure.hold_sync():
            if list(self.figure.marks) != marks:
                self.figure.marks = marks
            if list(self.figure.axes) != axes:
                self.figure.axes = axes
        set_summary(self.summary, a11y.summary_html(self.data))

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
        return shown[: len(self.data.lines)]

    # ---------------------------------------------------------------------- events --
    def _x_changed(self, change: dict[str, object]) -> None:
        if self._on_x_change is not None and not self._quiet:
            self._on_x_change(self, str(change["new"]))

    def _redraw(self, change: dict[str, object]) -> None:
        with self._lock, self.held():
            self._draw()

    def _zoomed(self, lo: float | None, hi: float | None) -> None:
        """A drag over the plot (or "reset zoom"): the owner zooms (``None``: the whole run)."""
        if self._on_zoom is not None:
            self._on_zoom(self, lo, hi)

    def close(self) -> None:
        """Close the chart and every widget model it made (marks, scales, axes, controls).

        A page of charts left behind is closed (``ChartGrid``): each model left open would
        stay in the kernel and in the page.
        """
        close_tree(
            self,
            self.figure,
            self.brush,
            self.x_date,
            self.x_scale,
            self.y_linear,
            self.y_log,
            self.y_axis_linear,
            self.y_axis_log,
            *self.lines,
            *self.tails,
        )


def close_tree(*roots: ipywidgets.Widget) -> None:
    """Close ``roots`` and every widget their synced traits reach (layouts and styles too)."""
    seen: set[int] = set()
    stack = list(roots)
    found: list[ipywidgets.Widget] = []
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        found.append(widget)
        for key in widget.keys:
            value = getattr(widget, key, None)
            if isinstance(value, dict):
                value = list(value.values())
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, ipywidgets.Widget):
                    stack.append(item)
    for widget in found:  # found first, closed after: a closed widget's traits still read
        ipywidgets.Widget.close(widget)  # its comm only (a subclass' close may call this)


def natural_key(name: str) -> list[Any]:
    """Sort key reading digit runs as numbers: m0, m1, m2 … m10 (not m0, m1, m10, m2)."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    ]


class ChartGrid(ipywidgets.VBox):  # type: ignore[misc]
    """Cards (properties, then charts in natural name order) in as many columns as fit.

    A toolbar above them holds the metric filter (a regular expression: an invalid one is
    shown as such and filters nothing) and "ignore outliers" for every chart; past
    ``page_size`` charts, pages (a compact layout for 30+ metrics). The grid knows every
    charted metric by name but builds a :class:`MetricChart` only for the charts on the
    page, and closes those of a page left (keeping their log and outlier toggles for when
    they come back): the widget models a view makes grow with the page, not with the run's
    metrics. Of the charts on the page, once the front-end has
    said which cards are in or near the window (:class:`ChartVisibility`), only those are
    redrawn on a change; the others are marked and drawn when they come into view, so a
    refresh costs what is shown, not every metric. One marked chart of the page, the
    longest marked, is drawn per refresh all the same (:meth:`catch_up`): a notebook saved
    while the run goes on keeps what the charts' models hold, and this bounds how far an
    off-screen chart lags behind.

    Args:
        draw: redraws one chart from the current data.
        build: makes the chart of a metric name (when it comes onto the page).
        lead: cards shown before the charts (the Run Properties panel).
        page_size: charts per page.
        lock: held while charts are built, drawn or closed on the user's actions (the
            owner's lock: a poller thread may be drawing too).
    """

    def __init__(
        self,
        draw: Callable[[MetricChart], None],
        lead: Sequence[ipywidgets.Widget] = (),
        page_size: int = PAGE_SIZE,
        lock: threading.RLock | None = None,
        build: Callable[[str], MetricChart] = MetricChart,
    ) -> None:
        self._draw = draw
        self._build = build
        self._lead = tuple(lead)
        self.page_size = page_size
        self.page = 0
        # The charts built: those on the page (and, while a refresh holds them, those left).
        self.charts: dict[str, MetricChart] = {}
        # Charts whose data changed since drawn, the longest-waiting first (dict: ordered).
        self._dirty: dict[str, None] = {}
        self._shown: list[str] = []
        # Every charted metric -> its card number (its rw-card-<n> class), built or not.
        self._card: dict[str, str] = {}
        self._toggles: dict[str, tuple[bool, bool]] = {}  # a closed chart's (log y, outliers)
        self._holding = 0
        self._to_close: list[MetricChart] = []
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
            placeholder="filter metrics: regex, e.g. ^val_ or loss|acc",
            layout=ipywidgets.Layout(width="280px"),
        )
        self.filter_error = ipywidgets.HTML("")
        self.filter_error.add_class("rw-filter-error")
        self.outliers = ipywidgets.ToggleButton(
            value=False,
            description="ignore outliers",
            tooltip="Scale every chart's y axis to the 5–95 % quantiles of what it shows",
            layout=ipywidgets.Layout(width="120px"),
        )
        self.previous = ipywidgets.Button(description="◀", layout=ipywidgets.Layout(width="36px"))
        self.next = ipywidgets.Button(description="▶", layout=ipywidgets.Layout(width="36px"))
        self.page_label = ipywidgets.Label("")
        self.previous.tooltip = "previous charts"
        self.next.tooltip = "next charts"
        self.pager = ipywidgets.HBox(
            [self.previous, self.page_label, self.next],
            layout=ipywidgets.Layout(display="none", align_items="center"),
        )
        self.controls = ipywidgets.HBox(
            [self.filter, self.filter_error, self.outliers, self.pager],
            layout=ipywidgets.Layout(display="none", align_items="center", flex_flow="row wrap"),
        )
        self.controls.add_class("rw-chart-picker")
        self.grid.add_class("rw-chart-grid")
        self.filter.observe(self._filter_changed, names="value")
        self.outliers.observe(self._outliers_changed, names="value")
        self.previous.on_click(lambda _: self.show_page(self.page - 1))
        self.next.on_click(lambda _: self.show_page(self.page + 1))
        super().__init__(
            [self.controls, self.grid, self.visibility], layout=ipywidgets.Layout(width="100%")
        )

    # ------------------------------------------------------------------------ data --
    @property
    def names(self) -> list[str]:
        """Every charted metric, on the page or not, in the order added."""
        return list(self._card)

    def add(self, names: Sequence[str]) -> None:
        """Chart these metrics (each built when on the page, drawn when on screen)."""
        new = [name for name in names if name not in self._card]
        for name in new:
            self._card[name] = str(len(self._card))
            self._dirty.setdefault(name)
        if new:
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

        See :meth:`MetricChart.held`. A chart that leaves the page meanwhile is closed
        when the block ends (its held messages are sent first).
        """
        self._holding += 1
        try:
            with contextlib.ExitStack() as stack:
                for name in self._shown:
                    stack.enter_context(self.charts[name].held())
                yield
        finally:
            self._holding -= 1
            if not self._holding:
                self._close_left()

    @property
    def shown(self) -> list[str]:
        """Names of the charts on screen, in order."""
        return list(self._shown)

    def matching(self) -> list[str]:
        """Chart names passing the filter (a regular expression), in natural order."""
        found = metric_filter(self.filter.value)
        error = f"<span role='alert'>{html.escape(found.error)}</span>" if found.error else ""
        if self.filter_error.value != error:
            self.filter_error.value = error
        return found.apply(sorted(self._card, key=natural_key))

    def _outliers_changed(self, change: dict[str, object]) -> None:
        value = bool(change["new"])
        with self._lock, self.held():
            self._toggles = {name: (log, value) for name, (log, _) in self._toggles.items()}
            for chart in self.charts.values():
                chart.ignore_outliers = value

    # ---------------------------------------------------------------------- charts --
    def _chart(self, name: str) -> MetricChart:
        """The chart of ``name``, built (with the toggles it had) if not built yet."""
        chart = self.charts.get(name)
        if chart is None:
            chart = self._build(name)
            log, outliers = self._toggles.pop(name, (False, bool(self.outliers.value)))
            chart.ignore_outliers = outliers
            chart.log_toggle.value = log
            chart.add_class(f"rw-card-{self._card[name]}")
            self.charts[name] = chart
            self._dirty.setdefault(name)
        return chart

    def _leave(self, name: str) -> None:
        """``name`` left the page: close its chart (now, or when a refresh stops holding it)."""
        chart = self.charts.pop(name)
        self._toggles[name] = (bool(chart.log_toggle.value), chart.ignore_outliers)
        self._dirty.pop(name, None)
        self._to_close.append(chart)
        if not self._holding:
            self._close_left()

    def _close_left(self) -> None:
        left, self._to_close = self._to_close, []
        for chart in left:
            chart.close()

    # ---------------------------------------------------------------------- layout --
    def show_page(self, page: int) -> None:
        """Show page ``page`` (clamped) of the matching charts."""
        with self._lock:
            self.page = page
            self._layout()

    def _filter_changed(self, change: dict[str, object]) -> None:
        with self._lock:
            self.page = 0
            self._layout()

    def _layout(self) -> None:
        names = self.matching()
        pages = max(1, -(-len(names) // self.page_size))
        self.page = min(max(0, self.page), pages - 1)
        shown = names[self.page * self.page_size : (self.page + 1) * self.page_size]
        # The controls first: they answer the user at once, ahead of the charts' burst of
        # messages (building a page and closing the one left sends hundreds).
        self._show_controls(names, shown, pages)
        if shown != self._shown and self._shown:
            # Other cards: drawn at once, until the front-end says which are in view.
            self.visibility.visible = None  # type: ignore[assignment]
        cards = [self._chart(name) for name in shown]
        for name in shown:
            if name in self._dirty:
                del self._dirty[name]
                self._draw(self.charts[name])
        if shown != self._shown:
            self._shown = shown
            self.grid.children = (*self._lead, *cards)
        for name in [n for n in self.charts if n not in shown]:
            self._leave(name)  # after the grid dropped its card

    def _show_controls(self, names: list[str], shown: list[str], pages: int) -> None:
        """The filter row and, when there is more than a page of charts, the pager."""
        paged = len(self._card) > self.page_size
        self.controls.layout.display = "" if self._card else "none"
        self.pager.layout.display = "" if paged else "none"
        if paged:
            first = self.page * self.page_size + 1 if names else 0
            self.page_label.value = (
                f"charts {first}–{first + len(shown) - 1 if names else 0} of {len(names)}"
                + (f" (of {len(self._card)})" if len(names) != len(self._card) else "")
            )
            self.previous.disabled = self.page == 0
            self.next.disabled = self.page >= pages - 1

    def close(self) -> None:
        """Close the grid, its charts and its controls."""
        for name in list(self.charts):
            self._leave(name)
        self._close_left()
        super().close()
