"""The sweep view: the part of RunDetails shown for a sweep's parent run (a view kind).

It adds, above the generic view: a summary (child counts per status as a stacked bar,
max concurrent / max total runs, the best child so far, a "Cancel sweep" button), the
primary-metric chart (one line per child, or value per child with the best-so-far line),
the metric against a chosen hyperparameter (log x for ``loguniform`` parameters), and
parallel coordinates when there are three or more hyperparameters. When children log
curves, they can be grouped (every hyperparameter but the seed, or one of them): one line
with a band per configuration instead of one line per child. The best child is
highlighted everywhere, and the child table gets one column per hyperparameter, sorted
by the best metric. Everything updates on each poll from the children that changed.

What to show is decided in ``views.sweep_state`` (and ``views.sweep_static`` for the
snapshot); this module only draws it. Importing it registers :class:`SweepView` as the
view kind of ``"hyperdrive"`` runs (``runtime.REGISTRY.view_kinds``), which
``RunDetails`` looks up; the widget package imports it, so a sweep never needs the
``sweep`` layer to know about widgets.
"""

from __future__ import annotations

from typing import Any, Protocol

import anywidget
import bqplot
import ipywidgets
import numpy as np
import traitlets

from ..run import Run
from ..runtime import REGISTRY
from ..views import a11y, groups, sweep_static
from ..views import sweep_state as view_state
from ..views.axes import linear_axis
from ..views.export import ChartData, SeriesData, csv_text
from ..views.overlay import PALETTE
from ..views.sweep_state import BEST_COLOR, OTHER_COLOR, SweepHistories, SweepSettings
from ..views.tracker import PollChanges, RunTracker
from ._assets import asset, css
from .chart_parts import ChartMenu, apply_axis, data_summary, set_summary, set_ticks
from .overlay_chart import OverlayChart
from .panels import ParallelCoordinates

__all__ = ["BEST_COLOR", "OTHER_COLOR", "ParallelCoordinates", "SweepSummaryPanel", "SweepView"]


class HostView(Protocol):
    """What the sweep view needs of the ``RunDetails`` it extends."""

    tracker: RunTracker
    run: Any

    def refresh(self) -> PollChanges:
        """Read what is new and update the whole view."""


class SweepSummaryPanel(anywidget.AnyWidget):
    """Counts per status, limits, best child, and the "Cancel sweep" intent."""

    _esm = asset("sweep.js")
    _css = css("sweep.css")
    summary = traitlets.Dict().tag(sync=True)


def _figure(title: str, marks: list[Any], axes: list[Any]) -> bqplot.Figure:
    return bqplot.Figure(
        title=title,
        marks=marks,
        axes=axes,
        animation_duration=0,
        fig_margin={"top": 36, "bottom": 40, "left": 64, "right": 24},
        layout=ipywidgets.Layout(width="100%", height="280px"),
    )


