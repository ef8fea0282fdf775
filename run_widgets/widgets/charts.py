"""bqplot charts of metrics, updated in place with bounded, binary-serialised arrays.

One :class:`MetricChart` per charted metric: a bqplot Figure with one line per series, an
x-axis chooser (step, or another metric logged in lockstep, or a table column) and a
log-scale toggle. Arrays are float64 numpy arrays, which bqplot sends as binary buffers;
each update reassigns x and y together under ``hold_sync`` so the front-end redraws once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import bqplot
import ipywidgets
import numpy as np

from ..views.mapping import STEP

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
CHART_HEIGHT = "260px"


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
        self.y_axis = bqplot.Axis(scale=self.y_linear, side="left", grid_lines="dashed")
        self.lines: list[bqplot.Lines] = []
        self._series: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.figure = bqplot.Figure(
            title=name,
            marks=[],
            axes=[self.x_axis, self.y_axis],
            animation_duration=0,
            fig_margin={"top": 36, "bottom": 36, "left": 56, "right": 16},
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
            self.lines.append(
                bqplot.Lines(
                    x=np.empty(0),
                    y=np.empty(0),
                    scales={"x": self.x_scale, "y": y_scale},
                    colors=[color],
                    stroke_width=1.5,
                    marker="circle",
                    marker_size=12,
                )
            )
        show_legend = len(self._series) > 1
        for line, (label, x, y) in zip(self.lines, self._series, strict=False):
            if log:
                keep = y > 0
                x, y = x[keep], y[keep]
            with line.hold_sync():
                if line.scales["y"] is not y_scale:
                    line.scales = {"x": self.x_scale, "y": y_scale}
                line.x = x.astype(np.float64, copy=False)
                line.y = y.astype(np.float64, copy=False)
                line.labels = [label]
                line.display_legend = show_legend
                line.marker = "circle" if len(y) <= 40 else None
        if self.y_axis.scale is not y_scale:
            self.y_axis.scale = y_scale
        marks = self.lines[: len(self._series)]
        if list(self.figure.marks) != marks:
            self.figure.marks = marks

    def points_shown(self) -> list[int]:
        """Number of points drawn per line (for tests and benchmarks)."""
        return [len(line.y) for line in self.lines[: len(self._series)]]

    # ---------------------------------------------------------------------- events --
    def _x_changed(self, change: dict[str, object]) -> None:
        if self._on_x_change is not None and not self._quiet:
            self._on_x_change(self, str(change["new"]))

    def _log_changed(self, change: dict[str, object]) -> None:
        self._draw()


def chart_grid() -> ipywidgets.GridBox:
    """The container charts go into: as many 300 px+ columns as fit."""
    return ipywidgets.GridBox(
        [],
        layout=ipywidgets.Layout(
            grid_template_columns="repeat(auto-fill, minmax(320px, 1fr))",
            grid_gap="6px",
            width="100%",
        ),
    )
