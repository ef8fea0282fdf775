"""Runs grouped by a key, and one line with a band per group.

**Keys.** A run is grouped by the value of a key among its parameters: a tag, a script
argument (``--alpha 0.1`` gives ``alpha``), a sweep child's hyperparameter, or a property
(in that order of precedence: a tag wins). Several keys group by their combination
(``("alpha", "l1_ratio")``); a run missing any of them is in the ``"(none)"`` group. For
the children of a sweep the natural key is *every hyperparameter but the seed*
(:func:`group_options` offers it), so that the seeds of one configuration form a group.

**Bands.** Series of different runs do not share x values in general, so each group's
members are aligned on one grid before they are combined (:func:`band`):

* the grid is the union of the members' x values when it has at most ``GRID_MAX``
  values (runs logging at the same steps: exact per-step statistics), otherwise
  ``GRID_POINTS`` evenly spaced values over the members' x range;
* each member is linearly interpolated onto the grid points inside its own x range (never
  extrapolated), so at each grid point the statistics cover the members that reached it
  (``Band.count``);
* the line is the mean (or the median); the band is ± one standard deviation of the
  members (the sample one; 0 for a single member) or their minimum–maximum.

Members are read as the charts read runs (each series reduced to at most 2,000 points with
min/max kept), through the "series of this chart" function the caller passes, so the
bands cost what the members' charts cost. Pure functions: tested without a kernel.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store import RunRecord
from .across import parse_number, run_params
from .export import SeriesData

NONE_GROUP = "(none)"
CENTERS = ("mean", "median")
SPREADS = ("std", "minmax")
SPREAD_LABELS = {"std": "± std", "minmax": "min–max"}
GRID_MAX = 2000
GRID_POINTS = 1000
MAX_GROUPS = 10
MAX_GROUP_MEMBERS = 32
SEED_PATTERN = re.compile(r"(^|[^a-z])(seed|random_state|rng)([^a-z]|$)", re.IGNORECASE)
# Properties that are bookkeeping, not a run's parameters.
HIDDEN_PROPERTIES = frozenset(
    {"ContentSnapshotId", "hyperparameters", "best_child_run_id", "best_metric"}
)

SeriesOf = Callable[[str], "tuple[np.ndarray, np.ndarray] | None"]
"""The series of one chart for one run id (``None``: the run has none)."""


def parse_group_by(value: Any) -> tuple[str, ...]:
    """``group_by`` as a tuple of keys (``None`` or ``""``: no groups).

    Raises:
        TypeError: not a string or a sequence of strings.
        ValueError: an empty key in a sequence.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(k, str) for k in value):
        if any(not k for k in value):
            raise ValueError(f"group_by holds an empty key: {list(value)!r}.")
        return tuple(dict.fromkeys(value))
    raise TypeError(
        f"group_by must be a key (a str) or a list of keys, not {type(value).__name__}."
    )


def is_seed(name: str) -> bool:
    """True for a parameter that only seeds randomness (``seed``, ``random_state`` …)."""
    return SEED_PATTERN.search(name) is not None


def group_params(record: RunRecord) -> dict[str, Any]:
    """What a run can be grouped by: properties, then arguments, hyperparameters, tags."""
    params: dict[str, Any] = {
        k: parse_number(v)
        for k, v in record.properties.items()
        if k not in HIDDEN_PROPERTIES and v is not None
    }
    params.update(run_params(record))
    return params


def group_value(params: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...] | None:
    """The run's values of ``keys`` (``None``: a key is missing, the "(none)" group)."""
    values = []
    for key in keys:
        value = params.get(key)
        if value is None:
            return None
        values.append(value)
    return tuple(values)


