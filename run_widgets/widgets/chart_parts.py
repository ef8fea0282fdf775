"""Parts every chart of the views shares: the chart menu, the data summary, axis drawing.

* :class:`ChartMenu` (``js/chartmenu.js``): "Ignore outliers", "Save PNG", "Save SVG"
  (the bqplot figure's own export, in the browser) and "Save CSV" (what the chart draws,
  made here on request: ``csv_of`` is called with no argument and returns the text).
* :func:`data_summary`: the visually hidden table a screen reader reads for a chart.
* :func:`apply_axis`: an ``views.axes.AxisLayout`` onto a bqplot scale and axis, sending
  only what changed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import anywidget
import bqplot
import ipywidgets
import numpy as np
import traitlets

from ..views.axes import (
    X_LABEL_CHARS,
    AxisLayout,
    linear_axis,
    range_axis,
    relative_time,
    time_unit,
)
from ..views.export import ChartData, iso_time
from ._assets import asset, css


class ChartMenu(anywidget.AnyWidget):
    """A chart's menu: ignore outliers, save as PNG, SVG or CSV.

    Args:
        title: the chart's name (the menu's accessible name and the files' name).
        figure: the bqplot figure saved as PNG or SVG.
        csv_of: makes the CSV of what the chart draws (called when the user asks).
    """

    _esm = asset("chartmenu.js")
    _css = css("chartmenu.css")
    title = traitlets.Unicode("").tag(sync=True)
    figure = traitlets.Instance(bqplot.Figure, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    ignore_outliers = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        title: str,
        figure: bqplot.Figure,
        csv_of: Callable[[], str],
        **kwargs: Any,
    ) -> None:
        super().__init__(title=title, figure=figure, **kwargs)
        self._csv_of = csv_of
        self.on_msg(self._on_message)

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "csv":
            try:
                text = self._csv_of()
            except Exception as error:  # shown beside the menu; the view keeps working
                self.send({"error": f"Could not make the CSV: {error}"})
                return
            name = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.title)
            self.send({"csv": text, "filename": f"{name or 'chart'}.csv"})


def data_summary() -> ipywidgets.HTML:
    """An empty data summary (visually hidden; its ``value`` is ``a11y.summary_html``)."""
    summary = ipywidgets.HTML("")
    summary.add_class("rw-sr-only")
    return summary


def set_summary(summary: ipywidgets.HTML, text: str) -> None:
    """Update a data summary (only when its text changed)."""
    if summary.value != text:
        summary.value = text


def apply_axis(scale: bqplot.Scale, axis: bqplot.Axis, layout: AxisLayout | None) -> None:
    """Draw ``layout`` on ``scale`` (its domain) and ``axis`` (ticks and their format)."""
    if layout is None:
        return
    if scale.min != layout.low:
        scale.min = layout.low
    if scale.max != layout.high:
        scale.max = layout.high
    set_ticks(axis, layout.ticks, layout.fmt)


def set_ticks(axis: bqplot.Axis, ticks: np.ndarray | None, fmt: str | None) -> None:
    """Set an axis' tick values and format (``None``: d3's own, e.g. a date axis).

    A new format is sent at once, ahead of any held burst: bqplot redraws new tick values
    through a d3 transition that prints them with the format the axis has when the values
    arrive, so a format arriving after them (or with them, keys in any order) was lost and
    0.0006 printed as "0" with the previous ",d".
    """
    if axis.tick_format != fmt:
        axis.tick_format = fmt
        axis.send_state("tick_format")
    old = axis.tick_values
    if (ticks is None) != (old is None) or (ticks is not None and not np.array_equal(old, ticks)):
        axis.tick_values = ticks


def free_scale(scale: bqplot.Scale) -> None:
    """Let ``scale`` fit its data again (a date axis: d3 picks the domain)."""
    if scale.min is not None:
        scale.min = None
    if scale.max is not None:
        scale.max = None


def x_layout(
    data: ChartData, xs: list[np.ndarray]
) -> tuple[list[np.ndarray], str, AxisLayout | None]:
    """The x arrays as drawn, the axis label and its layout (``None``: a date axis).

    Wall times become datetimes; relative times are divided into the unit that fits their
    span, which the label names ("time since start (min)"). A zoomed chart's axis spans
    its range exactly (``data.x_range``).
    """
    kind, label = data.x_kind, data.x_axis
    if kind == "wall":
        return [x.astype("datetime64[ms]") for x in xs], label, None
    divisor = 1.0
    integer = True if kind == "integer" else None
    if kind == "relative":
        unit, divisor = _relative_unit(data, xs)
        xs = [x / divisor for x in xs]
        label = f"time since start ({unit})"
    if data.x_range is not None:
        low, high = data.x_range
        return (
            xs,
            label,
            range_axis(
                low / divisor, high / divisor, integer=kind == "integer", label_chars=X_LABEL_CHARS
            ),
        )
    if kind == "relative":  # the whole run: the axis starts at its start
        return xs, label, linear_axis([*xs, np.zeros(1)], label_chars=X_LABEL_CHARS)
    return xs, label, linear_axis(xs, integer=integer, label_chars=X_LABEL_CHARS)


def x_divisor(data: ChartData, xs: list[np.ndarray]) -> float:
    """What x (as ``data`` has it) is divided by when drawn: a relative axis' unit, else 1."""
    return _relative_unit(data, xs)[1] if data.x_kind == "relative" else 1.0


