"""RunDetails in a real JupyterLab 4 (and once in Notebook 7), driven in Debian chromium.

What a user sees: the demo's widget renders, its chart gains points while the run logs,
the status turns Completed, the child table fills; HTML/JS in user strings shows as text
and runs nothing; the sweep view (Notebook 7: test_notebook7.py). (Reopening, themes and colours, links,
times and layout: test_view.py; Voilà and exported HTML: test_frontends.py.)
Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import ROOT
from .harness import (
    CHROMIUM,
    FIGURE_POINTS,
    browser_page,
    close_all,
    jupyter_server,
    open_in_lab,
    run_all,
)

DEMO_ENV = {"RUN_WIDGETS_DEMO_EPOCHS": "14", "RUN_WIDGETS_DEMO_DELAY": "0.6"}
XSS = '<img src=x onerror="window.__rw_xss=1">'

# JupyterLab 4 does not render what is off screen, so the chart is scrolled into view first.
POINTS_OF = (
    """(name) => {
  for (const fig of document.querySelectorAll('.bqplot.figure')) {
    const title = fig.querySelector('.mainheading');
    if (title && title.textContent === name) {
      fig.scrollIntoView({block: 'center'});
      return ("""
    + FIGURE_POINTS
    + """)(fig);
    }
  }
  return -1;
}"""
)


# The parts of the run's view that do not (yet) show the text ``xss``.
PAYLOAD_MISSING = """(xss) => {
  const v = document.querySelector('.rw-run-details');
  const parts = ['.rw-status-title', '.rw-properties', '.rw-log-text', '.bqplot.figure .mainheading'];
  return parts.filter(p => !v || ![...v.querySelectorAll(p)].some(e => e.textContent.includes(xss)));
}"""


def wait_until(page: Any, check: str, arg: Any = None, timeout: float = 90_000) -> Any:
    """Wait for a JS predicate to become truthy; return its value."""
    return page.wait_for_function(check, arg=arg, timeout=timeout).json_value()


def header_status(page: Any) -> str:
    return str(page.locator(".rw-status-title").first.inner_text())


def write_notebook(path: Path, sources: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One JupyterLab serving a copy of notebooks/ and one page, for the JupyterLab tests.

    Each test opens its own notebook (its own experiment) and closes it with its kernel.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "lab"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("outputs", "*.py"))
    shutil.copytree(ROOT / "notebooks" / "scripts", root / "scripts", dirs_exist_ok=True)
    env = {**DEMO_ENV, "RUN_WIDGETS_HOME": str(base / "home")}
    with jupyter_server(root, env=env) as server, browser_page(viewport=(1500, 1100)) as page:
        yield server, page


@pytest.fixture
def lab_page(lab: Any) -> Iterator[Any]:
    """The shared page; every tab and kernel is closed afterwards (failed tests included)."""
    yield lab[1]
    close_all(lab[1])


def test_demo_renders_grows_and_completes(lab: Any, lab_page: Any, artifacts: Path) -> None:
    page = lab_page
    page.set_viewport_size({"width": 1500, "height": 1100})
    open_in_lab(lab, "demo.ipynb")
    run_all(page, "demo.ipynb")
    page.wait_for_selector(".rw-header-panel", timeout=90_000)
    first = wait_until(page, f"() => ({POINTS_OF})('loss') >= 2 && ({POINTS_OF})('loss')")
    later = wait_until(
        page, f"(n) => ({POINTS_OF})('loss') > n && ({POINTS_OF})('loss')", arg=first
    )
    assert later > first  # the chart gained points while the run logged
    page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "demo-running.png"))
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-status-title')]"
        ".some(e => e.textContent.includes('(Completed)'))",
        timeout=120_000,
    )
    wait_until(
        page,
        "() => document.querySelectorAll('.rw-children tr.rw-row').length === 3",
        timeout=60_000,
    )
    assert wait_until(page, f"() => ({POINTS_OF})('loss')") == 14
    # The static snapshot below the live view is hidden while the view is live.
    assert page.locator(".rw-static-snapshot").count() >= 1
    assert not page.locator(".rw-static-snapshot").first.is_visible()
    page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "demo-completed.png"))
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_user_strings_are_shown_as_text(lab: Any, lab_page: Any, artifacts: Path) -> None:
    server, page = lab
    write_notebook(
        server.root / "xss.ipynb",
        [
            "from run_widgets import Workspace, Experiment, RunDetails\n"
            "ws = Workspace.from_config(); exp = Experiment(ws, 'xss')\n"
            f"payload = {XSS!r}\n"
            "run = exp.start_logging(snapshot_directory=None, display_name=payload)\n"
            "run.tag(payload, payload)\n"
            "run.add_properties({'note': payload})\n"
            "for i in range(5): run.log(payload, float(i))\n"
            "run.log('single ' + payload, payload)\n"
            "run.upload_file('logs/user_log.txt', __import__('io').BytesIO(payload.encode()))\n"
            "child = run.child_run(payload); child.log('m', 1.0); child.complete()\n"
            "run.fail(payload)",
            "RunDetails(run)",
        ],
    )
    page.set_viewport_size({"width": 1400, "height": 1000})
    open_in_lab(lab, "xss.ipynb")
    run_all(page, "xss.ipynb")
    page.wait_for_selector(".rw-children tr.rw-row", timeout=90_000)
    # Every place the payload is shown has been rendered: header, properties (its error
    # too), log and chart title.
    try:
        wait_until(page, f"(xss) => ({PAYLOAD_MISSING})(xss).length === 0", arg=XSS)
    except Exception as error:
        missing = page.evaluate(PAYLOAD_MISSING, XSS)
        raise AssertionError(f"the payload is not shown in {missing}") from error
    # Then a bounded wait for what must NOT happen (an injected image's onerror running):
    # the same image added to the page now as a control has fired its onerror, so one
    # injected earlier would have fired by then too.
    page.evaluate(
        "() => { const img = document.createElement('img'); img.hidden = true;"
        " img.onerror = () => { window.__rw_control = 1; }; img.src = 'x';"
        " document.body.append(img); }"
    )
    wait_until(page, "() => window.__rw_control === 1", timeout=30_000)
    text = page.locator(".rw-run-details").first.inner_text()
    assert XSS in text  # shown literally, as text
    assert page.evaluate("() => window.__rw_xss === undefined")
    assert page.locator(".jp-OutputArea img[src='x']").count() == 0
    titles = page.evaluate(
        "() => [...document.querySelectorAll('.bqplot.figure .mainheading')].map(e => e.textContent)"
    )
    assert XSS in titles
    page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "xss.png"))
    assert page.dialogs == []  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _slow_marker(request: pytest.FixtureRequest) -> None:
    request.node.add_marker(pytest.mark.slow)


def test_sweep_view_renders_and_fills_in_live(lab: Any, lab_page: Any, artifacts: Path) -> None:
    server, page = lab
    write_notebook(
        server.root / "sweep.ipynb",
        [
            "import time\n"
            "from run_widgets import *\n"
            "def train(params, run):\n"
            "    for step in range(3):\n"
            "        run.log('mse', (params['alpha'] - 0.4) ** 2 + 0.1 / (step + 1))\n"
            "        time.sleep(0.6)\n"
            "config = HyperDriveConfig(function=train,\n"
            "    hyperparameter_sampling=GridParameterSampling({'alpha': choice(0.1, 0.3, 0.5, 0.7, 0.9, 1.1)}),\n"
            "    primary_metric_name='mse', primary_metric_goal=PrimaryMetricGoal.MINIMIZE,\n"
            "    max_total_runs=6, max_concurrent_runs=2)\n"
            "sweep = Experiment(Workspace.from_config(), 'browser-sweep').submit(config)",
            "RunDetails(sweep, refresh_interval=1)",
        ],
    )
    page.set_viewport_size({"width": 1500, "height": 1400})
    open_in_lab(lab, "sweep.ipynb")
    run_all(page, "sweep.ipynb")
    page.wait_for_selector(".rw-sweep .rw-status-part", timeout=120_000)
    # While children run, the status bar shows running work; later all six complete.
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-status-part')]"
        ".some(e => e.dataset.status !== 'Completed')",
    )
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-status-part')]"
        ".map(e => e.title).join() === 'Completed: 6'",
        timeout=180_000,
    )
    wait_until(page, "() => document.querySelectorAll('.rw-children tr.rw-row').length === 6")
    best = page.locator(".rw-children tr.rw-best")
    assert best.count() == 1
    assert "0.3" in best.inner_text() or "0.5" in best.inner_text()  # alpha next to 0.4
    assert "Best so far: mse" in page.locator(".rw-sweep-best").inner_text()
    # The figures on show (children's curves, or one value each; the metric by alpha).
    marks = page.evaluate(
        "() => [...document.querySelectorAll('.rw-sweep-view .bqplot.figure')]"
        ".filter(f => f.offsetParent !== null)"
        ".map(f => f.querySelectorAll('path.line, path.dot, .dot').length)"
    )
    assert len(marks) == 2 and all(n > 0 for n in marks)
    page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "sweep.png"))
    assert page.dialogs == []  # type: ignore[attr-defined]
