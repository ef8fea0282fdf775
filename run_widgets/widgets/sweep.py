"""The sweep view: the part of RunDetails shown for a sweep's parent run (a view kind).

It adds, above the generic view: a summary (child counts per status as a stacked bar,
max concurrent / max total runs, the best child so far, a "Cancel sweep" button), the
primary-metric chart (one line per child, or value per child with the best-so-far line),
the metric against a chosen hyperparameter (log x for ``loguniform`` parameters), and
parallel coordinates when there are three or more hyperparameters. The best child is
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
from ..views import sweep_state as view_state
from ..views import sweep_static
from ..views.sweep_state import BEST_COLOR, OTHER_COLOR, SweepHistories, SweepSettings
from ..views.tracker import PollChanges, RunTracker
from ._assets import asset, css
from .charts import round_ticks

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


class ParallelCoordinates(anywidget.AnyWidget):
    """Parallel coordinates of hyperparameters and the primary metric."""

    _esm = asset("parcoords.js")
    _css = css("parcoords.css")
    dimensions: traitlets.List[Any] = traitlets.List().tag(sync=True)
    lines: traitlets.List[Any] = traitlets.List().tag(sync=True)


def _figure(title: str, marks: list[Any], axes: list[Any]) -> bqplot.Figure:
    return bqplot.Figure(
        title=title,
        marks=marks,
        axes=axes,
        animation_duration=0,
        fig_margin={"top": 36, "bottom": 40, "left": 60, "right": 16},
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
        # Primary metric chart.
        self._px = bqplot.LinearScale(allow_padding=False)
        self._py = bqplot.LinearScale()
        self._primary_lines: list[bqplot.Lines] = []
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
        # Metric against a hyperparameter.
        self._linear_x = bqplot.LinearScale()
        self._log_x = bqplot.LogScale()
        self._qy = bqplot.LinearScale()
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
        charts = ipywidgets.GridBox(
            [
                ipywidgets.VBox(
                    [
                        ipywidgets.HBox([], layout=ipywidgets.Layout(height="32px")),
                        self.primary_figure,
                    ]
                ),
                ipywidgets.VBox([self.param_select, self.param_figure]),
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
        data = view_state.primary_series(self.children_rows, self.histories, self.settings)
        if data["mode"] == "lines":
            lines = data["lines"]
            while len(self._primary_lines) < len(lines):
                self._primary_lines.append(
                    bqplot.Lines(
                        x=np.empty(0), y=np.empty(0), scales={"x": self._px, "y": self._py}
                    )
                )
            for mark, line in zip(self._primary_lines, lines, strict=False):
                with mark.hold_sync():
                    mark.x = np.arange(len(line["y"]), dtype=np.float64)
                    mark.y = line["y"]
                    mark.colors = [BEST_COLOR if line["best"] else OTHER_COLOR]
                    mark.stroke_width = 3 if line["best"] else 1.2
                    mark.opacities = [1.0 if line["best"] else 0.6]
                    mark.labels = [line["label"]]
            marks = self._primary_lines[: len(lines)]
            best = [m for m, line in zip(marks, lines, strict=True) if line["best"]]
            marks = [m for m in marks if m not in best] + best  # the best line on top
            self.primary_axis_x.label = "step"
        else:
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
        # Steps and run numbers are whole: no 0.2, 0.4 … ticks; a few round y labels.
        round_ticks(self.primary_axis_x, [m.x for m in marks], integer=True)
        round_ticks(self.primary_axis_y, [m.y for m in marks])

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
        if categories:  # text values: x is the category's index, named in the label
            self.param_axis_x.tick_values = np.arange(len(categories), dtype=np.float64)
        elif data["log"]:
            self.param_axis_x.tick_values = None
        else:
            round_ticks(self.param_axis_x, [np.asarray(data["x"])])
        round_ticks(self.param_axis_y, [np.asarray(data["y"])])
        self.param_axis_x.label = view_state.parameter_axis_label(data)
        index = data["best_index"]
        with self._param_points.hold_sync():
            self._param_points.x, self._param_points.y = data["x"], data["y"]
        with self._param_best.hold_sync():
            self._param_best.x, self._param_best.y = data["x"][index], data["y"][index]

    # --------------------------------------------------------------------- intents --
    def child_table_state(self) -> dict[str, Any]:
        """The sweep's child table (used by RunDetails instead of the generic one)."""
        state = view_state.table_state(self.children_rows, self.settings)
        state["cancellable"] = not self.details.tracker.is_terminal
        return state

    def static_chart_png(self) -> bytes | None:
        """The primary metric per child and against the first hyperparameter, as a PNG."""
        return sweep_static.chart_png(self.children_rows, self.histories, self.settings)

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
        for name in ("summary", "parcoords", "primary_figure", "param_figure"):
            part = getattr(self, name, None)  # close() also runs from __del__ of a half-built view
            if part is not None:
                part.close()
        super().close()


REGISTRY.view_kinds.register("hyperdrive", SweepView)