class SweepView(ipywidgets.VBox):  # type: ignore[misc]
    """The sweep extension of a :class:`RunDetails` (see the module docstring)."""

    def __init__(self, details: HostView) -> None:
        self.details = details
        self.reader = details.tracker.reader
        self.settings = SweepSettings.from_record(details.tracker.record)
        self._histories = SweepHistories(self.reader, self.settings.metric)
        self.summary = SweepSummaryPanel()
        self.summary.on_msg(self._on_summary_message)
        # Primary metric: children's curves (or their groups' bands) …
        self.curves = OverlayChart(f"Primary metric: {self.settings.metric}")
        self.group_select = ipywidgets.Dropdown(
            options=[("each child", ())],
            value=(),
            description="group",
            layout=ipywidgets.Layout(width="300px"),
            style={"description_width": "40px"},
        )
        self.group_select.observe(lambda _: self._draw_primary_chart(), names="value")
        self.band_select = ipywidgets.Dropdown(
            options=[(groups.SPREAD_LABELS[b], b) for b in groups.SPREADS],
            value="std",
            description="band",
            layout=ipywidgets.Layout(width="150px", display="none"),
            style={"description_width": "34px"},
        )
        self.band_select.observe(lambda _: self._draw_primary_chart(), names="value")
        # … or one value per child against its run number.
        self._px = bqplot.LinearScale(allow_padding=False)
        self._py = bqplot.LinearScale(allow_padding=False)
        self._points = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self._px, "y": self._py},
            colors=[OTHER_COLOR],
            default_size=40,
        )
        self._best_so_far = bqplot.Lines(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self._px, "y": self._py},
            colors=["#2ca02c"],
            interpolation="step-after",
            labels=[f"{self.settings.metric} best so far"],
        )
        self._best_point = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self._px, "y": self._py},
            colors=[BEST_COLOR],
            default_size=120,
            marker="diamond",
        )
        self.primary_axis_x = bqplot.Axis(scale=self._px, label="run number")
        self.primary_axis_y = bqplot.Axis(scale=self._py, side="left")
        self.primary_figure = _figure(
            f"Primary metric: {self.settings.metric}",
            [],
            [self.primary_axis_x, self.primary_axis_y],
        )
        self.points_box = ipywidgets.VBox(
            [
                ipywidgets.HBox(
                    [ChartMenu(self.primary_figure.title, self.primary_figure, self._points_csv)],
                    layout=ipywidgets.Layout(justify_content="flex-end"),
                ),
                self.primary_figure,
            ]
        )
        # Metric against a hyperparameter.
        self._linear_x = bqplot.LinearScale(allow_padding=False)
        self._log_x = bqplot.LogScale()
        self._qy = bqplot.LinearScale(allow_padding=False)
        self._param_points = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self._linear_x, "y": self._qy},
            colors=[OTHER_COLOR],
            default_size=50,
        )
        self._param_best = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales={"x": self._linear_x, "y": self._qy},
            colors=[BEST_COLOR],
            default_size=140,
            marker="diamond",
        )
        self.param_axis_x = bqplot.Axis(scale=self._linear_x, label="")
        self.param_axis_y = bqplot.Axis(scale=self._qy, side="left")
        self.param_figure = _figure(
            f"{self.settings.metric} by hyperparameter",
            [self._param_points, self._param_best],
            [self.param_axis_x, self.param_axis_y],
        )
        self.param_select = ipywidgets.Dropdown(
            options=[],
            description="x",
            layout=ipywidgets.Layout(width="220px"),
            style={"description_width": "14px"},
        )
        self.param_select.observe(lambda _: self._draw_parameter_chart(), names="value")
        self.parcoords = ParallelCoordinates()
        self.param_menu = ChartMenu(self.param_figure.title, self.param_figure, self._param_csv)
        self.param_summary = data_summary()
        self.points_summary = data_summary()
        # Children's curves or one value each: only the chart on show is in the page (a
        # hidden bqplot figure lays itself out at a negative size).
        self.primary_box = ipywidgets.VBox([self.points_box, self.points_summary])
        charts = ipywidgets.GridBox(
            [
                ipywidgets.VBox(
                    [
                        ipywidgets.HBox(
                            [self.group_select, self.band_select],
                            layout=ipywidgets.Layout(height="32px"),
                        ),
                        self.primary_box,
                    ]
                ),
                ipywidgets.VBox(
                    [
                        ipywidgets.HBox(
                            [self.param_select, self.param_menu],
                            layout=ipywidgets.Layout(justify_content="space-between"),
                        ),
                        self.param_figure,
                        self.param_summary,
                    ]
                ),
            ],
            layout=ipywidgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(360px, 1fr))", width="100%"
            ),
        )
        super().__init__(
            [self.summary, charts, self.parcoords], layout=ipywidgets.Layout(width="100%")
        )
        self.add_class("rw-sweep-view")

    # ---------------------------------------------------------------------- update --
    @property
    def histories(self) -> dict[str, list[float]]:
        """The primary metric's values per child, as read so far."""
        return self._histories.values

    @property
    def children_rows(self) -> list[Any]:
        """The parent's children as the tracker knows them."""
        return list(self.details.tracker.children.values())

    def update(self, changes: PollChanges) -> None:
        """Refresh from the children that changed in this poll."""
        if changes.children:
            self._histories.read(changes.children)
        children = self.children_rows
        self.summary.summary = view_state.summary_state(
            self.details.tracker.record, children, self.settings
        )
        if not (changes.children or changes.run_changed):
            return
        self._draw_primary_chart()
        params = view_state.parameter_names(children)
        if list(self.param_select.options) != params:
            current = self.param_select.value
            self.param_select.options = params
            self.param_select.value = (
                current if current in params else (params[0] if params else None)
            )
        self._draw_parameter_chart()
        state = view_state.parcoords_state(children, self.settings)
        with self.parcoords.hold_trait_notifications():
            self.parcoords.dimensions = state["dimensions"]
            self.parcoords.lines = state["lines"]

    def _draw_primary_chart(self) -> None:
        children = self.children_rows
        data = view_state.primary_series(children, self.histories, self.settings)
        curves = data["mode"] == "lines"
        shown = (self.curves,) if curves else (self.points_box, self.points_summary)
        if tuple(self.primary_box.children) != shown:
            self.primary_box.children = shown
        options: list[Any] = [("each child", ()), *view_state.group_options(children)]
        if curves and list(self.group_select.options) != options:
            current = self.group_select.value
            self.group_select.options = options
            self.group_select.value = current if current in [v for _, v in options] else ()
        self.group_select.layout.visibility = "visible" if curves else "hidden"
        grouped = curves and bool(self.group_select.value)
        self.band_select.layout.display = "" if grouped else "none"
        if curves:
            chart = view_state.primary_chart_data(
                children,
                self.histories,
                self.settings,
                keys=self.group_select.value or (),
                spread=str(self.band_select.value),
                palette=PALETTE,
            )
            self.curves.draw(chart, log_y=False)
            return
        with self._points.hold_sync():
            self._points.x, self._points.y = data["x"], data["y"]
        with self._best_so_far.hold_sync():
            self._best_so_far.x, self._best_so_far.y = data["x"], data["best_so_far"]
        index = data["best_index"]
        with self._best_point.hold_sync():
            self._best_point.x, self._best_point.y = data["x"][index], data["y"][index]
        marks = [self._points, self._best_so_far, self._best_point]
        self.primary_axis_x.label = "run number"
        if list(self.primary_figure.marks) != marks:
            self.primary_figure.marks = marks
        # Run numbers are whole; the domains are padded so that neither the two zero
        # labels nor the right-most point meet the figure's edges.
        apply_axis(self._px, self.primary_axis_x, linear_axis([data["x"]], integer=True))
        apply_axis(self._py, self.primary_axis_y, linear_axis([data["y"], data["best_so_far"]]))
        set_summary(self.points_summary, a11y.summary_html(self._points_data()))

    def _points_data(self) -> ChartData:
        data = view_state.primary_series(self.children_rows, self.histories, self.settings)
        if data["mode"] != "points":
            return ChartData(self.settings.metric, "run number")
        ids = {c.number: c.id for c in self.children_rows}
        lines = [
            SeriesData(f"run {int(x)}", np.array([x]), np.array([y]), run_id=ids.get(int(x), ""))
            for x, y in zip(data["x"], data["y"], strict=True)
        ]
        lines.append(
            SeriesData(f"{self.settings.metric} best so far", data["x"], data["best_so_far"])
        )
        return ChartData(self.settings.metric, "run number", lines, x_kind="integer")

    def _points_csv(self) -> str:
        return csv_text([self._points_data()])

    def _param_data(self) -> ChartData:
        parameter = self.param_select.value
        if not parameter:
            return ChartData(self.settings.metric, "")
        data = view_state.parameter_points(self.children_rows, self.settings, parameter)
        lines = [
            SeriesData(run_id, np.array([x]), np.array([y]), run_id=run_id)
            for run_id, x, y in zip(data["ids"], data["x"], data["y"], strict=True)
        ]
        return ChartData(self.settings.metric, view_state.parameter_axis_label(data), lines)

    def _param_csv(self) -> str:
        return csv_text([self._param_data()])

    def _draw_parameter_chart(self) -> None:
        parameter = self.param_select.value
        if not parameter:
            return
        data = view_state.parameter_points(self.children_rows, self.settings, parameter)
        scale = self._log_x if data["log"] else self._linear_x
        for mark in (self._param_points, self._param_best):
            if mark.scales["x"] is not scale:
                mark.scales = {"x": scale, "y": self._qy}
        self.param_axis_x.scale = scale
        categories = data["categories"]
        if data["log"]:  # d3's decades; the log scale's domain follows the data
            set_ticks(self.param_axis_x, None, None)
        else:  # text values: x is the category's index, named in the label
            layout = linear_axis([np.asarray(data["x"])], integer=True if categories else None)
            apply_axis(self._linear_x, self.param_axis_x, layout)
        apply_axis(self._qy, self.param_axis_y, linear_axis([np.asarray(data["y"])]))
        self.param_axis_x.label = view_state.parameter_axis_label(data)
        index = data["best_index"]
        with self._param_points.hold_sync():
            self._param_points.x, self._param_points.y = data["x"], data["y"]
        with self._param_best.hold_sync():
            self._param_best.x, self._param_best.y = data["x"][index], data["y"][index]
        set_summary(self.param_summary, a11y.summary_html(self._param_data()))

    # --------------------------------------------------------------------- intents --
    def child_table_state(self) -> dict[str, Any]:
        """The sweep's child table (used by RunDetails instead of the generic one)."""
        state = view_state.table_state(self.children_rows, self.settings)
        state["cancellable"] = not self.details.tracker.is_terminal
        return state

    def static_chart_png(self) -> bytes | None:
        """The primary metric per child and against the first hyperparameter, as a PNG."""
        return sweep_static.chart_png(self.children_rows, self.histories, self.settings)

    def static_chart_alt(self) -> str:
        """The text alternative of :meth:`static_chart_png`."""
        return sweep_static.chart_alt(self.children_rows, self.histories, self.settings)

    def static_children_html(self) -> str:
        """The sweep's summary and child table for the static snapshot (best child first)."""
        return sweep_static.children_html(
            self.details.tracker.record, self.children_rows, self.settings
        )

    def _on_summary_message(self, widget: Any, content: dict[str, Any], buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "cancel_sweep":
            run = self.details.run
            Run.get(run.workspace, run.id).cancel()
            self.details.refresh()

    def close(self) -> None:
        """Close the sweep parts."""
        for name in ("summary", "parcoords", "primary_figure", "param_figure", "curves"):
            part = getattr(self, name, None)  # close() also runs from __del__ of a half-built view
            if part is not None:
                part.close()
        super().close()


REGISTRY.view_kinds.register("hyperdrive", SweepView)
