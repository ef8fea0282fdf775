"""The sweep's part of a static snapshot: its chart image and its child table as HTML.

A saved notebook shows these in place of the live sweep view (see ``views.static``): the
primary metric per child with the best-so-far line and the metric against the first
hyperparameter (a matplotlib PNG), then the summary line and the child table, best child
first. Every user string goes through ``static.esc``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..store import RunRecord
from ..tracking.details import duration_text
from . import static
from . import sweep_state as state
from .a11y import number_text
from .sweep_state import BEST_COLOR, OTHER_COLOR, SweepSettings
from .tracker import ChildRow


def static_cell(row: Mapping[str, Any], key: str) -> Any:
    """The text of one cell of the sweep's child table (``table_state`` row, column key)."""
    if key == "started":
        return static.when(row.get("start"))
    if key == "duration":
        end = row.get("end") or time.time()
        return duration_text(end - row["created"]) if row.get("created") else ""
    if key == "best":
        value = row.get("best")
        return "" if value is None else f"{value:.6g}"
    return row.get(key, row.get("values", {}).get(key, ""))


def chart_png(
    children: Sequence[ChildRow],
    histories: Mapping[str, Sequence[float]],
    settings: SweepSettings,
) -> bytes | None:
    """The primary metric per child and against the first hyperparameter, as a PNG.

    ``None`` when no child has a value yet, or when children logged whole curves (the
    run's own chart image then stands for them).
    """
    points = state.primary_series(children, histories, settings)
    params = state.parameter_names(children)
    if points["mode"] != "points" or not len(points["x"]):
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3), dpi=80)
    FigureCanvasAgg(figure)
    left = figure.add_subplot(1, 2, 1)
    left.scatter(points["x"], points["y"], s=14, color=OTHER_COLOR)
    left.step(points["x"], points["best_so_far"], where="post", color="#2ca02c")
    best = points["best_index"]
    left.scatter(points["x"][best], points["y"][best], s=60, color=BEST_COLOR, marker="D")
    left.set_title(f"{settings.metric} per child", fontsize=10)
    left.set_xlabel("run number", fontsize=8)
    if params:
        data = state.parameter_points(children, settings, params[0])
        right = figure.add_subplot(1, 2, 2)
        right.scatter(data["x"], data["y"], s=14, color=OTHER_COLOR)
        index = data["best_index"]
        right.scatter(data["x"][index], data["y"][index], s=60, color=BEST_COLOR, marker="D")
        if data["log"]:
            right.set_xscale("log")
        right.set_title(f"{settings.metric} by {params[0]}", fontsize=10)
        right.set_xlabel(params[0], fontsize=8)
    for axes in figure.axes:
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def chart_alt(
    children: Sequence[ChildRow],
    histories: Mapping[str, Sequence[float]],
    settings: SweepSettings,
) -> str:
    """The text alternative of :func:`chart_png`: the metric, its range, the best child."""
    points = state.primary_series(children, histories, settings)
    if points["mode"] != "points" or not len(points["x"]):
        return f"{settings.metric} per child: no values yet"
    y = points["y"][np.isfinite(points["y"])]
    parts = [
        f"{settings.metric} per child: {len(points['x'])} children, run number "
        f"{number_text(float(points['x'].min()))} to {number_text(float(points['x'].max()))}"
    ]
    if len(y):
        parts.append(
            f"{settings.metric} {number_text(float(y.min()))} to {number_text(float(y.max()))}"
        )
    best = state.best_child(children, settings)
    if best is not None:
        parts.append(f"best: run {best.number}")
    params = state.parameter_names(children)
    if params:
        parts.append(f"and {settings.metric} by {params[0]}")
    return "; ".join(parts)


def children_html(record: RunRecord, children: Sequence[ChildRow], settings: SweepSettings) -> str:
    """The sweep's summary line and child table (best child first), escaped HTML."""
    summary = state.summary_state(record, children, settings)
    table = state.table_state(children, settings)
    keys = [c["key"] for c in table["columns"]]
    rows = [
        [static_cell(row, key) for key in keys]
        for row in table["rows"][: static.MAX_STATIC_CHILDREN]
    ]
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary["counts"].items()))
    best = summary["best"]
    lines = [
        f"Primary metric: {settings.metric} ({settings.goal.lower()}); "
        f"children: {counts or 'none yet'}"
    ]
    if best is not None:
        lines.append(f"Best: run {best['number']}, {settings.metric} = {best['value']:.6g}")
    text = "".join(f"<p>{static.esc(line)}</p>" for line in lines)
    return (
        text
        + static.table_html([c["title"] for c in table["columns"]], rows)
        + f"<p>{static.esc(state.FOOTNOTE)}</p>"
    )
