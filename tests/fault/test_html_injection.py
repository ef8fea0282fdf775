"""HTML injection: user strings are escaped in every HTML output and plain text in panels."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from widget_helpers import XSS, new_run

from run_widgets import Experiment, Run, RunDetails
from run_widgets.views import static
from run_widgets.views.reader import run_reader
from run_widgets.views.report import build_report
from run_widgets.widgets import panels
from run_widgets.widgets._assets import STATIC
from run_widgets.widgets.panels import panel_state

JS_DIR = Path(__file__).resolve().parents[2] / "js"
UNSAFE_JS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment"
    r"|DOMParser|srcdoc|\beval\s*\(|new\s+Function\b"
)


@pytest.fixture
def hostile(exp: Experiment) -> Run:
    """A run with markup in every user string the views show."""
    run = new_run(exp, display_name=XSS)
    run.log(XSS, 1.0)
    run.log(XSS, 2.0)  # a chart titled with markup
    run.log("note", XSS)  # a property row whose value is markup
    run.log("p" + XSS, 3.0)  # a property row whose label is markup
    run.log_row("table", **{"col": XSS, "n": 1})
    run.log_row("table", **{"col": XSS, "n": 2})
    run.tag(XSS, XSS)
    run.add_properties({XSS: XSS})
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"{XSS}\n", encoding="utf-8")
    child = run.child_run(name=XSS)
    child.tag(XSS, XSS)
    child.log(XSS, 0.5)
    child.fail(XSS)
    run.fail(XSS)
    return run


OUR_IMAGE = re.compile(r'<img (alt|title)="[^"<>]*" src="data:image/png;base64,[A-Za-z0-9+/=]*"/>')


def assert_escaped(text: str) -> None:
    """No markup from user strings: the only <img> tags are our own data: images."""
    assert "<img" not in OUR_IMAGE.sub("", text).lower()
    assert html.escape(XSS) in text


def test_static_snapshot_escapes_every_user_string(hostile: Run) -> None:
    view = RunDetails(hostile)
    try:
        text = static.snapshot_html(view.tracker, None, view.portal_url)
        assert_escaped(text)
        bundle = view.static_bundle(with_charts=True)
        assert_escaped(bundle["text/html"])
        # One chart image, whose text alternative names the (markup) metric, escaped.
        assert bundle["text/html"].count('<img alt="Charts of the run. ') == 1
        assert f'<img alt="Charts of the run. {html.escape(XSS)}' in bundle["text/html"]
    finally:
        view.close()


def test_report_escapes_every_user_string(hostile: Run) -> None:
    text = build_report(run_reader(hostile))
    assert_escaped(text)
    assert text.count(f'<img alt="{html.escape(XSS)}"') == 1  # the chart titled with markup
    assert f"Error occurred: {html.escape(XSS)}" in text


def test_run_repr_html_escapes(hostile: Run) -> None:
    assert "<img" not in hostile._repr_html_()
    child = next(iter(hostile.get_children()))
    assert "<img" not in child._repr_html_()


def test_panels_get_user_strings_as_plain_text(hostile: Run) -> None:
    view = RunDetails(hostile)
    try:
        header = panel_state(view.header)["header"]
        assert header["display_name"] == XSS  # verbatim: the JS sets textContent
        rows = {row[0]: row[1] for row in panel_state(view.properties)["rows"]}
        assert rows[f"tag: {XSS}"] == XSS
        assert rows[f"property: {XSS}"] == XSS
        assert rows["note"] == XSS
        assert rows["p" + XSS] == "3"
        logs = panel_state(view.logs)
        assert logs["text"].startswith(f"{XSS}\n")
        assert logs["text"].endswith(f"\nError occurred: {XSS}\n")
        table = panel_state(view.children_table)
        (row,) = table["rows"]
        assert row["display_name"] == XSS
        assert {c["title"] for c in table["columns"]} >= {XSS}
        (tables,) = panel_state(view.gallery)["tables"]
        assert tables["rows"][0][0] == XSS
        assert view._charts[XSS].figure.title == XSS
        # No panel state carries escaped text either (that would show "&lt;" to users).
        for panel in (view.header, view.properties, view.logs, view.children_table):
            assert "&lt;" not in json.dumps(panel_state(panel))
    finally:
        view.close()


@pytest.mark.parametrize("path", sorted(JS_DIR.glob("*.js")), ids=lambda p: p.name)
def test_js_never_parses_data_as_html(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = UNSAFE_JS.findall(source)
    assert not found, f"{path.name} uses {found}: render data with textContent"


def test_js_folder_is_the_one_the_panels_ship() -> None:
    assert STATIC.resolve() == JS_DIR.resolve() or (STATIC / "header.js").is_file()
    shipped: dict[str, Any] = {
        "header.js": panels.HeaderPanel,
        "properties.js": panels.PropertiesPanel,
        "children.js": panels.ChildTable,
        "logs.js": panels.LogPanel,
        "gallery.js": panels.GalleryPanel,
    }
    for name, cls in shipped.items():
        # A module may carry the shared helpers of format.js before its own text.
        assert cls()._esm.endswith((JS_DIR / name).read_text(encoding="utf-8"))
