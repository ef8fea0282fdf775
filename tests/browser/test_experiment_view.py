"""ExperimentDetails in a real JupyterLab 4, driven in Debian chromium.

What a user does: the run table shows every run; the default overlay appears; ticking
another run adds its line; the running run's line grows; a click on a header sorts (in
the kernel) and the filter box narrows the table; a click on a row opens that run's
RunDetails below. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .harness import browser_page, jupyter_server, open_notebook, run_all
from .test_jupyterlab import wait_until, write_notebook
from .test_view import axe_contrast

SETUP = """\
import threading, time
from run_widgets import Experiment, ExperimentDetails, Workspace
exp = Experiment(Workspace.from_config(), 'browser-compare')
for i, alpha in enumerate([0.001, 0.01, 0.1, 1.0, 10.0, 100.0]):
    with exp.start_logging(snapshot_directory=None, display_name=f'alpha={alpha:g}',
                           tags={'alpha': str(alpha)}) as run:
        for step in range(20):
            run.log('mse', (1 + (i - 2) ** 2) / (step + 1), step=step)
live = exp.start_logging(snapshot_directory=None, display_name='live run', tags={'alpha': '0.5'})
def train():
    for step in range(1500):
        live.log('mse', 0.5 + 5.0 / (step + 1), step=step)  # never the best
        time.sleep(0.1)
    live.complete()
threading.Thread(target=train, daemon=True).start()
"""
SHOW = "view = ExperimentDetails(exp, refresh_interval=0.5, metric='mse')\nview.show()"

ROWS = "() => document.querySelectorAll('.rw-runtable tr.rw-row').length"
FIRST_ROW = "() => (document.querySelector('.rw-runtable tr.rw-row') || {}).innerText || ''"
# Lines of the mse overlay chart: the number of points of each (JupyterLab renders only
# what is on screen, so the chart is scrolled into view first).
LINES = """() => {
  for (const fig of document.querySelectorAll('.rw-overlay-chart .bqplot.figure')) {
    const title = fig.querySelector('.mainheading');
    if (title && title.textContent === 'mse') {
      fig.scrollIntoView({block: 'center'});
      return [...fig.querySelectorAll('path.line')].filter(p => !p.closest('.g_legend'))
        .map(p => ((p.getAttribute('d') || '').match(/L/g) || []).length + 1);
    }
  }
  return [];
}"""


@pytest.fixture(autouse=True)
def _slow_marker(request: pytest.FixtureRequest) -> None:
    request.node.add_marker(pytest.mark.slow)


def _row(page: Any, name: str) -> Any:
    return page.locator(".rw-runtable tr.rw-row", has_text=name).first


def _run_and_drive(
    lab_root: Path, artifacts: Path, name: str, setup: str, drive: Callable[[Any], None]
) -> None:
    """Run ``setup`` and the view in notebook ``name``, then ``drive`` the page (a
    screenshot of the page is kept if a step fails)."""
    write_notebook(lab_root / f"{name}.ipynb", [setup, SHOW])
    with jupyter_server(lab_root) as server, browser_page(viewport=(1500, 1500)) as page:
        open_notebook(page, server, f"{name}.ipynb")
        run_all(page, f"{name}.ipynb")
        try:
            drive(page)
        except Exception:
            page.screenshot(path=str(artifacts / f"{name}-failure.png"), full_page=True)
            raise


def test_compare_runs_select_grow_sort_filter_open(lab_root: Path, artifacts: Path) -> None:
    _run_and_drive(lab_root, artifacts, "compare", SETUP, lambda page: _drive(page, artifacts))


def _drive(page: Any, artifacts: Path) -> None:
    """The user's steps (a screenshot of the page is kept if one fails)."""
    wait_until(page, f"() => ({ROWS})() === 7", timeout=120_000)
    assert "live run" in page.evaluate(FIRST_ROW)  # newest first
    # The default overlay: the 5 newest runs, each with a line.
    wait_until(page, f"() => ({LINES})().length === 5")
    # Ticking an older run adds its line, in the colour its row shows.
    _row(page, "alpha=0.001").locator("input[type=checkbox]").click()
    wait_until(page, f"() => ({LINES})().length === 6")
    # (Rows are re-rendered on every refresh: read them in one go, in the page.)
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-runtable tr.rw-row')].some(r =>"
        " r.innerText.includes('alpha=0.001') && r.querySelector('input').checked"
        " && r.querySelector('.rw-swatch').style.background.startsWith('rgb'))",
    )
    # The running run's line grows while it logs.
    grown = wait_until(page, f"() => Math.max(...({LINES})()) >= 5 && Math.max(...({LINES})())")
    wait_until(page, f"(n) => Math.max(...({LINES})()) > n", arg=grown)
    # A refresh replaces only the rows that changed: the header and a finished run's row
    # stay the same nodes, so a click on them (or the focus) is not lost to a refresh.
    page.evaluate(
        """() => {
      const rows = [...document.querySelectorAll('.rw-runtable tr.rw-row')];
      window.rwKept = [document.querySelector('.rw-runtable th button.rw-sort'),
        rows.find(r => r.innerText.includes('alpha=100'))];
      window.rwLive = rows.find(r => r.innerText.includes('live run'));
    }"""
    )
    wait_until(page, "() => !window.rwLive.isConnected")  # the live run's row was redrawn
    assert page.evaluate("() => window.rwKept.every(e => e && e.isConnected)")
    page.locator(".rw-runtable").screenshot(path=str(artifacts / "experiment-table.png"))
    # Readable: axe-core finds no contrast failure (WCAG 2 AA) in the view, with a running
    # run, finished ones, the best run's highlighted row and the selection's colours.
    assert axe_contrast(page, ".rw-experiment-details") == []
    page.locator(".rw-experiment-details").first.screenshot(
        path=str(artifacts / "experiment-view.png")
    )
    # Sorting by mse (ascending, in the kernel): the best run comes first.
    header = page.locator(".rw-runtable th", has_text="mse").first
    header.click()  # metrics sort high to low first
    header = page.locator(".rw-runtable th", has_text="mse").first
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-runtable th')]"
        ".some(th => th.textContent === 'mse ▼')",
    )
    header.click()
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-runtable th')]"
        ".some(th => th.textContent === 'mse ▲')",
    )
    wait_until(page, f"() => ({FIRST_ROW})().includes('alpha=0.1')")
    # The filter box asks the kernel for the matching runs only.
    page.locator(".rw-runtable .rw-filter-text").fill("alpha=10")
    wait_until(page, f"() => ({ROWS})() === 2")  # alpha=10 and alpha=100
    page.locator(".rw-runtable .rw-filter-text").fill("")
    wait_until(page, f"() => ({ROWS})() === 7")
    # A click on a row opens that run's RunDetails below the view.
    _row(page, "alpha=0.01").locator("td").nth(2).click()
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-experiment-details .rw-status-title')]"
        ".some(e => e.textContent.includes('alpha=0.01') && e.textContent.includes('Completed'))",
    )
    assert page.locator(".rw-runtable tr.rw-selected").count() == 1
    page.locator(".rw-experiment-details").first.screenshot(
        path=str(artifacts / "experiment-open-run.png")
    )
    assert page.dialogs == []  # type: ignore[attr-defined]


