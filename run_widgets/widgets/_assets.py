"""The front-end modules in ``js/``, read once at import.

In a wheel they are packaged as ``run_widgets/static`` (hatch force-include); in an
editable install they are read from the repository's ``js/`` folder. The text is read into
plain strings rather than passed as paths: anywidget keeps widgets that hold a file-path
``_esm`` alive forever (anywidget issue #929).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
STATIC = _PACKAGE / "static" if (_PACKAGE / "static").is_dir() else _PACKAGE.parent / "js"


@cache
def asset(name: str) -> str:
    """The text of ``js/<name>`` (an ES module or a stylesheet)."""
    return (STATIC / name).read_text(encoding="utf-8")


def css(*names: str) -> str:
    """The shared theme followed by the given stylesheets."""
    return "\n".join([asset("theme.css"), *(asset(n) for n in names)])


@cache
def module(name: str) -> str:
    """The ES module ``js/<name>`` with the shared helpers of ``js/format.js`` before it.

    (anywidget imports each module from a blob URL, where a relative ``import`` of a
    sibling file cannot resolve; the few shared functions travel inside each module.)
    """
    return asset("format.js") + "\n" + asset(name)
