"""One overlay chart: a metric of several runs (or groups of runs) on the same axes.

It draws a ``views.export.ChartData``: a coloured line per run, or per group a line with
a translucent band (mean ± std or min–max) and, on request, the members' own thin lines in
the group's colour. The x axis is a linear scale (step, index, time since start in the
unit that fits, a metric) or a date scale (wall time); the y axis linear or logarithmic,
optionally ignoring outliers (the chart menu, or the view's toggle for all charts). Marks
are reused between refreshes and each is reassigned under ``hold_sync``; arrays are
float64 and bounded by the series samplers (at most 2,000 points per run, and the bands'
grids). A visually hidden table beside the chart gives its data to screen readers.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator

import bqplot
import ipywidgets
import numpy as np

from ..views import a11y
from ..views.axes import AxisLayout, linear_axis, log_axis
from ..views.export import ChartData, SeriesData, csv_text
from .chart_parts import (
    ChartMenu,
    ZoomControls,
    apply_axis,
    data_summary,
    free_scale,
    set_summary,
    set_ticks,
    x_layout,
)

CHART_HEIGHT = "280px"
FIG_MARGIN = {"top": 36, "bottom": 40, "left": 64, "right": 24}
BAND_OPACITY = 0.2
MEMBER_OPACITY = 0.35


class OverlayChart(ipywidgets.VBox):  # type: ignore[misc]
    """The overlay chart of metric ``name``.

    Args:
        name: the metric.
        on_toggle: called (under the owner's lock) when the chart's own "ignore outliers"
            changes, to redraw it.
        on_zoom: called with ``(chart, lo, hi)`` when the user drags over an x range, and
            ``(chart, None, None)`` on "reset zoom".
    """

    def __init__(
        self,
        name: str,
        on_toggle: Callable[[OverlayChart], None] | None = None,
        on_zoom: Callable[[OverlayChart, float | None, float | None], None] | None = None,
    ):
        self.name = name
        self._on_toggle = on_toggle
        self._on_zoom = on_zoom
        self.x_linear = bqplot.LinearScale(allow_padding=False)
        self.x_date = bqplot.DateScale()
        self.y_linear = bqplot.LinearScale(allow_padding=False)
        self.y_log = bqplot.LogScale(allow_padding=False)
        self.x_axis = bqplot.Axis(scale=self.x_linear, label="step", grid_lines="dashed")
        self.y_axis = bqplot.Axis(scale=self.y_linear, side="left", grid_lines="dashed")
        self.lines: list[bqplot.Lines] = []
        self.bands: list[bqplot.Lines] = []
        self.data = ChartData(name, "step")
        self.figure = bqplot.Figure(
            title=name,
            marks=[],
            axes=[self.x_axis, self.y_axis],
            animation_duration=0,
            fig_margin=dict(FIG_MARGIN),
            layout=ipywidgets.Layout(width="100%", height=CHART_HEIGHT),
            legend_location="top-right",
        )
        self.menu = ChartMenu(name, self.figure, self.csv)
        self.menu.observe(self._toggled, names="ignore_outliers")
        self.summary = data_summary()
        self.note = ipywidgets.HTML("")
        self.note.add_class("rw-chart-note")
        self.zoom = ZoomControls(self.figure, self.x_linear, self._zoomed)
        head = ipywidgets.HBox(
            [self.note, self.zoom.label, self.zoom.reset, self.menu],
            layout=ipywidgets.Layout(justify_content="space-between", align_items="center"),
        )
        super().__init__(
            [head, self.figure, self.summary], layout=ipywidgets.Layout(min_width="320px")
        )
        self.add_class("rw-overlay-chart")
        self._log_y = False

    @property
    def shown(self) -> list[SeriesData]:
        """The lines drawn now (runs', groups', members')."""
        return list(self.data.lines)

    def csv(self) -> str:
        """What the chart draws, as CSV (the menu's "Save CSV")."""
        return csv_text([self.data])

    def _zoomed(self, lo: float | None, hi: float | None) -> None:
        if self._on_zoom is not None:
            self._on_zoom(self, lo, hi)

    def _toggled(self, change: dict[str, object]) -> None:
        if self._on_toggle is not None:
            self._on_toggle(self)

    @contextlib.contextmanager
    def held(self, marks: int = 0, bands: int = 0) -> Iterator[None]:
        """Hold the chart's messages until the block ends, then send scales and axes first.

        (Released last-in first-out.) A mark moved to the log scale arrives after the
        scale's new domain, with its new data in the same message: never drawn with old
        values on a new scale (d3 printed ``NaN`` transforms then).
        """
        while len(self.lines) < marks:
            self.lines.append(self._new_line())
        while len(self.bands) < bands:
            self.bands.append(self._new_band())
        with contextlib.ExitStack() as stack:
            for widget in (
                self.figure,
                *self.lines,
                *self.bands,
                self.y_axis,
                self.x_axis,
                self.y_log,
                self.y_linear,
                self.x_date,
                self.x_linear,
            ):
                stack.enter_context(widget.hold_sync())
            yield

    def draw(self, data: ChartData, log_y: bool) -> None:
        """Show ``data``, replacing what was shown."""
        bands = sum(1 for line in data.lines if line.lower is not None)
        with self.held(len(data.lines), bands):
            self._draw(data, log_y)

    def _draw(self, data: ChartData, log_y: bool) -> None:
        self.data = data
        self._log_y = log_y
        outliers = bool(self.menu.ignore_outliers)
        wall = data.x_kind == "wall"
        x_scale = self.x_date if wall else self.x_linear
        y_scale = self.y_log if log_y else self.y_linear
        scales = {"x": x_scale, "y": y_scale}
        kept = [_positive(line) if log_y else line for line in data.lines]
        xs, x_label, layout_x = x_layout(
            data, [np.asarray(line.x, dtype=np.float64) for line in kept]
        )
        ys = [line.y for line in kept]
        ys += [b for line in kept for b in (line.lower, line.upper) if b is not None]
        y_layout = log_axis(ys, outliers) if log_y else linear_axis(ys, ignore_outliers=outliers)
        marks: list[bqplot.Lines] = []
        bands: list[bqplot.Lines] = []
        members: list[bqplot.Lines] = []
        centers: list[bqplot.Lines] = []
        for line, x in zip(kept, xs, strict=True):
            y = _clip(line.y, y_layout)
            if line.lower is not None and line.upper is not None:
                band = self._mark(self.bands, len(bands), scales)
                with band.hold_sync():
                    low = _clip(line.lower, y_layout)
                    if log_y and y_layout is not None:  # a band reaching 0 or below
                        low = np.maximum(low, y_layout.low)
                    _set_arrays(band, x, np.vstack([low, _clip(line.upper, y_layout)]))
                    _set(band, "colors", [line.color, line.color])
                    _set(band, "fill_colors", [line.color])
                bands.append(band)
            mark = self._mark(self.lines, len(members) + len(centers), scales)
            member = bool(line.group and line.run_id) or line.faded
            with mark.hold_sync():  # only what changed is sent (most groups do not move)
                _set_arrays(mark, x, y)
                width = 1.0 if member else (2.2 if line.group else 1.6)
                _set(mark, "colors", [line.color])
                _set(mark, "labels", [line.label])
                _set(mark, "display_legend", not member)
                _set(mark, "stroke_width", 3.0 if line.emphasis else width)
                _set(mark, "opacities", [MEMBER_OPACITY if member else 1.0])
                _set(mark, "marker", "circle" if len(y) <= 30 and not member else None)
                _set(mark, "marker_size", 16)
            (members if member else centers).append(mark)
        # Bands under the lines; members faded below the groups' (and the best) lines.
        centers.sort(key=lambda m: m.stroke_width)
        marks = [*bands, *members, *centers]
        if layout_x is None:
            free_scale(self.x_date)
            set_ticks(self.x_axis, None, None)
        else:
            apply_axis(self.x_linear, self.x_axis, layout_x)
        apply_axis(y_scale, self.y_axis, y_layout)
        with self.figure.hold_sync():
            if self.x_axis.scale is not x_scale:
                self.x_axis.scale = x_scale
            if self.y_axis.scale is not y_scale:
                self.y_axis.scale = y_scale
            if self.x_axis.label != x_label:
                self.x_axis.label = x_label
            if list(self.figure.marks) != marks:
                self.figure.marks = marks
        note = html.escape(data.note) if data.note else ""
        if self.note.value != note:
            self.note.value = note
        set_summary(self.summary, a11y.summary_html(data))
        # Zoom over step and index (each run read as a window); grouped charts too.
        self.zoom.show(data, enabled=data.x_kind == "integer")

    def _mark(
        self, pool: list[bqplot.Lines], index: int, scales: dict[str, bqplot.Scale]
    ) -> bqplot.Lines:
        """Mark ``index`` of ``pool`` (a band or a line), on ``scales``."""
        mark = pool[index]
        if mark.scales["x"] is not scales["x"] or mark.scales["y"] is not scales["y"]:
            mark.scales = scales
        return mark

    def _new_line(self) -> bqplot.Lines:
        return bqplot.Lines(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self.x_linear, "y": self.y_linear},
            stroke_width=1.6,
        )

    def _new_band(self) -> bqplot.Lines:
        """The area between a group's lower and upper lines."""
        return bqplot.Lines(
            x=np.empty(0),
            y=np.empty((2, 0)),
            scales={"x": self.x_linear, "y": self.y_linear},
            fill="between",
            fill_opacities=[BAND_OPACITY],
            opacities=[0.0, 0.0],
            stroke_width=0.5,
            display_legend=False,
        )

    def points_shown(self) -> list[int]:
        """Points drawn per line (for tests and benchmarks)."""
        return [len(line.y) for line in self.data.lines]

    def close(self) -> None:
        """Close the chart and its marks."""
        for mark in (*self.lines, *self.bands):
            mark.close()
        self.zoom.close()
        for part in (self.menu, self.summary, self.note, self.figure):
            part.close()
        super().close()


def _positive(line: SeriesData) -> SeriesData:
    """A line as a log axis shows it: points with a positive value."""
    keep = np.asarray(line.y) > 0
    if keep.all():
        return line
    from dataclasses import replace

    return replace(
        line,
        x=line.x[keep],
        y=line.y[keep],
        lower=None if line.lower is None else line.lower[keep],
        upper=None if line.upper is None else line.upper[keep],
        count=None if line.count is None else line.count[keep],
    )


def _clip(values: np.ndarray, layout: AxisLayout | None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array if layout is None else layout.clipped(array)


def _set(mark: bqplot.Lines, name: str, value: object) -> None:
    if getattr(mark, name) != value:
        setattr(mark, name, value)


def _set_arrays(mark: bqplot.Lines, x: np.ndarray, y: np.ndarray) -> None:
    """Assign x and y unless the mark holds them already (an unchanged group's band)."""
    old_x, old_y = np.asarray(mark.x), np.asarray(mark.y)
    if old_x.dtype != x.dtype or not np.array_equal(old_x, x):
        mark.x = x
    if old_y.shape != np.shape(y) or not np.array_equal(old_y, y):
        mark.y = y
