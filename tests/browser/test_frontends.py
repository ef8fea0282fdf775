"""The view in the other front-ends a notebook user has: Voilà and exported HTML.

* Voilà: a dashboard of a notebook whose run logs while the page is open: the live view
  renders, its chart gains points and the status turns Completed.
* nbconvert HTML with widget state (the path nbviewer and VS Code's saved-widget rendering
  take): a finished run's charts render in Chromium from the exported page. The page loads
  the widget manager and the widgets' JavaScript from public CDNs; the test serves the same
  files locally instead (html-manager and require.js from the npm registry via ``npm pack``,
  anywidget's and bqplot's AMD bundles from the installed Python packages), so it runs
  offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .harness import CHROMIUM, FIGURE_POINTS, browser_page, free_port
from .test_jupyterlab import write_notebook

pytestmark = pytest.mark.slow

NPM_PACKAGES = {"html-manager": "@jupyter-widgets/html-manager@1", "requirejs": "requirejs@2"}
LIVE_RUN = (
    "import threading, time\n"
    "from run_widgets import Workspace, Experiment, RunDetails\n"
    "exp = Experiment(Workspace.from_config(), 'dashboard')\n"
    "run = exp.start_logging(snapshot_directory=None, display_name='voila run')\n"
    "def train():\n"
    "    for i in range(40):\n"
    "        run.log('loss', 1 / (i + 1)); run.flush(); time.sleep(0.5)\n"
    "    run.complete()\n"
    "threading.Thread(target=train, daemon=True).start()"
)
POINTS = (
    "() => { const fig = document.querySelector('.bqplot.figure');"
    f" return fig ? ({FIGURE_POINTS})(fig) : 0; }}"
)


@pytest.fixture
def workspace_env(tmp_path: Path) -> dict[str, str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    return {**os.environ, "RUN_WIDGETS_HOME": str(tmp_path / "home")}


@pytest.fixture
def voila(tmp_path: Path, workspace_env: dict[str, str]) -> Iterator[str]:
    """A Voilà server on a free loopback port serving a folder with the live notebook."""
    root = tmp_path / "voila"
    root.mkdir()
    write_notebook(root / "dashboard.ipynb", [LIVE_RUN, "RunDetails(run, refresh_interval=1)"])
    port = free_port()
    log = open(tmp_path / "voila.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            f"--Voila.root_dir={root}",
            "--show_tracebacks=True",
        ],
        cwd=root,
        env=workspace_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 90
    try:
        while True:
            try:
                with opener.open(f"{url}/", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # up
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"voila did not start; see {log.name}")
            time.sleep(0.3)
        yield f"{url}/voila/render/dashboard.ipynb"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_voila_dashboard_renders_and_updates(voila: str, artifacts: Path) -> None:
    with (
        browser_page(viewport=(1440, 900)) as page,
        screenshot_on_failure(page, artifacts, "voila"),
    ):
        page.goto(voila)
        page.wait_for_selector(".rw-header-panel", timeout=120_000)
        first = page.wait_for_function(f"() => ({POINTS})() >= 2 && ({POINTS})()", timeout=60_000)
        first_points = first.json_value()
        page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "voila-running.png"))
        later = page.wait_for_function(
            f"(n) => ({POINTS})() > n && ({POINTS})()", arg=first_points, timeout=60_000
        ).json_value()
        assert later > first_points  # live updates reach the dashboard
        page.wait_for_function(
            "() => document.querySelector('.rw-status-title').textContent.includes('(Completed)')",
            timeout=60_000,
        )
        page.wait_for_function(f"() => ({POINTS})() === 40", timeout=30_000)
        text = page.locator("body").inner_text()
        assert "Error displaying widget" not in text
        assert not page.locator(".rw-static-snapshot").first.is_visible()
        page.locator(".rw-run-details").first.screenshot(
            path=str(artifacts / "voila-completed.png")
        )


@contextmanager
def screenshot_on_failure(page: Any, artifacts: Path, name: str) -> Iterator[None]:
    try:
        yield
    except Exception:
        page.screenshot(path=str(artifacts / f"failed-{name}.png"))
        raise


# ----------------------------------------------------------------- exported HTML --
def npm_files(cache: Path) -> dict[str, Path]:
    """html-manager's dist/ and require.js, unpacked from ``npm pack`` tarballs."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: scripts/test installs it (Debian's npm)")
    out: dict[str, Path] = {}
    for key, spec in NPM_PACKAGES.items():
        target = cache / key
        if not target.is_dir():
            staging = Path(tempfile.mkdtemp(dir=cache))
            subprocess.run(
                [npm, "pack", spec, "--silent", f"--pack-destination={staging}"],
                check=True,
                capture_output=True,
                timeout=300,
            )
            (tarball,) = staging.glob("*.tgz")
            with tarfile.open(tarball) as archive:
                archive.extractall(staging / "x", filter="data")
            (staging / "x" / "package").rename(target)
            shutil.rmtree(staging)
        out[key] = target
    return out


