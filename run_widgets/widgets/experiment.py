"""``ExperimentDetails``: a live view comparing the runs of an experiment.

``ExperimentDetails(experiment).show()`` (or a list of runs, or ``experiment.get_runs()``)
puts the live view and a static snapshot in the notebook and returns at once, like
``RunDetails``. The view has:

* a run table of one page of runs (number, name, status, start, live duration, the
  commonest tags, arguments or hyperparameters, the last value of each scalar metric),
  sorted, filtered and paged in the kernel over the store; checkboxes choose the runs of
  the overlay; a click on a row opens that run's ``RunDetails`` below;
* overlay charts, one per metric, one line per selected run in a colour kept across
  charts, with a legend; or, grouped by a key (``group_by``), one line per group (mean or
  median) with a band (± std or min–max), the member count in the legend and, on request,
  the members' own lines; x = step, index, wall time, time since start or a metric logged
  in lockstep; log y; ignore outliers; EMA smoothing; a regular-expression filter over
  the metric names; each chart's menu saves it as PNG, SVG or CSV; lines grow live;
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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bqplot
import ipywidgets
import traitlets

from ..exceptions import UserErrorException
from ..run import Run
from ..views import experiment_static, overlay
from ..views.experiment_model import ExperimentModel, ModelChanges
from ..views.experiment_reader import (
    ExperimentReader,
    ExperimentView,
    StoreExperimentReader,
    workspace_scope,
)
from ..views.export import ChartData
from ..views.reader import RunSource
from ..workspace import Workspace
from ._assets import css, module
from ._live import CLOSE_JOIN_S, LiveView, default_interval, in_kernel, poll_error_text
from .across_panel import AcrossPanel
from .details import RunDetails
from .experiment_controls import ExperimentControls
from .overlay_chart import OverlayChart
from .panels import ParallelCoordinates, ViewPanel
from .poller import Poller

if TYPE_CHECKING:
    pass

IDLE_FACTOR = 5.0
MAX_IDLE_INTERVAL_S = 60.0


class RunTablePanel(ViewPanel):
    """The run table (``js/runtable.js``): one page, the user's intents as messages."""

    _esm = module("runtable.js")
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
    stat = traitlets.Unicode("last").tag(sync=True)
    grouped = traitlets.Bool(False).tag(sync=True)


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
        goal: ``"minimize"`` or ``"maximize"`` (default: read from the metric's name:
            ``accuracy``, ``f1``, ``auc``, ``score`` … are maximized, others minimized).
        default_runs: how many runs the default overlay shows (1–10, default 5).
        group_by: group the runs by a key (a tag, an argument, a hyperparameter or a
            property) or by several (a list): one line with a band per group. Runs
            missing the key form the ``"(none)"`` group.
        center: the group line: ``"mean"`` (default) or ``"median"``.
        band: the group band: ``"std"`` (± one standard deviation, default) or
            ``"minmax"``.
        show_members: also draw each group member's own line.
        goals: the goals of metrics other than ``metric`` for their "best" value, e.g.
            ``{"accuracy": "maximize"}`` (default: read from the name).

    Raises:
        TypeError: a bad source of runs or ``group_by``.
        ValueError: no runs, an unknown option, or a ``group_by`` key no run has.
    """

    def __init__(
        self,
        experiment_or_runs: Any,
        refresh_interval: float | None = None,
        widget_settings: dict[str, Any] | None = None,
        include_children: bool = False,
        selection: str = "newest",
        metric: str | None = None,
        goal: str | None = None,
        default_runs: int = overlay.DEFAULT_RUNS,
        group_by: str | list[str] | tuple[str, ...] | None = None,
        center: str = "mean",
        band: str = "std",
        show_members: bool = False,
        goals: dict[str, str] | None = None,
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
            group_by=group_by,
            center=center,
            spread=band,
            show_members=show_members,
            goals=goals,
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
        controls = ExperimentControls(selection, self.model.goal, center, band, show_members)
        self.controls = controls
        # The controls, by name (the user's choices are read from them).
        self.selection, self.metric, self.goal = controls.selection, controls.metric, controls.goal
        self.best_label = controls.best_label
        self.group_select, self.center, self.band = (
            controls.group_select,
            controls.center,
            controls.band,
        )
        self.members, self.group_note = controls.members, controls.group_note
        self.x_mode, self.log_y, self.outliers = controls.x_mode, controls.log_y, controls.outliers
        self.smooth, self.metric_filter = controls.smooth, controls.metric_filter
        self.filter_error = controls.filter_error
        self.chart_grid = ipywidgets.GridBox(
            [],
            layout=ipywidgets.Layout(
                grid_template_columns="repeat(auto-fit, minmax(380px, 1fr))",
                grid_gap="6px",
                width="100%",
            ),
        )
        self.across_box = AcrossPanel()
        self.detail = ipywidgets.VBox()
        super().__init__(
            [self.table, controls, self.chart_grid, self.across_box, self.detail],
            layout=ipywidgets.Layout(width="100%"),
        )
        self.add_class("rw-experiment-details")
        self.add_class("rw-live")
        for control in (self.x_mode, self.log_y, self.smooth, self.outliers, self.metric_filter):
            control.observe(self._on_chart_option, names="value")
        for control in (self.selection, self.metric, self.goal):
            control.observe(self._on_selection_option, names="value")
        for control in (self.group_select, self.center, self.band, self.members):
            control.observe(self._on_group_option, names="value")
        self.param.observe(lambda _: self._draw_across(), names="value")
        self.refresh()
        if self.model.across_enabled:
            self.across_box.selected_index = 0
        self.across_box.observe(self._on_across_open, names="selected_index")

    @property
    def param(self) -> ipywidgets.Dropdown:
        """The across-run chart's "against" chooser."""
        return self.across_box.param

    @property
    def parcoords(self) -> ParallelCoordinates:
        """The parallel coordinates of the across-run views."""
        return self.across_box.parcoords

    @property
    def across_figure(self) -> bqplot.Figure:
        """The final metric by parameter."""
        return self.across_box.figure

    @property
    def across_hint(self) -> ipywidgets.HTML:
        """What the across-run views say while nothing separates the runs."""
        return self.across_box.hint

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
        if self.goal.value != model.goal:
            self._quiet = True  # the goal read from the metric's name, not the user's
            try:
                self.goal.value = model.goal
            finally:
                self._quiet = False
        if changes.columns or changes.groups or changes.selection or model.polls == 1:
            self._update_group_controls()
        if changes.table or changes.selection or changes.groups:
            self._update_table()
        if changes.selection or changes.columns or changes.groups:
            self._redraw_charts(None)
        elif changes.grown:
            self._redraw_charts({n for names in changes.grown.values() for n in names})
        if changes.table or changes.selection:
            self._draw_best()
        if (changes.across or changes.selection) and model.across_enabled:
            self._draw_across()

    def _set_options(self, dropdown: ipywidgets.Dropdown, options: list[Any], value: Any) -> None:
        if list(dropdown.options) != options:
            values = [o[1] if isinstance(o, tuple) else o for o in options]
            self._quiet = True  # a programmatic change is not the user's choice
            try:
                dropdown.options = options
                dropdown.value = value if value in values else (values[0] if values else None)
            finally:
                self._quiet = False

    def _update_group_controls(self) -> None:
        model = self.model
        options: list[Any] = [("no groups", ()), *model.group_options()]
        self._set_options(self.group_select, options, model.group_keys)
        self._set_options(self.x_mode, model.x_options(), model.options.x)
        grouped = bool(model.group_keys)
        for control in (self.center, self.band, self.members):
            control.layout.display = "" if grouped else "none"
        shown, total = len(model.shown_groups()), len(model.groups)
        note = (
            f"{shown} of {total} groups shown (filter the table to choose)"
            if total > shown
            else (f"{total} group{'s' if total != 1 else ''}" if grouped else "")
        )
        if self.group_note.value != experiment_static.esc(note):
            self.group_note.value = experiment_static.esc(note)
        # Grouped, the charts show groups of the filtered runs, not the ticked ones.
        self.selection.disabled = grouped

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
                "stat",
                "grouped",
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
                chart = OverlayChart(
                    name, on_toggle=self._on_chart_toggle, on_zoom=self._on_chart_zoom
                )
                chart.menu.ignore_outliers = bool(self.outliers.value)
                self.charts[name] = chart
                added = True
        if added or len(self.chart_grid.children) != len(wanted):
            self.chart_grid.children = tuple(self.charts[n] for n in wanted)
        for name in wanted:
            if names is None or name in names:
                self.charts[name].draw(model.chart_data(name), bool(self.log_y.value))

    def _on_chart_toggle(self, chart: OverlayChart) -> None:
        with self._lock:
            chart.draw(self.model.chart_data(chart.name), bool(self.log_y.value))

    def _on_chart_zoom(self, chart: OverlayChart, lo: float | None, hi: float | None) -> None:
        try:
            self.set_x_range(chart.name, lo, hi)
        except UserErrorException as error:  # refused: nothing drawn changes
            chart.note.value = experiment_static.esc(str(error))

    def set_x_range(self, metric_name: str, lo: float | None, hi: float | None = None) -> None:
        """Zoom the overlay chart of ``metric_name`` on ``lo <= x <= hi`` (``None``: all).

        Over step or index, each run's line is read again from the store over the range:
        the exact points when it holds at most 2,000 of them, else the first, minimum,
        maximum and last point of buckets; smoothing restarts at the range's first point.
        A grouped chart draws its bands clipped to the range. The range stays while the
        runs grow; choosing another x axis drops it. Does what dragging over the chart does.

        Args:
            metric_name: the charted metric.
            lo: the low end (a step or an index; ``None`` with ``hi`` ``None``: all).
            hi: the high end (at least ``lo``).

        Raises:
            MetricNotFoundError: no overlay chart of ``metric_name``.
            UserErrorException: (a ``ValueError``) a reversed, non-finite or one-ended
                range, or x is not step or index. Nothing drawn changes then.
        """
        with self._lock:
            self.model.set_x_range(metric_name, lo, hi)
            chart = self.charts.get(metric_name)
            if chart is not None:
                chart.draw(self.model.chart_data(metric_name), bool(self.log_y.value))

    def _draw_across(self) -> None:
        model = self.model
        self.across_box.draw(
            model.across_list(), model.metric, model.goal, model.metric_columns, self._set_options
        )

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
        if self._quiet:
            return
        with self._lock:
            owner = change["owner"]
            if owner is self.outliers:
                for chart in self.charts.values():
                    chart.menu.ignore_outliers = bool(self.outliers.value)  # each redraws
                return
            self.model.set_options(
                x=str(self.x_mode.value),
                smoothing=float(self.smooth.value),
                pattern=str(self.metric_filter.value),
            )
            error = self.model.filter.error
            html = f"<span role='alert'>{experiment_static.esc(error)}</span>" if error else ""
            if self.filter_error.value != html:
                self.filter_error.value = html
            self._redraw_charts(None)

    def _on_group_option(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        with self._lock:
            try:
                changes = self.model.group(
                    self.group_select.value,
                    center=str(self.center.value),
                    spread=str(self.band.value),
                    show_members=bool(self.members.value),
                )
            except (TypeError, ValueError) as error:
                self.table.error = str(error)
                return
            self.table.error = ""
            self._apply(changes)

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
                elif event == "stat":
                    self._apply(self.model.set_table(stat=str(content.get("stat"))))
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
        return experiment_static.overlay_png(self.model, bool(self.log_y.value))

    def report_html(self) -> str:
        """A self-contained HTML report of the view (table page and overlay charts)."""
        with self._lock:
            return experiment_static.report_html(self.model, self.title, self._overlay_png())

    def write_report(self, path: Any = None) -> Any:
        """Write :meth:`report_html` to ``path`` (default: the workspace's reports folder)."""
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

    def get_widget_data(self) -> dict[str, Any]:
        """Everything the view shows, as a JSON-able dict.

        ``runs`` (the table page: id, number, display name, status, times, tags,
        arguments, and per scalar metric its ``last``, ``min``, ``max`` and ``best``),
        ``selected`` (run ids), ``groups`` (label, keys, members, colour; empty when not
        grouped), ``charts`` (per metric: its x axis and the lines drawn, each with its
        ``run_id`` or ``group``, ``x`` and ``y``, and a group's ``lower``/``upper``
        band), and ``settings``.
        """
        with self._lock:
            return experiment_static.widget_data(
                self.model,
                self.title,
                log_y=bool(self.log_y.value),
                ignore_outliers=bool(self.outliers.value),
            )

    def chart_data(self) -> list[ChartData]:
        """What each chart draws (every chart that passes the metric filter)."""
        with self._lock:
            return self.model.charts()

    def group(
        self,
        by: str | list[str] | tuple[str, ...] | None,
        center: str | None = None,
        band: str | None = None,
        show_members: bool | None = None,
    ) -> None:
        """Group the runs by ``by`` (``None``: no groups), as choosing it in the view.

        Args:
            by: a key (tag, argument, hyperparameter or property) or a list of keys.
            center: the group line, ``"mean"`` or ``"median"`` (default: unchanged).
            band: the band, ``"std"`` or ``"minmax"`` (default: unchanged).
            show_members: also draw the members' own lines (default: unchanged).

        Raises:
            TypeError, ValueError: see ``ExperimentDetails``; the view is unchanged.
        """
        with self._lock:
            changes = self.model.group(by, center=center, spread=band, show_members=show_members)
            self._quiet = True
            try:
                self.center.value = self.model.center
                self.band.value = self.model.spread
                self.members.value = self.model.show_members
            finally:
                self._quiet = False
            self._apply(changes)

    def set_charts(
        self,
        x: str | None = None,
        smoothing: float | None = None,
        log_y: bool | None = None,
        ignore_outliers: bool | None = None,
        filter: str | None = None,
    ) -> None:
        """Choose the charts' x axis, smoothing, log y, outliers and metric filter.

        Args:
            x: ``"step"``, ``"index"``, ``"wall"``, ``"relative"`` (time since the run
                started, shown in ms, s, min, h or days) or ``"metric:<name>"``.
            smoothing: the EMA weight, 0 (off) to 0.999.
            log_y: a logarithmic y axis.
            ignore_outliers: scale every chart's y axis to the 5–95 % quantiles.
            filter: a regular expression over metric names (an invalid one is shown
                beside the box and filters nothing).

        Raises:
            ValueError: an unknown ``x`` or a smoothing outside [0, 0.999].
        """
        with self._lock:
            self.model.set_options(x=x, smoothing=smoothing, pattern=filter)
            self._quiet = True
            try:
                self._set_options(self.x_mode, self.model.x_options(), self.model.options.x)
                self.x_mode.value = self.model.options.x
                self.smooth.value = self.model.options.smoothing
                self.metric_filter.value = self.model.options.pattern
                if log_y is not None:
                    self.log_y.value = bool(log_y)
            finally:
                self._quiet = False
            if ignore_outliers is not None:
                self.outliers.value = bool(ignore_outliers)  # redraws every chart
            error = self.model.filter.error
            self.filter_error.value = (
                f"<span role='alert'>{experiment_static.esc(error)}</span>" if error else ""
            )
            self._redraw_charts(None)

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
        for part in (self.table, self.across_box):
            part.close()
        super().close()
