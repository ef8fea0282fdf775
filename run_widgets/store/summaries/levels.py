"""The stored summary of a metric: levels of buckets, packed into blocks, kept up to date.

Level 1 has a bucket for every ``BUCKET`` (256) points of the metric; each level above
has buckets ``FANOUT`` (4) times larger (1,024 points, 4,096, …). Bucket ``k`` of level
``ℓ`` covers the points with index ``k·size(ℓ) <= i < (k+1)·size(ℓ)``. Levels are added
while the level below has more than ``BLOCK`` buckets, so the top level always fits in
one block (64 buckets) and a window read starts from one row.

Storage: the *complete* buckets of a level are packed ``BLOCK`` to a row (``summaries``:
metric, level, block number, packed fields), and the last, partial bucket of every level
(the *tails*) travels with the metric's header row. A block row is written when buckets
of its level complete, and only the last block of a level is ever rewritten. A summary
costs about 3 % of the points it covers (18 floats per 256 scalar points, plus a third
for the levels above).

Buckets are merged as a matrix (:mod:`.buckets`), so a fold costs a few dozen numpy
operations plus O(points); the write path therefore folds a batch at a time (see
``store/sql/summaries.py``), and points appended in between are read as they are.

:func:`fold` is the one way a summary grows, for the write path (in the same transaction
as the points: a killed writer leaves summaries consistent with the stored points) and
for the lazy build of metrics logged before summaries existed (the same fold over their
stored chunks, in batches).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..entities import TABLE_KINDS, ArrayF8, ArrayI8
from .buckets import Buckets, Columns, Field, bucketize, extend, merge

BUCKET = 256
"""Points per bucket of level 1."""
FANOUT = 4
"""Buckets of a level per bucket of the level above."""
BLOCK = 64
"""Buckets per stored block; also the most buckets the top level holds."""
PAIRED_TABLE_COLUMNS = 6
"""A table's first columns whose value at every y extreme is kept (see ``buckets``)."""
SUMMARIZED_KINDS = frozenset({"scalar", "list", "row", "table"})
"""Kinds of metric whose points are summarized (images and artifacts are not series)."""

VALUE, STEP, TIME = "#value", "#step", "#time"
"""Column ids of a series' value, step and wall-clock time; table columns are ``=<name>``."""


def size(level: int) -> int:
    """Points per bucket of ``level`` (1, 2, …)."""
    return int(BUCKET * FANOUT ** (level - 1))


