"""Across-run views: final metric by parameter, parallel coordinates, the best run.

A final metric against a hyperparameter or tag, parallel coordinates, and the best run
for a chosen metric and goal.

A run's parameters are the union of its tags, its script arguments (``--alpha 0.1``
gives ``alpha``) and a sweep child's ``hyperparameters`` property; values that read as
numbers are numbers. The x axis turns logarithmic when the values are positive and span
at least two decades (an alpha sweep over 1e-3 … 1e2), and text values become
categories. Pure functions over :class:`AcrossRow` values, tested without a kernel.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store import RunRecord

MINIMIZE = "minimize"
MAXIMIZE = "maximize"
GOALS = (MINIMIZE, MAXIMIZE)
MAX_ACROSS_RUNS = 1000
MAX_PARCOORD_AXES = 8
LOG_DECADES = 2.0
MAX_NAMED_POINTS = 12  # more points: names only in their tooltips (labels would overlap)
LABEL_PX_PER_CHAR = 7.0
PLOT_PX = 320.0  # the narrowest plot area of the chart (its grid's minimum width)


@dataclass(frozen=True)
class AcrossRow:
    """What the across-run views know of one run."""

    run_id: str
    number: int
    label: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float | None]


def parse_number(text: Any) -> Any:
    """``text`` as an int or float if it reads as one, else unchanged."""
    if isinstance(text, bool) or text is None:
        return text
    if isinstance(text, (int, float)):
        return text
    try:
        return int(str(text))
    except ValueError:
        pass
    try:
        value = float(str(text))
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def argument_pairs(arguments: Sequence[Any]) -> dict[str, Any]:
    """``["--alpha", "0.1", "--fit"]`` → ``{"alpha": 0.1, "fit": True}``."""
    pairs: dict[str, Any] = {}
    items = [str(a) for a in arguments]
    index = 0
    while index < len(items):
        item = items[index]
        if item.startswith("-") and parse_number(item) == item:
            key, sep, value = item.lstrip("-").partition("=")
            if sep:
                pairs[key] = parse_number(value)
            elif index + 1 < len(items) and not (
                items[index + 1].startswith("-")
                and parse_number(items[index + 1]) == items[index + 1]
            ):
                pairs[key] = parse_number(items[index + 1])
                index += 1
            else:
                pairs[key] = True
        index += 1
    return pairs


def run_params(record: RunRecord) -> dict[str, Any]:
    """The run's parameters: arguments, hyperparameters, then tags (see module doc)."""
    params: dict[str, Any] = {}
    arguments = record.definition.get("arguments") or []
    if isinstance(arguments, list):
        params.update(argument_pairs(arguments))
    try:
        hyper = json.loads(record.properties.get("hyperparameters") or "{}")
    except ValueError:
        hyper = {}
    if isinstance(hyper, dict):
        params.update({str(k).lstrip("-"): parse_number(v) for k, v in hyper.items()})
    params.update({k: parse_number(v) for k, v in record.tags.items() if v is not None})
    return params


def across_row(record: RunRecord, metrics: Mapping[str, float | None]) -> AcrossRow:
    """The across-run view of one run."""
    name = record.display_name or record.id[:8]
    return AcrossRow(
        record.id, record.number, f"{record.number}: {name}", run_params(record), dict(metrics)
    )


def parameter_names(rows: Sequence[AcrossRow]) -> list[str]:
    """Parameters any run has (union, not just the first run's keys), by name."""
    return sorted({k for row in rows for k in row.params}, key=str.lower)


def metric_names(rows: Sequence[AcrossRow]) -> list[str]:
    """Scalar metrics any run has, by name."""
    return sorted({k for row in rows for k in row.metrics}, key=str.lower)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def best_run(rows: Sequence[AcrossRow], metric: str, goal: str) -> AcrossRow | None:
    """The run with the lowest (minimize) or highest (maximize) final ``metric``."""
    scored = [(v, row) for row in rows if (v := _finite(row.metrics.get(metric))) is not None]
    if not scored:
        return None
    if goal == MINIMIZE:  # ties: the earlier run
        return min(scored, key=lambda item: (item[0], item[1].number))[1]
    return max(scored, key=lambda item: (item[0], -item[1].number))[1]


