"""Pure functions from a sweep's children to what the sweep view shows.

Kept apart from the widgets so the sweep view is checked without a kernel: summary counts,
the child table (one column per hyperparameter, sorted by the best primary-metric value
according to the goal, best child highlighted), the primary metric's histories read
incrementally (:class:`SweepHistories`), the chart data and axis labels, and the parallel
coordinates. ``widgets.sweep`` draws what these return.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..runtime import attempts as _attempts
from ..store import RunRecord, RunStatus
from ..sweep.results import MINIMIZE, best_of
from . import groups
from .export import ChartData, SeriesData
from .mapping import as_float
from .reader import RunReader
from .tracker import ChildRow
from .view_state import child_row

FOOTNOTE = (
    "* The best metric field is obtained from the min/max of primary metric achieved by a run"
)
MAX_LINES = 50
MAX_CATEGORY_NAMES = 8  # text values named in the x label of the parameter chart
BEST_COLOR = "#d62728"
OTHER_COLOR = "#7f9fbf"


@dataclass(frozen=True)
class SweepSettings:
    """What the view needs to know about a sweep, read from its parent run."""

    metric: str
    goal: str
    max_concurrent: int | None
    max_total: int | None
    log_scale: tuple[str, ...]

    @classmethod
    def from_record(cls, record: RunRecord) -> SweepSettings:
        """Read them from the parent's definition and its v1 tags."""
        sweep = record.definition.get("sweep") or {}
        config = sweep.get("primary_metric") or json.loads(
            record.tags.get("primary_metric_config") or "{}"
        )
        return cls(
            metric=str(config.get("name", "")),
            goal=str(config.get("goal", MINIMIZE)).upper(),
            max_concurrent=_int(record.tags.get("max_concurrent_jobs")),
            max_total=_int(record.tags.get("max_total_jobs")),
            log_scale=tuple(p.lstrip("-") for p in sweep.get("log_scale_parameters", [])),
        )


