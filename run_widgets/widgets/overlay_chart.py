"""One overlay chart: a metric of several runs on the same axes, one coloured line per run.

The x axis is a linear scale (step, index, seconds since start) or a date scale (wall
time); the y axis linear or logarithmic. Lines are reused between refreshes and each is
reassigned under ``hold_sync`` (x and y arrive in one message); arrays are float64 and
bounded by the series samplers (at most 2,000 points per run).
"""

from __future__ import annotations

from collections.abc import Sequence

import bqplot
import ipywidgets
import numpy as np

from ..views.overlay import X_LABELS, Line
from ..views.ticks import MAX_TICKS, linear_ticks, log_domain, log_ticks, nice_domain, tick_format

CHART_HEIGHT = "280px"


class OverlayChart(ipywidgets.VBox):  # type: ignore[misc]
    """The overlay chart of metric ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.x_linear = bqplot.LinearScale(allow_padding=False)
        self.x_date = bqplot.DateScale()
        self.y_linear = bqplot.LinearScale()
        self.y_log = bqplot.LogScale()
        self.x_axis = bqplot.Axis(scale=self.x_linear, label="step", grid_lines="dashed")
        self.y_axis = bqplot.Axis(
            scale=self.y_linear, orientation="vertical", side="left", grid_lines="dashed"
        )
        self.lines: list[bqplot.Lines] = []
        self.shown: list[Line] = []
        self.figure = bqplot.Figure(
            title=name,
            marks=[],
            axes=[self.x_axis, self.y_axis],
            animation_duration=0,
            fig_margin={"top": 36, "bottom": 40, "left": 60, "right": 16},
            layout=ipywidgets.Layout(width="100%", height=CHART_HEIGHT),
            legend_location="top-right",
        )
        super().__init__([self.figure], layout=ipywidgets.Layout(min_width="320px"))
        self.add_class("rw-overlay-chart")

    def draw(self, lines: Sequence[Line], mode: str, log_y: bool) -> None:
        """Show ``lines`` over x axis ``mode``, replacing what was shown."""
        x_scale = self.x_date if mode == "wall" else self.x_linear
        y_scale = self.y_log if log_y else self.y_linear
        scales = {"x": x_scale, "y": y_scale}
        while len(self.lines) < len(lines):
            self.lines.append(
                bqplot.Lines(
                    x=np.empty(0),
                    y=np.empty(0),
                    scales=scales,
                    stroke_width=1.6,
                    display_legend=True,
                )
            )
        for mark, line in zip(self.lines, lines, strict=False):
            x, y = line.x, line.y
            if log_y:
                keep = y > 0
                x, y = x[keep], y[keep]
            with mark.hold_sync():
                if mark.scales["x"] is not x_scale or mark.scales["y"] is not y_scale:
                    mark.scales = scales
                mark.x = x.astype("datetime64[ms]") if mode == "wall" else x
                mark.y = y
                mark.colors = [line.color]
                mark.labels = [line.label]
                mark.marker = "circle" if len(y) <= 30 else None
                mark.marker_size = 16
        marks = self.lines[: len(lines)]
        self._set_ticks(lines, mode, log_y)
        with self.figure.hold_sync():
            if self.x_axis.scale is not x_scale:
                self.x_axis.scale = x_scale
            if self.y_axis.scale is not y_scale:
                self.y_axis.scale = y_scale
            self.x_axis.label = X_LABELS[mode]
            if list(self.figure.marks) != marks:
                self.figure.marks = marks
        self.shown = list(lines)

    def _set_ticks(self, lines: Sequence[Line], mode: str, log_y: bool) -> None:
        """Few round ticks and domains rounded out to them (RunDetails' chart rules)."""
        xs = [line.x[np.isfinite(line.x)] for line in lines]
        ys = [line.y[line.y > 0] if log_y else line.y for line in lines]
        xs = [x for x in xs if len(x)]
        ys = [y[np.isfinite(y)] for y in ys]
        ys = [y for y in ys if len(y)]
        if xs and mode != "wall":  # a date axis keeps d3's time ticks
            integer = mode in ("step", "index")
            low, high = nice_domain(
                min(float(x.min()) for x in xs), max(float(x.max()) for x in xs), integer=integer
            )
            ticks = linear_ticks(low, high, MAX_TICKS, integer=integer)
            _set_domain(self.x_linear, low, high)
            _set_axis_ticks(self.x_axis, ticks, tick_format(ticks, integer))
        elif mode == "wall":
            _set_axis_ticks(self.x_axis, None, None)
        if ys:
            lo, hi = min(float(y.min()) for y in ys), max(float(y.max()) for y in ys)
            if log_y:
                low, high = log_domain(lo, hi)
                ticks = log_ticks(low, high)
            else:
                low, high = nice_domain(lo, hi)
                ticks = linear_ticks(low, high)
            _set_domain(self.y_log if log_y else self.y_linear, low, high)
            _set_axis_ticks(self.y_axis, ticks, tick_format(ticks))

    def points_shown(self) -> list[int]:
        """Points drawn per line (for tests and benchmarks)."""
        return [len(mark.y) for mark in self.lines[: len(self.shown)]]

    def close(self) -> None:
        """Close the chart and its marks."""
        for mark in self.lines:
            mark.close()
        self.figure.close()
        super().close()


def _set_domain(scale: bqplot.Scale, low: float, high: float) -> None:
    if scale.min != low:
        scale.min = low
    if scale.max != high:
        scale.max = high


def _set_axis_ticks(axis: bqplot.Axis, ticks: np.ndarray | None, fmt: str | None) -> None:
    old = axis.tick_values
    if (ticks is None) != (old is None) or (ticks is not None and not np.array_equal(old, ticks)):
        axis.tick_values = ticks
    if axis.tick_format != fmt:
        axis.tick_format = fmt
