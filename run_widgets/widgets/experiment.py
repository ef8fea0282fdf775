"""``ExperimentDetails``: a live view comparing the runs of an experiment.

``ExperimentDetails(experiment).show()`` (or a list of runs, or ``experiment.get_runs()``)
puts the live view and a static snapshot in the notebook and returns at once, like
``RunDetails``. The view has:

* a run table of one page of runs (number, name, status, start, live duration, the
  commonest tags, arguments or hyperparameters, the last value of each scalar metric),
  sorted, filtered and paged in the kernel over the store; checkboxes choose the runs of
  the overlay; a click on a row opens that run's ``RunDetails`` below;
* overlay charts, one per metric, one line per selected run in a colour kept across
  charts, with a legend; x = step, index, wall time or time since start; log y; EMA
  smoothing; lines of active runs grow live;
* across-run views: a final metric against a parameter or tag (log x when values span
  decades), parallel coordinates, the best run for the chosen metric and goal highlighted.

The same poller as ``RunDetails`` refreshes it every ``refresh_interval`` seconds, reading
only runs that changed. It stops on ``close()``, when the view's comm closes, when the
same experiment is shown again, and (for a fixed list of runs) when every run has ended;
an experiment's view keeps looking for new runs, at a slower pace while none is active.
The static snapshot is rewritten whenever the last active run ends and on close.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Iterable
from typing import Any

import anywidget
import bqplot
import ipywidgets
import numpy as np
import traitlets

from ..run import Run
from ..views import across, experiment_static, overlay
from ..views.experiment_model import ExperimentModel, ModelChanges
from ..views.experiment_reader import (
    ExperimentReader,
    ExperimentView,
    StoreExperimentReader,
    workspace_scope,
)
from ..views.reader import RunSource
from ..workspace import Workspace
from ._assets import asset, css
from ._live import CLOSE_JOIN_S, LiveView, default_interval, in_kernel, poll_error_text
from .details import RunDetails
from .overlay_chart import OverlayChart
from .poller import Poller

IDLE_FACTOR = 5.0
MAX_IDLE_INTERVAL_S = 60.0
BEST_COLOR = "#d62728"
OTHER_COLOR = "#7f9fbf"


class RunTablePanel(anywidget.AnyWidget):
    """The run table (``js/runtable.js``): one page, the user's intents as messages."""

    _esm = asset("runtable.js")
    _css = css("children.css", "runtable.css")
    title = traitlets.Unicode("Runs").tag(sync=True)
    columns: traitlets.List[Any] = traitlets.List().tag(sync=True)
    rows: traitlets.List[Any] = traitlets.List().tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    pages = traitlets.Int(1).tag(sync=True)
    sort_key = traitlets.Unicode("number").tag(sync=True)
    sort_desc = traitlets.Bool(True).tag(sync=True)
    status_filter = traitlets.Unicode("").tag(sync=True)
    tag_filter = traitlets.Unicode("").tag(sync=True)
    text_filter = traitlets.Unicode("").tag(sync=True)
    selected: traitlets.List[Any] = traitlets.List().tag(sync=True)
    colors = traitlets.Dict().tag(sync=True)
    best_id = traitlets.Unicode("").tag(sync=True)
    opened_id = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)


class ParallelCoordinates(anywidget.AnyWidget):
    """Parallel coordinates over parameters and metrics (``js/parcoords.js``)."""

    _esm = asset("parcoords.js")
    _css = css("parcoords.css")
    dimensions: traitlets.List[Any] = traitlets.List().tag(sync=True)
    lines: traitlets.List[Any] = traitlets.List().tag(sync=True)