class SweepHistories:
    """The primary metric's points of each child, read incrementally.

    Args:
        reader: the sweep parent's reader (children are read through it by run id).
        metric: the primary metric.
    """

    def __init__(self, reader: RunReader, metric: str) -> None:
        self.reader = reader
        self.metric = metric
        self.values: dict[str, list[float]] = {}
        self._cursors: dict[str, int] = {}

    def read(self, child_ids: set[str]) -> None:
        """Read the new points of these children (only chunks written since the last read)."""
        for run_id in child_ids:
            history = self.values.setdefault(run_id, [])
            for chunk in self.reader.read_chunks(
                self._cursors.get(run_id, 0), [self.metric], run_id=run_id
            ):
                self._cursors[run_id] = chunk.id
                fresh = chunk.since(len(history))  # a compacted chunk may repeat points
                if fresh is not None:
                    history.extend(as_float(fresh.values).tolist())


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def child_params(child: ChildRow) -> dict[str, Any]:
    """A child's hyperparameters (its v1 ``hyperparameters`` property)."""
    try:
        data = json.loads(child.properties.get("hyperparameters") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def parameter_names(children: Sequence[ChildRow]) -> list[str]:
    """The union of the children's parameter names, in first-seen order."""
    names: list[str] = []
    for child in sorted(children, key=lambda c: c.number):
        for name in child_params(child):
            if name not in names:
                names.append(name)
    return names


def best_metric(child: ChildRow, settings: SweepSettings) -> float | None:
    """A child's best primary-metric value so far."""
    low, high = child.best.get(settings.metric, (None, None))
    return best_of(low, high, settings.goal)


def best_child(children: Sequence[ChildRow], settings: SweepSettings) -> ChildRow | None:
    """The child with the best value so far (ties: the lower run number)."""
    scored = [(best_metric(c, settings), c) for c in children]
    valid = [(v, c) for v, c in scored if v is not None]
    if not valid:
        return None
    sign = 1 if settings.goal == MINIMIZE else -1
    return min(valid, key=lambda item: (sign * item[0], item[1].number))[1]


def summary_state(
    record: RunRecord, children: Sequence[ChildRow], settings: SweepSettings
) -> dict[str, Any]:
    """The summary panel: counts per status, limits, metric, best child, cancel state."""
    counts: dict[str, int] = {}
    for child in children:
        counts[child.status] = counts.get(child.status, 0) + 1
    best = best_child(children, settings)
    return {
        "counts": counts,
        "max_concurrent": settings.max_concurrent,
        "max_total": settings.max_total,
        "metric": settings.metric,
        "goal": settings.goal,
        "best": None
        if best is None
        else {
            "run_id": best.id,
            "number": best.number,
            "value": best_metric(best, settings),
            "params": child_params(best),
        },
        "active": record.status not in RunStatus.TERMINAL,
        "cancel_requested": record.status == RunStatus.CANCEL_REQUESTED,
    }


def table_state(children: Sequence[ChildRow], settings: SweepSettings) -> dict[str, Any]:
    """The child table of a sweep (v1 HyperDrive grid)."""
    params = parameter_names(children)
    columns = [
        {"key": "number", "title": "Run"},
        {"key": "best", "title": "Best Metric*", "tooltip": FOOTNOTE},
        {"key": "status", "title": "Status"},
        {"key": "started", "title": "Started"},
        {"key": "duration", "title": "Duration", "tooltip": "Queue and run duration in hh:mm:ss"},
        {"key": "id", "title": "Run Id"},
        *({"key": f"param:{name}", "title": name} for name in params),
    ]
    placed = any(placement(c) for c in children)
    if placed:  # runs on a cluster: where each child ran
        columns.insert(4, {"key": "worker", "title": "Worker", "tooltip": "host and Dask worker"})
    rows = []
    # Best first for the goal (children without the metric last, by run number), as the
    # JS table sorts them too: the order is right even before any sorting in the browser.
    ordered = sorted(
        children, key=lambda c: (_rank_key(best_metric(c, settings), settings), c.number)
    )
    for child in ordered:
        row = child_row(child, [], [])
        values = child_params(child)
        row["best"] = best_metric(child, settings)
        row["values"] = {f"param:{name}": values.get(name) for name in params}
        if placed:
            row["values"]["worker"] = placement(child)
        rows.append(row)
    best = best_child(children, settings)
    return {
        "columns": columns,
        "rows": rows,
        "sort_key": "best",
        "sort_desc": settings.goal != MINIMIZE,
        "best_id": best.id if best is not None else "",
        "footnote": FOOTNOTE,
        "cancellable": True,
        "title": "Child runs",
    }


def primary_series(
    children: Sequence[ChildRow],
    histories: Mapping[str, Sequence[float]],
    settings: SweepSettings,
) -> dict[str, Any]:
    """Data of the primary-metric chart.

    ``mode == "lines"`` when some child logged the metric more than once: one line per child
    (the best ``MAX_LINES`` of them). Otherwise ``"points"``: each child's value against its
    run number, and the best-so-far line (as v1's ``<metric>_min``/``_max``).
    """
    best = best_child(children, settings)
    if any(len(histories.get(c.id, ())) > 1 for c in children):
        ranked = sorted(
            (c for c in children if histories.get(c.id)),
            key=lambda c: (_rank_key(best_metric(c, settings), settings), c.number),
        )[:MAX_LINES]
        return {
            "mode": "lines",
            "lines": [
                {
                    "id": c.id,
                    "label": f"run {c.number}",
                    "y": np.asarray(histories[c.id], dtype=np.float64),
                    "best": best is not None and c.id == best.id,
                }
                for c in ranked
            ],
        }
    ordered = sorted((c for c in children if histories.get(c.id)), key=lambda c: c.number)
    x = np.array([c.number for c in ordered], dtype=np.float64)
    y = np.array([histories[c.id][-1] for c in ordered], dtype=np.float64)
    running = _best_so_far(y, settings.goal)
    best_index = [i for i, c in enumerate(ordered) if best is not None and c.id == best.id]
    return {"mode": "points", "x": x, "y": y, "best_so_far": running, "best_index": best_index}


def group_options(children: Sequence[ChildRow]) -> list[tuple[str, tuple[str, ...]]]:
    """How the children can be grouped: every hyperparameter but the seed first, then each."""
    return groups.group_options(parameter_names(children))


def primary_chart_data(
    children: Sequence[ChildRow],
    histories: Mapping[str, Sequence[float]],
    settings: SweepSettings,
    keys: Sequence[str] = (),
    center: str = "mean",
    spread: str = "std",
    palette: Sequence[str] = (OTHER_COLOR,),
) -> ChartData:
    """The primary-metric chart when children logged curves (``primary_series`` "lines").

    One line per child (the best emphasised), or with ``keys`` one line and band per group
    of children (their values of those hyperparameters), over each child's point index.
    """
    data = primary_series(children, histories, settings)
    metric, axis = settings.metric, "step"
    if data["mode"] != "lines":
        return ChartData(metric, axis, [], x_kind="integer")
    if not keys:
        lines = [
            SeriesData(
                line["label"],
                np.arange(len(line["y"]), dtype=np.float64),
                line["y"],
                run_id=line["id"],
                color=BEST_COLOR if line["best"] else OTHER_COLOR,
                emphasis=line["best"],
                faded=not line["best"],
            )
            for line in data["lines"]
        ]
        return ChartData(metric, axis, lines, x_kind="integer")
    by_id = {c.id: c for c in children}
    values = {
        c.id: groups.group_value(child_params(c), keys) for c in children if histories.get(c.id)
    }
    order = sorted(values, key=lambda r: by_id[r].number)
    lines = []
    for group in groups.make_groups(keys, values, order, palette)[: groups.MAX_GROUPS]:
        members = [
            (np.arange(len(histories[r]), dtype=np.float64), np.asarray(histories[r], float))
            for r in group.band_members
        ]
        found = groups.band(members, center, spread)
        if len(found.x):
            lines.append(groups.band_line(group, found))
    return ChartData(metric, axis, lines, x_kind="integer")


def placement(child: ChildRow) -> str:
    """Where a child ran on a cluster (``host tcp://worker``, its latest attempt), or ``""``."""
    worker = _attempts.current(child.properties, "dask_worker") or ""
    host = _attempts.current(child.properties, "dask_host") or ""
    attempt = _attempts.attempt_of(child.properties)
    where = f"{host} {worker}".strip()
    return f"{where} (attempt {attempt})" if attempt > 1 and where else where


def _rank_key(value: float | None, settings: SweepSettings) -> float:
    if value is None:
        return math.inf
    return value if settings.goal == MINIMIZE else -value


def _best_so_far(values: np.ndarray, goal: str) -> np.ndarray:
    if not len(values):
        return values
    clean = np.where(np.isfinite(values), values, np.inf if goal == MINIMIZE else -np.inf)
    running = np.minimum.accumulate(clean) if goal == MINIMIZE else np.maximum.accumulate(clean)
    return np.where(np.isfinite(running), running, np.nan)


def parameter_points(
    children: Sequence[ChildRow], settings: SweepSettings, parameter: str
) -> dict[str, Any]:
    """Data of the metric-against-parameter chart: numeric x (or category index)."""
    best = best_child(children, settings)
    points = [
        (child_params(c).get(parameter), best_metric(c, settings), c)
        for c in sorted(children, key=lambda c: c.number)
    ]
    points = [(x, y, c) for x, y, c in points if x is not None and y is not None]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _, _ in points)
    categories: list[str] = []
    if numeric:
        xs = np.array([x for x, _, _ in points], dtype=np.float64)
    else:
        categories = sorted({str(x) for x, _, _ in points})
        xs = np.array([categories.index(str(x)) for x, _, _ in points], dtype=np.float64)
    log = parameter in settings.log_scale and numeric and bool(len(xs)) and bool((xs > 0).all())
    return {
        "parameter": parameter,
        "x": xs,
        "y": np.array([y for _, y, _ in points], dtype=np.float64),
        "ids": [c.id for _, _, c in points],
        "best_index": [
            i for i, (_, _, c) in enumerate(points) if best is not None and c.id == best.id
        ],
        "log": log,
        "categories": categories,
    }