PAGER_SETUP = """\
import pathlib, threading, time
from run_widgets import Experiment, ExperimentDetails, Workspace
exp = Experiment(Workspace.from_config(), 'browser-pager')
def add(n):
    with exp.start_logging(snapshot_directory=None, display_name=f'run {n:02d}') as run:
        run.log('mse', 1.0 / n)
for n in range(1, 21):
    add(n)
def add_the_21st_when_asked():
    while not pathlib.Path('add-run').exists():
        time.sleep(0.1)
    add(21)
threading.Thread(target=add_the_21st_when_asked, daemon=True).start()
"""
# The table's height and where what follows it starts, relative to the table (a scroll of
# the notebook moves both), in one go.
TABLE_BOX = """() => {
  const table = document.querySelector('.rw-runtable');
  const below = table.nextElementSibling;  // the overlay's controls
  const box = table.getBoundingClientRect();
  return [box.height, below.getBoundingClientRect().top - box.top];
}"""


def test_the_pager_appearing_moves_nothing(lab_root: Path, artifacts: Path) -> None:
    _run_and_drive(
        lab_root,
        artifacts,
        "pager",
        PAGER_SETUP,
        lambda page: _add_a_run_past_the_page(page, lab_root, artifacts),
    )


def _add_a_run_past_the_page(page: Any, lab_root: Path, artifacts: Path) -> None:
    """20 runs fill the page; the 21st brings the pager, and nothing moves."""
    wait_until(page, f"() => ({ROWS})() === 20", timeout=120_000)
    assert page.locator(".rw-runtable .rw-pager").is_hidden()  # one page: no pager shown
    before = page.evaluate(TABLE_BOX)
    (lab_root / "add-run").touch()
    wait_until(
        page,
        "() => (document.querySelector('.rw-page-of') || {}).textContent === ' 1 / 2 '",
        timeout=60_000,
    )
    wait_until(page, f"() => ({FIRST_ROW})().includes('run 21')")
    page.locator(".rw-runtable").screenshot(path=str(artifacts / "experiment-pager.png"))
    after = page.evaluate(TABLE_BOX)
    assert after == pytest.approx(before, abs=1), (before, after)
    # These runs have no arguments or tags: the across-runs panel says so, no empty axes.
    across = page.locator(".rw-across").first
    across.scroll_into_view_if_needed()
    assert "Nothing to plot the final metric against" in across.inner_text()
    across.screenshot(path=str(artifacts / "experiment-across-empty.png"))
