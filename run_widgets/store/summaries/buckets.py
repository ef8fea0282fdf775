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

Everything is float64 numpy arrays; a field missing from a set of buckets reads as NaN,
which is what it means (a table column that did not exist yet has no value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..entities import ArrayF8, ArrayI8

Field = tuple[str, ...]
"""``("first"|"last"|"min"|"max", column)``, ``("imin"|"imax", y)``, ``("vmin"|"vmax", y, x)``."""

STATS = ("first", "last", "min", "max")
"""The statistics every column has."""

INDEX = "#index"
"""The pseudo-column of point positions (never stored: a bucket's index range says it)."""


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

    def fields(self) -> list[Field]:
        """Every field these columns give a bucket, in a stable order."""
        out: list[Field] = [(stat, c) for c in self.columns for stat in STATS]
        for y in self.ys:
            out += [("imin", y), ("imax", y)]
            out += [(kind, y, x) for x in self.xs if x != y for kind in ("vmin", "vmax")]
        return out


@dataclass
class Buckets:
    """Consecutive buckets in index order, as columns (see the module docstring).

    Attributes:
        start: index of each bucket's first point.
        end: one past the index of each bucket's last point.
        fields: float64 arrays, one value per bucket, by :data:`Field`.
    """

    start: ArrayI8
    end: ArrayI8
    fields: dict[Field, ArrayF8] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.start)

    @property
    def count(self) -> ArrayI8:
        """Points each bucket covers."""
        return self.end - self.start

    def get(self, key: Field) -> ArrayF8:
        """Field ``key``; NaN for every bucket if the field is missing."""
        found = self.fields.get(key)
        return np.full(len(self), np.nan) if found is None else found

    def take(self, selection: slice | ArrayI8 | np.ndarray) -> Buckets:
        """The buckets chosen by ``selection`` (a slice, indices or a boolean mask)."""
        return Buckets(
            self.start[selection],
            self.end[selection],
            {key: values[selection] for key, values in self.fields.items()},
        )

    @staticmethod
    def empty() -> Buckets:
        """No buckets."""
        return Buckets(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), {})

    @staticmethod
    def concat(parts: Sequence[Buckets]) -> Buckets:
        """The buckets of ``parts`` one after the other (missing fields become NaN)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Buckets.empty()
        if len(parts) == 1:
            return parts[0]
        keys: dict[Field, None] = {}
        for part in parts:
            keys.update(dict.fromkeys(part.fields))
        return Buckets(
            np.concatenate([p.start for p in parts]),
            np.concatenate([p.end for p in parts]),
            {key: np.concatenate([p.get(key) for p in parts]) for key in keys},
        )


def _finite_or(values: ArrayF8, fill: float) -> ArrayF8:
    return np.where(np.isfinite(values), values, fill)


def _nan_where_infinite(values: ArrayF8) -> ArrayF8:
    return np.where(np.isfinite(values), values, np.nan)


def _grid(group: ArrayI8) -> tuple[ArrayI8, ArrayI8, np.ndarray, ArrayI8]:
    """Items with equal ``group`` laid out as rows of a (row, slot) grid.

    Returns each row's first and last item, which slots hold an item (the others are
    padding), and the item of every slot (padding repeats a real one).
    """
    n = len(group)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    sizes = np.diff(np.append(starts, n))
    slot = np.arange(int(sizes.max()))
    valid = slot[None, :] < sizes[:, None]
    where = np.minimum(starts[:, None] + slot[None, :], n - 1)
    return starts, starts + sizes - 1, valid, where


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
            missing here is NaN.
        columns: which statistics to keep.
        group: each point's bucket number, non-decreasing (e.g. ``index // size``).
    """
    n = len(index)
    if n == 0:
        return Buckets.empty()
    starts, last, valid, where = _grid(group)
    rows = len(starts)
    fields: dict[Field, ArrayF8] = {}
    grids: dict[str, ArrayF8] = {}
    for column in columns.columns:
        values = data.get(column)
        if values is None:
            continue
        values = np.asarray(values, dtype=np.float64)
        grid = np.where(valid, values[where], np.nan)
        grids[column] = grid
        fields[("first", column)] = values[starts]
        fields[("last", column)] = values[last]
        fields[("min", column)] = _nan_where_infinite(_finite_or(grid, np.inf).min(axis=1))
        fields[("max", column)] = _nan_where_infinite(_finite_or(grid, -np.inf).max(axis=1))
    positions = np.arange(rows)
    for y in columns.ys:
        if y not in grids:
            continue
        grid = grids[y]
        for kind, fill, pick in (("min", np.inf, np.argmin), ("max", -np.inf, np.argmax)):
            at = pick(_finite_or(grid, fill), axis=1)  # the earliest extreme
            found = np.isfinite(fields[(kind, y)])
            point = starts + at
            fields[(f"i{kind}", y)] = np.where(found, index[point].astype(np.float64), np.nan)
            for x in columns.xs:
                if x != y and x in grids:
                    fields[(f"v{kind}", y, x)] = np.where(found, grids[x][positions, at], np.nan)
    return Buckets(index[starts], index[last] + 1, fields)


