"""The experiment view's controls: which runs, how grouped, how the charts are drawn.

Three rows: the default overlay (newest or best runs by a metric and goal, and the best
run's line); the grouping (group by, line, band, members, how many groups); the charts
(x axis, log y, ignore outliers for all, smoothing, the metric filter and what is wrong
with it). Every control has an accessible name. ``ExperimentDetails`` observes them.
"""

from __future__ import annotations

from typing import Any

import ipywidgets

from ..views import across, groups, overlay


class ExperimentControls(ipywidgets.VBox):  # type: ignore[misc]
    """The controls of ``ExperimentDetails`` (see the module docstring).

    Args:
        selection: the default overlay, ``"newest"`` or ``"best"``.
        goal: the metric's goal.
        center: the group line.
        band: the group band.
        show_members: whether the members' lines show.
    """

    def __init__(
        self, selection: str, goal: str, center: str, band: str, show_members: bool, **kwargs: Any
    ) -> None:
        self.x_mode = ipywidgets.Dropdown(
            options=[(overlay.X_LABELS[m], m) for m in overlay.X_MODES],
            value="step",
            description="x",
            layout=ipywidgets.Layout(width="210px"),
            style={"description_width": "14px"},
        )
        self.log_y = ipywidgets.ToggleButton(
            value=False,
            description="log y",
            tooltip="Logarithmic y axis (non-positive values are hidden)",
            layout=ipywidgets.Layout(width="64px"),
        )
        self.outliers = ipywidgets.ToggleButton(
            value=False,
            description="ignore outliers",
            tooltip="Scale every chart's y axis to the 5–95 % quantiles of what it shows",
            layout=ipywidgets.Layout(width="120px"),
        )
        self.metric_filter = ipywidgets.Text(
            placeholder="filter metrics: regex, e.g. ^val_ or loss|acc",
            description="charts",
            layout=ipywidgets.Layout(width="320px"),
            style={"description_width": "44px"},
        )
        self.filter_error = ipywidgets.HTML("")
        self.filter_error.add_class("rw-filter-error")
        self.group_select = ipywidgets.Dropdown(
            options=[("no groups", ())],
            value=(),
            description="group by",
            layout=ipywidgets.Layout(width="300px"),
            style={"description_width": "60px"},
        )
        self.center = ipywidgets.Dropdown(
            options=[("mean", "mean"), ("median", "median")],
            value=center,
            description="line",
            layout=ipywidgets.Layout(width="140px"),
            style={"description_width": "30px"},
        )
        self.band = ipywidgets.Dropdown(
            options=[(groups.SPREAD_LABELS[b], b) for b in groups.SPREADS],
            value=band,
            description="band",
            layout=ipywidgets.Layout(width="150px"),
            style={"description_width": "34px"},
        )
        self.members = ipywidgets.ToggleButton(
            value=bool(show_members),
            description="members",
            tooltip="Also draw each group member's own line",
            layout=ipywidgets.Layout(width="84px"),
        )
        self.group_note = ipywidgets.HTML("")
        # A number box, not a slider: ipywidgets' slider handle has no accessible name.
        self.smooth = ipywidgets.BoundedFloatText(
            value=0.0,
            min=0.0,
            max=0.99,
            step=0.05,
            description="smoothing",
            layout=ipywidgets.Layout(width="180px"),
            style={"description_width": "78px"},
            tooltip="Exponential moving average weight (0 = off, up to 0.99)",
        )
        self.selection = ipywidgets.Dropdown(
            options=[("newest runs", "newest"), ("best runs by", "best")],
            value=selection,
            description="show",
            layout=ipywidgets.Layout(width="200px"),
            style={"description_width": "36px"},
        )
        self.metric = ipywidgets.Dropdown(
            options=[],
            description="metric",
            layout=ipywidgets.Layout(width="220px"),
            style={"description_width": "44px"},
        )
        self.goal = ipywidgets.Dropdown(
            options=list(across.GOALS),
            value=goal,
            description="goal",
            layout=ipywidgets.Layout(width="150px"),
            style={"description_width": "32px"},
        )
        self.goal.add_class("rw-goal")
        self.best_label = ipywidgets.HTML("")
        row = ipywidgets.Layout(flex_flow="row wrap", align_items="center")
        super().__init__(
            [
                ipywidgets.HBox(
                    [self.selection, self.metric, self.goal, self.best_label], layout=row
                ),
                ipywidgets.HBox(
                    [self.group_select, self.center, self.band, self.members, self.group_note],
                    layout=row,
                ),
                ipywidgets.HBox(
                    [
                        self.x_mode,
                        self.log_y,
                        self.outliers,
                        self.smooth,
                        self.metric_filter,
                        self.filter_error,
                    ],
                    layout=row,
                ),
            ],
            **kwargs,
        )
        self.add_class("rw-experiment-controls")
