"""Multi-resolution summaries of numeric series, and windowed reads drawn from them.

A long training logs millions of points per metric; a chart shows a few thousand pixels.
Every numeric series (a ``log`` metric over its steps, ``log_list`` over its index, each
numeric column of ``log_row``/``log_table``, wall time) is summarized as it is stored:
levels of buckets holding the first, last, minimum and maximum of the points they cover
(:mod:`.buckets`), packed into blocks beside the points (:mod:`.levels`). A windowed read
(:mod:`.window`) then answers "what to draw of this x range" from O(pixels) rows: the
exact points when the range holds few enough, else the buckets of the finest level that
fits, every extreme kept.

The store backends keep summaries in the transaction that stores the points (the SQL
stores: :mod:`run_widgets.store.sql.summaries`), so they never disagree with the points.
"""

from __future__ import annotations

from .buckets import INDEX, Buckets, Columns, Field, bucketize, coarsen, m4, merge
from .levels import (
    BLOCK,
    BUCKET,
    FANOUT,
    SUMMARIZED_KINDS,
    SummaryState,
    columns_for,
    fold,
    n_levels,
    point_data,
    size,
)
from .window import MAX_POINTS, SeriesHeader, SeriesSource, SeriesWindow, read_window

__all__ = [
    "BLOCK",
    "BUCKET",
    "FANOUT",
    "INDEX",
    "MAX_POINTS",
    "SUMMARIZED_KINDS",
    "Buckets",
    "Columns",
    "Field",
    "SeriesHeader",
    "SeriesSource",
    "SeriesWindow",
    "SummaryState",
    "bucketize",
    "coarsen",
    "columns_for",
    "fold",
    "m4",
    "merge",
    "n_levels",
    "point_data",
    "read_window",
    "size",
]
