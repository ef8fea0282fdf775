"""The documentation site, as a reader sees it in Chromium.

The built site (``./scripts/docs`` -> ``build/docs/``) is served from 127.0.0.1 and every
other request is refused: a rendered notebook's ``RunDetails`` must draw its charts from
the saved widget state with the site's own copies of the widget manager and the widget
libraries, with no CDN, no kernel and no error text. The sweep and ``ExperimentDetails``
views in the guides must draw too. Screenshots of the home page, a guide and a rendered
notebook go to ``tests/browser/artifacts/``.

When ``build/docs`` is missing or older than the sources, the test builds the site first
with ``./scripts/docs`` (which installs the docs extra; a few minutes).
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import browser_page, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "docs"
SOURCES = (
    "docs/**/*.md", "docs/**/*.py", "docs/_static/**/*", "notebooks/*.ipynb",
    "notebooks/scripts/*.py", "run_widgets/**/*.py", "js/**/*",
)  # fmt: skip
CHART_TITLES = (
    "(scope) => [...document.querySelectorAll(scope + ' .bqplot.figure .mainheading')]"
    ".filter(e => e.getBoundingClientRect().width > 0).map(e => e.textContent)"
)
DRAWN_LINES = (
    "(scope) => [...document.querySelectorAll(scope + ' .bqplot.figure path.line')]"
    ".filter(p => (p.getAttribute('d') || '').includes('L')).length"
)


def _newest_source() -> float:
    """The newest modification time among the files the site is built from."""
    files = (path for pattern in SOURCES for path in ROOT.glob(pattern))
    return max(path.stat().st_mtime for path in files if path.is_file())


@pytest.fixture(scope="module")
def site() -> Path:
    """The built site; ``./scripts/docs`` builds it when a source is newer than it."""
    index = SITE / "index.html"
    if not index.is_file() or index.stat().st_mtime < _newest_source():
        result = subprocess.run(
            [str(ROOT / "scripts" / "docs")], cwd=ROOT, capture_output=True, text=True,
            timeout=1800,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The site over HTTP on a free loopback port (as a reader's browser would get it)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(served: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page that may load only the site: (page, refused requests, page errors)."""
    refused: list[str] = []
    errors: list[str] = []
    with browser_page(viewport=(1440, 900)) as page:

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url.startswith(served) or url.startswith(("data:", "blob:")):
                request_route.continue_()
            else:
                refused.append(url)
                request_route.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, refused, errors


def _open(page: Any, url: str, scope: str, charts: int) -> list[str]:
    """Load ``url`` and wait until ``charts`` charts in ``scope`` have drawn lines."""
    page.goto(url)
    page.wait_for_function(f"(n) => ({DRAWN_LINES})({scope!r}) >= n", arg=charts, timeout=120_000)
    titles: list[str] = page.evaluate(CHART_TITLES, scope)
    return titles


def test_a_rendered_notebook_draws_run_details(
    page: tuple[Any, list[str], list[str]], served: str, artifacts: Path
) -> None:
    browser, refused, errors = page
    titles = _open(browser, f"{served}/notebooks/demo.html", ".rw-run-details", 3)
    assert {"loss", "accuracy", "learning rate"} <= set(titles), titles
    view = browser.locator(".rw-run-details").first
    assert "(Completed)" in view.locator(".rw-status-title").inner_text()
    loss = browser.locator(".rw-run-details .bqplot.figure", has_text="loss").first
    assert loss.is_visible()
    assert browser.locator(".rw-static-snapshot").count() > 0  # rendered, and hidden:
    assert not any(s.is_visible() for s in browser.locator(".rw-static-snapshot").all())
    body = browser.locator("body").inner_text()
    assert "Error displaying widget" not in body
    assert "Traceback" not in body
    assert refused == [] and errors == [], (refused, errors)
    view.scroll_into_view_if_needed()
    browser.screenshot(path=str(artifacts / "docs-notebook.png"))


def test_the_guides_show_the_sweep_and_experiment_views(
    page: tuple[Any, list[str], list[str]], served: str, artifacts: Path
) -> None:
    browser, refused, errors = page
    sweep = _open(browser, f"{served}/guides/sweeps.html", ".rw-run-details", 1)
    assert "mse" in " ".join(sweep), sweep
    assert not any(s.is_visible() for s in browser.locator(".rw-static-snapshot").all())
    assert "Error displaying widget" not in browser.locator("body").inner_text()
    overlay = _open(browser, f"{served}/guides/compare-runs.html", ".jupyter-widgets", 1)
    assert "mse" in " ".join(overlay), overlay
    table = browser.locator(".jupyter-widgets", has_text="alpha=0.01").first
    assert table.is_visible()
    assert "Error displaying widget" not in browser.locator("body").inner_text()
    table.scroll_into_view_if_needed()
    browser.screenshot(path=str(artifacts / "docs-guide.png"))
    assert refused == [] and errors == [], (refused, errors)


def test_the_home_page(
    page: tuple[Any, list[str], list[str]], served: str, artifacts: Path
) -> None:
    browser, refused, errors = page
    browser.goto(f"{served}/index.html")
    browser.wait_for_selector("img[alt^='RunDetails']")
    assert browser.evaluate(
        "() => { const i = document.querySelector(\"img[alt^='RunDetails']\");"
        " return i.complete && i.naturalWidth > 0; }"
    )
    for guide in ("Logging", "The run view", "Compare runs", "Performance"):
        assert browser.get_by_role("link", name=guide).count() > 0, guide
    browser.screenshot(path=str(artifacts / "docs-home.png"))
    assert refused == [] and errors == [], (refused, errors)
