"""The experiment view's across-run part: a final metric by a parameter, parallel coordinates.

An accordion (closed by default for big experiments: the rows load when it opens) holding
the "against" chooser, a scatter of the final metric against the chosen parameter or
metric (the best run as a red diamond, each point named by its run when there are few),
and parallel coordinates; or, while nothing separates the runs, a hint saying what to log.
What to draw comes from ``views.across``; this module draws it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from ..views import across
from ..views.across import AcrossRow
from ..views.axes import linear_axis
from .chart_parts import apply_axis
from .panels import ParallelCoordinates

BEST_COLOR = "#d62728"
OTHER_COLOR = "#7f9fbf"
TITLE = "Across runs: final metric by parameter, parallel coordinates"
HINT = (
    "Nothing to plot the final metric against yet: no argument, tag or second metric "
    "differs between these runs. Log one, e.g. <code>tags={'alpha': '0.1'}</code> or "
    "<code>run.log('alpha', 0.1)</code>, to compare runs by it."
)


class AcrossPanel(ipywidgets.Accordion):  # type: ignore[misc]
    """The across-run views (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        self.x_scale = bqplot.LinearScale(allow_padding=False)
        self.y_scale = bqplot.LinearScale(allow_padding=False)
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.points = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales=scales,
            colors=[OTHER_COLOR],
            default_size=50,
            tooltip=bqplot.Tooltip(fields=["name"], labels=["run"]),
        )
        self.best = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales=scales,
            colors=[BEST_COLOR],
            default_size=140,
            marker="diamond",
        )
        self.x_axis = bqplot.Axis(scale=self.x_scale, label="", grid_lines="dashed")
        self.y_axis = bqplot.Axis(scale=self.y_scale, side="left", grid_lines="dashed")
        self.figure = bqplot.Figure(
            title="",
            marks=[self.points, self.best],
            axes=[self.x_axis, self.y_axis],
            animation_duration=0,
            # Room on the right for the right-most point's run label.
            fig_margin={"top": 36, "bottom": 44, "left": 64, "right": 48},
            layout=ipywidgets.Layout(width="100%", height="300px"),
        )
        self.param = ipywidgets.Dropdown(
            options=[],
            description="against",
            layout=ipywidgets.Layout(width="260px"),
            style={"description_width": "52px"},
        )
        self.parcoords = ParallelCoordinates()
        # Shown instead of empty axes while the runs have nothing to compare them by.
        self.hint = ipywidgets.HTML(HINT, layout=ipywidgets.Layout(display="none"))
        body = ipywidgets.VBox(
            [
                self.hint,
                self.param,
                ipywidgets.GridBox(
                    [self.figure, self.parcoords],
                    layout=ipywidgets.Layout(
                        grid_template_columns="repeat(auto-fill, minmax(380px, 1fr))",
                        width="100%",
                        overflow="visible",  # not a scrolling region (WCAG 2.1.1)
                    ),
                ),
            ]
        )
        super().__init__([body], selected_index=None, **kwargs)
        self.set_title(0, TITLE)
        self.add_class("rw-across")

    def draw(
        self,
        rows: list[AcrossRow],
        metric: str,
        goal: str,
        metrics: list[str],
        choose: Any,
    ) -> None:
        """Show the final ``metric`` of ``rows`` against the chosen parameter.

        ``choose(dropdown, options, value)`` sets the chooser's options without it counting
        as the user's choice (the owner's).
        """
        options = across.x_options(rows, metric)
        current = self.param.value
        useful = across.default_x(rows, options)
        choose(self.param, options, current if current in options else useful)
        # Nothing separates the runs (no parameter, or one every run shares): say so.
        empty = not useful
        self.hint.layout.display = None if empty else "none"
        for part in (self.param, self.figure):
            part.layout.display = "none" if empty else None
        param = self.param.value
        if param and metric and not empty:
            self._draw_scatter(across.scatter_state(rows, param, metric, goal))
        state = across.parcoords_state(rows, metric, goal, metrics)
        with self.parcoords.hold_trait_notifications():
            self.parcoords.dimensions = state["dimensions"]
            self.parcoords.lines = state["lines"]

    def _draw_scatter(self, data: dict[str, Any]) -> None:
        x, y = data["x"], data["y"]
        self.x_axis.label = data["label"]
        self.figure.title = data["title"]
        index = data["best"]
        layout = linear_axis([x], integer=bool(data["categories"]))
        if layout is not None:  # room for the right-most points' names
            layout = replace(
                layout, high=layout.high + across.label_room(data, layout.low, layout.high)
            )
        apply_axis(self.x_scale, self.x_axis, layout)
        apply_axis(self.y_scale, self.y_axis, linear_axis([y]))
        with self.points.hold_sync():
            self.points.x, self.points.y = x, y
            self.points.names = data["labels"]
            self.points.display_names = data["named"]
        with self.best.hold_sync():
            self.best.x = x[index : index + 1] if index >= 0 else np.empty(0)
            self.best.y = y[index : index + 1] if index >= 0 else np.empty(0)

    def close(self) -> None:
        """Close the panel's parts."""
        for part in (self.parcoords, self.figure, self.points, self.best):
            part.close()
        super().close()
