"""Buckets: the first, last, minimum and maximum of consecutive points of one metric.

A bucket covers the points of a metric with index ``start <= i < end`` (its position in
the metric's history) and keeps, for every numeric column of those points (the value,
the step, the time, each numeric column of a table):

* ``first`` and ``last``: the column's value at the bucket's first and last point;
* ``min`` and ``max``: its smallest and largest finite value (NaN when it has none);

and for every column charted as *y* (the value; each column of a table):

* ``imin`` / ``imax``: the index of the point holding that minimum / maximum (the
  earliest such point on a tie);
* ``vmin`` / ``vmax``: the value of each *x* column (step, time, the first columns of a
  table) at that point, so that drawing a bucket as first/min/max/last (the M4
  aggregation: pixel-exact for a line chart when a bucket is one pixel column wide) puts
  the extremes where they are.

All of these are exact (no rounding, no sampling) and merge exactly: the buckets of two
overlapping or adjacent index ranges merge into the bucket of their union, whatever
overlaps (every statistic is idempotent), which is how the levels of
:mod:`.levels` are built and how a live view folds in new points.

Buckets are a float64 matrix (one row a bucket, one column a field), so that building
and merging them is a handful of numpy operations whatever the number of fields: the
write path runs them for every flush. A field a set of buckets lacks reads as NaN,
which is what it means (a table column that did not exist yet has no value).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..entities import ArrayF8, ArrayI8

Field = tuple[str, ...]
"""``("first"|"last"|"min"|"max", column)``, ``("imin"|"imax", y)``, ``("vmin"|"vmax", y, x)``."""

STATS = ("first", "last", "min", "max")
"""The statistics every column has."""

INDEX = "#index"
"""The pseudo-column of point positions (never stored: a bucket's index range says it)."""

STACK_BELOW = 4096
"""Below this many points, :func:`bucketize` works on all columns at once."""


@dataclass(frozen=True)
class Columns:
    """Which columns of a metric's points the buckets summarize.

    Attributes:
        columns: every numeric column (column ids: ``#value``, ``#step``, ``#time``,
            ``=<name>`` for a table column).
        ys: the columns charted as y (extremes located by index and x).
        xs: the x columns whose values at each y extreme are kept.
    """

    columns: tuple[str, ...]
    ys: tuple[str, ...]
    xs: tuple[str, ...]

    def fields(self, present: Sequence[str] | None = None) -> tuple[Field, ...]:
        """The fields of these columns (only of ``present`` ones, if given), in order."""
        have = set(self.columns if present is None else present)
        out: list[Field] = [(stat, c) for c in self.columns if c in have for stat in STATS]
        for y in self.ys:
            if y not in have:
                continue
            out += [("imin", y), ("imax", y)]
            out += [
                (kind, y, x) for x in self.xs if x != y and x in have for kind in ("vmin", "vmax")
            ]
        return tuple(out)


@dataclass(frozen=True)
class _Layout:
    """Where each kind of field sits in a bucket matrix with these keys."""

    index: dict[Field, int]
    first: ArrayI8
    last: ArrayI8
    min: ArrayI8
    max: ArrayI8
    # Per y extreme: its kind, the column of the extreme, of its index, and of what goes
    # with it (the index and the x values there).
    extremes: tuple[tuple[str, int, int, ArrayI8], ...]


@functools.lru_cache(maxsize=512)
def _layout(keys: tuple[Field, ...]) -> _Layout:
    index = {key: i for i, key in enumerate(keys)}

    def where(stat: str) -> ArrayI8:
        return np.array([i for i, k in enumerate(keys) if k[0] == stat], dtype=np.int64)

    extremes = []
    for i, key in enumerate(keys):
        if key[0] in ("imin", "imax") and (key[0][1:], key[1]) in index:
            kind, y = key[0][1:], key[1]
            with_it = [i] + [j for j, k in enumerate(keys) if k[0] == f"v{kind}" and k[1] == y]
            extremes.append((kind, index[(kind, y)], i, np.array(with_it, dtype=np.int64)))
    return _Layout(
        index, where("first"), where("last"), where("min"), where("max"), tuple(extremes)
    )


class Buckets:
    """Consecutive buckets in index order (see the module docstring).

    Attributes:
        start: index of each bucket's first point.
        end: one past the index of each bucket's last point.
        keys: the fields, one per matrix column.
        matrix: float64, one row per bucket.
    """

    __slots__ = ("end", "keys", "matrix", "start")

    def __init__(
        self, start: ArrayI8, end: ArrayI8, keys: tuple[Field, ...], matrix: ArrayF8
    ) -> None:
        self.start = np.asarray(start, dtype=np.int64)
        self.end = np.asarray(end, dtype=np.int64)
        self.keys = keys
        self.matrix = matrix.reshape(len(self.start), len(keys))

    @classmethod
    def of(cls, start: ArrayI8, end: ArrayI8, fields: Mapping[Field, ArrayF8]) -> Buckets:
        """Buckets from one array per field."""
        keys = tuple(fields)
        columns = [np.asarray(fields[k], dtype=np.float64) for k in keys]
        matrix = np.stack(columns, axis=1) if columns else np.empty((len(start), 0))
        return cls(start, end, keys, matrix)

    def __len__(self) -> int:
        return len(self.start)

    @property
    def count(self) -> ArrayI8:
        """Points each bucket covers (its index range)."""
        return self.end - self.start

    @property
    def fields(self) -> dict[Field, ArrayF8]:
        """Each field's column (views of the matrix)."""
        return {key: self.matrix[:, i] for i, key in enumerate(self.keys)}

    def get(self, key: Field) -> ArrayF8:
        """Field ``key``; NaN for every bucket if the field is missing."""
        i = _layout(self.keys).index.get(key)
        return np.full(len(self), np.nan) if i is None else self.matrix[:, i]

    def take(self, selection: slice | ArrayI8 | np.ndarray) -> Buckets:
        """The buckets chosen by ``selection`` (a slice, indices or a boolean mask)."""
        return Buckets(
            self.start[selection], self.end[selection], self.keys, self.matrix[selection]
        )

    def with_keys(self, keys: tuple[Field, ...]) -> Buckets:
        """The same buckets with these fields (missing ones NaN, others dropped)."""
        if keys == self.keys:
            return self
        own = _layout(self.keys).index
        source = np.array([own.get(k, -1) for k in keys], dtype=np.int64)
        matrix = np.full((len(self), len(keys)), np.nan)
        has = source >= 0
        matrix[:, has] = self.matrix[:, source[has]]
        return Buckets(self.start, self.end, keys, matrix)

    @staticmethod
    def empty(keys: tuple[Field, ...] = ()) -> Buckets:
        """No buckets."""
        nothing = np.empty(0, dtype=np.int64)
        return Buckets(nothing, nothing, keys, np.empty((0, len(keys))))

    @staticmethod
    def concat(parts: Sequence[Buckets | None]) -> Buckets:
        """The buckets of ``parts`` one after the other (missing fields become NaN)."""
        held = [p for p in parts if p is not None and len(p)]
        if not held:
            return Buckets.empty()
        if len(held) == 1:
            return held[0]
        keys = held[0].keys
        if any(p.keys != keys for p in held):
            union: dict[Field, None] = {}
            for part in held:
                union.update(dict.fromkeys(part.keys))
            keys = tuple(union)
            held = [p.with_keys(keys) for p in held]
        return Buckets(
            np.concatenate([p.start for p in held]),
            np.concatenate([p.end for p in held]),
            keys,
            np.concatenate([p.matrix for p in held]),
        )


# -------------------------------------------------------------------- from points --
def _groups(group: ArrayI8) -> tuple[ArrayI8, ArrayI8]:
    """The first item and the size of each run of equal ``group`` numbers."""
    n = len(group)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    return starts, np.diff(np.append(starts, n))


def _extremes(grid: ArrayF8) -> tuple[ArrayI8, ArrayI8, ArrayF8, ArrayF8]:
    """Along the last axis of ``grid``: where its smallest and largest finite values are.

    Returns both positions and both values; a row without a finite value gets position 0
    and NaN. NaN padding is ignored.
    """
    low, high = grid.argmin(axis=-1), grid.argmax(axis=-1)
    smallest = np.take_along_axis(grid, low[..., None], axis=-1)[..., 0]
    largest = np.take_along_axis(grid, high[..., None], axis=-1)[..., 0]
    # argmin stops at a NaN and counts infinities: such rows are done again, masked.
    redo = ~(np.isfinite(smallest) & np.isfinite(largest))
    if redo.any():
        part = grid[redo]
        finite = np.isfinite(part)
        part_low = np.where(finite, part, np.inf).argmin(axis=-1)
        part_high = np.where(finite, part, -np.inf).argmax(axis=-1)
        rows = np.arange(len(part))
        any_finite = finite.any(axis=-1)
        low[redo], high[redo] = part_low, part_high
        smallest[redo] = np.where(any_finite, part[rows, part_low], np.nan)
        largest[redo] = np.where(any_finite, part[rows, part_high], np.nan)
    return low, high, smallest, largest


def _plan(starts: ArrayI8, sizes: ArrayI8) -> list[tuple[int, int, bool]]:
    """How to lay the groups out as grids: ``(first group, groups, padded)`` each.

    A run of full-width groups is a reshaped view of the values (no copy); the others (a
    partial first or last group, groups of uneven sizes) are gathered with NaN padding.
    """
    rows = len(starts)
    width = sizes.max()
    full = sizes == width
    head = 0 if full[0] else 1
    tail = 1 if rows - head > 1 and not full[-1] else 0
    middle = rows - head - tail
    if middle <= 0 or not full[head : rows - tail].all():
        return [(0, rows, True)]
    plan = [(0, 1, True)] if head else []
    plan.append((head, middle, False))
    if tail:
        plan.append((rows - 1, 1, True))
    return plan


def _grid_of(
    values: ArrayF8, starts: ArrayI8, sizes: ArrayI8, first: int, count: int, padded: bool
) -> ArrayF8:
    """Groups ``first … first+count-1`` of every row of ``values`` as a 3-d grid."""
    if not padded:
        width = int(sizes.max())
        a = int(starts[first])
        return values[:, a : a + count * width].reshape(len(values), count, width)
    slot = np.arange(int(sizes[first : first + count].max()))
    chosen = slice(first, first + count)
    valid = slot[None, :] < sizes[chosen, None]
    where = np.minimum(starts[chosen, None] + slot[None, :], values.shape[1] - 1)
    return np.where(valid, values[:, where], np.nan)


def bucketize(
    index: ArrayI8,
    data: Mapping[str, ArrayF8],
    columns: Columns,
    group: ArrayI8,
) -> Buckets:
    """Buckets of raw points: points with the same ``group`` number form one bucket.

    Args:
        index: each point's index, increasing.
        data: each column's values (float64, one per point); a column of ``columns``
            missing here is left out (NaN).
        columns: which statistics to keep.
        group: each point's bucket number, non-decreasing (e.g. ``index // size``).
    """
    n = len(index)
    if n == 0:
        return Buckets.empty()
    present = [c for c in columns.columns if c in data]
    keys = columns.fields(present)
    starts, sizes = _groups(group)
    rows = len(starts)
    last = starts + sizes - 1
    # Few points: every column at once (fewer numpy calls); many: one column at a time (no
    # copy of the columns into one array).
    together = n < STACK_BELOW
    columns_in = [np.asarray(data[c], dtype=np.float64) for c in present]
    groups = [np.stack(columns_in)] if together else [c[None, :] for c in columns_in]
    low = np.empty((len(present), rows), dtype=np.int64)
    high = np.empty_like(low)
    smallest = np.empty((len(present), rows))
    largest = np.empty_like(smallest)
    plan = _plan(starts, sizes)
    for number, values in enumerate(groups):
        which = slice(None) if together else slice(number, number + 1)
        for first, count, padded in plan:
            grid = _grid_of(values, starts, sizes, first, count, padded)
            part = slice(first, first + count)
            found = _extremes(grid)
            low[which, part], high[which, part], smallest[which, part], largest[which, part] = found
    first_values = np.stack([c[starts] for c in columns_in])
    last_values = np.stack([c[last] for c in columns_in])
    # The fields of ``Columns.fields``: first/last/min/max of each column, then per y its
    # extremes' positions and the x values there.
    stats = np.stack([first_values, last_values, smallest, largest], axis=2)
    blocks = [stats.transpose(1, 0, 2).reshape(rows, 4 * len(present))]
    for i, y in enumerate(present):
        if y not in columns.ys:
            continue
        found = np.isfinite(np.stack([smallest[i], largest[i]], axis=1))
        points = starts[:, None] + np.stack([low[i], high[i]], axis=1)
        extra = [index[points].astype(np.float64)]
        for x in columns.xs:
            if x != y and x in data:
                extra.append(columns_in[present.index(x)][points])
        block = np.stack(extra, axis=1)  # (rows, 1 + xs, 2): min then max of each
        blocks.append(np.where(found[:, None, :], block, np.nan).reshape(rows, -1))
    return Buckets(index[starts], index[last] + 1, keys, np.hstack(blocks))


# ----------------------------------------------------------------------- merging --
def merge(buckets: Buckets, group: ArrayI8) -> Buckets:
    """Buckets with the same ``group`` number merged into one (the union of their points).

    ``group`` is non-decreasing. Buckets may overlap (a partial bucket and its extension):
    every statistic is idempotent, so the result is the bucket of the union.
    """
    n = len(buckets)
    if n == 0:
        return buckets
    starts, sizes = _groups(group)
    rows = len(starts)
    last = starts + sizes - 1
    lay = _layout(buckets.keys)
    m = buckets.matrix
    out = np.empty((rows, len(buckets.keys)))
    out[:, lay.first] = m[starts][:, lay.first]
    out[:, lay.last] = m[last][:, lay.last]
    slot = np.arange(int(sizes.max()))
    valid = slot[None, :] < sizes[:, None]
    where = np.minimum(starts[:, None] + slot[None, :], n - 1)
    grid = m[where]  # (group, child, field)
    for columns, fill, reduce in ((lay.min, np.inf, np.min), (lay.max, -np.inf, np.max)):
        if len(columns):
            values = grid[:, :, columns]
            ok = valid[:, :, None] & np.isfinite(values)
            best = reduce(np.where(ok, values, fill), axis=1)
            out[:, columns] = np.where(np.isfinite(best), best, np.nan)
    picked = np.arange(rows)
    for _, stat, position, with_it in lay.extremes:
        best = out[:, stat]
        values = grid[:, :, stat]
        # The child holding the extreme; on a tie the one whose extreme comes first.
        hit = valid & np.isfinite(values) & (values == best[:, None])
        child = np.where(hit, grid[:, :, position], np.inf).argmin(axis=1)
        chosen = m[where[picked, child]][:, with_it]
        out[:, with_it] = np.where(np.isfinite(best)[:, None], chosen, np.nan)
    return Buckets(buckets.start[starts], buckets.end[last], buckets.keys, out)


def extend(earlier: Buckets, later: Buckets) -> Buckets:
    """Each bucket of ``earlier`` merged with the one bucket ``later`` (whose points follow).

    What ``merge`` gives for each pair, in a few whole-matrix operations: the fast path of
    a live series' small appends (every level's last bucket takes the same new points).
    """
    keys = earlier.keys
    if later.keys != keys:
        union = tuple(dict.fromkeys((*keys, *later.keys)))
        earlier, later = earlier.with_keys(union), later.with_keys(union)
        keys = union
    lay = _layout(keys)
    a = earlier.matrix
    b = np.broadcast_to(later.matrix, a.shape)
    out = a.copy()
    out[:, lay.last] = b[:, lay.last]
    out[:, lay.min] = np.fmin(a[:, lay.min], b[:, lay.min])  # stored extremes: finite or NaN
    out[:, lay.max] = np.fmax(a[:, lay.max], b[:, lay.max])
    for kind, stat, _, with_it in lay.extremes:
        old, new = a[:, stat], b[:, stat]
        better = new < old if kind == "min" else new > old  # a tie keeps the earlier point
        better |= np.isnan(old) & ~np.isnan(new)
        out[:, with_it] = np.where(better[:, None], b[:, with_it], a[:, with_it])
    end = np.maximum(earlier.end, later.end)
    return Buckets(earlier.start, end, keys, out)


def coarsen(buckets: Buckets, limit: int) -> Buckets:
    """At most ``limit`` buckets: neighbours merged in equal groups (exactly, as ``merge``)."""
    n = len(buckets)
    if n <= limit:
        return buckets
    per = -(-n // max(1, limit))
    return merge(buckets, np.arange(n, dtype=np.int64) // per)


# ----------------------------------------------------------------------- drawing --
def extremes_x(buckets: Buckets, y: str, x: str, kind: str) -> ArrayF8:
    """The x of each bucket's y minimum (``kind="min"``) or maximum.

    Exact where the bucket kept it (``vmin``/``vmax``; x = the index is always exact);
    otherwise, for an x column whose value there was not kept (a table column past the
    first few), placed between the bucket's first and last x by its index position.
    """
    position = buckets.get((f"i{kind}", y))
    if x == INDEX:
        return position
    if (f"v{kind}", y, x) in _layout(buckets.keys).index:
        return buckets.get((f"v{kind}", y, x))
    first, last = buckets.get(("first", x)), buckets.get(("last", x))
    span = np.maximum(buckets.end - 1 - buckets.start, 1)
    placed: ArrayF8 = first + (last - first) * (position - buckets.start) / span
    return placed


def x_range(buckets: Buckets, x: str) -> tuple[ArrayF8, ArrayF8]:
    """The smallest and largest x of each bucket (the index range for x = the index)."""
    if x == INDEX:
        return buckets.start.astype(np.float64), (buckets.end - 1).astype(np.float64)
    return buckets.get(("min", x)), buckets.get(("max", x))


def m4(buckets: Buckets, x: str, y: str) -> tuple[ArrayF8, ArrayF8, ArrayI8]:
    """Each bucket drawn as its first, minimum, maximum and last point, in index order.

    Returns x, y and the index of each point. Points repeated within a bucket (the
    minimum is the first point...) are drawn once; points with a non-finite x or y are
    left out (they cannot be drawn).
    """
    n = len(buckets)
    if n == 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    first_x = buckets.start.astype(np.float64) if x == INDEX else buckets.get(("first", x))
    last_x = (buckets.end - 1).astype(np.float64) if x == INDEX else buckets.get(("last", x))
    position = np.stack(
        [
            buckets.start.astype(np.float64),
            buckets.get(("imin", y)),
            buckets.get(("imax", y)),
            (buckets.end - 1).astype(np.float64),
        ],
        axis=1,
    )
    xs = np.stack(
        [first_x, extremes_x(buckets, y, x, "min"), extremes_x(buckets, y, x, "max"), last_x],
        axis=1,
    )
    ys = np.stack(
        [
            buckets.get(("first", y)),
            buckets.get(("min", y)),
            buckets.get(("max", y)),
            buckets.get(("last", y)),
        ],
        axis=1,
    )
    order = np.argsort(np.where(np.isfinite(position), position, np.inf), axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    position, xs, ys = position[rows, order], xs[rows, order], ys[rows, order]
    repeated = np.zeros_like(position, dtype=bool)
    repeated[:, 1:] = position[:, 1:] == position[:, :-1]
    keep = ~repeated & np.isfinite(position) & np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], ys[keep], position[keep].astype(np.int64)
