"""An incremental reader of one run, for the live view, the static fallback and the report.

Each :meth:`RunTracker.poll` reads only what changed since the previous one:

* the run row (while it is active, its liveness check first ends it if its process died:
  see :mod:`.liveness`; the reader itself only reads);
* metric points in chunks newer than the last chunk seen: a metric drawn as a chart is
  never read whole (its lines are windowed reads of the store, and the new points are
  folded into them: see :mod:`.metric_lines`), the others' points are kept;
* children whose change sequence is newer than the last one seen (their metric headers
  come with them, since every metric flush bumps the child's sequence);
* bytes appended to the selected log file.

So the cost of a poll follows the new data, not the run's history, and what a view holds
of a chart is O(its screen points), not O(its points). Everything is read
through a :class:`~run_widgets.views.reader.RunReader`. Nothing here touches widgets or
a kernel; it is tested directly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..exceptions import MetricNotFoundError, RunNotFoundError, UserErrorException
from ..store import MetricInfo, RunRecord, RunStatus, SeriesWindow
from ..store.summaries import MAX_POINTS
from ..store.summaries.window import check_range
from ..tracking.metric_views import MetricHistory
from ..tracking.wait import LogFollower, choose_log
from .liveness import LivenessCheck, liveness_for
from .mapping import RELATIVE, STEP, TIME_AXES, WALL, classify, is_number, numeric_columns
from .metric_lines import LineKey, LineSpec, MetricData, XRange, line_spec, waiting_values
from .reader import RunReader
from .series import LiveSeries

LOG_TAIL_CHARS = 64_000
LOG_FOLDERS = ("logs", "azureml-logs", "user_logs")  # where a run's log files live
SYSTEM_PROPERTIES = frozenset({"ContentSnapshotId"})


@dataclass
class ChildRow:
    """What the child-run table shows of one child."""

    id: str
    number: int
    display_name: str | None
    status: str
    created_at: float
    start_time: float | None
    end_time: float | None
    run_type: str
    tags: Mapping[str, str | None]
    properties: Mapping[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    best: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: RunRecord) -> ChildRow:
        """A row for ``record`` (metrics are filled separately)."""
        return cls(
            id=record.id,
            number=record.number,
            display_name=record.display_name,
            status=record.status,
            created_at=record.created_at,
            start_time=record.start_time,
            end_time=record.end_time,
            run_type=record.run_type,
            tags=dict(record.tags),
            properties={k: v for k, v in record.properties.items() if k not in SYSTEM_PROPERTIES},
        )


@dataclass
class PollChanges:
    """What one poll found new."""

    run_changed: bool = False
    metrics: set[str] = field(default_factory=set)
    new_metrics: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)
    log_files_changed: bool = False
    log_appended: bool = False

    @property
    def anything(self) -> bool:
        """True if the poll found any change."""
        return bool(
            self.run_changed
            or self.metrics
            or self.children
            or self.log_files_changed
            or self.log_appended
        )


class RunTracker:
    """Reads one run incrementally (see the module docstring).

    Args:
        reader: the run's reader.
        log_tail_chars: how much of the end of the selected log is kept.
        liveness: ends the run (and its children) if their process died; default: the
            reader's store's reaper (none for a source without process liveness).
    """

    def __init__(
        self,
        reader: RunReader,
        log_tail_chars: int = LOG_TAIL_CHARS,
        liveness: LivenessCheck | None = None,
    ) -> None:
        self.reader = reader
        self.run_id = reader.run_id
        self.liveness = liveness if liveness is not None else liveness_for(reader)
        record = reader.run()
        if record is None:
            raise RunNotFoundError(f"No run with id {reader.run_id!r} in {reader.location}.")
        if self.liveness is not None and not record.is_terminal:
            record = self.liveness.reap_records([record])[0]
        self.record: RunRecord = record
        self.metrics: dict[str, MetricData] = {}
        self.children: dict[str, ChildRow] = {}
        self.log_files: list[str] = []
        self.selected_log: str | None = None
        self.follow_active_log = True
        self.log_text = ""
        self._log_tail_chars = log_tail_chars
        self._follower: LogFollower | None = None
        self._chunk_cursor = 0
        self._child_seq = 0
        self._active_children: dict[str, int | None] = {}
        self._views: dict[str, str] | None = None  # cached until the metric headers change
        self._infos: list[MetricInfo] | None = None
        self.polls = 0

    # ------------------------------------------------------------------------ polls --
    def poll(self) -> PollChanges:
        """Read what changed since the previous poll."""
        changes = PollChanges()
        self.reader.flush()  # points this process logged but has not written yet
        if self.liveness is not None:  # before the cursor: this poll sees what it ends
            active = dict(self._active_children)
            if not self.record.is_terminal:
                active[self.run_id] = self.record.owner_id
            self.liveness.reap(active)
        seq = self.reader.current_seq()
        self._poll_run(changes)
        self._poll_metrics(changes)
        self._poll_children(changes, seq)
        self._poll_logs(changes)
        self.polls += 1
        return changes

    @property
    def is_terminal(self) -> bool:
        """True once the run is Completed, Failed or Canceled."""
        return self.record.status in RunStatus.TERMINAL

    def _poll_run(self, changes: PollChanges) -> None:
        record = self.reader.run()
        if record is None:
            return
        if record.change_seq != self.record.change_seq or self.polls == 0:
            changes.run_changed = True
        self.record = record

    def _poll_metrics(self, changes: PollChanges) -> None:
        first = self.polls == 0
        if first:  # charts are read as windows when drawn; the cursor starts at the end
            cursor = self.reader.last_chunk_id()
            chunks = []
        else:
            chunks = self.reader.read_chunks(after_chunk_id=self._chunk_cursor)
            if not chunks:
                return
        infos = {info.name: info for info in self.reader.metric_infos()}
        self._views = self._infos = None
        for name, info in infos.items():
            data = self.metrics.get(name)
            if data is None:
                self.metrics[name] = MetricData(info)
                changes.new_metrics.add(name)
                changes.metrics.add(name)
            elif data.info != info:
                data.info = info
                changes.metrics.add(name)
        if first:
            held = [name for name, data in self.metrics.items() if not data.charted]
            chunks = self.reader.read_chunks(names=held) if held else []
            self._chunk_cursor = cursor
        for chunk in chunks:
            data = self.metrics.get(chunk.metric_name)
            if data is None:  # a metric created after its header was read: next poll
                continue
            data.add(chunk)
            changes.metrics.add(chunk.metric_name)
            self._chunk_cursor = max(self._chunk_cursor, chunk.id)
        self._fold_pairs()

    def _fold_pairs(self) -> None:
        """Fold the points both metrics now have into the lines over another metric."""
        needed: dict[str, int] = {}
        for data in self.metrics.values():
            for key, spec, line in data.paired_lines():
                assert spec.partner is not None
                partner = self.metrics.get(spec.partner)
                if partner is None:
                    continue
                stop = min(data.seen, partner.seen)
                if stop > line.covered:
                    y = waiting_values(data.waiting, line.covered, stop)
                    x = waiting_values(partner.waiting, line.covered, stop)
                    if x is None or y is None:  # points not held (e.g. read before): again
                        del data.lines[key], data.specs[key]
                        continue
                    line.extend(np.arange(line.covered, stop, dtype=np.int64), x, y)
                for name in (data.info.name, spec.partner):
                    needed[name] = min(needed.get(name, line.covered), line.covered)
        for name, data in self.metrics.items():
            data.paired = name in needed
            if data.waiting:
                data.release(needed.get(name, data.seen))

    def _poll_children(self, changes: PollChanges, seq: int) -> None:
        # A newly seen active child whose process already died is marked Failed now, not
        # one poll later (one owner lookup per distinct owner process).
        records = self.reader.changed_children(self._child_seq)
        if records and self.liveness is not None:
            records = self.liveness.reap_records(records)
        self._child_seq = seq
        if not records:
            return
        rows = {r.id: ChildRow.from_record(r) for r in records}
        for info in self.reader.metric_infos(rows):
            row = rows[info.run_id]
            if info.kind == "scalar" and info.n_points:
                row.metrics[info.name] = info.last_value
                row.best[info.name] = (info.min_value, info.max_value)
        for record in records:
            self.children[record.id] = rows[record.id]
            changes.children.add(record.id)
            if record.is_terminal:
                self._active_children.pop(record.id, None)
            else:
                self._active_children[record.id] = record.owner_id

    def _poll_logs(self, changes: PollChanges) -> None:
        names = sorted(
            name for folder in LOG_FOLDERS for name in self.reader.file_names(f"{folder}/")
        )
        if names != self.log_files:
            self.log_files = names
            changes.log_files_changed = True
        active = choose_active_log(names)
        if self.follow_active_log and active is not None and active != self.selected_log:
            self.select_log(active)  # reads the file's last part: nothing more to read now
            changes.log_appended = True
        elif self._follower is not None:
            lines = self._follower.read_lines(final=self.is_terminal)
            if lines:
                self._append_log("\n".join(lines) + "\n")
                changes.log_appended = True

    # -------------------------------------------------------------------------- logs --
    def select_log(self, name: str | None) -> None:
        """Show ``name`` (a file of ``log_files``) from its last part onwards."""
        self.selected_log = name
        self.log_text = ""
        if name is None or name not in self.log_files:
            self._follower = None
            return
        reader = self.reader
        self._follower = LogFollower(lambda offset: reader.read_file(name, offset))
        size = reader.file_size(name) or 0
        # Start near the end: only the displayed tail is ever needed.
        self._follower.offset = max(0, size - self._log_tail_chars * 2)
        lines = self._follower.read_lines(final=self.is_terminal)
        if self._follower.offset > len(lines) and size > self._log_tail_chars * 2 and lines:
            lines = lines[1:]  # the first line was cut in the middle
        self._append_log("\n".join(lines) + ("\n" if lines else ""))

    def _append_log(self, text: str) -> None:
        if "\r" in text:  # progress bars (tqdm): keep what a terminal would show
            text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
        combined = self.log_text + text
        if len(combined) > self._log_tail_chars:
            combined = combined[-self._log_tail_chars :]
            cut = combined.find("\n")
            combined = combined[cut + 1 :] if 0 <= cut < 200 else combined
        self.log_text = combined

    # ------------------------------------------------------------------------ access --
    def registered_models(self) -> list[str]:
        """Ids (``name:version``) of the models registered from this run: its lineage."""
        return self.reader.registered_models()

    def infos(self) -> list[MetricInfo]:
        """Metric headers, sorted by lower-cased name (as v1 sorted them).

        Cached until a poll changes a header: callers must not modify the list.
        """
        if self._infos is None:
            self._infos = sorted(
                (d.info for d in self.metrics.values()), key=lambda i: i.name.lower()
            )
        return self._infos

    def history(self, name: str) -> MetricHistory:
        """All points of one metric (a chart's are read from the source: O(its points))."""
        return self.metrics[name].history(lambda: self.reader.read_chunks(names=[name]))

    def chart_xy(
        self, name: str, x_name: str, y_name: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bounded chart arrays of metric ``name`` (column ``y_name`` for tables).

        What the chart draws of its x range (:meth:`set_x_range`; the whole run by
        default): the exact points when the range holds at most ``MAX_POINTS``, else
        buckets of first/min/max/last. ``x_name`` is ``STEP``, a time axis (``INDEX``,
        ``WALL`` in epoch milliseconds, ``RELATIVE`` in seconds since the run started),
        another metric logged in lockstep (paired by index) or, for a table metric, one of
        its columns.
        """
        x, y = self.chart_line(name, x_name, y_name).arrays()
        if x_name == WALL:
            return x * 1000.0, y  # a date axis counts milliseconds
        if x_name == RELATIVE:
            return x - self.start_time, y
        return x, y

    def chart_line(self, name: str, x_name: str, y_name: str | None = None) -> LiveSeries:
        """The line behind :meth:`chart_xy` (its ``exact`` says whether it draws every point).

        A time axis reads the store's ``index`` or ``time`` column (wall time and relative
        time share one line); the x range of a time line is in epoch seconds.
        """
        data = self.metrics[name]
        partner = None
        if x_name == RELATIVE:
            x_name = WALL  # one line over the wall clock; chart_xy moves its origin
        elif x_name not in TIME_AXES and x_name != STEP and data.info.kind not in ("row", "table"):
            found = self.metrics.get(x_name)
            if found is None or found.info.kind in ("row", "table"):
                x_name = STEP
            else:
                partner = found.info
        spec = line_spec(data.info, x_name, y_name, partner)
        key = LineKey(x_name, y_name, data.x_range)
        line = data.line(key, spec, self._window_reader(name))
        if partner is not None:
            data.paired = self.metrics[partner.name].paired = True
        return line

    def _window_reader(self, name: str) -> Callable[[LineSpec, str | None, XRange], SeriesWindow]:
        def read(spec: LineSpec, y_name: str | None, x_range: XRange) -> SeriesWindow:
            lo, hi = x_range if x_range is not None else (None, None)
            if spec.partner is not None:
                return self.reader.read_paired_window(name, spec.partner, lo, hi, MAX_POINTS)
            assert spec.x_column is not None
            return self.reader.read_series_window(name, spec.x_column, y_name, lo, hi, MAX_POINTS)

        return read

    def x_range(self, name: str) -> XRange:
        """The x range the chart of ``name`` draws (``None``: the whole run)."""
        return self.metrics[name].x_range

    def set_x_range(self, name: str, lo: float | None, hi: float | None = None) -> None:
        """Draw the chart of ``name`` over ``lo <= x <= hi`` (``set_x_range(name, None)``: all).

        The range stays while the run grows (new points inside it are drawn); the next
        :meth:`chart_xy` reads it: the exact points when it holds at most ``MAX_POINTS``.

        Raises:
            MetricNotFoundError: the run has no metric ``name``.
            UserErrorException: (a ``ValueError``) the metric is not drawn as a numeric
                chart, or the range is reversed, not finite or has one end only. Nothing
                changes then.
        """
        data = self.metrics.get(name)
        if data is None:
            raise MetricNotFoundError(
                f"Run {self.run_id!r} has no metric {name!r} to zoom; its charts are "
                f"{sorted(n for n, d in self.metrics.items() if d.charted)}."
            )
        if not data.charted:
            raise UserErrorException(
                f"Metric {name!r} is not a numeric series drawn as a chart (it is shown as "
                f"{classify(data.info)!r}): it has no x range."
            )
        if lo is None and hi is None:
            data.set_range(None)
            return
        if lo is None or hi is None:
            raise UserErrorException(
                f"The x range of {name!r} needs both ends (or None to show the whole run)."
            )
        check_range(name, lo, hi)
        data.set_range((float(lo), float(hi)))

    def table_columns(self, name: str) -> list[str]:
        """Numeric columns of a row/table metric."""
        return numeric_columns(self.metrics[name].info.last_value)

    def views(self) -> Mapping[str, str]:
        """The view of every metric (property, line, line2, table, image, artifact).

        Cached until a poll changes a metric header (a read-only mapping).
        """
        if self._views is None:
            self._views = {info.name: classify(info) for info in self.infos()}
        return MappingProxyType(self._views)

    @property
    def start_time(self) -> float:
        """When the run started (its creation while it has not): relative time's origin."""
        record = self.record
        return record.start_time if record.start_time is not None else record.created_at

    def duration(self, now: float | None = None) -> float | None:
        """Seconds from creation (queue time included, as v1) to end or now."""
        record = self.record
        end = record.end_time if record.end_time is not None else (now or time.time())
        return max(0.0, end - record.created_at)


def choose_active_log(names: list[str]) -> str | None:
    """The log to follow: the driver log, else the last-named ``logs/*.txt`` file.

    Logs uploaded under v1's folders (``azureml-logs/70_driver_log.txt``, ``user_logs/``)
    follow v1's rule: the first file of the highest-numbered group (files are grouped by
    the first number in their path; a path without a number comes first).
    """
    chosen = choose_log(names)
    if chosen is not None or not names:
        return chosen
    texts = [n for n in names if n.endswith((".txt", ".log"))] or names

    def group(name: str) -> int:
        match = re.search(r"\d+", name.rsplit("/", 1)[-1])
        return int(match.group()) if match else -1

    top = max(group(n) for n in texts)
    return min(n for n in texts if group(n) == top)


def numeric_value(value: Any) -> float | None:
    """``value`` as a float if it is a number, else ``None``."""
    return float(value) if is_number(value) else None