def parameter_axis_label(data: Mapping[str, Any]) -> str:
    """The x label of the metric-against-parameter chart (``parameter_points``' result).

    A log axis says so; text values are drawn at their category's index, named here
    (the first ``MAX_CATEGORY_NAMES``).
    """
    label = str(data["parameter"]) + (" (log)" if data["log"] else "")
    categories = data["categories"]
    if categories:
        shown = categories[:MAX_CATEGORY_NAMES]
        label += " (" + ", ".join(f"{i}={c}" for i, c in enumerate(shown))
        label += ", ...)" if len(categories) > MAX_CATEGORY_NAMES else ")"
    return label


def parcoords_state(children: Sequence[ChildRow], settings: SweepSettings) -> dict[str, Any]:
    """Axes and lines of the parallel-coordinates view (needs 3+ hyperparameters)."""
    params = parameter_names(children)
    if len(params) < 3:
        return {"dimensions": [], "lines": []}
    dimensions = [{"name": p, "log": p in settings.log_scale} for p in params]
    dimensions.append({"name": settings.metric, "log": False})
    best = best_child(children, settings)
    scored = [best_metric(c, settings) for c in children]
    finite = [v for v in scored if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    lines = []
    for child, value in zip(children, scored, strict=True):
        values = child_params(child)
        quality = 0.5
        if value is not None and high > low:
            quality = (
                (high - value) / (high - low)
                if settings.goal == MINIMIZE
                else (value - low) / (high - low)
            )
        lines.append(
            {
                "id": child.id,
                "label": f"run {child.number}: {settings.metric}={value}",
                "values": [_as_number(values.get(p)) for p in params] + [value],
                "quality": quality,
                "best": best is not None and child.id == best.id,
            }
        )
    return {"dimensions": dimensions, "lines": lines}


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
