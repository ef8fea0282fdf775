"""The docs build's own tools, kernel-free: the link checker finds what is broken."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_links", ROOT / "docs" / "_ext" / "check_links.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_link_checker_reports_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "guides").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.css").write_text("")
    (tmp_path / "index.html").write_text(
        '<link href="_static/x.css"><a href="guides/a.html#there">ok</a>'
        '<a href="guides/a.html#nowhere">bad anchor</a><a href="missing.html">bad file</a>'
        '<a href="https://example.org/">external</a><a href="#top" id="top">self</a>'
    )
    (tmp_path / "guides" / "a.html").write_text(
        '<h2 id="there">There</h2><img src="../_static/gone.png"><a href="../index.html">up</a>'
    )
    broken, internal, external = _checker().check(tmp_path)
    assert sorted(broken) == [
        "guides/a.html: ../_static/gone.png (no such file)",
        "index.html: guides/a.html#nowhere (no anchor #nowhere)",
        "index.html: missing.html (no such file)",
    ]
    assert (internal, external) == (7, 1)


def test_the_link_checker_passes_a_clean_site(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text('<a href="page.html#s">p</a>')
    (tmp_path / "page.html").write_text('<section id="s"></section><a href="index.html">i</a>')
    assert _checker().main([str(tmp_path)]) == 0
    assert _checker().main([str(tmp_path / "nowhere")]) == 1
