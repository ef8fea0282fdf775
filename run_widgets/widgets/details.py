"""``RunDetails``: the live, non-blocking view of a run in a notebook.

``RunDetails(run).show()`` (or just ending a cell with ``RunDetails(run)``) puts two
outputs in the notebook and returns at once:

1. the live view: a header (status colour, name, id, experiment, start, live duration,
   report link, error bar), the Run Properties panel, one bqplot chart per metric, images
   and tables, the output logs, and the child-run table (choosing a row opens that child's
   view below it);
2. a static snapshot (plain text, an HTML summary with a chart image) that stays readable
   without a kernel: on GitHub, through nbconvert, or in a notebook reopened later. While
   the live view is on screen the snapshot is hidden by CSS. It is rewritten, charts
   included, once the run reaches a terminal status or when the view is closed (a finished
   run's snapshot is final at once).

A named daemon thread then refreshes the view every ``refresh_interval`` seconds (12 by
default; ``RUN_WIDGETS_REFRESH_S`` changes the default), reading only what is new, until
the run ends (one final refresh), the widget is closed, or the same run is shown again.
Outside a kernel (plain Python, terminal IPython) ``show()`` prints a text summary.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import ipywidgets

from ..exceptions import MetricNotFoundError, UserErrorException
from ..run import Run
from ..runtime import REGISTRY
from ..store.summaries.window import check_range
from ..views import run_charts, static, view_state
from ..views.export import ChartData
from ..views.mapping import STEP, WALL
from ..views.reader import RunSource, run_reader
from ..views.report import report_path, write_report
from ..views.run_charts import charts_per_page
from ..views.tracker import PollChanges, RunTracker
from ._live import CLOSE_JOIN_S, LiveView, default_interval, in_kernel, poll_error_text
from ._live import ENV_REFRESH as ENV_REFRESH
from ._live import WIDGET_MIME as WIDGET_MIME
from .charts import CARD_HEIGHT, ChartGrid, MetricChart
from .panels import ChildTable, GalleryPanel, HeaderPanel, LogPanel, PropertiesPanel
from .poller import Poller

if TYPE_CHECKING:
    pass

CHART_VIEWS = ("line", "line2")
GALLERY_VIEWS = ("image", "table", "artifact")


class RunDetails(LiveView):
    """The live view of a run (see the module docstring).

    Args:
        run_instance: the run to show (any run: interactive, submitted, child, sweep,
            or reopened with ``Run(experiment, run_id)``).
        refresh_interval: seconds between refreshes (default 12).
        widget_settings: v1-style settings; ``{"refresh_interval": s}`` is honoured, and
            ``{"charts_per_page": n}`` (default 12) sets how many charts show at once
            before a filter box and pages appear.
    """

    def __init__(
        self,
        run_instance: Run | RunSource,
        refresh_interval: float | None = None,
        widget_settings: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(run_instance, (Run, RunSource)):
            raise TypeError(
                "RunDetails needs a run_widgets Run or a run source such as "
                f"run_widgets.mlflow.open_run(...), not {type(run_instance).__name__}."
            )
        # A workspace run has reports, cancel and child look-ups; a read-only source
        # (the MLflow bridge's open_run) brings only its reader.
        self._own_run = isinstance(run_instance, Run)
        self.run: Any = run_instance
        self.refresh_interval = default_interval(refresh_interval, widget_settings)
        self.widget_settings = dict(widget_settings or {})
        self._lock = threading.RLock()
        self._closed = False
        self.tracker = RunTracker(
            run_reader(run_instance) if isinstance(run_instance, Run) else run_instance.run_reader()
        )
        self.header = HeaderPanel()
        self.properties = PropertiesPanel(
            layout=ipywidgets.Layout(max_height=CARD_HEIGHT, overflow="auto")
        )
        # The x axis chosen per charted metric, its chart built or not (``STEP`` if absent).
        self._x_choice: dict[str, str] = {}
        self.charts = ChartGrid(
            self._draw_chart,
            lead=[self.properties],
            page_size=charts_per_page(self.widget_settings),
            lock=self._lock,
            build=self._build_chart,
        )
        self.gallery = GalleryPanel()
        self.logs = LogPanel()
        self.children_table = ChildTable()
        self.detail = ipywidgets.VBox()
        self._child_table = view_state.ChildTableModel()
        self._thumbnails: dict[str, str] = {}
        self._artifacts: dict[str, dict[str, Any]] = {}
        self._child_view: RunDetails | None = None
        self._poller: Poller | None = None
        self._static_handle: Any = None
        self._finalized = False
        self.extensions: list[Any] = []
        body = self.charts
        super().__init__(
            [self.header, body, self.gallery, self.logs, self.children_table, self.detail],
            layout=ipywidgets.Layout(width="100%"),
        )
        self.add_class("rw-run-details")
        self.header.on_msg(self._on_header_message)
        self.logs.observe(self._on_log_choice, names=["selected", "follow"])
        self.children_table.observe(self._on_child_selected, names="selected_id")
        self.children_table.on_msg(self._on_table_message)
        view_kind = REGISTRY.view_kinds.get(str(getattr(run_instance, "type", "")))
        if view_kind is not None:  # e.g. a sweep's parent: the sweep view (``widgets.sweep``)
            self.extensions.append(view_kind(self))
            self.children = (
                self.header,
                *self.extensions,
                body,
                self.gallery,
                self.logs,
                self.children_table,
                self.detail,
            )
        self.refresh()

    # --------------------------------------------------------------------- refresh --
    @property
    def portal_url(self) -> str:
        """Where ``run.get_portal_url()`` writes the run's report."""
        return report_path(self.run).as_uri() if self._own_run else ""

    def refresh(self) -> PollChanges:
        """Read what is new now and update the view (also called by the poller).

        After :meth:`close` it only reads: a closed view creates no new widgets.
        """
        with self._lock:
            changes = self.tracker.poll()
            if not self._closed:
                self._apply(changes)
            return changes

    def _apply(self, changes: PollChanges) -> None:
        tracker = self.tracker
        # Sent only when more than the time changed (the browser ticks the durations).
        header = view_state.header_state(tracker, self.portal_url)
        if view_state.without_clock(header) != view_state.without_clock(self.header.header):
            self.header.header = header
        rows = view_state.properties_state(tracker)
        if view_state.without_clock(rows) != view_state.without_clock(self.properties.rows):
            self.properties.rows = rows
        if changes.metrics:
            with self.charts.held():  # one burst of chart messages per refresh
                self._update_charts(changes.metrics)
            views = tracker.views()
            if any(views.get(name) in GALLERY_VIEWS for name in changes.metrics):
                state = view_state.gallery_state(
                    tracker, self._read_file, self._thumbnails, self._artifacts
                )
                self.gallery.images = state["images"]
                self.gallery.tables = state["tables"]
        with self.charts.held():
            if tracker.is_terminal:  # the final state of every chart on the page, in view or not
                self.charts.draw_all()
            else:  # and, while it runs, one off-screen chart per refresh (ChartGrid.catch_up)
                self.charts.catch_up()
        if changes.log_files_changed or changes.log_appended or changes.run_changed:
            logs = view_state.log_state(tracker)
            # ``follow`` is the user's control (one writer per trait): never written here.
            with self.logs.hold_trait_notifications():
                self.logs.files = logs["files"]
                self.logs.selected = logs["selected"]
                self.logs.text = logs["text"]
            self.logs.layout.display = "" if logs["visible"] else "none"
        if changes.children:
            self._update_children(changes.children)
        for extension in self.extensions:
            extension.update(changes)

    def _read_file(self, name: str) -> bytes:
        return self.tracker.reader.read_file(name)

    # ---------------------------------------------------------------------- charts --
    @property
    def _charts(self) -> dict[str, MetricChart]:
        """The chart widgets built now: those of the page on show (``ChartGrid``)."""
        return self.charts.charts

    def _update_charts(self, names: set[str]) -> None:
        views = self.tracker.views()
        known = set(self.charts.names)
        added = []
        for name in names:
            if views.get(name) not in CHART_VIEWS:
                continue
            if name in known:
                self.charts.changed(name)
            else:
                added.append(name)
        self.charts.add(added)
        # Partners of a changed metric may now have new x options; a chart whose chosen x
        # went away is redrawn over its steps (a chart not built takes them when built).
        for name, chart in list(self._charts.items()):
            if (
                name not in names
                and views.get(name) == "line"
                and chart.set_x_options(
                    run_charts.line_x_options(self.tracker, name, chart.x_choice)
                )
            ):
                self._x_choice[name] = chart.x_choice
                self.charts.changed(name)

    def _build_chart(self, name: str) -> MetricChart:
        """The chart widget of ``name``, showing the x axis chosen for it before."""
        chosen = self._x_of(name)
        chart = MetricChart(
            name,
            x_options=run_charts.x_options(self.tracker, name, chosen),
            on_x_change=self._on_x_change,
            lock=self._lock,
            on_zoom=self._on_zoom,
        )
        if chosen in chart.x_values:
            chart.choose_x(chosen)
        return chart

    def _x_of(self, name: str) -> str:
        """The x axis of ``name``'s chart: the one chosen, else the first offered.

        A chart on another page has no widget: this is what it would show.
        """
        chosen = self._x_choice.get(name)
        if chosen is not None or name not in self.tracker.metrics:
            return chosen or STEP
        return run_charts.x_options(self.tracker, name, STEP)[0]

    def _draw_chart(self, chart: MetricChart) -> None:
        name = chart.name
        chart.set_x_options(run_charts.x_options(self.tracker, name, chart.x_choice))
        self._x_choice[name] = chart.x_choice
        chart.show(run_charts.chart_data(self.tracker, name, chart.x_choice))

    def _on_x_change(self, chart: MetricChart, x_name: str) -> None:
        with self._lock:
            # A range of the old x axis means nothing on the new one: the whole run again.
            self.tracker.set_x_range(chart.name, None)
            try:
                self._draw_chart(chart)
            except UserErrorException as error:  # an axis the source cannot window (MLflow)
                chart.choose_x(STEP)
                self._draw_chart(chart)
                self.header.error = str(error)

    def _on_zoom(self, chart: MetricChart, lo: float | None, hi: float | None) -> None:
        """The user dragged over an x range of ``chart`` (or reset its zoom)."""
        try:
            self.set_x_range(chart.name, lo, hi)
        except UserErrorException as error:  # a range the store refuses: nothing changes
            self.header.error = str(error)

    def set_x_range(self, metric_name: str, lo: float | None, hi: float | None = None) -> None:
        """Zoom the chart of ``metric_name`` on ``lo <= x <= hi`` (``None``: the whole run).

        The chart draws the range from the store at the finest resolution that fits: the
        exact logged points when it holds at most 2,000 of them, else the first, minimum,
        maximum and last point of buckets (every extreme kept). The range stays while the
        run grows; ``set_x_range(metric_name, None)`` (or the chart's "reset zoom") shows
        the whole run again. Does what dragging over the chart does; choosing another x
        axis drops the range.

        Args:
            metric_name: the charted metric.
            lo: the low end, in the units of the chart's x axis: steps, indexes, the
                other metric's or the column's values, epoch seconds for wall time,
                seconds since the run started for time since start. ``None`` (with
                ``hi`` ``None``): the whole run.
            hi: the high end (at least ``lo``).

        Raises:
            MetricNotFoundError: the run has no metric ``metric_name``.
            UserErrorException: (a ``ValueError``) the metric is not drawn as a numeric
                chart, or the range is reversed, not finite or has one end only.
                Nothing drawn changes then.
        """
        with self._lock:
            # The chart of a metric on another page is not built: its range waits in the
            # tracker and is drawn when the chart is.
            chart = self._charts.get(metric_name)
            if lo is not None and hi is not None:
                check_range(metric_name, lo, hi)  # before the units are converted
                x_name = self._x_of(metric_name)
                lo, hi = run_charts.tracker_range(self.tracker, x_name, lo, hi)
            self.tracker.set_x_range(metric_name, lo, hi)
            if chart is not None and not self._closed:
                self._draw_chart(chart)

    def x_range(self, metric_name: str) -> tuple[float, float] | None:
        """The x range the chart of ``metric_name`` is zoomed on.

        Args:
            metric_name: the charted metric.

        Returns:
            ``(lo, hi)`` in the units :meth:`set_x_range` takes, or ``None`` when the
            chart shows the whole run.

        Raises:
            MetricNotFoundError: the run has no metric ``metric_name``.
        """
        with self._lock:
            if metric_name not in self.tracker.metrics:
                raise MetricNotFoundError(f"Run {self.run.id!r} has no metric {metric_name!r}.")
            x_name = self._x_of(metric_name)
            found = run_charts.drawn_range(self.tracker, metric_name, x_name)
            if found is not None and x_name == WALL:
                return found[0] / 1000.0, found[1] / 1000.0
            return found

    # -------------------------------------------------------------------- children --
    def _update_children(self, changed: set[str]) -> None:
        extension_columns = [e for e in self.extensions if hasattr(e, "child_table_state")]
        state = (
            extension_columns[0].child_table_state()
            if extension_columns
            else self._child_table.update(self.tracker.children, changed)
        )
        with self.children_table.hold_trait_notifications():
            self.children_table.clock = time.time()
            self.children_table.columns = state["columns"]
            self.children_table.rows = state["rows"]
            for key in ("sort_key", "sort_desc", "best_id", "footnote", "cancellable", "title"):
                if key in state:
                    setattr(self.children_table, key, state[key])

    def _on_child_selected(self, change: dict[str, Any]) -> None:
        if self._child_view is not None:
            self._child_view.close()
            self._child_view = None
        run_id = change["new"]
        if not run_id:
            self.detail.children = ()
            return
        child = Run.get(self.run.workspace, run_id) if self._own_run else self.run.child(run_id)
        view = RunDetails(child, refresh_interval=self.refresh_interval)
        self._child_view = view
        close = ipywidgets.Button(description="Close", layout=ipywidgets.Layout(width="80px"))
        close.on_click(lambda _: setattr(self.children_table, "selected_id", ""))
        title = ipywidgets.Label(f"Child run {run_id}")
        self.detail.children = (ipywidgets.HBox([title, close]), view)
        if not view.tracker.is_terminal and in_kernel():
            view.start_polling()

    def _on_table_message(self, widget: Any, content: dict[str, Any], buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "cancel":
            run_id = str(content.get("run_id", ""))
            if self._own_run and (run_id in self.tracker.children or run_id == self.run.id):
                Run.get(self.run.workspace, run_id).cancel()
                self.refresh()

    # -------------------------------------------------------------------- intents --
    def _on_header_message(self, widget: Any, content: dict[str, Any], buffers: Any) -> None:
        if self._own_run and isinstance(content, dict) and content.get("event") == "open_report":
            path = write_report(self.run)
            self.header.send({"report_html": path.read_text(encoding="utf-8")})

    def _on_log_choice(self, change: dict[str, Any]) -> None:
        with self._lock:
            tracker = self.tracker
            tracker.follow_active_log = bool(self.logs.follow)
            if change["name"] == "selected" and change["new"] != tracker.selected_log:
                tracker.select_log(change["new"] or None)
            self.logs.text = view_state.log_state(tracker)["text"]

    # -------------------------------------------------------------------- polling --
    def start_polling(self) -> Poller:
        """Start (or restart) the background refresh of this run."""
        return self._start_poller(
            (self.tracker.reader.location, self.run.id),
            name=self.run.id,
            on_stop=self.tracker.reader.release,
            immediate=self.tracker.is_terminal,
        )

    def _tick(self) -> bool:
        if self._closed:
            return True
        self.refresh()
        if self.tracker.is_terminal:
            self._finalize()
            return True
        return False

    def _on_poll_error(self, error: BaseException | None, failures: int, delay: float) -> None:
        self.header.error = poll_error_text(error, failures, delay)

    def _finalize(self) -> None:
        """At a terminal status (or on close): rewrite the static snapshot, charts included."""
        if self._finalized or self._static_handle is None:
            return
        bundle = self._final_bundle()
        # Sent with the kernel's current parent (ipykernel routes thread output to the
        # cell executing now), which is what front-ends and nbclient accept for updates.
        self._static_handle.update(bundle, raw=True)
        self._finalized = True

    # -------------------------------------------------------------------- display --
    def static_bundle(self, with_charts: bool = True) -> dict[str, str]:
        """The static snapshot: ``text/plain``, ``text/html`` and (if any) ``image/png``."""
        with self._lock:
            png = (
                static.charts_png(self.tracker, x_choices=self._x_choices())
                if with_charts
                else None
            )
            alt = static.charts_alt(self.tracker, self._x_choices()) if png else None
            for extension in self.extensions:  # a sweep draws its own chart
                if with_charts and png is None and hasattr(extension, "static_chart_png"):
                    png = extension.static_chart_png()
                    alt = extension.static_chart_alt() if png else None
            children = [
                e.static_children_html()
                for e in self.extensions
                if hasattr(e, "static_children_html")
            ]
            bundle = {
                "text/plain": static.snapshot_text(self.tracker),
                "text/html": static.snapshot_html(
                    self.tracker, png, self.portal_url, children[0] if children else None, alt
                ),
            }
        if png:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle

    def _x_choices(self) -> dict[str, str]:
        return {name: self._x_of(name) for name in self.charts.names}

    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Display the live view and its static snapshot, start refreshing, return at once.

        Outside a Jupyter kernel it prints a text summary instead and returns.

        Args:
            render_lib: accepted for v1 compatibility and ignored.
            widget_settings: v1-style settings; ``{"refresh_interval": s}`` is honoured.

        Raises:
            TypeError, ValueError: invalid ``widget_settings`` (see ``RunDetails``).
            RuntimeError: the view was closed (a closed widget cannot be shown again).
        """
        self._apply_settings(widget_settings)
        if not self._display_live(
            "This RunDetails was closed; show the run again with RunDetails(run).show()."
        ):
            return
        _SHOWN.add(self)
        finished = self.tracker.is_terminal
        # A finished run's snapshot is final now (charts included); an active run's gets
        # its charts when it ends (by the poller, or at once by wait_for_completion).
        self._finalized = finished
        self._display_snapshot(with_charts=finished)
        if finished:
            self.stop_polling()  # the refresh at construction was the final one
        else:
            self.start_polling()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # One output only (contexts that do not call _ipython_display_): the widget view
        # with the snapshot's text, HTML and chart as its fallbacks.
        return {**self.live_bundle(), **self.static_bundle(with_charts=self.tracker.is_terminal)}

    def text_summary(self) -> str:
        """What ``show()`` prints outside a kernel: the summary and the report's location."""
        with self._lock:  # the poller thread may be changing the tracker
            summary = static.snapshot_text(self.tracker)
        return f"{summary}\nReport: {self.run.get_portal_url()}" if self._own_run else summary

    def get_widget_data(self, widget_settings: Any = None) -> dict[str, Any]:
        """Everything the view shows, as a JSON-able dict (v1 name).

        v1's keys (``status``, ``run_id``, ``run_properties``, ``run_metrics``,
        ``child_runs``, ``run_logs`` …) and ``charts``: per charted metric that passes
        the filter, what its chart draws now: ``{"x_axis", "lines", "x", "y", "x_range",
        "exact"}`` (``lines``: ``{"label", "run_id", "x", "y"}`` each; ``x``/``y``: the
        first line's; ``x_range``: ``[lo, hi]`` of a zoom or ``None``; ``exact``: every
        point of the range drawn, else first/min/max/last of buckets).
        """
        with self._lock:  # the poller thread may be changing the tracker
            data = view_state.widget_data(self.tracker, self.portal_url)
            data["charts"] = {chart.metric: chart.json() for chart in self.chart_data()}
            return data

    def chart_data(self) -> list[ChartData]:
        """What each chart that passes the metric filter draws, in the charts' order."""
        with self._lock:
            return [
                run_charts.chart_data(self.tracker, name, self._x_of(name))
                for name in self.charts.matching()
            ]

    def __repr__(self) -> str:
        # No status here: this text is saved with the live output and would go stale (the
        # static snapshot beside it carries the status and is rewritten at the end).
        return f"RunDetails(run_id={self.tracker.record.id!r})"

    # ---------------------------------------------------------------------- close --
    def close(self) -> None:
        """Stop refreshing and close every part of the view.

        Waits (a few seconds at most) for a refresh in progress, so that no poller thread
        and no store connection outlives the view. A displayed view's static snapshot is
        rewritten with what the view last showed.
        """
        self._closed = True
        if "_static_handle" not in self.__dict__:  # __init__ failed early: nothing to stop
            super().close()
            return
        self.stop_polling(wait=CLOSE_JOIN_S)
        if self._static_handle is not None and not self._finalized:
            # What a saved notebook shows: freeze the snapshot at the last state seen,
            # charts included (the live view it stood behind is gone).
            with contextlib.suppress(Exception):
                self._finalize()
        if self._child_view is not None:
            self._child_view.close()
            self._child_view = None
        self.charts.close()
        for part in (self.header, self.properties, self.gallery, self.logs, self.children_table):
            part.close()
        for extension in self.extensions:
            extension.close()
        super().close()


_SHOWN: weakref.WeakSet[RunDetails] = weakref.WeakSet()
"""Views displayed in this kernel (closed ones are skipped)."""


def log_shown(source_location: str, run_id: str) -> bool:
    """True if an open view displayed in this kernel shows this run (and so its log)."""
    return any(
        not view._closed
        and view.tracker.record.id == run_id
        and view.tracker.reader.location == source_location
        for view in list(_SHOWN)
    )


REGISTRY.log_shown.add(log_shown)