def merge(buckets: Buckets, group: ArrayI8) -> Buckets:
    """Buckets with the same ``group`` number merged into one (the union of their points).

    ``group`` is non-decreasing. Buckets may overlap (a partial bucket and its extension):
    every statistic is idempotent, so the result is the bucket of the union.
    """
    n = len(buckets)
    if n == 0:
        return Buckets.empty()
    starts, last, valid, where = _grid(group)
    fields: dict[Field, ArrayF8] = {}
    keys = list(buckets.fields)
    for key in keys:
        values = buckets.fields[key]
        stat = key[0]
        if stat == "first":
            fields[key] = values[starts]
        elif stat == "last":
            fields[key] = values[last]
        elif stat == "min":
            grid = np.where(valid, _finite_or(values[where], np.inf), np.inf)
            fields[key] = _nan_where_infinite(grid.min(axis=1))
        elif stat == "max":
            grid = np.where(valid, _finite_or(values[where], -np.inf), -np.inf)
            fields[key] = _nan_where_infinite(grid.max(axis=1))
    rows = np.arange(len(starts))
    for key in keys:
        if key[0] not in ("imin", "imax"):
            continue
        kind, y = key[0][1:], key[1]
        extreme = buckets.get((kind, y))[where]
        position = buckets.fields[key][where]
        ok = valid & np.isfinite(extreme)
        # The child holding the extreme; on a tie the one whose extreme comes first.
        best = fields[(kind, y)]
        hit = ok & (extreme == best[:, None])
        child = np.where(hit, position, np.inf).argmin(axis=1)
        found = np.isfinite(best)
        chosen = where[rows, child]
        fields[key] = np.where(found, buckets.fields[key][chosen], np.nan)
        for other in keys:
            if other[0] == f"v{kind}" and other[1] == y:
                fields[other] = np.where(found, buckets.fields[other][chosen], np.nan)
    return Buckets(buckets.start[starts], buckets.end[last], fields)


def coarsen(buckets: Buckets, limit: int) -> Buckets:
    """At most ``limit`` buckets: neighbours merged in equal groups (exactly, as ``merge``)."""
    n = len(buckets)
    if n <= limit:
        return buckets
    per = -(-n // max(1, limit))
    return merge(buckets, np.arange(n, dtype=np.int64) // per)


def extremes_x(buckets: Buckets, y: str, x: str, kind: str) -> ArrayF8:
    """The x of each bucket's y minimum (``kind="min"``) or maximum.

    Exact where the bucket kept it (``vmin``/``vmax``; x = the index is always exact);
    otherwise, for an x column whose value there was not kept (a table column past the
    first few), placed between the bucket's first and last x by its index position.
    """
    position = buckets.get((f"i{kind}", y))
    if x == INDEX:
        return position
    kept = buckets.fields.get((f"v{kind}", y, x))
    if kept is not None:
        return kept
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


def union_fields(parts: Iterable[Buckets]) -> list[Field]:
    """Every field any of ``parts`` has, in first-seen order."""
    keys: dict[Field, None] = {}
    for part in parts:
        keys.update(dict.fromkeys(part.fields))
    return list(keys)
