"""The experiment view's state, without widgets: table page, selection, series, across-run rows.

:class:`ExperimentModel` reads through an :class:`ExperimentReader` and keeps:

* the table: column choice (commonest tags, scalar metrics), the user's filters, sort and
  page, and the current page as the store answered it;
* the selection (default: the newest runs, or the best by a metric) with a colour per
  run, and a :class:`RunSeries` per selected run;
* the best run for the chosen metric and goal (one store query, then kept up to date
  from the runs that change);
* the across-run rows (up to ``MAX_ACROSS_RUNS`` runs of the filtered, sorted table),
  read only while the across-run views are on (by default for scopes of at most
  ``AUTO_ACROSS_RUNS`` runs; a big experiment's view turns them on when they are opened);
* groups, when ``group_by`` is set: every run the table's filters keep is in the group of
  its value of the key(s) (``views.groups``), newest first; the charts show the first
  ``MAX_GROUPS`` groups, each as one line with a band over its first
  ``MAX_GROUP_MEMBERS`` members (their series read like a selected run's);
* the chart options (x axis, smoothing, the metric filter) and what each chart draws
  (:meth:`ExperimentModel.chart_data`), which the widget, the exports and
  ``get_widget_data`` share.

:meth:`ExperimentModel.poll` asks the reader which runs changed since the last poll (a
metric flush changes a run) and re-reads only those: the page query, the changed
selected runs' new chunks, the changed runs' metric headers. With nothing changed a poll
is two small queries. Widgets render :class:`ModelChanges`; tests read the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..exceptions import MetricNotFoundError, UserErrorException
from ..store import RunColumns, RunPage, RunQuery, RunRecord
from ..store.run_query import scalar_summaries
from ..store.summaries import INDEX, MAX_POINTS
from ..store.summaries.levels import STEP as STEP_ID
from ..store.summaries.levels import VALUE
from ..store.summaries.window import check_range
from . import across, groups, overlay, run_table, summary
from .across import AcrossRow
from .experiment_reader import ExperimentReader
from .export import ChartData, SeriesData
from .groups import Group
from .liveness import liveness_for
from .metric_filter import MetricFilter, metric_filter
from .overlay import RunSeries
from .run_groups import RunGroups
from .run_table import TableSettings
from .series import LiveSeries

ZOOM_MODES = ("step", "index")
"""The overlay's x axes a chart zooms over (each run's line read as a window)."""

SELECTIONS = ("newest", "best")
AUTO_ACROSS_RUNS = 300


@dataclass(frozen=True)
class ChartOptions:
    """How the overlay charts are drawn: x axis, smoothing, and the metric filter."""

    x: str = "step"
    smoothing: float = 0.0
    pattern: str = ""


@dataclass
class ModelChanges:
    """What one poll (or a user action) changed."""

    table: bool = False
    columns: bool = False
    selection: bool = False
    grown: dict[str, set[str]] = field(default_factory=dict)  # run id -> metrics that grew
    runs: set[str] = field(default_factory=set)  # runs whose record changed
    across: bool = False
    groups: bool = False  # group membership or the grouping changed: every chart redraws

    @property
    def anything(self) -> bool:
        """True if anything changed."""
        return bool(
            self.table
            or self.columns
            or self.selection
            or self.grown
            or self.runs
            or self.across
            or self.groups
        )


class ExperimentModel:
    """The experiment view's state (see the module docstring).

    Args:
        reader: where runs are read.
        scope: which runs (experiment, ids, children); its filters and window are ignored.
        selection: ``"newest"`` or ``"best"`` (by ``metric`` and ``goal``).
        metric: the metric the best runs are chosen by and the across views show.
        goal: ``"minimize"`` or ``"maximize"`` (``None``: read from the metric's name,
            see ``views.summary``).
        default_runs: how many runs the default selection takes (at most 10).
        across_views: read the across-run rows (``None``: when the scope has at most
            ``AUTO_ACROSS_RUNS`` runs).
        group_by: a key (tag, argument, hyperparameter or property) or several keys to
            group the runs by (``None``: no groups).
        center: the group line: ``"mean"`` or ``"median"``.
        spread: the group band: ``"std"`` (± one standard deviation) or ``"minmax"``.
        show_members: also draw the group members' own lines.
        goals: the goal of other metrics than ``metric`` (``{"accuracy": "maximize"}``);
            the others' is read from their names (see ``views.summary``).
    """

    def __init__(
        self,
        reader: ExperimentReader,
        scope: RunQuery,
        selection: str = "newest",
        metric: str | None = None,
        goal: str | None = None,
        default_runs: int = overlay.DEFAULT_RUNS,
        across_views: bool | None = None,
        group_by: Any = None,
        center: str = "mean",
        spread: str = "std",
        show_members: bool = False,
        goals: Mapping[str, str] | None = None,
    ) -> None:
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be 'newest' or 'best', got {selection!r}.")
        if goal is not None and goal not in across.GOALS:
            raise ValueError(f"goal must be 'minimize' or 'maximize', got {goal!r}.")
        if not 1 <= default_runs <= overlay.MAX_OVERLAY_RUNS:
            raise ValueError(
                f"default_runs must be between 1 and {overlay.MAX_OVERLAY_RUNS}, got {default_runs}."
            )
        groups.check_band_options(center, spread)
        self.goals = {str(k): _checked_goal(v) for k, v in (goals or {}).items()}
        self.reader = reader
        self.liveness = liveness_for(reader)  # the reader only reads
        self.scope = replace(scope, offset=0, limit=run_table.PAGE_SIZE)
        self.settings = TableSettings()
        self.selection_mode = selection
        self.metric = metric or ""
        self._goal_given = goal is not None
        self.goal = goal or (summary.guessed_goal(metric) if metric else across.MINIMIZE)
        self.default_runs = default_runs
        self.columns = RunColumns(tags={}, metrics={})
        self.tag_columns: list[str] = []
        self.metric_columns: list[str] = []
        self.page = RunPage(records=(), total=0)
        self.selected: list[str] = []
        self.user_selected = False  # the user chose runs: new runs no longer change it
        self.colors: dict[str, str] = {}
        self.series: dict[str, RunSeries] = {}
        self.across_rows: dict[str, AcrossRow] = {}
        self.across_enabled = across_views
        self.best: AcrossRow | None = None
        self._max_number = 0
        self.across_total = 0
        self._seq = 0
        self.polls = 0
        self.options = ChartOptions()
        self.filter: MetricFilter = metric_filter("")
        self.x_ranges: dict[str, tuple[float, float]] = {}  # zoomed charts (step or index)
        self.page_summaries: dict[str, dict[str, dict[str, float | None]]] = {}
        # Groups (``group_by``): see ``views.run_groups``.
        self.grouping = RunGroups(groups.parse_group_by(group_by), center, spread)
        self.show_members = bool(show_members)
        self.param_names: set[str] = set()

    # ------------------------------------------------------------------------- polls --
    def poll(self) -> ModelChanges:
        """Read what changed since the previous poll (everything on the first)."""
        changes = ModelChanges()
        self.reader.flush()
        self._check_liveness()
        seq = self.reader.current_seq()
        if self.polls == 0:
            self._load_all(changes)
        else:
            changed = self.reader.changed_runs(self.scope, self._seq)
            if changed:
                self._apply_changed(changed, changes)
        self._seq = seq
        self.polls += 1
        return changes

    def _check_liveness(self) -> None:
        if self.liveness is None:
            return
        active = {r.id: r.owner_id for r in self.page.records if not r.is_terminal}
        active.update(
            (s.record.id, s.record.owner_id)
            for s in self.series.values()
            if not s.record.is_terminal
        )
        if active:
            self.liveness.reap(active)  # a run ended here shows as changed

    def _load_all(self, changes: ModelChanges) -> None:
        self._set_columns(self.reader.run_columns(self.scope))
        if not self.metric and self.metric_columns:
            self.metric = self.metric_columns[0]
            if not self._goal_given:
                self.goal = summary.guessed_goal(self.metric)
        if self.group_keys:
            self._load_groups()
            self.grouping.check()
        self._query_page()
        self._max_number = max((r.number for r in self.page.records), default=0)
        if self.across_enabled is None:
            self.across_enabled = self.page.total <= AUTO_ACROSS_RUNS
        self._default_selection(changes)
        if self.group_keys:
            self._read_series(self.charted_runs(), changes)
        self._query_best()
        if self.across_enabled:
            self._load_across()
        changes.table = changes.columns = changes.selection = changes.across = True
        changes.groups = bool(self.group_keys)

    def _apply_changed(self, changed: list[RunRecord], changes: ModelChanges) -> None:
        by_id = {r.id: r for r in changed}
        changes.runs = set(by_id)
        infos = self.reader.metric_infos(by_id)
        metrics: dict[str, dict[str, float | None]] = {run_id: {} for run_id in by_id}
        new_names = False
        for info in infos:
            if info.kind == "scalar":
                value = info.last_value
                metrics[info.run_id][info.name] = (
                    float(value)
                    if isinstance(value, (int, float)) and not isinstance(value, bool)
                    else None
                )
                new_names |= info.name not in self.columns.metrics
        new_names |= any(k not in self.columns.tags for r in changed for k in r.tags)
        if new_names:
            self._set_columns(self.reader.run_columns(self.scope))
            changes.columns = True
        new_runs = [r.id for r in changed if r.number > self._max_number]
        self._max_number = max([self._max_number, *(r.number for r in changed)])
        self._update_best(changed, metrics)
        self._query_page()
        changes.table = True
        if new_runs and not self.user_selected:
            before = list(self.selected)
            self._default_selection(changes)
            changes.selection = before != self.selected
        if self.group_keys and self.grouping.update(changed, self.settings.query(self.scope)):
            self._read_series(self.charted_runs(), ModelChanges())
            changes.groups = True
        for run_id in self.charted_runs():
            if run_id in by_id and run_id in self.series:
                series = self.series[run_id]
                series.record = by_id[run_id]
                grown = series.add(self.reader.read_chunks(run_id, series.cursor))
                if grown:
                    changes.grown[run_id] = grown
        if new_runs and self.across_enabled:
            self._load_across()
            changes.across = True
        else:
            for run_id, record in by_id.items():
                if run_id in self.across_rows:
                    self.across_rows[run_id] = across.across_row(record, metrics[run_id])
                    changes.across = True

    # ------------------------------------------------------------------------- table --
    def _set_columns(self, columns: RunColumns) -> None:
        self.columns = columns
        self.tag_columns, self.metric_columns = run_table.choose_columns(columns)

    def _query_page(self) -> None:
        self._set_page(self.reader.query_runs(self.settings.query(self.scope)))

    def _set_page(self, page: RunPage) -> None:
        """Take a page with its runs' metric summaries (last, min, max per metric).

        They come with the page (the store reads them from the metric headers with the
        page); a source that does not send them is asked for the page's headers.
        """
        self.page = page
        self.param_names.update(k for r in page.records for k in groups.group_params(r))
        found = dict(page.summaries)
        missing = [r.id for r in page.records if r.id not in found]
        if missing:
            found.update(scalar_summaries(self.reader, missing))
        self.page_summaries = {
            run_id: {
                name: summary.summaries(last, low, high, self.goal_of(name))
                for name, (last, low, high) in found.get(run_id, {}).items()
            }
            for run_id in (r.id for r in page.records)
        }

    def goal_of(self, metric: str) -> str:
        """The goal of ``metric``: the view's for its metric, a given one, else guessed."""
        if metric == self.metric:
            return self.goal
        return summary.goal_of(metric, self.goals)

    def set_table(self, **settings: Any) -> ModelChanges:
        """Change filters, sort or page, and re-query the page.

        Settings: ``status``, ``tag``, ``text``, ``sort``, ``descending``, ``page``,
        ``page_size``.

        A filter or sort change goes back to the first page.

        Raises:
            ValueError: an unknown setting, sort key or status.
        """
        unknown = set(settings) - set(TableSettings.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown table setting(s): {sorted(unknown)}.")
        if "stat" in settings:
            summary.check_stat(str(settings["stat"]))
        if "page" not in settings and set(settings) & {
            "status",
            "tag",
            "text",
            "sort",
            "descending",
            "page_size",
            "stat",
        }:
            settings["page"] = 0
        candidate = replace(self.settings, **settings)
        if candidate.sort.startswith("metric:"):
            candidate = replace(candidate, sort_goal=self.goal_of(candidate.sort.split(":", 1)[1]))
        page = self.reader.query_runs(candidate.query(self.scope))  # the query validates
        if candidate.page > 0 and not page.records:  # past the end: the last page
            last = max(0, -(-page.total // candidate.page_size) - 1)
            candidate = replace(candidate, page=last)
            page = self.reader.query_runs(candidate.query(self.scope))
        self.settings = candidate
        self._set_page(page)
        changes = ModelChanges(table=True)
        if set(settings) & {"status", "tag", "text", "sort", "descending"} and self.across_enabled:
            self._load_across()
            changes.across = True
        if set(settings) & {"status", "tag", "text"} and self.group_keys:
            self._load_groups()  # groups are formed from the runs the filters keep
            changes.groups = True
        return changes

    def table_state(self) -> dict[str, Any]:
        """The table panel's traits."""
        state = run_table.table_state(
            self.page,
            self.tag_columns,
            self.metric_columns,
            self.settings,
            self.page_summaries,
            {m: self.goal_of(m) for m in self.metric_columns},
        )
        grouped = bool(self.group_keys)
        colors = (
            {r.id: self.grouping.color_of(r.id) for r in self.page.records}
            if grouped
            else dict(self.colors)
        )
        state.update(
            selected=list(self.selected),
            colors=colors,
            best_id=self.best.run_id if self.best else "",
            sort_key=self.settings.sort,
            sort_desc=self.settings.descending,
            grouped=grouped,
        )
        return state

    # --------------------------------------------------------------------- selection --
    def _default_selection(self, changes: ModelChanges) -> None:
        if self.selection_mode == "best" and self.metric:
            query = replace(
                self.scope,
                sort=f"metric:{self.metric}",
                descending=self.goal == across.MAXIMIZE,
                limit=self.default_runs,
            )
        else:
            query = replace(self.scope, sort="number", descending=True, limit=self.default_runs)
        page = self.reader.query_runs(query)
        records = list(page.records)
        if self.selection_mode == "best" and self.metric:  # only runs with the metric count
            records = [
                r for r in records if page.metrics.get(r.id, {}).get(self.metric) is not None
            ]
        self._select([r.id for r in records], records, changes)

    def choose_default(
        self, selection: str, metric: str | None = None, goal: str | None = None
    ) -> ModelChanges:
        """Select the newest runs or the best ones by ``metric`` and ``goal`` again."""
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be 'newest' or 'best', got {selection!r}.")
        if goal is not None and goal not in across.GOALS:
            raise ValueError(f"goal must be 'minimize' or 'maximize', got {goal!r}.")
        self.selection_mode = selection
        if metric is not None and metric != self.metric and goal is None:
            goal = summary.guessed_goal(metric)  # another metric: its own goal
        self.metric = metric if metric is not None else self.metric
        self.goal = goal or self.goal
        self.user_selected = False
        changes = ModelChanges(selection=True, table=True, across=True)
        self._default_selection(changes)
        self._query_best()
        return changes

    def select(self, run_ids: Sequence[str]) -> ModelChanges:
        """Select these runs for the overlay (at most ``MAX_OVERLAY_RUNS``; extra ignored)."""
        wanted = list(dict.fromkeys(str(r) for r in run_ids))[: overlay.MAX_OVERLAY_RUNS]
        records = {r.id: r for r in self.page.records}
        missing = [r for r in wanted if r not in records and r not in self.series]
        for run_id in missing:
            record = self.reader.get_run(run_id)
            if record is not None:
                records[run_id] = record
        wanted = [r for r in wanted if r in records or r in self.series]
        self.user_selected = True
        changes = ModelChanges(selection=True, table=True)
        self._select(
            wanted,
            [records.get(r) or self.series[r].record for r in wanted],
            changes,
        )
        return changes

    def _select(
        self, run_ids: list[str], records: Sequence[RunRecord], changes: ModelChanges
    ) -> None:
        self.selected = run_ids
        self.colors = overlay.assign_colors(run_ids, self.colors)
        keep = set(run_ids) | set(self.charted_runs())
        for run_id in list(self.series):
            if run_id not in keep:
                del self.series[run_id]
        for record in records:
            if record.id not in self.series:
                series = RunSeries(record)
                grown = series.add(self.reader.read_chunks(record.id))
                self.series[record.id] = series
                if grown:
                    changes.grown[record.id] = grown
        changes.selection = True

    def charted_runs(self) -> list[str]:
        """The runs whose series the charts draw: the selection, or the groups' members."""
        return self.grouping.members() if self.group_keys else list(self.selected)

    def all_chart_names(self) -> list[str]:
        """Every metric with an overlay chart, before the metric filter."""
        return overlay.chart_names(self.series, self.charted_runs())

    def chart_names(self) -> list[str]:
        """The metrics with an overlay chart that pass the metric filter."""
        return self.filter.apply(self.all_chart_names())

    def chart_lines(
        self, name: str, mode: str = "step", smoothing: float = 0.0
    ) -> list[overlay.Line]:
        """The selected runs' lines of one overlay chart."""
        return overlay.chart_lines(self.series, self.selected, self.colors, name, mode, smoothing)

    # ------------------------------------------------------------------ chart options --
    def set_options(
        self, x: str | None = None, smoothing: float | None = None, pattern: str | None = None
    ) -> ModelChanges:
        """Change the x axis, the smoothing or the metric filter (a regular expression).

        An invalid pattern filters nothing; :attr:`filter` says why (``filter.error``).

        Raises:
            ValueError: an unknown x axis or a smoothing outside [0, 0.999].
        """
        options = self.options
        if x is not None:
            options = replace(options, x=overlay.check_x_mode(x))
            if options.x != self.options.x:
                self.x_ranges.clear()  # a range of the old axis means nothing on the new one
        if smoothing is not None:
            options = replace(options, smoothing=overlay.check_smoothing(smoothing))
        if pattern is not None:
            options = replace(options, pattern=str(pattern))
            self.filter = metric_filter(options.pattern)
        self.options = options
        return ModelChanges(selection=True)

    def x_options(self) -> list[tuple[str, str]]:
        """The x axes offered: ``(label, mode)``: the four modes, then the charted metrics."""
        modes = [(overlay.X_LABELS[m], m) for m in overlay.X_MODES]
        metrics = [(f"metric: {n}", overlay.METRIC_X + n) for n in self.all_chart_names()]
        current = self.options.x
        if current.startswith(overlay.METRIC_X) and all(m != current for _, m in metrics):
            metrics.append((f"metric: {overlay.x_label(current)}", current))
        return modes + metrics

    def set_x_range(self, name: str, lo: float | None, hi: float | None = None) -> ModelChanges:
        """Zoom the chart of ``name`` on ``lo <= x <= hi`` (``None``: the whole runs).

        Over step or index, each run's line is then read from the store as a window: the
        exact points when the range holds at most ``MAX_POINTS`` of them, else buckets
        (every extreme kept). Grouped charts draw their bands clipped to the range.

        Raises:
            MetricNotFoundError: no overlay chart of ``name``.
            UserErrorException: (a ``ValueError``) a reversed, non-finite or one-ended
                range, or an x axis other than step or index. Nothing changes then.
        """
        charted = self.all_chart_names()
        if name not in charted:
            raise MetricNotFoundError(
                f"The experiment view has no chart of {name!r}; its charts are {charted}."
            )
        if lo is None and hi is None:
            self.x_ranges.pop(name, None)
            return ModelChanges(selection=True)
        if lo is None or hi is None:
            raise UserErrorException(
                f"The x range of {name!r} needs both ends (or None to show the whole runs)."
            )
        check_range(name, lo, hi)
        if self.options.x not in ZOOM_MODES:
            raise UserErrorException(
                f"The chart of {name!r} zooms over step or index, not over "
                f"{overlay.x_label(self.options.x)!r}: choose step or index as x first."
            )
        self.x_ranges[name] = (float(lo), float(hi))
        return ModelChanges(selection=True)

    def _zoomed_lines(
        self, name: str, x_range: tuple[float, float]
    ) -> tuple[list[SeriesData], bool]:
        """Each selected run's line over ``x_range``, read as a window; all exact?"""
        mode, smoothing = self.options.x, self.options.smoothing
        x_id = STEP_ID if mode == "step" else INDEX
        lines: list[SeriesData] = []
        exact = True
        for run_id in self.selected:
            run = self.series.get(run_id)
            if run is None or name not in run.metrics:
                continue
            window = self.reader.read_series_window(run_id, name, mode, None, *x_range)
            line = LiveSeries(window, x_id, VALUE, MAX_POINTS)
            x, y = line.arrays()
            if smoothing > 0:  # restarted at the range's first point
                y = overlay.ema(y, smoothing)[0]
            exact = exact and line.exact
            label = overlay.run_label(run.record)
            lines.append(SeriesData(label, x, y, run_id=run_id, color=self.colors[run_id]))
        return lines, exact

    def chart_data(self, name: str) -> ChartData:
        """What the chart of metric ``name`` draws (runs' lines or groups' bands)."""
        mode, smoothing = self.options.x, self.options.smoothing
        label, kind = overlay.x_label(mode), overlay.x_kind(mode)
        lines: list[SeriesData] = []
        x_range = self.x_ranges.get(name) if mode in ZOOM_MODES else None
        if x_range is not None and not self.group_keys:
            lines, exact = self._zoomed_lines(name, x_range)
            note = self._chart_note(name, lines)
            return ChartData(name, label, lines, note, kind, x_range=x_range, exact=exact)
        if x_range is not None:  # groups: their bands over the range (as summarized)
            lines = self.grouping.lines(name, self.series, mode, smoothing, self.show_members)
            lines = [_clipped(line, x_range) for line in lines]
            note = self._chart_note(name, lines)
            return ChartData(name, label, lines, note, kind, x_range=x_range, exact=False)
        if not self.group_keys:
            for line in self.chart_lines(name, mode, smoothing):
                lines.append(
                    SeriesData(line.label, line.x, line.y, run_id=line.run_id, color=line.color)
                )
            return ChartData(name, label, lines, self._chart_note(name, lines), kind)
        lines = self.grouping.lines(name, self.series, mode, smoothing, self.show_members)
        return ChartData(name, label, lines, self._chart_note(name, lines), kind)

    def _chart_note(self, name: str, lines: Sequence[SeriesData]) -> str:
        if any(len(line.x) for line in lines):
            return ""
        drawn = self.charted_runs()
        if any(name in self.series[r].metrics for r in drawn if r in self.series):
            return f"{name} has no numeric values to draw" + (
                " (no band: not numeric)" if self.group_keys else ""
            )
        return ""

    def charts(self) -> list[ChartData]:
        """What every chart that passes the metric filter draws."""
        return [self.chart_data(name) for name in self.chart_names()]

    # ------------------------------------------------------------------------ groups --
    @property
    def group_keys(self) -> tuple[str, ...]:
        """The grouping key(s) (``()``: no groups)."""
        return self.grouping.keys

    @property
    def groups(self) -> list[Group]:
        """Every group, in value order (``"(none)"`` last)."""
        return self.grouping.groups

    @property
    def center(self) -> str:
        """The group line: ``"mean"`` or ``"median"``."""
        return self.grouping.center

    @property
    def spread(self) -> str:
        """The group band: ``"std"`` or ``"minmax"``."""
        return self.grouping.spread

    def shown_groups(self) -> list[Group]:
        """The groups the charts show (the first ``MAX_GROUPS`` in value order)."""
        return self.grouping.shown()

    def group(
        self,
        by: Any = None,
        center: str | None = None,
        spread: str | None = None,
        show_members: bool | None = None,
    ) -> ModelChanges:
        """Group the runs by ``by`` (a key or keys; ``None``/``""``: no groups).

        Also chooses the group line (``center``), the band (``spread``) and whether the
        members' own lines show.

        Raises:
            TypeError: ``by`` is not a key or a list of keys.
            ValueError: no run has the key (the runs' keys are named), or an unknown
                ``center``/``spread``. The model is unchanged.
        """
        keys = groups.parse_group_by(by)
        grouping = RunGroups(
            keys,
            self.center if center is None else center,
            self.spread if spread is None else spread,
        )
        if keys == self.group_keys:  # the same runs: keep them (and the colours)
            grouping.values, grouping.numbers = self.grouping.values, self.grouping.numbers
            grouping.colors = self.grouping.colors
            grouping._make()
        elif keys:
            grouping.load(self.reader, self.settings.query(self.scope))
            grouping.check()
        self.param_names |= grouping.param_names
        self.grouping = grouping
        if show_members is not None:
            self.show_members = bool(show_members)
        changes = ModelChanges(groups=True, table=True, selection=True)
        self._read_series(self.charted_runs(), changes)
        return changes

    def group_options(self) -> list[tuple[str, tuple[str, ...]]]:
        """What the runs can be grouped by: ``(label, keys)`` (see ``groups.group_options``)."""
        names = set(self.param_names) | set(self.columns.tags) | self.grouping.param_names
        names |= {k for row in self.across_rows.values() for k in row.params}
        options = groups.group_options(names)
        if self.group_keys and all(keys != self.group_keys for _, keys in options):
            options.append((" + ".join(self.group_keys), self.group_keys))
        return options

    def _load_groups(self) -> None:
        """Every run the table's filters keep, in its group (pages of the store)."""
        self.grouping.load(self.reader, self.settings.query(self.scope))
        self.param_names |= self.grouping.param_names

    def _read_series(self, run_ids: Sequence[str], changes: ModelChanges) -> None:
        """Read the series of these runs if not held yet (and drop the ones not needed)."""
        wanted = set(run_ids) | set(self.selected)
        for run_id in list(self.series):
            if run_id not in wanted:
                del self.series[run_id]
        missing = [r for r in run_ids if r not in self.series]
        if not missing:
            return
        records = {r.id: r for r in self.page.records}
        for run_id in missing:
            record = records.get(run_id) or self.reader.get_run(run_id)
            if record is None:
                continue
            series = RunSeries(record)
            grown = series.add(self.reader.read_chunks(run_id))
            self.series[run_id] = series
            if grown:
                changes.grown[run_id] = grown

    # -------------------------------------------------------------------------- best --
    def _better(self, value: float, than: float) -> bool:
        return value < than if self.goal == across.MINIMIZE else value > than

    def _query_best(self) -> None:
        """The best run of the scope by ``metric`` and ``goal`` (one store query)."""
        self.best = None
        if not self.metric:
            return
        query = replace(
            self.scope,
            sort=f"metric:{self.metric}",
            descending=self.goal == across.MAXIMIZE,
            limit=1,
        )
        page = self.reader.query_runs(query)
        for record in page.records:
            metrics = page.metrics.get(record.id, {})
            if metrics.get(self.metric) is not None:
                self.best = across.across_row(record, metrics)

    def _update_best(
        self, changed: Sequence[RunRecord], metrics: dict[str, dict[str, float | None]]
    ) -> None:
        """Keep the best run right from the runs that changed (no scan of the scope)."""
        best = self.best
        for record in changed:
            value = metrics.get(record.id, {}).get(self.metric)
            if best is not None and record.id == best.run_id:
                old = best.metrics.get(self.metric)
                if value is None or (old is not None and self._better(old, value)):
                    self._query_best()  # the best run got worse: another may lead now
                    return
                best = across.across_row(record, metrics[record.id])
            elif value is not None:
                lead = None if best is None else best.metrics.get(self.metric)
                if lead is None or self._better(value, lead):
                    best = across.across_row(record, metrics[record.id])
        self.best = best

    # ------------------------------------------------------------------------ across --
    def enable_across(self, on: bool = True) -> ModelChanges:
        """Turn the across-run views' rows on (read now) or off."""
        self.across_enabled = bool(on)
        if on:
            self._load_across()
        else:
            self.across_rows = {}
        return ModelChanges(across=True)

    def _load_across(self) -> None:
        query = replace(self.settings.query(self.scope), offset=0, limit=across.MAX_ACROSS_RUNS)
        page = self.reader.query_runs(query)
        self.across_rows = {
            r.id: across.across_row(r, page.metrics.get(r.id, {})) for r in page.records
        }
        self.across_total = page.total

    def across_list(self) -> list[AcrossRow]:
        """The across-run rows, by run number."""
        return sorted(self.across_rows.values(), key=lambda row: row.number)


def _checked_goal(goal: str) -> str:
    if str(goal).lower() not in across.GOALS:
        raise ValueError(f"A goal must be 'minimize' or 'maximize', got {goal!r}.")
    return str(goal).lower()


def _clipped(line: SeriesData, x_range: tuple[float, float]) -> SeriesData:
    """``line`` (and its band) where ``lo <= x <= hi``."""
    x = np.asarray(line.x, dtype=np.float64)
    keep = (x >= x_range[0]) & (x <= x_range[1])

    def cut(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[keep]

    return replace(
        line,
        x=x[keep],
        y=np.asarray(line.y)[keep],
        lower=cut(line.lower),
        upper=cut(line.upper),
        count=cut(line.count),
    )
