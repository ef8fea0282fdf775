"""Stored point chunks turned into what users ask for.

That is: v1 ``get_metrics`` shapes, numpy histories and pandas frames.

Shapes (``get_metrics``), with the deliberate fixes of v1 quirks marked *fix*:

==========================  =====================================================
logged as                   value
==========================  =====================================================
``log`` once / N times      scalar / list in logging order
``log_list``                list, always (*fix*: one element stays a list)
``log_row`` once / N times  dict of scalars / dict of lists
``log_table``               dict of lists, always (*fix*)
``log_image``, JSON calls   ``aml://artifactId/ExperimentRun/dcid.<run>/<file>``
                            (a list when logged several times)
==========================  =====================================================

Layer: tracking (imports the store's entities).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..store import MetricInfo, PointChunk

if TYPE_CHECKING:
    import pandas as pd

ARTIFACT_URI = "aml://artifactId/ExperimentRun/dcid.{run_id}/{path}"
_TABLE_KINDS = ("row", "table")


@dataclass(frozen=True)
class MetricHistory:
    """Every point of one metric as numpy arrays.

    Attributes:
        name: the metric name.
        kind: how it was logged (``scalar``, ``list``, ``row``, ``table``, ``image``, ...).
        steps: int64 step of each point.
        times: float64 seconds since the epoch when each point was logged.
        values: float64 for numeric series, an object array otherwise; for row/table
            metrics a dict of column arrays.
    """

    name: str
    kind: str
    steps: np.ndarray
    times: np.ndarray
    values: Any

    def __len__(self) -> int:
        return len(self.steps)

    def to_frame(self) -> pd.DataFrame:
        """The points as a DataFrame with columns step, time, value (or one per column)."""
        import pandas as pd

        frame: pd.DataFrame = pd.DataFrame(
            {"step": self.steps, "time": pd.to_datetime(self.times, unit="s")}
        )
        if isinstance(self.values, dict):
            for column, values in self.values.items():
                frame[column] = values
        else:
            frame["value"] = self.values
        return frame


def group_chunks(chunks: Iterable[PointChunk]) -> dict[str, list[PointChunk]]:
    """Chunks by metric name, in write order."""
    grouped: dict[str, list[PointChunk]] = {}
    for chunk in chunks:
        grouped.setdefault(chunk.metric_name, []).append(chunk)
    return grouped


def history(name: str, kind: str, chunks: Sequence[PointChunk]) -> MetricHistory:
    """Concatenate one metric's chunks into a :class:`MetricHistory`."""
    if not chunks:
        empty = np.empty(0)
        return MetricHistory(name, kind, empty.astype(np.int64), empty, empty)
    steps = np.concatenate([c.steps for c in chunks])
    times = np.concatenate([c.times for c in chunks])
    if kind in _TABLE_KINDS:
        values: Any = {
            column: np.asarray(cells, dtype=object) for column, cells in _table(chunks).items()
        }
        for column, cells in values.items():
            values[column] = _numeric_if_possible(cells)
    else:
        values = _concat_values([c.values for c in chunks])
    return MetricHistory(name, kind, steps, times, values)


def _concat_values(blocks: list[Any]) -> np.ndarray:
    if all(isinstance(b, np.ndarray) for b in blocks):
        kinds = {b.dtype.kind for b in blocks}
        if kinds == {"b"}:
            return np.concatenate(blocks)
        return np.concatenate([b.astype(np.float64, copy=False) for b in blocks])
    merged: list[Any] = []
    for block in blocks:
        merged.extend(block.tolist() if isinstance(block, np.ndarray) else block)
    return _numeric_if_possible(np.asarray(merged, dtype=object))


def _numeric_if_possible(values: np.ndarray) -> np.ndarray:
    if values.dtype != object:
        return values
    if all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.tolist()
    ) and len(values):
        return values.astype(np.float64)
    return values


def _table(chunks: Sequence[PointChunk]) -> dict[str, list[Any]]:
    columns: list[str] = []
    for chunk in chunks:
        for column in chunk.values:
            if column not in columns:
                columns.append(column)
    merged: dict[str, list[Any]] = {column: [] for column in columns}
    for chunk in chunks:
        for column in columns:
            merged[column].extend(chunk.values.get(column, [None] * chunk.n))
    return merged


def native_values(chunks: Sequence[PointChunk]) -> list[Any]:
    """Values of a scalar/list metric as Python objects, each with its logged type."""
    values: list[Any] = []
    for chunk in chunks:
        block = chunk.values
        values.extend(block.tolist() if isinstance(block, np.ndarray) else block)
    return values


def v1_value(info: MetricInfo, chunks: Sequence[PointChunk], run_id: str) -> Any:
    """The ``get_metrics`` value of one metric (see the module docstring)."""
    kind = info.kind
    if kind in _TABLE_KINDS:
        table = _table(chunks)
        if kind == "row" and info.n_points == 1:
            return {column: cells[0] for column, cells in table.items()}
        return table
    values = native_values(chunks)
    if kind in ("image", "artifact"):
        values = [ARTIFACT_URI.format(run_id=run_id, path=path) for path in values]
    if kind == "list":
        return values
    return values[0] if len(values) == 1 else values


def metrics_frame(
    run_id: str, infos: Sequence[MetricInfo], chunks: Sequence[PointChunk]
) -> pd.DataFrame:
    """Long-format DataFrame: one row per point with run_id, name, step, value, time.

    Row/table metrics contribute one row per cell, named ``<metric>.<column>``.
    """
    import pandas as pd

    kinds = {info.name: info.kind for info in infos}
    frames = []
    for name, group in group_chunks(chunks).items():
        hist = history(name, kinds.get(name, "scalar"), group)
        time = pd.to_datetime(hist.times, unit="s", utc=True)
        if isinstance(hist.values, dict):
            for column, values in hist.values.items():
                frames.append(
                    pd.DataFrame(
                        {
                            "name": f"{name}.{column}",
                            "step": hist.steps,
                            "value": values,
                            "time": time,
                        }
                    )
                )
        else:
            frames.append(
                pd.DataFrame({"name": name, "step": hist.steps, "value": hist.values, "time": time})
            )
    columns = ["run_id", "name", "step", "value", "time"]
    if not frames:
        return pd.DataFrame(columns=columns)  # type: ignore[no-any-return]
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "run_id", run_id)
    return frame[columns]  # type: ignore[no-any-return]
