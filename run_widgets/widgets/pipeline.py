"""The pipeline part of RunDetails, shown for a pipeline run (v1's pipeline view).

Above the generic view it draws the step graph, live: steps and data as boxes laid out
top to bottom (see ``views.pipeline_graph``), edges labelled with the data's names, each
step coloured by its status and marked when it was reused, and a summary of step counts.
Clicking a step that has a run (or pressing Enter on it) opens that step's own view below,
as choosing it in the step table does. The child table becomes v1's step table (Step,
Status, Reused, Created, Ended, Duration, Run Id). The static snapshot shows the graph as
an image and the step table.

Layer: widgets; importing it registers the view kind of ``azureml.PipelineRun`` runs
(``runtime.REGISTRY.view_kinds``).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets
import traitlets

from ..pipeline.launch import PIPELINE_RUN
from ..runtime.registry import REGISTRY
from ..views import static
from ..views.pipeline_graph import PipelineGraphModel, graph_png
from ..views.tracker import PollChanges
from ._assets import css, module

if TYPE_CHECKING:
    from .details import RunDetails


class PipelineGraphPanel(anywidget.AnyWidget):
    """The step graph: an SVG drawn from the laid-out ``graph``; a click selects a step run."""

    _esm = module("pipeline.js")
    _css = css("pipeline.css")
    graph = traitlets.Dict().tag(sync=True)
    selected_id = traitlets.Unicode("").tag(sync=True)


class PipelineView(ipywidgets.VBox):  # type: ignore[misc]
    """The pipeline extension of a :class:`RunDetails` (see the module docstring)."""

    def __init__(self, details: RunDetails) -> None:
        self.details = details
        self.model = PipelineGraphModel(details.tracker.record)
        self.panel = PipelineGraphPanel()
        self.panel.observe(self._on_select, names="selected_id")
        details.children_table.observe(self._on_table_select, names="selected_id")
        super().__init__([self.panel], layout=ipywidgets.Layout(width="100%"))
        self.add_class("rw-pipeline-view")
        self.panel.graph = self.graph_state()

    def graph_state(self) -> dict[str, Any]:
        """The graph with the statuses the tracker knows now."""
        tracker = self.details.tracker
        return self.model.graph_state(tracker.children, tracker.record.status)

    def update(self, changes: PollChanges) -> None:
        """Redraw the statuses when a step run or the pipeline run changed."""
        if changes.children or changes.run_changed:
            self.panel.graph = self.graph_state()

    def child_table_state(self) -> dict[str, Any]:
        """v1's step table (used by RunDetails instead of the generic child table)."""
        state = self.model.table_state(self.details.tracker.children)
        state["cancellable"] = not self.details.tracker.is_terminal
        return state

    def _on_select(self, change: dict[str, Any]) -> None:
        run_id = str(change["new"] or "")
        if run_id and run_id not in self.details.tracker.children:
            return  # a step without a run yet: nothing to open
        if self.details.children_table.selected_id != run_id:
            self.details.children_table.selected_id = run_id

    def _on_table_select(self, change: dict[str, Any]) -> None:
        if self.panel.selected_id != change["new"]:
            self.panel.selected_id = change["new"] or ""

    def static_children_html(self) -> str:
        """The graph as an image and the step table, for the static snapshot."""
        state = self.graph_state()
        png = graph_png(state)
        parts = []
        if png is not None:
            encoded = base64.b64encode(png).decode("ascii")
            parts.append(f'<img alt="pipeline graph" src="data:image/png;base64,{encoded}"/>')
        counts = ", ".join(f"{n} {status}" for status, n in sorted(state["counts"].items()))
        parts.append(f"<p>Steps: {static.esc(counts or 'none')}</p>")
        headers, rows = self.model.static_rows(self.details.tracker.children)
        parts.append(static.table_html(headers, rows))
        return "".join(parts)

    def close(self) -> None:
        """Close the graph panel."""
        panel = getattr(self, "panel", None)  # close() also runs from __del__ of a half-built view
        if panel is not None:
            panel.close()
        super().close()


REGISTRY.view_kinds.register(PIPELINE_RUN, PipelineView)