def n_levels(n_points: int) -> int:
    """How many levels summarize ``n_points`` points (0 for none)."""
    if n_points <= 0:
        return 0
    level = 1
    while -(-n_points // size(level)) > BLOCK:
        level += 1
    return level


def table_column(name: str) -> str:
    """The column id of table column ``name``."""
    return "=" + name


def columns_for(kind: str, table_columns: Sequence[str]) -> Columns:
    """What the buckets of a metric of ``kind`` summarize (a table: its columns so far)."""
    if kind in TABLE_KINDS:
        own = tuple(table_column(c) for c in table_columns)
        return Columns(
            columns=(*own, STEP, TIME),
            ys=own,
            xs=(STEP, TIME, *own[:PAIRED_TABLE_COLUMNS]),
        )
    return Columns(columns=(VALUE, STEP, TIME), ys=(VALUE,), xs=(STEP, TIME))


def as_numbers(values: object) -> ArrayF8:
    """Values as float64: numbers as they are, anything else (text, None, bools) as NaN."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "fiu":
            return values.astype(np.float64, copy=False)
        items = values.tolist()
    else:
        items = list(values)  # type: ignore[call-overload]
    return np.array(
        [
            float(v)
            if isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, (bool, np.bool_))
            else np.nan
            for v in items
        ],
        dtype=np.float64,
    )


def point_data(kind: str, steps: ArrayI8, times: ArrayF8, values: object) -> dict[str, ArrayF8]:
    """The numeric columns of appended points, by column id."""
    data = {STEP: np.asarray(steps, dtype=np.float64), TIME: np.asarray(times, dtype=np.float64)}
    if kind in TABLE_KINDS:
        assert isinstance(values, Mapping)
        for name, cells in values.items():
            data[table_column(str(name))] = as_numbers(cells)
    else:
        data[VALUE] = as_numbers(values)
    return data


# -- packing -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _header(keys: tuple[Field, ...], bounds: bool) -> bytes:
    text = json.dumps({"fields": [list(k) for k in keys], "bounds": bounds}).encode("ascii")
    return len(text).to_bytes(4, "little") + text


@functools.lru_cache(maxsize=256)
def _parse(header: bytes) -> tuple[tuple[Field, ...], bool]:
    parsed = json.loads(header)
    return tuple(tuple(k) for k in parsed["fields"]), bool(parsed["bounds"])


def encode(buckets: Buckets, bounds: bool = False) -> bytes:
    """Pack buckets into a blob: a JSON header naming the fields, then the float64 matrix.

    ``bounds`` keeps each bucket's index range too (block rows leave it out: a block's
    place says it).
    """
    matrix = buckets.matrix
    if bounds:
        matrix = np.column_stack([buckets.start, buckets.end, matrix]).astype(np.float64)
    body = np.ascontiguousarray(matrix, dtype="<f8").tobytes()
    return _header(buckets.keys, bounds) + body


def decode(blob: bytes, start: ArrayI8 | None = None, end: ArrayI8 | None = None) -> Buckets:
    """Inverse of :func:`encode`; a block's index ranges are given as ``start``/``end``."""
    data = bytes(blob)
    length = int.from_bytes(data[:4], "little")
    keys, bounds = _parse(data[4 : 4 + length])
    width = len(keys) + (2 if bounds else 0)
    body = np.frombuffer(data, dtype="<f8", offset=4 + length).reshape(-1, max(1, width))
    if bounds:
        start, end = body[:, 0].astype(np.int64), body[:, 1].astype(np.int64)
        body = body[:, 2:]
    assert start is not None and end is not None
    return Buckets(start, end, keys, body[:, : len(keys)])


def block_buckets(blob: bytes, level: int, block: int, n: int) -> Buckets:
    """The ``n`` complete buckets of a stored block."""
    first = (block * BLOCK + np.arange(n, dtype=np.int64)) * size(level)
    return decode(blob, first, first + size(level))


@dataclass
class SummaryState:
    """How far a metric's summary goes, and the last, partial bucket of each level.

    Attributes:
        n: points summarized (indices ``0 … n-1``).
        tails: by level, that level's partial last bucket (a level whose buckets are all
            complete has none).
    """

    n: int
    tails: dict[int, Buckets]

    def encode_tails(self) -> bytes | None:
        """The tails as one blob for the metric's header row (``None``: no tails)."""
        if not self.tails:
            return None
        levels = sorted(self.tails)
        packed = Buckets.concat([self.tails[level] for level in levels])
        return json.dumps(levels).encode("ascii") + b"\n" + encode(packed, bounds=True)

    @classmethod
    def of(cls, n: int, blob: bytes | None) -> SummaryState:
        """The state stored as ``n`` (points summarized) and the tails blob."""
        if not blob:
            return cls(n, {})
        data = bytes(blob)
        cut = data.index(b"\n")
        levels = json.loads(data[:cut])
        packed = decode(data[cut + 1 :])
        return cls(n, {level: packed.take(slice(i, i + 1)) for i, level in enumerate(levels)})


BlockLoader = Callable[[int, Sequence[int]], Buckets]
"""``load(level, block numbers)``: the complete buckets stored in those blocks, in order."""


