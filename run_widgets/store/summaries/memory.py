"""Windowed reads over points held in memory (a source of runs that keeps no summary).

A source that holds a run's point chunks itself (the MLflow bridge's mirror) answers the
same windowed reads as a store, from those chunks: with no stored levels, a window is
read from the points (exact up to ``max_points``, else first/min/max/last buckets of
the window's own points). It costs the points held, not a summary's few rows; that is
the price of a source without one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..entities import ArrayF8, ArrayI8, MetricInfo, PointChunk
from .buckets import Buckets
from .levels import SummaryState, point_data
from .window import MAX_POINTS, PairedSource, SeriesHeader, SeriesWindow, read_window


class ChunkSource:
    """One metric's points held as chunks, as a :class:`~.window.SeriesSource`."""

    def __init__(self, info: MetricInfo, chunks: Sequence[PointChunk]) -> None:
        self.info = info
        self.chunks = sorted(chunks, key=lambda c: c.first_index)
        self.header = SeriesHeader(
            info.id, info.name, info.kind, info.n_points, SummaryState(0, {}), info.columns
        )

    def blocks(self, level: int, numbers: Sequence[int]) -> Buckets:
        """No stored levels."""
        return Buckets.empty()

    def points(
        self, ranges: Sequence[tuple[int, int]], columns: Sequence[str]
    ) -> tuple[ArrayI8, dict[str, ArrayF8]]:
        """Index and ``columns`` of the held points in ``ranges``."""
        index: list[ArrayI8] = []
        data: dict[str, list[ArrayF8]] = {c: [] for c in columns}
        for start, stop in ranges:
            for chunk in self.chunks:
                a = max(start, chunk.first_index) - chunk.first_index
                b = min(stop, chunk.first_index + chunk.n) - chunk.first_index
                if b <= a:
                    continue
                part = point_data(chunk.kind, chunk.steps, chunk.times, chunk.values)
                index.append(np.arange(chunk.first_index + a, chunk.first_index + b))
                for column in columns:
                    found = part.get(column)
                    data[column].append(np.full(b - a, np.nan) if found is None else found[a:b])
        if not index:
            return np.empty(0, dtype=np.int64), {c: np.empty(0) for c in columns}
        return np.concatenate(index), {c: np.concatenate(v) for c, v in data.items()}


def window_of_chunks(
    info: MetricInfo,
    chunks: Sequence[PointChunk],
    x_column: str = "step",
    y_column: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    max_points: int = MAX_POINTS,
) -> SeriesWindow:
    """``read_series_window`` over one metric's held chunks."""
    source = ChunkSource(info, chunks)
    return read_window(source, source.header, x_column, y_column, lo, hi, max_points)


def paired_window_of_chunks(
    info: MetricInfo,
    chunks: Sequence[PointChunk],
    x_info: MetricInfo,
    x_chunks: Sequence[PointChunk],
    lo: float | None = None,
    hi: float | None = None,
    max_points: int = MAX_POINTS,
) -> SeriesWindow:
    """``read_paired_window`` over two metrics' held chunks."""
    y, x = ChunkSource(info, chunks), ChunkSource(x_info, x_chunks)
    source = PairedSource(y, y.header, x, x.header)
    return read_window(source, source.header, x_info.name, None, lo, hi, max_points)
