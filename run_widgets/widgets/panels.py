"""The custom panels of RunDetails: anywidget models whose views are the ES modules in js/.

Each panel is only traits: Python sets what to show, the JS renders it and reports the
user's intents (a selected row, a chosen log file, a cancel click) back through traits or
messages. No business logic lives in the JS.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from ._assets import asset, css, module


class ViewPanel(anywidget.AnyWidget):
    """A panel that knows its own model id (``model_ref``).

    With it the front-end tells a view restored from a saved notebook (no live comm) from
    a live one: see ``rwRestoredIsNoChange`` in ``js/format.js``.
    """

    model_ref = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_ref = self.model_id or ""


class HeaderPanel(ViewPanel):
    """Status bar, name, id, experiment, start, live duration, report link, error bar."""

    _esm = module("header.js")
    _css = css("header.css")
    header = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)


class PropertiesPanel(anywidget.AnyWidget):
    """The "Run Properties" table: ``rows`` of ``[label, text]``."""

    _esm = module("properties.js")
    _css = css("properties.css")
    rows: traitlets.List[Any] = traitlets.List().tag(sync=True)


class ChildTable(anywidget.AnyWidget):
    """Sortable, paginated child-run table; ``selected_id`` is set by a click on a row."""

    _esm = module("children.js")
    _css = css("children.css")
    title = traitlets.Unicode("Child runs").tag(sync=True)
    columns: traitlets.List[Any] = traitlets.List().tag(sync=True)
    rows: traitlets.List[Any] = traitlets.List().tag(sync=True)
    page_size = traitlets.Int(20).tag(sync=True)
    sort_key = traitlets.Unicode("number").tag(sync=True)
    sort_desc = traitlets.Bool(False).tag(sync=True)
    best_id = traitlets.Unicode("").tag(sync=True)
    clock = traitlets.Float(0.0).tag(sync=True)  # the kernel's time at the last update
    selected_id = traitlets.Unicode("").tag(sync=True)
    cancellable = traitlets.Bool(False).tag(sync=True)
    footnote = traitlets.Unicode("").tag(sync=True)
    show_empty = traitlets.Bool(False).tag(sync=True)
    stat = traitlets.Unicode("last").tag(sync=True)
    """What metric columns show: ``last``, ``min``, ``max`` or ``best`` (the user's choice)."""


class LogPanel(anywidget.AnyWidget):
    """The Output Logs panel: log files, the selected one, "Show Active log", its text."""

    _esm = asset("logs.js")
    _css = css("logs.css")
    files: traitlets.List[Any] = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    follow = traitlets.Bool(True).tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)


class GalleryPanel(anywidget.AnyWidget):
    """Thumbnails of logged images and tables of string/table metrics."""

    _esm = asset("gallery.js")
    _css = css("gallery.css")
    images: traitlets.List[Any] = traitlets.List().tag(sync=True)
    tables: traitlets.List[Any] = traitlets.List().tag(sync=True)


def panel_state(panel: Any) -> dict[str, Any]:
    """The synced state of a panel without its (large, constant) ES module and CSS."""
    state: dict[str, Any] = panel.get_state()
    for key in (
        "_esm",
        "_css",
        "_anywidget_id",
        "_dom_classes",
        "layout",
        "tabbable",
        "tooltip",
        "model_ref",
    ):
        state.pop(key, None)
    return {
        k: v for k, v in state.items() if not k.startswith("_model") and not k.startswith("_view")
    }


class ChartVisibility(anywidget.AnyWidget):
    """Reports which chart cards of its grid are in or near the window (``visible``).

    ``visible`` holds the numbers of the cards' ``rw-card-<n>`` classes; ``None`` until a
    front-end has reported (then every chart on the page counts as visible).
    """

    _esm = asset("visibility.js")
    visible = traitlets.List(traitlets.Unicode(), allow_none=True, default_value=None).tag(
        sync=True
    )


class ParallelCoordinates(anywidget.AnyWidget):
    """Parallel coordinates (``js/parcoords.js``): one axis per dimension, a line per run.

    ``dimensions`` is ``[{"name", "log"}]``; ``lines`` is ``[{"id", "label", "values",
    "quality", "best"}]`` (``views.across.parcoords_state``, ``views.sweep_state``).
    """

    _esm = asset("parcoords.js")
    _css = css("parcoords.css")
    dimensions: traitlets.List[Any] = traitlets.List().tag(sync=True)
    lines: traitlets.List[Any] = traitlets.List().tag(sync=True)