def fold(
    state: SummaryState,
    data: Mapping[str, ArrayF8],
    columns: Columns,
    load: BlockLoader,
) -> tuple[SummaryState, dict[tuple[int, int], Buckets]]:
    """Add the next points (``state.n`` on) to a summary.

    Args:
        state: the summary so far.
        data: the new points' columns (see :func:`point_data`), all of one length.
        columns: what to summarize (:func:`columns_for`).
        load: reads stored blocks (called only for a block that gets more buckets and for
            a level that is created now).

    Returns:
        The new state and the blocks to store, by ``(level, block number)``, each with
        all the complete buckets that block holds now.
    """
    n_new = len(next(iter(data.values()))) if data else 0
    if n_new == 0:
        return state, {}
    before, after = state.n, state.n + n_new
    old_levels, new_levels = n_levels(before), n_levels(after)
    cache: dict[tuple[int, int], Buckets] = {}

    def stored(level: int, first: int, stop: int) -> Buckets:
        """Complete stored buckets ``first … stop-1`` of ``level`` (through ``load``)."""
        if stop <= first:
            return Buckets.empty()
        blocks = list(range(first // BLOCK, (stop - 1) // BLOCK + 1))
        missing = [b for b in blocks if (level, b) not in cache]
        if missing:
            loaded = load(level, missing)
            for b in missing:
                keep = (loaded.start // (size(level) * BLOCK)) == b
                cache[(level, b)] = loaded.take(keep)
        held = Buckets.concat([cache[(level, b)] for b in blocks])
        number = held.start // size(level)
        return held.take((number >= first) & (number < stop))

    index = np.arange(before, after, dtype=np.int64)
    if before and before % BUCKET + n_new < BUCKET and old_levels == new_levels:
        return _fold_into_tails(state, index, data, columns), {}
    fresh = bucketize(index, data, columns, index // BUCKET)
    levels: dict[int, Buckets] = {}
    for level in range(1, new_levels + 1):
        width = size(level)
        if level == 1:
            parts = [state.tails.get(1, Buckets.empty()), fresh]
        elif level <= old_levels:
            parts = [state.tails.get(level, Buckets.empty()), levels[level - 1]]
        else:  # a new level: built from the whole level below
            below = level - 1
            parts = [stored(below, 0, before // size(below)), levels[below]]
        joined = Buckets.concat(parts)
        levels[level] = merge(joined, joined.start // width)
    tails: dict[int, Buckets] = {}
    writes: dict[tuple[int, int], Buckets] = {}
    for level, buckets in levels.items():
        width = size(level)
        complete = buckets.count == width
        if not complete[-1]:
            tails[level] = buckets.take(slice(len(buckets) - 1, len(buckets)))
        done = buckets.take(complete)
        if not len(done):
            continue
        # The first block written may hold complete buckets already: it is rewritten whole.
        first = int(done.start[0]) // width
        if level <= old_levels:
            done = Buckets.concat([stored(level, first - first % BLOCK, first), done])
        block_of = done.start // (width * BLOCK)
        for block in np.unique(block_of):
            writes[(level, int(block))] = done.take(block_of == block)
    return SummaryState(after, tails), writes


def _fold_into_tails(
    state: SummaryState, index: ArrayI8, data: Mapping[str, ArrayF8], columns: Columns
) -> SummaryState:
    """A few points that complete no bucket: every level's last bucket takes them.

    The usual append of a live run (a flush of a few points per metric): one bucket of
    the new points, merged into every level's partial bucket at once.
    """
    fresh = bucketize(index, data, columns, np.zeros(len(index), dtype=np.int64))
    levels = range(1, n_levels(state.n) + 1)
    held = [level for level in levels if level in state.tails]
    tails = dict.fromkeys(levels, fresh)  # a level whose buckets were all complete
    if held:
        grown = extend(Buckets.concat([state.tails[level] for level in held]), fresh)
        tails.update({level: grown.take(slice(i, i + 1)) for i, level in enumerate(held)})
    return SummaryState(int(index[-1]) + 1, tails)