def group_label(keys: Sequence[str], value: tuple[Any, ...] | None) -> str:
    """How a group is named: ``alpha=0.1`` (``alpha=0.1, l1=0.5``), or ``"(none)"``."""
    if value is None:
        return NONE_GROUP
    return ", ".join(f"{k}={_text(v)}" for k, v in zip(keys, value, strict=True))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def group_sort_key(value: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """Groups in order of their values (numbers by size, then text), "(none)" last."""
    if value is None:
        return (1,)
    return (0, *((0, v, "") if _is_number(v) else (1, 0.0, str(v)) for v in value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def group_options(names: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """What the group chooser offers for these parameter names: ``(label, keys)``.

    Each name alone, and, when there are several, every one but the seed together (the
    configuration of a sweep child, whose seeds then form one group).
    """
    names = sorted(set(names), key=str.lower)
    config = tuple(n for n in names if not is_seed(n))
    options: list[tuple[str, tuple[str, ...]]] = [
        (name, (name,)) for name in names if (name,) != config
    ]
    if len(config) >= 2 or (config and len(config) < len(names)):
        label = " + ".join(config) + (" (all but the seed)" if len(config) < len(names) else "")
        options.insert(0, (label, config))
    return options


@dataclass(frozen=True)
class Band:
    """A group's line and band on one grid.

    Attributes:
        x: the grid points where at least one member has a value.
        center: the mean (or median) of the members there.
        lower, upper: the band (mean ± std, or min and max).
        count: how many members have a value at each grid point.
    """

    x: np.ndarray
    center: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> Band:
        """A band with no points."""
        nothing = np.empty(0)
        return cls(nothing, nothing, nothing, nothing, np.empty(0, dtype=np.int64))


def common_grid(series: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The x grid the members are aligned on (see the module docstring)."""
    xs = [x[np.isfinite(x)] for x, _ in series if len(x)]
    xs = [x for x in xs if len(x)]
    if not xs:
        return np.empty(0)
    union = np.unique(np.concatenate(xs))
    if len(union) <= GRID_MAX:
        return union
    return np.linspace(float(union[0]), float(union[-1]), GRID_POINTS)


def aligned(series: Sequence[tuple[np.ndarray, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    """Members × grid values: each member interpolated inside its own x range, else NaN."""
    values = np.full((len(series), len(grid)), np.nan)
    for row, (x, y) in enumerate(series):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if len(x) == len(grid) and np.array_equal(x, grid):  # on the grid already (steps)
            values[row] = y
            continue
        keep = np.isfinite(x) & np.isfinite(y)
        if not keep.all():
            x, y = x[keep], y[keep]
        if not len(x):
            continue
        if (np.diff(x) < 0).any():
            order = np.argsort(x, kind="stable")
            x, y = x[order], y[order]
        start, stop = (
            np.searchsorted(grid, [x[0], x[-1]], side="left")[0],
            np.searchsorted(grid, x[-1], side="right"),
        )
        values[row, start:stop] = np.interp(grid[start:stop], x, y)
    return values


def band(
    series: Sequence[tuple[np.ndarray, np.ndarray]], center: str = "mean", spread: str = "std"
) -> Band:
    """The line and band of a group's members (``(x, y)`` each).

    Raises:
        ValueError: an unknown ``center`` or ``spread``.
    """
    check_band_options(center, spread)
    grid = common_grid(series)
    if not len(grid):
        return Band.empty()
    values = aligned(series, grid)
    present = np.isfinite(values)
    count = present.sum(axis=0)
    keep = count > 0
    values, present, count, grid = values[:, keep], present[:, keep], count[keep], grid[keep]
    if not len(grid):
        return Band.empty()
    total = np.where(present, values, 0.0).sum(axis=0)
    mean = total / count
    middle = np.nanmedian(values, axis=0) if center == "median" else mean
    if spread == "minmax":
        lower = np.where(present, values, np.inf).min(axis=0)
        upper = np.where(present, values, -np.inf).max(axis=0)
    else:
        squares = np.where(present, (values - mean) ** 2, 0.0).sum(axis=0)
        std = np.sqrt(squares / np.maximum(count - 1, 1))
        lower, upper = middle - std, middle + std
    return Band(grid, middle, lower, upper, count.astype(np.int64))


def check_band_options(center: str, spread: str) -> None:
    """Check a band's centre and spread.

    Raises:
        ValueError: an unknown one.
    """
    if center not in CENTERS:
        raise ValueError(f"The group line must be one of {', '.join(CENTERS)}; got {center!r}.")
    if spread not in SPREADS:
        raise ValueError(f"The band must be one of {', '.join(SPREADS)}; got {spread!r}.")


@dataclass(frozen=True)
class Group:
    """One group of runs: its label, value, members (by the caller's order) and colour."""

    label: str
    value: tuple[Any, ...] | None
    members: tuple[str, ...]
    color: str = ""

    @property
    def band_members(self) -> tuple[str, ...]:
        """The members the band is computed over (the first ``MAX_GROUP_MEMBERS``)."""
        return self.members[:MAX_GROUP_MEMBERS]

    def legend(self) -> str:
        """The legend text: the label and the member count (and how many the band uses)."""
        n = len(self.members)
        used = len(self.band_members)
        count = f"n={n:,}" if used == n else f"n={n:,}, band of the first {used}"
        return f"{self.label} ({count})"


def band_line(group: Group, found: Band) -> SeriesData:
    """A group's line on a chart: its centre, band and member counts, in its colour."""
    return SeriesData(
        group.legend(),
        found.x,
        found.center,
        group=group.label,
        color=group.color,
        lower=found.lower,
        upper=found.upper,
        count=found.count,
    )


def make_groups(
    keys: Sequence[str],
    values: Mapping[str, tuple[Any, ...] | None],
    order: Sequence[str],
    palette: Sequence[str],
) -> list[Group]:
    """Groups of the runs in ``order`` by their ``values``, in value order ("(none)" last)."""
    members: dict[tuple[Any, ...] | None, list[str]] = {}
    for run_id in order:
        if run_id in values:
            members.setdefault(values[run_id], []).append(run_id)
    ordered = sorted(members, key=group_sort_key)
    return [
        Group(group_label(keys, value), value, tuple(members[value]), palette[i % len(palette)])
        for i, value in enumerate(ordered)
    ]


def finite_or_none(value: float) -> float | None:
    """``value`` if finite, else ``None`` (JSON-able)."""
    return value if math.isfinite(value) else None
