"""What RunDetails' charts offer and draw, decided without widgets.

The x axes a chart offers (step, index, wall time, time since start, a metric logged in
lockstep, a table's columns), what the chart of one metric draws (:func:`chart_data`, the
description shared with the exports and ``get_widget_data``), and the page size.
``widgets.details`` asks these and draws the answer; the tests call them directly.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from .export import RELATIVE_AXIS, WALL_AXIS, ChartData, SeriesData
from .mapping import (
    INDEX,
    RELATIVE,
    STEP,
    TIME_AXES,
    WALL,
    axis_title,
    classify,
    lockstep_partners,
)
from .tracker import RunTracker

PAGE_SIZE = 12


def line_x_options(tracker: RunTracker, name: str, current: str) -> list[str]:
    """The x axes of metric ``name``'s line: step, its lockstep partners, the current one.

    The current choice stays offered while it is still a numeric series: two metrics
    logged in lockstep (mse and alpha) are briefly one point apart when a flush falls
    between their two ``log`` calls, and the user's choice must survive that.
    """
    options = [STEP, *TIME_AXES, *lockstep_partners(tracker.infos(), name)]
    if current not in options and tracker.views().get(current) == "line":
        options.append(current)
    return options


def table_x_options(tracker: RunTracker, name: str) -> list[str]:
    """The x axes of a row/table metric's chart: its numeric columns, then step and time."""
    return [*tracker.table_columns(name), STEP, WALL, RELATIVE]


def x_options(tracker: RunTracker, name: str, current: str) -> list[str]:
    """The x axes the chart of ``name`` offers (``current``: the choice now)."""
    if classify(tracker.metrics[name].info) == "line":
        return line_x_options(tracker, name, current)
    return table_x_options(tracker, name)


def x_kind(x_name: str) -> str:
    """How x is drawn (``export.ChartData.x_kind``)."""
    if x_name in (STEP, INDEX):
        return "integer"
    if x_name == WALL:
        return "wall"
    return "relative" if x_name == RELATIVE else "number"


def chart_data(tracker: RunTracker, name: str, x_choice: str = STEP) -> ChartData:
    """What the chart of metric ``name`` draws over ``x_choice`` (falls back if gone).

    A line metric has one line (the run's); a row/table metric one line per numeric
    column but the one on x.
    """
    options = x_options(tracker, name, x_choice)
    x_name = x_choice if x_choice in options else options[0]
    run_id = tracker.run_id
    if classify(tracker.metrics[name].info) == "line":
        y_names: list[str | None] = [None]
        labels = [name]
    else:
        labels = [c for c in tracker.table_columns(name) if c != x_name]
        y_names = list(labels)
    lines = [
        SeriesData(label, *tracker.chart_xy(name, x_name, y_name), run_id=run_id)
        for label, y_name in zip(labels, y_names, strict=True)
    ]
    exact = all(tracker.chart_line(name, x_name, y_name).exact for y_name in y_names)
    title = {WALL: WALL_AXIS, RELATIVE: RELATIVE_AXIS}.get(x_name, axis_title(x_name))
    return ChartData(
        name,
        title,
        lines,
        x_kind=x_kind(x_name),
        x_range=drawn_range(tracker, name, x_name),
        exact=exact,
    )


def drawn_range(tracker: RunTracker, name: str, x_name: str) -> tuple[float, float] | None:
    """The chart's zoomed x range in the units x is drawn in (``None``: the whole run).

    The tracker keeps a time axis' range in epoch seconds; the chart draws wall time in
    epoch milliseconds and relative time in seconds since the run started.
    """
    found = tracker.x_range(name)
    if found is None:
        return None
    lo, hi = found
    if x_name == WALL:
        return lo * 1000.0, hi * 1000.0
    if x_name == RELATIVE:
        return lo - tracker.start_time, hi - tracker.start_time
    return found


def tracker_range(
    tracker: RunTracker, x_name: str, lo: float | None, hi: float | None
) -> tuple[float | None, float | None]:
    """A range given in the units of x as a user reads it, in the tracker's units.

    Wall time is given in epoch seconds (as ``run.get_metrics`` times are) and relative
    time in seconds since the run started: both become epoch seconds.
    """
    if x_name == RELATIVE and lo is not None and hi is not None:
        return lo + tracker.start_time, hi + tracker.start_time
    return lo, hi


def charts_per_page(settings: Mapping[str, Any]) -> int:
    """``widget_settings["charts_per_page"]``, checked (default ``PAGE_SIZE``).

    Raises:
        TypeError, ValueError: not a whole number of at least 1.
    """
    value = settings.get("charts_per_page", PAGE_SIZE)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"widget_settings['charts_per_page'] must be an int, not {value!r}.")
    if value < 1:
        raise ValueError(f"widget_settings['charts_per_page'] must be at least 1, got {value}.")
    return int(value)