def wants_log(values: Sequence[float]) -> bool:
    """True when positive values span at least ``LOG_DECADES`` decades."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) < 2 or min(finite) <= 0:
        return False
    return math.log10(max(finite) / min(finite)) >= LOG_DECADES


def metric_vs_param(
    rows: Sequence[AcrossRow], param: str, metric: str, goal: str
) -> dict[str, Any]:
    """Points of final ``metric`` against ``param`` (a parameter or another metric).

    Returns ``x``, ``y`` (float arrays), ``labels``, ``ids``, ``log`` (log x),
    ``categories`` (text values, x being their index) and ``best`` (index or -1).
    """
    xs: list[Any] = []
    ys: list[float] = []
    picked: list[AcrossRow] = []
    for row in rows:
        y = _finite(row.metrics.get(metric))
        x = row.params.get(param, row.metrics.get(param))
        if y is None or x is None or (isinstance(x, float) and not math.isfinite(x)):
            continue
        xs.append(x)
        ys.append(y)
        picked.append(row)
    numeric = all(_finite(x) is not None for x in xs)
    categories: list[str] = []
    if numeric:
        x_values = np.asarray([float(x) for x in xs], dtype=np.float64)
    else:
        categories = sorted({str(x) for x in xs})
        x_values = np.asarray([categories.index(str(x)) for x in xs], dtype=np.float64)
    best = best_run(picked, metric, goal)
    return {
        "x": x_values,
        "y": np.asarray(ys, dtype=np.float64),
        "labels": [row.label for row in picked],
        "ids": [row.run_id for row in picked],
        "log": numeric and wants_log(list(x_values)),
        "categories": categories,
        "best": next((i for i, row in enumerate(picked) if best and row.run_id == best.run_id), -1),
    }


def x_options(rows: Sequence[AcrossRow], metric: str) -> list[str]:
    """What the final ``metric`` can be plotted against: parameters, then other metrics."""
    params = parameter_names(rows)
    return params + [m for m in metric_names(rows) if m != metric and m not in params]


def distinct_values(rows: Sequence[AcrossRow], name: str) -> int:
    """How many different values the runs have for parameter or metric ``name``."""
    values = {row.params.get(name, row.metrics.get(name)) for row in rows}
    values.discard(None)
    return len({str(v) for v in values})


def default_x(rows: Sequence[AcrossRow], options: Sequence[str]) -> str:
    """The x the across-run chart opens with (``""``: none).

    The first option whose values differ between runs: a tag every run shares
    (``model=ridge``) separates nothing.
    """
    return next((name for name in options if distinct_values(rows, name) >= 2), "")


def scatter_state(rows: Sequence[AcrossRow], param: str, metric: str, goal: str) -> dict[str, Any]:
    """The final-metric-by-parameter chart: :func:`metric_vs_param` ready to draw.

    A log x is given as ``log10(x)`` on a linear axis (bqplot's log axis put its ticks at
    the origin after data updates, or crowded 2-5-per-decade labels) and says so in the
    label; text values are named in the label by their index. Adds ``label`` and
    ``title``.
    """
    data = metric_vs_param(rows, param, metric, goal)
    label = f"log10({param})" if data["log"] else param
    if data["log"]:
        data["x"] = np.log10(data["x"])
    if data["categories"]:
        shown = data["categories"][:8]
        label += " (" + ", ".join(f"{i}={c}" for i, c in enumerate(shown)) + ")"
    data["label"] = label
    data["title"] = f"final {metric} by {param}"
    data["named"] = 0 < len(data["labels"]) <= MAX_NAMED_POINTS
    return data


def label_room(data: dict[str, Any], low: float, high: float) -> float:
    """How far to extend an x domain ``[low, high]`` for the right-most points' names.

    Names are written to the right of their points (``scatter_state``'s); near the right
    edge they need room inside the chart.
    """
    if not data.get("named") or not len(data["x"]) or high <= low:
        return 0.0
    x = np.asarray(data["x"], dtype=np.float64)
    right = x >= low + 0.75 * (high - low)  # only names near the right edge need room
    chars = max(
        (len(name) for name, keep in zip(data["labels"], right, strict=True) if keep), default=0
    )
    share = min(0.5, chars * LABEL_PX_PER_CHAR / PLOT_PX)
    return (high - low) * share


def numeric_params(rows: Sequence[AcrossRow]) -> list[str]:
    """Parameters with a numeric value in at least two runs."""
    names = []
    for name in parameter_names(rows):
        count = sum(1 for row in rows if _finite(row.params.get(name)) is not None)
        if count >= 2:
            names.append(name)
    return names


def parcoords_state(
    rows: Sequence[AcrossRow], metric: str, goal: str, metrics: Sequence[str] = ()
) -> dict[str, Any]:
    """Parallel coordinates: numeric parameters, other metrics, then ``metric`` last.

    Lines are coloured by ``metric`` (better = darker) and the best run is drawn thick;
    the shape is what ``js/parcoords.js`` renders.
    """
    params = [p for p in numeric_params(rows) if p != metric]
    # A name that is both a parameter (a tag) and a metric is one axis, not two.
    others = [m for m in metrics if m != metric and m not in params]
    axes = (params + others)[: MAX_PARCOORD_AXES - 1] + ([metric] if metric else [])
    if len(axes) < 2 or not rows:
        return {"dimensions": [], "lines": []}
    dimensions = []
    for name in axes:
        column = [_finite(row.params.get(name, row.metrics.get(name))) for row in rows]
        dimensions.append({"name": name, "log": wants_log([v for v in column if v is not None])})
    best = best_run(rows, metric, goal)
    scored = [_finite(row.metrics.get(metric)) for row in rows]
    finite = [v for v in scored if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    lines = []
    for row, value in zip(rows, scored, strict=True):
        quality = 0.5
        if value is not None and high > low:
            share = (value - low) / (high - low)
            quality = 1.0 - share if goal == MINIMIZE else share
        lines.append(
            {
                "id": row.run_id,
                "label": f"run {row.label}: {metric}={value}",
                "values": [_finite(row.params.get(n, row.metrics.get(n))) for n in axes],
                "quality": quality,
                "best": best is not None and row.run_id == best.run_id,
            }
        )
    return {"dimensions": dimensions, "lines": lines}
