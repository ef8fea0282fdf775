"""RunDetails in Notebook 7: the demo renders and completes (its own server and browser).

In a module of its own: test_jupyterlab.py keeps one Playwright browser for its module,
and Playwright's sync API allows one per process at a time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import browser_page, jupyter_server, open_notebook, run_all
from .test_jupyterlab import wait_until

pytestmark = pytest.mark.slow

# Rendering and completing is what is checked here (live growth: test_jupyterlab.py), so
# the demo run logs for 1.6 s, not 8.4 s.
SHORT_DEMO = {"RUN_WIDGETS_DEMO_EPOCHS": "8", "RUN_WIDGETS_DEMO_DELAY": "0.2"}


def test_notebook7_renders_the_demo(lab_root: Path, artifacts: Path) -> None:
    with (
        jupyter_server(lab_root, app="notebook", env=SHORT_DEMO) as server,
        browser_page() as page,
    ):
        open_notebook(page, server, "demo.ipynb")
        run_all(page, "demo.ipynb")
        page.wait_for_selector(".rw-header-panel", timeout=90_000)
        page.wait_for_selector(".bqplot.figure path.line", state="attached", timeout=90_000)
        wait_until(
            page,
            "() => [...document.querySelectorAll('.rw-status-title')]"
            ".some(e => e.textContent.includes('(Completed)'))",
            timeout=120_000,
        )
        page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "notebook7.png"))
