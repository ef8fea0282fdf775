"""What a chart draws, as data: one :class:`ChartData` per chart, as a table or CSV.

Both views describe each chart they draw the same way (its metric, the x axis, and its
lines: a run's line, a column of a table metric, or a group's line with its band), and
the same description feeds the chart, ``view.to_dataframe()`` / ``view.to_csv(path)``,
the CSV a chart's menu saves, and ``get_widget_data()["charts"]``. So what a user saves is
what the chart shows (long series reduced to at most 2,000 points per line, min/max kept;
smoothing applied), with the run ids.

The table is long (one row per point): ``metric``, ``x_axis``, ``run_id``, ``group``,
``label``, ``x``, ``y``, and for a group's line ``lower``, ``upper`` (its band) and
``members`` (runs with a value at that x). Wall times are ISO 8601 UTC strings in ``x``;
other x values are numbers. A CSV is written whole or not at all.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["metric", "x_axis", "run_id", "group", "label", "x", "y", "lower", "upper", "members"]
WALL_AXIS = "wall time"
"""The ``x_axis`` of wall-clock charts (x in epoch milliseconds, exported as ISO times)."""


@dataclass(frozen=True)
class SeriesData:
    """One line of a chart.

    ``run_id`` names the run (``""`` for a group's line); ``group`` the group (``""`` for a
    run's own line); ``lower``/``upper``/``count`` are a group's band and member counts.
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    run_id: str = ""
    group: str = ""
    color: str = ""
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    count: np.ndarray | None = None
    emphasis: bool = False
    """Drawn thicker and on top (a sweep's best child)."""
    faded: bool = False
    """Drawn thin and translucent (a group member, a sweep's other children)."""


X_KINDS = ("number", "integer", "wall", "relative")
RELATIVE_AXIS = "time since start (s)"


@dataclass(frozen=True)
class ChartData:
    """What one chart draws: its metric, its x axis (a label) and its lines.

    ``x_kind`` says how to draw x: ``"integer"`` (steps, indexes: whole ticks),
    ``"wall"`` (epoch milliseconds on a date axis), ``"relative"`` (seconds since the
    run started, shown in the unit that fits) or ``"number"``.
    """

    metric: str
    x_axis: str
    lines: Sequence[SeriesData] = field(default_factory=tuple)
    note: str = ""
    """Why lines are missing, e.g. a metric that is not numeric."""
    x_kind: str = "number"
    x_range: tuple[float, float] | None = None
    """The zoomed x range the lines cover, in x's units (``None``: the whole run)."""
    exact: bool = True
    """Whether the lines are every point of their range (else first/min/max/last of buckets)."""

    def json(self) -> dict[str, Any]:
        """The chart as JSON-able data (``get_widget_data()["charts"][metric]``).

        ``{"x_axis", "lines", "x", "y", "x_range", "exact"}``: ``lines`` holds every line
        (``{"label", "run_id", "x", "y"}`` …); ``x`` and ``y`` are the first line's (a run
        view's chart of a ``log`` metric has one), ``x_range`` is ``[lo, hi]`` or ``None``
        (the whole run), ``exact`` says whether every point of the range is drawn.
        """
        lines = []
        for line in self.lines:
            item: dict[str, Any] = {"label": line.label}
            if line.run_id:
                item["run_id"] = line.run_id
            if line.group:
                item["group"] = line.group
            item["x"] = _x_json(self.x_axis, line.x)
            item["y"] = _json_list(line.y)
            if line.lower is not None and line.upper is not None:
                item["lower"] = _json_list(line.lower)
                item["upper"] = _json_list(line.upper)
            if line.count is not None:
                item["members"] = [int(n) for n in line.count]
            lines.append(item)
        data: dict[str, Any] = {
            "x_axis": self.x_axis,
            "lines": lines,
            "x": lines[0]["x"] if lines else [],
            "y": lines[0]["y"] if lines else [],
            "x_range": None
            if self.x_range is None
            else _x_json(self.x_axis, np.asarray(self.x_range, dtype=np.float64)),
            "exact": self.exact,
        }
        if self.note:
            data["note"] = self.note
        return data


def _json_list(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def _x_json(x_axis: str, values: np.ndarray) -> list[Any]:
    if x_axis == WALL_AXIS:
        return [iso_time(v) for v in np.asarray(values, dtype=np.float64)]
    return _json_list(values)


def iso_time(epoch_ms: float) -> str | None:
    """Epoch milliseconds as an ISO 8601 UTC time (``None`` if not finite)."""
    if not math.isfinite(epoch_ms):
        return None
    return datetime.fromtimestamp(epoch_ms / 1000.0, tz=timezone.utc).isoformat()


def frame(charts: Iterable[ChartData]) -> pd.DataFrame:
    """The charts as one long table (see the module docstring)."""
    import pandas as pd

    parts = []
    for chart in charts:
        for line in chart.lines:
            n = len(line.x)
            empty = np.full(n, np.nan)
            x: Any = (
                [iso_time(v) for v in np.asarray(line.x, dtype=np.float64)]
                if chart.x_axis == WALL_AXIS
                else np.asarray(line.x, dtype=np.float64)
            )
            parts.append(
                pd.DataFrame(
                    {
                        "metric": chart.metric,
                        "x_axis": chart.x_axis,
                        "run_id": line.run_id,
                        "group": line.group,
                        "label": line.label,
                        "x": x,
                        "y": np.asarray(line.y, dtype=np.float64),
                        "lower": empty if line.lower is None else line.lower,
                        "upper": empty if line.upper is None else line.upper,
                        "members": pd.array(
                            [None] * n if line.count is None else line.count, dtype="Int64"
                        ),
                    }
                )
            )
    if not parts:
        nothing: pd.DataFrame = pd.DataFrame({name: [] for name in COLUMNS})
        return nothing
    table: pd.DataFrame = pd.concat(parts, ignore_index=True)
    return table


def csv_text(charts: Iterable[ChartData]) -> str:
    """The charts' table as CSV text."""
    text: str = frame(charts).to_csv(index=False)
    return text


def write_csv(charts: Iterable[ChartData], path: str | os.PathLike[str]) -> Path:
    """Write the charts' table to ``path`` as CSV, whole or not at all.

    Raises:
        OSError: the file cannot be written (the message names the path); nothing is
            left behind.
    """
    target = Path(path).expanduser()
    text = csv_text(charts)
    try:
        folder = target.parent if str(target.parent) else Path(".")
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise OSError(
            error.errno, f"Cannot write the CSV to {str(target)!r}: {error.strerror or error}"
        ) from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(
            error.errno, f"Cannot write the CSV to {str(target)!r}: {error.strerror or error}"
        ) from error
    return target
