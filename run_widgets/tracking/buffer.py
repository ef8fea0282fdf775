"""In-memory buffer of metric points logged to one run and not yet written to the store.

``Run.log`` must cost about a microsecond, so its fast path only appends to two lists
under a lock (see ``RunLogger.log``); every check runs once per metric name, on the first call.
The background flusher calls :meth:`RunBuffer.drain` at least once a second and turns what
accumulated into packed ``AppendPoints`` operations, one per metric.

Layer: tracking (imports the store's write ops; the runtime's flusher drains it).
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import numpy as np

from ..store.entities import AUTO_STEP, AppendPoints, MetricKind


class Series:
    """Pending points of one metric.

    ``vtype`` is the Python type of the values so far when they all share one (the fast
    path of ``Run.log`` requires it); ``None`` once types are mixed. ``steps`` stays
    ``None`` while no explicit step was given since the last drain.
    """

    __slots__ = ("description", "kind", "name", "steps", "times", "values", "vtype")

    def __init__(self, name: str, kind: MetricKind, description: str = "") -> None:
        self.name = name
        self.kind: MetricKind = kind
        self.description = description
        self.vtype: type | None = None
        self.values: list[Any] = []
        self.steps: list[int] | None = None
        self.times: list[float] = []


class RunBuffer:
    """Pending points of one run, shared by every ``Run`` object of that run in a process.

    Attributes:
        lock: guards every list of every series; hold it for appends and for drains.
        scalars: series logged with ``run.log``, by name (read by the fast path).
        others: list/row/table series, by name.
        kinds: the kind of every metric name this process knows about for the run.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.lock = threading.Lock()
        self._writer = ""
        self._writer_pid = 0
        self._seq = 0
        self.attempt: int | None = None  # see ``RunCore.execute_attempt``
        self.scalars: dict[str, Series] = {}
        self.others: dict[str, Series] = {}
        self.kinds: dict[str, MetricKind] = {}

    def append_scalar(self, series: Series, value: Any, step: int | None, now: float) -> None:
        """Slow-path append of one ``run.log`` point (steps or a new value type)."""
        with self.lock:
            if not series.values:
                series.vtype = type(value)  # each drained batch is typed on its own
            elif type(value) is not series.vtype:
                series.vtype = None
            if step is not None and series.steps is None:
                series.steps = [AUTO_STEP] * len(series.values)
            series.values.append(value)
            series.times.append(now)
            if series.steps is not None:
                series.steps.append(AUTO_STEP if step is None else step)

    def append_block(self, series: Series, block: Any, now: float) -> None:
        """Append a whole ``log_list`` array/list or a row/table column dict."""
        with self.lock:
            series.values.append(block)
            series.times.append(now)

    def has_pending(self) -> bool:
        """True if a drain would produce anything."""
        with self.lock:
            return any(s.values for s in self.scalars.values()) or any(
                s.values for s in self.others.values()
            )

    def drain(self) -> list[AppendPoints]:
        """Take every pending point and return the operations that store them.

        Each operation gets this buffer's writer id and the next sequence number: the store
        applies each (writer, seq) once (``AppendPoints``). The id is new in a forked
        child, whose copy of the buffer must not reuse its parent's numbers.
        """
        taken: list[tuple[Series, list[Any], list[int] | None, list[float]]] = []
        with self.lock:
            for series in (*self.scalars.values(), *self.others.values()):
                if series.values:
                    taken.append((series, series.values, series.steps, series.times))
                    series.values, series.steps, series.times = [], None, []
            if taken and self._writer_pid != os.getpid():
                self._writer, self._writer_pid, self._seq = uuid.uuid4().hex, os.getpid(), 0
            first = self._seq + 1
            self._seq += len(taken)  # a batch dropped below leaves a gap: harmless
        ops = []
        for seq, (series, values, steps, times) in enumerate(taken, first):
            # An append interrupted between its list appends (an exception raised by a
            # signal handler) can leave the lists one apart: drop that half-added point.
            n = min(len(values), len(times), len(values) if steps is None else len(steps))
            if n == 0:
                continue
            if n < len(values) or n < len(times) or (steps is not None and n < len(steps)):
                values, times = values[:n], times[:n]
                steps = None if steps is None else steps[:n]
            ops.append(self._to_op(series, values, steps, times, seq))
        return ops

    def _to_op(
        self,
        series: Series,
        values: list[Any],
        steps: list[int] | None,
        times: list[float],
        seq: int,
    ) -> AppendPoints:
        kind = series.kind
        if kind in ("scalar", "image", "artifact"):
            packed: Any = _pack_scalars(values, series.vtype)
            time_array = np.asarray(times, dtype=np.float64)
            step_array = None if steps is None else np.asarray(steps, dtype=np.int64)
        elif kind == "list":
            packed = _concat_blocks(values)
            counts = [len(block) for block in values]
            time_array = np.repeat(np.asarray(times, dtype=np.float64), counts)
            step_array = None
        else:
            packed = _merge_tables(values)
            counts = [len(next(iter(block.values()))) for block in values]
            time_array = np.repeat(np.asarray(times, dtype=np.float64), counts)
            step_array = None
        return AppendPoints(
            run_id=self.run_id,
            name=series.name,
            kind=kind,
            values=packed,
            times=time_array,
            steps=step_array,
            description=series.description,
            writer=self._writer,
            seq=seq,
            attempt=self.attempt,
        )


def _pack_scalars(values: list[Any], vtype: type | None) -> Any:
    if vtype is float:
        return np.asarray(values, dtype=np.float64)
    if vtype is bool:
        return np.asarray(values, dtype=bool)
    if vtype is int:
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            return values
    return values


def _concat_blocks(blocks: list[Any]) -> Any:
    # Only same-kind blocks are joined as one array: joining an int block with a float
    # block would turn the ints into floats, so the types read back would depend on
    # whether two log_list calls happened to share a flush.
    if (
        all(isinstance(b, np.ndarray) and b.dtype.kind in "fiub" for b in blocks)
        and len({b.dtype.kind for b in blocks}) == 1
    ):
        return np.concatenate(blocks)
    merged: list[Any] = []
    for block in blocks:
        merged.extend(block.tolist() if isinstance(block, np.ndarray) else block)
    return merged


def _merge_tables(blocks: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    if len(blocks) == 1:
        return blocks[0]
    columns: list[str] = []
    for block in blocks:
        for column in block:
            if column not in columns:
                columns.append(column)
    merged: dict[str, list[Any]] = {column: [] for column in columns}
    for block in blocks:
        length = len(next(iter(block.values())))
        for column in columns:
            merged[column].extend(block.get(column, [None] * length))
    return merged
