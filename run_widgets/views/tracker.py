"""An incremental reader of one run, for the live view, the static fallback and the report.

Each :meth:`RunTracker.poll` reads only what changed since the previous one:

* the run row (while it is active, its liveness check first ends it if its process died:
  see :mod:`.liveness`; the reader itself only reads);
* metric points in chunks newer than the last chunk seen;
* children whose change sequence is newer than the last one seen (their metric headers
  come with them, since every metric flush bumps the child's sequence);
* bytes appended to the selected log file.

So the cost of a poll follows the new data, not the run's history. Everything is read
through a :class:`~run_widgets.views.reader.RunReader`. Nothing here touches widgets or
a kernel; it is tested directly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..exceptions import RunNotFoundError
from ..store import MetricInfo, PointChunk, RunRecord, RunStatus
from ..tracking.metric_views import MetricHistory, history
from ..tracking.wait import LogFollower, choose_log
from .liveness import LivenessCheck, liveness_for
from .mapping import STEP, as_float, classify, is_number, numeric_columns
from .reader import RunReader
from .sampler import SeriesSampler

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


class _MetricData:
    """Accumulated points of one metric: raw blocks plus bounded chart samplers."""

    def __init__(self, info: MetricInfo) -> None:
        self.info = info
        self.chunks: list[PointChunk] = []
        self.samplers: dict[tuple[str, str], SeriesSampler] = {}
        # Against another metric (mse over alpha): the sampler and how many pairs it holds.
        self.pairs: dict[str, tuple[SeriesSampler, int]] = {}
        self.count = 0

    def add(self, chunk: PointChunk) -> None:
        fresh = chunk.since(self.count)  # a compacted chunk may repeat points held
        if fresh is None:
            return
        chunk = fresh
        self.chunks.append(chunk)
        self.count += chunk.n
        for (x_name, y_name), sampler in self.samplers.items():
            x, y = self._xy(chunk, x_name, y_name)
            sampler.extend(x, y)

    @staticmethod
    def _xy(chunk: PointChunk, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(chunk.values, dict):
            y = as_float(chunk.values.get(y_name, [None] * chunk.n))
            x = (
                chunk.steps.astype(np.float64)
                if x_name == STEP
                else as_float(chunk.values.get(x_name, [None] * chunk.n))
            )
            return x, y
        return chunk.steps.astype(np.float64), as_float(chunk.values)

    def sampler(self, x_name: str, y_name: str) -> SeriesSampler:
        """The sampler of column ``y_name`` against ``x_name`` (built on first use)."""
        key = (x_name, y_name)
        sampler = self.samplers.get(key)
        if sampler is None:
            sampler = SeriesSampler()
            for chunk in self.chunks:
                x, y = self._xy(chunk, x_name, y_name)
                sampler.extend(x, y)
            self.samplers[key] = sampler
        return sampler

    def values_from(self, start: int) -> np.ndarray:
        """Values (as float) of the points from index ``start`` on (only the chunks needed)."""
        parts = []
        for chunk in reversed(self.chunks):
            if chunk.first_index + chunk.n <= start:
                break
            parts.append(as_float(chunk.values)[max(0, start - chunk.first_index) :])
        parts.reverse()
        return np.concatenate(parts) if parts else np.empty(0)

    def against(self, partner: _MetricData) -> SeriesSampler:
        """The sampler of this metric over ``partner``'s values, paired by index.

        It grows with the new pairs only, so a refresh costs the new points, not the history.
        """
        sampler, done = self.pairs.get(partner.info.name, (SeriesSampler(), 0))
        n = min(self.count, partner.count)
        if n > done:
            sampler.extend(
                partner.values_from(done)[: n - done], self.values_from(done)[: n - done]
            )
        self.pairs[partner.info.name] = (sampler, n)
        return sampler

    def history(self) -> MetricHistory:
        return history(self.info.name, self.info.kind, self.chunks)


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
        self.metrics: dict[str, _MetricData] = {}
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
        chunks = self.reader.read_chunks(after_chunk_id=self._chunk_cursor)
        if not chunks and self.polls:
            return
        infos = {info.name: info for info in self.reader.metric_infos()}
        self._views = self._infos = None
        for name, info in infos.items():
            data = self.metrics.get(name)
            if data is None:
                self.metrics[name] = _MetricData(info)
                changes.new_metrics.add(name)
                changes.metrics.add(name)
            elif data.info != info:
                data.info = info
                changes.metrics.add(name)
        for chunk in chunks:
            self.metrics[chunk.metric_name].add(chunk)
            changes.metrics.add(chunk.metric_name)
            self._chunk_cursor = max(self._chunk_cursor, chunk.id)

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
        """All points of one metric read so far."""
        return self.metrics[name].history()

    def chart_xy(
        self, name: str, x_name: str, y_name: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bounded chart arrays of metric ``name`` (column ``y_name`` for tables)."""
        data = self.metrics[name]
        if x_name != STEP and data.info.kind not in ("row", "table"):
            partner = self.metrics.get(x_name)
            if partner is None or partner.info.kind in ("row", "table"):
                x_name = STEP
            else:
                return data.against(partner).arrays()
        return data.sampler(x_name, y_name or name).arrays()

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