def nbextension(name: str) -> Path:
    """An installed widget package's AMD bundle (what the CDN would serve)."""
    path = Path(sys.prefix) / "share" / "jupyter" / "nbextensions" / name / "index.js"
    assert path.is_file(), path
    return path


def serve_offline(page: Any, npm: dict[str, Path]) -> list[str]:
    """Answer the exported page's CDN requests from local files; record what else it asked."""
    others: list[str] = []
    modules = {"anywidget": "anywidget", "bqplot": "bqplot", "bqscales": "bqscales"}

    def handle(route: Any) -> None:
        url = route.request.url
        body: Path | None = None
        if "require.js" in url or "require.min.js" in url:
            body = npm["requirejs"] / "require.js"
        elif "@jupyter-widgets/html-manager" in url:
            body = npm["html-manager"] / "dist" / url.split("/dist/", 1)[1].split("?")[0]
        else:
            for module, folder in modules.items():
                if f"/{module}@" in url:
                    body = nbextension(folder)
        if body is not None and body.is_file():
            route.fulfill(path=str(body), content_type="application/javascript")
        elif url.startswith("file:") or url.startswith("data:"):
            route.continue_()
        else:
            others.append(url)
            route.abort()

    page.route("**/*", handle)
    return others


def test_exported_html_renders_the_charts(
    tmp_path: Path, workspace_env: dict[str, str], artifacts: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write_notebook(
        folder / "finished.ipynb",
        [
            "from run_widgets import Workspace, Experiment, RunDetails\n"
            "exp = Experiment(Workspace.from_config(), 'export')\n"
            "with exp.start_logging(snapshot_directory=None, display_name='exported run') as run:\n"
            "    for i in range(25): run.log('loss', 1 / (i + 1)); run.log('acc', i / 25)",
            "RunDetails(run)",
        ],
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            "--execute",
            str(folder / "finished.ipynb"),
        ],
        check=True,
        env=workspace_env,
        capture_output=True,
        timeout=300,
    )
    html = (folder / "finished.html").read_text()
    assert "application/vnd.jupyter.widget-state+json" in html
    cache = Path(os.environ.get("RW_NPM_CACHE", tmp_path / "npm"))
    cache.mkdir(parents=True, exist_ok=True)
    npm = npm_files(cache)
    with (
        browser_page(viewport=(1440, 900)) as page,
        screenshot_on_failure(page, artifacts, "exported-html"),
    ):
        unexpected = serve_offline(page, npm)
        page.goto((folder / "finished.html").as_uri())
        page.wait_for_selector(".rw-header-panel", timeout=60_000)
        page.wait_for_selector(".bqplot.figure path.line", state="attached", timeout=60_000)
        titles = page.evaluate(
            "() => [...document.querySelectorAll('.bqplot.figure .mainheading')].map(e => e.textContent)"
        )
        assert titles == ["acc", "loss"], titles
        assert "(Completed)" in page.locator(".rw-status-title").first.inner_text()
        assert not page.locator(".rw-static-snapshot").first.is_visible()
        text = page.locator("body").inner_text()
        assert "Error displaying widget" not in text
        page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "exported-html.png"))
    assert all("fonts" in u or "mathjax" in u.lower() for u in unexpected), unexpected