def _relative_unit(data: ChartData, xs: list[np.ndarray]) -> tuple[str, float]:
    """A relative axis' unit: for the zoomed range's width, else for the run from its start.

    Ten seconds zoomed an hour into a run read in seconds, not minutes.
    """
    if data.x_range is not None:
        low, high = data.x_range
        return time_unit(high - low)
    return relative_time(xs)


class ZoomControls:
    """A chart's zoom: a brush over its plot, the range label and a "reset zoom" button.

    Dragging over the plot calls ``on_zoom(lo, hi)`` (in x's units as the chart's data
    has them: the drawn values times ``divisor``; whole numbers inside the drag on an
    integer axis), "reset zoom" calls ``on_zoom(None, None)``. :meth:`show` follows what
    the chart draws. The owner puts :attr:`label` and :attr:`reset` in its controls.

    Args:
        figure: the chart's figure (its interaction becomes the brush).
        scale: the x scale the brush reads.
        on_zoom: called with the range dragged, or ``(None, None)``.
        reset_tooltip: the "reset zoom" button's tooltip.
    """

    def __init__(
        self,
        figure: bqplot.Figure,
        scale: bqplot.Scale,
        on_zoom: Callable[[float | None, float | None], None],
        reset_tooltip: str = "Show the whole runs again",
    ) -> None:
        self.figure = figure
        self.on_zoom = on_zoom
        self.divisor = 1.0
        self.integer = False
        self.brush = bqplot.interacts.BrushIntervalSelector(scale=scale, color="#1f77b4")
        self.brush.observe(self._brushed, names=["brushing", "selected"])
        figure.interaction = self.brush
        self.label = ipywidgets.HTML("", layout=ipywidgets.Layout(margin="0 6px 0 0"))
        self.label.add_class("rw-zoom-label")
        self.reset = ipywidgets.Button(
            description="reset zoom",
            tooltip=reset_tooltip,
            layout=ipywidgets.Layout(width="auto", flex="0 0 auto", display="none"),
        )
        self.reset.add_class("rw-reset-zoom")
        self.reset.on_click(lambda _: self.on_zoom(None, None))

    def show(self, data: ChartData, divisor: float = 1.0, enabled: bool = True) -> None:
        """Follow ``data``: the button and label while zoomed, the brush where it works."""
        self.divisor = divisor
        self.integer = data.x_kind == "integer"
        display = "" if data.x_range is not None else "none"
        if self.reset.layout.display != display:
            self.reset.layout.display = display
        interaction = self.brush if enabled else None
        if self.figure.interaction is not interaction:
            self.figure.interaction = interaction
        text = ""
        if data.x_range is not None:
            lo, hi = (zoom_number(v / divisor) for v in data.x_range)
            if data.x_kind == "wall":
                lo, hi = (str(iso_time(v))[:19].replace("T", " ") for v in data.x_range)
            what = "every point" if data.exact else "first, min, max and last of each bucket"
            tip = html.escape(f"Zoomed on {data.x_axis} {lo} to {hi}: {what}", quote=True)
            text = (
                f"<span title='{tip}' style='font-size: 11px; white-space: nowrap'>"
                f"{html.escape(lo)}–{html.escape(hi)}{'' if data.exact else ' (summary)'}</span>"
            )
        if self.label.value != text:
            self.label.value = text

    def _brushed(self, change: dict[str, object]) -> None:
        """A drag over the plot ended: zoom on the x range it covers (a click: nothing)."""
        selected = self.brush.selected
        if self.brush.brushing or selected is None or len(selected) != 2:
            return
        lo, hi = sorted(float(v) * self.divisor for v in selected)
        self.brush.selected = None  # the rectangle goes: the axis now shows the range
        if self.integer and math.ceil(lo) <= math.floor(hi):
            lo, hi = math.ceil(lo), math.floor(hi)  # whole steps: the ones inside the drag
        if hi >= lo:
            self.on_zoom(lo, hi)

    def close(self) -> None:
        """Close the brush and the controls."""
        for part in (self.brush, self.label, self.reset):
            part.close()


def zoom_number(value: float) -> str:
    """A range end as a zoom label shows it: whole numbers grouped, others to 6 digits."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"