class ExperimentDetails(LiveView):
    """The live comparison of an experiment's runs (see the module docstring).

    Args:
        experiment_or_runs: an ``Experiment``, a list of ``Run``s, or
            ``experiment.get_runs(...)``.
        refresh_interval: seconds between refreshes (default 12, or
            ``RUN_WIDGETS_REFRESH_S``).
        widget_settings: v1-style settings; ``{"refresh_interval": s}`` is honoured.
        include_children: also list child runs (an experiment's top-level runs otherwise).
        selection: the default overlay: ``"newest"`` runs or the ``"best"`` by ``metric``.
        metric: the metric of the best-run choice and the across-run views (default: the
            first scalar metric by name).
        goal: ``"minimize"`` or ``"maximize"``.
        default_runs: how many runs the default overlay shows (1–10, default 5).
    """

    def __init__(
        self,
        experiment_or_runs: Any,
        refresh_interval: float | None = None,
        widget_settings: dict[str, Any] | None = None,
        include_children: bool = False,
        selection: str = "newest",
        metric: str | None = None,
        goal: str = across.MINIMIZE,
        default_runs: int = overlay.DEFAULT_RUNS,
        **kwargs: Any,
    ) -> None:
        external = getattr(experiment_or_runs, "experiment_view", None)
        if callable(external):  # another source of runs (the MLflow bridge) brings its reader
            view: ExperimentView = external(include_children)
            self.workspace: Workspace | None = None
            self.reader: ExperimentReader = view.reader
            self._source_run = view.open_run
            scope, title, self._key = view.scope, view.title, (view.reader.location, view.key)
        else:
            workspace, scope, title, key = workspace_scope(experiment_or_runs, include_children)
            self.workspace = workspace
            self.reader = StoreExperimentReader(workspace.store)
            self._source_run = None
            self._key = (str(workspace.folder), key)
        self.title = title
        self.refresh_interval = default_interval(refresh_interval, widget_settings)
        self.widget_settings = dict(widget_settings or {})
        self._fixed_runs = scope.run_ids is not None
        self.model = ExperimentModel(
            self.reader,
            scope,
            selection=selection,
            metric=metric,
            goal=goal,
            default_runs=default_runs,
        )
        self._lock = threading.RLock()
        self._closed = False
        self._poller: Poller | None = None
        self._static_handle: Any = None
        self._active = -1
        self._detail_view: RunDetails | None = None
        self.charts: dict[str, OverlayChart] = {}
        self.table = RunTablePanel(title=title)
        self.table.on_msg(self._on_table_message)
        self.x_mode = ipywidgets.Dropdown(
            options=[(overlay.X_LABELS[m], m) for m in overlay.X_MODES],
            value="step",
            description="x",
            layout=ipywidgets.Layout(width="210px"),
            style={"description_width": "14px"},
        )
        self.log_y = ipywidgets.ToggleButton(
            value=False, description="log y", layout=ipywidgets.Layout(width="64px")
        )
        self.smooth = ipywidgets.FloatSlider(
            value=0.0,
            min=0.0,
            max=0.99,
            step=0.01,
            description="smoothing",
            readout_format=".2f",
            layout=ipywidgets.Layout(width="260px"),
            tooltip="Exponential moving average weight (0 = off)",
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
            options=list(across.GOALS), value=goal, layout=ipywidgets.Layout(width="110px")
        )
        self.best_label = ipywidgets.HTML("")
        controls = ipywidgets.HBox(
            [
                self.selection,
                self.metric,
                self.goal,
                self.best_label,
                self.x_mode,
                self.log_y,
                self.smooth,
            ],
            layout=ipywidgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.chart_grid = ipywidgets.GridBox(
            [],
            layout=ipywidgets.Layout(
                grid_template_columns="repeat(auto-fit, minmax(380px, 1fr))",
                grid_gap="6px",
                width="100%",
            ),
        )
        self._build_across()
        self.detail = ipywidgets.VBox()
        super().__init__(
            [self.table, controls, self.chart_grid, self.across_box, self.detail],
            layout=ipywidgets.Layout(width="100%"),
        )
        self.add_class("rw-experiment-details")
        self.add_class("rw-live")
        for control in (self.x_mode, self.log_y, self.smooth):
            control.observe(self._on_chart_option, names="value")
        for control in (self.selection, self.metric, self.goal):
            control.observe(self._on_selection_option, names="value")
        self.param.observe(lambda _: self._draw_across(), names="value")
        self.refresh()
        if self.model.across_enabled:
            self.across_box.selected_index = 0
        self.across_box.observe(self._on_across_open, names="selected_index")

    def _build_across(self) -> None:
        self._ax_linear = bqplot.LinearScale()
        self._ay = bqplot.LinearScale()
        scales = {"x": self._ax_linear, "y": self._ay}
        self._points = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales=scales,
            colors=[OTHER_COLOR],
            default_size=50,
            tooltip=bqplot.Tooltip(fields=["name"], labels=["run"]),
        )
        self._best = bqplot.Scatter(
            x=np.empty(0),
            y=np.empty(0),
            scales=scales,
            colors=[BEST_COLOR],
            default_size=140,
            marker="diamond",
        )
        self.across_x_axis = bqplot.Axis(scale=self._ax_linear, label="", grid_lines="dashed")
        self.across_figure = bqplot.Figure(
            title="",
            marks=[self._points, self._best],
            axes=[
                self.across_x_axis,
                bqplot.Axis(
                    scale=self._ay, orientation="vertical", side="left", grid_lines="dashed"
                ),
            ],
            animation_duration=0,
            fig_margin={"top": 36, "bottom": 44, "left": 60, "right": 16},
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
        self.across_hint = ipywidgets.HTML(
            "Nothing to plot the final metric against yet: these runs have no arguments, "
            "tags or second metric. Log them, e.g. <code>tags={'alpha': '0.1'}</code> or "
            "<code>run.log('alpha', 0.1)</code>, to compare runs by them.",
            layout=ipywidgets.Layout(display="none"),
        )
        body = ipywidgets.VBox(
            [
                self.across_hint,
                self.param,
                ipywidgets.GridBox(
                    [self.across_figure, self.parcoords],
                    layout=ipywidgets.Layout(
                        grid_template_columns="repeat(auto-fill, minmax(380px, 1fr))", width="100%"
                    ),
                ),
            ]
        )
        self.across_box = ipywidgets.Accordion([body], selected_index=None)
        self.across_box.set_title(0, "Across runs: final metric by parameter, parallel coordinates")
        self.across_box.add_class("rw-across")

    # --------------------------------------------------------------------- refresh --
    def refresh(self) -> ModelChanges:
        """Read what is new now and update the view (also called by the poller).

        When the last active run has ended, a displayed view's static snapshot is
        rewritten with its charts (what a saved notebook shows).
        """
        with self._lock:
            changes = self.model.poll()
            if not self._closed:
                self._apply(changes)
            if changes.anything or self._active < 0:
                active = self.active_runs()
                if active == 0 and self._active != 0:
                    self._finalize()  # only a displayed view has a snapshot to rewrite
                self._active = active
            return changes

    def _apply(self, changes: ModelChanges) -> None:
        model = self.model
        if changes.columns or model.polls == 1:
            self._set_options(self.metric, model.metric_columns, model.metric)
        if changes.table or changes.selection:
            self._update_table()
        if changes.selection or changes.columns:
            self._redraw_charts(None)
        elif changes.grown:
            self._redraw_charts({n for names in changes.grown.values() for n in names})
        if changes.table or changes.selection:
            self._draw_best()
        if (changes.across or changes.selection) and model.across_enabled:
            self._draw_across()

    def _set_options(self, dropdown: ipywidgets.Dropdown, options: list[str], value: str) -> None:
        if list(dropdown.options) != options:
            self._quiet = True  # a programmatic change is not the user's choice
            try:
                dropdown.options = options
                dropdown.value = value if value in options else (options[0] if options else None)
            finally:
                self._quiet = False

    def _update_table(self) -> None:
        state = self.model.table_state()
        settings = self.model.settings
        with self.table.hold_sync():
            for name in (
                "columns",
                "rows",
                "total",
                "page",
                "pages",
                "selected",
                "colors",
                "best_id",
                "sort_key",
                "sort_desc",
            ):
                setattr(self.table, name, state[name])
            self.table.status_filter = settings.status
            self.table.tag_filter = settings.tag
            self.table.text_filter = settings.text

    def _redraw_charts(self, names: set[str] | None) -> None:
        model = self.model
        wanted = model.chart_names()
        for name in list(self.charts):
            if name not in wanted:
                self.charts.pop(name).close()
        added = False
        for name in wanted:
            if name not in self.charts:
                self.charts[name] = OverlayChart(name)
                added = True
        if added or len(self.chart_grid.children) != len(wanted):
            self.chart_grid.children = tuple(self.charts[n] for n in wanted)
        mode, smoothing, log_y = self.x_mode.value, float(self.smooth.value), self.log_y.value
        for name in wanted:
            if names is None or name in names:
                self.charts[name].draw(model.chart_lines(name, mode, smoothing), mode, log_y)

    def _draw_across(self) -> None:
        model = self.model
        rows = model.across_list()
        params = across.parameter_names(rows)
        options = across.x_options(rows, model.metric)
        current = self.param.value
        self._set_options(self.param, options, current or (params[0] if params else ""))
        hidden_if_empty = None if options else "none"
        self.across_hint.layout.display = "none" if options else None
        self.param.layout.display = hidden_if_empty
        self.across_figure.layout.display = hidden_if_empty
        param, metric = self.param.value, model.metric
        if param and metric:
            data = across.scatter_state(rows, param, metric, model.goal)
            x = data["x"]
            self.across_x_axis.label = data["label"]
            self.across_figure.title = data["title"]
            index = data["best"]
            with self._points.hold_sync():
                self._points.x, self._points.y = x, data["y"]
                self._points.names = data["labels"]
            with self._best.hold_sync():
                self._best.x = x[index : index + 1] if index >= 0 else np.empty(0)
                self._best.y = data["y"][index : index + 1] if index >= 0 else np.empty(0)
        state = across.parcoords_state(rows, metric, model.goal, model.metric_columns)
        with self.parcoords.hold_trait_notifications():
            self.parcoords.dimensions = state["dimensions"]
            self.parcoords.lines = state["lines"]

    def _draw_best(self) -> None:
        self.best_label.value = experiment_static.best_html(self.model)

    # --------------------------------------------------------------------- intents --
    def _on_across_open(self, change: dict[str, Any]) -> None:
        with self._lock:
            on = change["new"] == 0
            if on != bool(self.model.across_enabled):
                self._apply(self.model.enable_across(on))

    _quiet = False

    def _on_chart_option(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._redraw_charts(None)

    def _on_selection_option(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        with self._lock:
            changes = self.model.choose_default(
                str(self.selection.value), str(self.metric.value or ""), str(self.goal.value)
            )
            self._apply(changes)

    def _on_table_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        event = content.get("event")
        try:
            with self._lock:
                if event == "sort":
                    self._apply(
                        self.model.set_table(
                            sort=str(content.get("key")), descending=bool(content.get("desc"))
                        )
                    )
                elif event == "page":
                    self._apply(self.model.set_table(page=max(0, int(content.get("page", 0)))))
                elif event == "filter":
                    self._apply(
                        self.model.set_table(
                            status=str(content.get("status") or ""),
                            tag=str(content.get("tag") or ""),
                            text=str(content.get("text") or ""),
                        )
                    )
                elif event == "select":
                    self._apply(self.model.select([str(i) for i in content.get("ids") or []]))
                elif event == "open":
                    self.open_run(str(content.get("id") or ""))
                elif event == "report":
                    self.table.send({"report_html": self.report_html()})
            self.table.error = ""
        except (TypeError, ValueError) as error:
            self.table.error = str(error)

    def open_run(self, run_id: str) -> RunDetails | None:
        """Show ``run_id``'s ``RunDetails`` below the view (``""`` closes it)."""
        if self._detail_view is not None:
            self._detail_view.close()
            self._detail_view = None
        self.table.opened_id = run_id
        if self.workspace is not None and run_id:
            run: Run | RunSource = Run.get(self.workspace, run_id)
        elif self._source_run is not None and run_id:
            run = self._source_run(run_id)
        else:
            self.detail.children = ()
            return None
        view = RunDetails(run, refresh_interval=self.refresh_interval)
        self._detail_view = view
        close = ipywidgets.Button(description="Close", layout=ipywidgets.Layout(width="80px"))
        close.on_click(lambda _: self.open_run(""))
        label = ipywidgets.Label(f"Run {view.tracker.record.number} ({run_id})")
        self.detail.children = (ipywidgets.HBox([label, close]), view)
        if not view.tracker.is_terminal and in_kernel():
            view.start_polling()
        return view

    def select(self, run_ids: Iterable[str]) -> None:
        """Show these runs in the overlay charts (as ticking their checkboxes)."""
        with self._lock:
            self._apply(self.model.select(list(run_ids)))

    def set_table(self, **settings: Any) -> None:
        """Filter, sort or page the table (see ``ExperimentModel.set_table``)."""
        with self._lock:
            self._apply(self.model.set_table(**settings))

    # -------------------------------------------------------------------- polling --
    def start_polling(self) -> Poller:
        """Start (or restart) the background refresh."""
        return self._start_poller(self._key, name=self._key[1][:40], on_stop=self.reader.release)

    def active_runs(self) -> int:
        """How many runs of the view are active now."""
        from dataclasses import replace

        return self.reader.query_runs(
            replace(self.model.scope, statuses=("active",), limit=1)
        ).total

    def _tick(self) -> bool:
        if self._closed:
            return True
        changes = self.refresh()
        if self._poller is not None:  # a quiet experiment is looked at less often
            quiet = self._active == 0 and not changes.anything
            idle = min(MAX_IDLE_INTERVAL_S, self.refresh_interval * IDLE_FACTOR)
            self._poller.interval = (
                max(self.refresh_interval, idle) if quiet else self.refresh_interval
            )
        return self._fixed_runs and self._active == 0

    def _on_poll_error(self, error: BaseException | None, failures: int, delay: float) -> None:
        self.table.error = poll_error_text(error, failures, delay)

    def _finalize(self) -> None:
        if self._static_handle is None:
            return
        self._static_handle.update(self._final_bundle(), raw=True)

    # -------------------------------------------------------------------- display --
    def static_bundle(self, with_charts: bool = True) -> dict[str, str]:
        """The static snapshot: ``text/plain``, ``text/html`` and (if any) ``image/png``."""
        with self._lock:
            png = self._overlay_png() if with_charts else None
            bundle = {
                "text/plain": experiment_static.snapshot_text(self.model, self.title),
                "text/html": experiment_static.snapshot_html(self.model, self.title, png),
            }
        if png:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle

    def _overlay_png(self) -> bytes | None:
        return experiment_static.overlay_png(
            self.model, str(self.x_mode.value), float(self.smooth.value), bool(self.log_y.value)
        )

    def report_html(self) -> str:
        """A self-contained HTML report of the view (table page and overlay charts)."""
        with self._lock:
            return experiment_static.report_html(self.model, self.title, self._overlay_png())

    def write_report(self, path: Any = None) -> Any:
        """Write :meth:`report_html` to ``path`` (default: the workspace's reports folder)."""
        from pathlib import Path

        target = (
            Path(path)
            if path is not None
            else (
                (self.workspace.reports_dir if self.workspace is not None else Path.cwd())
                / f"{self._key[1].split(',')[0].replace(':', '-')}.html"
            )
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.report_html(), encoding="utf-8")
        return target

    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Display the live view and its static snapshot, start refreshing, return at once.

        Outside a Jupyter kernel it prints a text summary instead.

        Args:
            render_lib: accepted for v1 code (``RunDetails.show``'s argument); ignored.
            widget_settings: view settings, merged into those given at construction.

        Raises:
            RuntimeError: the view was closed.
        """
        self._apply_settings(widget_settings)
        if not self._display_live(
            "This ExperimentDetails was closed; show it again with "
            "ExperimentDetails(experiment).show()."
        ):
            return
        self._active = self.active_runs()
        self._display_snapshot(with_charts=self._active == 0)
        if self._fixed_runs and self._active == 0:
            self.stop_polling()
        else:
            self.start_polling()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return {**self.live_bundle(), **self.static_bundle(with_charts=True)}

    def text_summary(self) -> str:
        """What ``show()`` prints outside a kernel."""
        with self._lock:
            return experiment_static.snapshot_text(self.model, self.title)

    def __repr__(self) -> str:
        return f"ExperimentDetails({self.title!r})"

    # ---------------------------------------------------------------------- close --
    def close(self) -> None:
        """Stop refreshing and close every part of the view (the snapshot is frozen)."""
        self._closed = True
        if "_static_handle" not in self.__dict__:  # __init__ failed early
            super().close()
            return
        self.stop_polling(wait=CLOSE_JOIN_S)
        with contextlib.suppress(Exception):
            self._finalize()
        if self._detail_view is not None:
            self._detail_view.close()
            self._detail_view = None
        for chart in self.charts.values():
            chart.close()
        for part in (self.table, self.parcoords, self.across_figure):
            part.close()
        super().close()
