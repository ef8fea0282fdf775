"""Issue 22 in a real JupyterLab 4 (Debian chromium): what the charts offer and how they read.

One Lab (saving widget state, as ./scripts/demo does) for the module. Each test would have
caught a defect of issue 22 or checks one of its features as a user meets it:

* groups: one line and a band per group, the member count in the legend, the members'
  own lines on request; the summary columns (last/min/max/best) of the run table; the
  regular-expression filter (an invalid pattern is shown, nothing breaks); each chart's
  menu saves PNG, SVG and CSV (the CSV with run ids); ignore outliers;
* axes that read right: whole epochs on an epoch axis, the log axis' top label clear of
  its end cap, no "00" where two axes' zero labels meet, the right-most tick label and
  point inside the figure, "5,000" not "5e+3", relative time in minutes, one time format
  in every table, a parameter that separates the runs on the across-run chart, parallel
  coordinates naming each axis once;
* a failed run without a log shows no empty log chooser;
* a reopened notebook is not marked modified, its log panel shows the end of the log, and
  the report button says what works without a kernel;
* axe-core's WCAG 2.1 A/AA rules find nothing on the live RunDetails, sweep and
  ExperimentDetails views, or on reopened notebooks with and without widget state, in the
  light and the dark theme.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from .conftest import ARTIFACTS, ROOT
from .harness import (
    CHROMIUM,
    KERNEL_IDLE,
    browser_page,
    close_all,
    jupyter_server,
    load_lab,
    open_in_lab,
    run_all,
)
from .test_jupyterlab import write_notebook
from .test_view import (
    TIME_RE,
    _saved_with_widget_state,
    assert_no_overlap,
    axes_of,
    number,
    wait_until,
)

pytestmark = pytest.mark.slow

HEADER = (
    "import math, random\n"
    "from run_widgets import Workspace, Experiment, RunDetails, ExperimentDetails\n"
    "ws = Workspace.from_config()\n"
)
# Nine runs: 3 alphas × 3 seeds; loss falls per step, its spread grows with the seed; a
# tag every run shares (model=ridge) and alpha also logged as a metric (a name that is
# both a tag and a metric).
GROUPED_RUNS = (
    HEADER
    + """\
exp = Experiment(ws, 'groups')
random.seed(0)
for alpha in (0.1, 1.0, 10.0):
    for seed in range(3):
        with exp.start_logging(snapshot_directory=None, display_name=f'a{alpha} s{seed}',
                               tags={'alpha': str(alpha), 'seed': str(seed), 'model': 'ridge'}) as run:
            for step in range(16):
                run.log('loss', (alpha * 2 / (step + 1) + 1) * (1 + seed * 0.3), step=step)
                run.log('val_loss', (alpha / (step + 1) + 1.5) * (1 + seed * 0.2), step=step)
                run.log('samples', 300.0 * step + seed * 50, step=step)
            run.log('alpha', alpha)
            run.log('accuracy', 0.9 - alpha / 100)
"""
)
# The demo's shapes: an epoch column, a log-scale loss, big sample counts; a failed run.
RUN_SHAPES = (
    HEADER
    + """\
exp = Experiment(ws, 'shapes')
with exp.start_logging(snapshot_directory=None, display_name='shapes') as run:
    for epoch in range(6):
        run.log_row('learning rate', epoch=epoch, lr=0.1 * 0.5 ** epoch)
    for step in range(16):
        run.log('loss', 2.07 * math.exp(-step * 0.5) + 0.01, step=step)
        run.log('samples', 333.0 * step, step=step)
    for i in range(40):  # one spike in 40 points: above the 95 % quantile
        run.log('spiky', 900.0 if i == 20 else 1 + i / 100)
"""
)
FAILED_RUN = (
    HEADER
    + """\
exp = Experiment(ws, 'failed')
bad = exp.start_logging(snapshot_directory=None, display_name='no log')
bad.log('x', 1.0); bad.log('x', 2.0)
bad.fail('diverged')
RunDetails(bad)
"""
)
# A sweep as its driver stores it (parent + children with hyperparameters), written in
# the notebook: no trial processes, exact values (one mse per child: the points chart).
SWEEP = (
    HEADER
    + """\
import json
from run_widgets import HyperDriveConfig, RandomParameterSampling, uniform
from run_widgets.run import RunType, create_run
from run_widgets.sweep import HyperDriveRun
from run_widgets.sweep.executor import child_labels
exp = Experiment(ws, 'sweep-look')
config = HyperDriveConfig(function=lambda params, run: None,
    hyperparameter_sampling=RandomParameterSampling({'--alpha': uniform(0, 1)}),
    primary_metric_name='mse', primary_metric_goal='MINIMIZE', max_total_runs=16,
    max_concurrent_runs=2)
parent = create_run(exp, run_id='HD_look', run_type=RunType.SWEEP,
    definition={'target': 'local', 'sweep': config.sweep_settings()},
    tags={'max_concurrent_jobs': '2', 'max_total_jobs': '16',
          'primary_metric_config': json.dumps({'name': 'mse', 'goal': 'MINIMIZE'})})
for i in range(15):
    tags, properties = child_labels({'--alpha': round(0.1 * (i + 1), 2)})
    child = create_run(exp, run_id=f'HD_look_{i}', parent_id=parent.id, tags=tags, properties=properties)
    child.log('mse', 4000.0 * (0.1 * (i + 1) - 0.7) ** 2)
    child.complete()
parent.complete()
sweep = HyperDriveRun(exp, 'HD_look')
"""
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One JupyterLab (widget state saved with notebooks) and one page for the module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    base = tmp_path_factory.mktemp("charts")
    root = base / "lab"
    root.mkdir()
    shutil.copytree(ROOT / "notebooks" / "scripts", root / "scripts")
    env = {"RUN_WIDGETS_HOME": str(base / "home")}
    with (
        jupyter_server(root, env=env, save_widget_state=True) as server,
        browser_page(viewport=(1440, 1400)) as page,
    ):
        yield server, page


@pytest.fixture(autouse=True)
def _fresh_tabs(lab: Any) -> Iterator[None]:
    yield
    close_all(lab[1])
    set_theme(lab[1], "JupyterLab Light")


def set_theme(page: Any, theme: str) -> None:
    if not page.evaluate("() => !!window.jupyterapp"):
        return
    page.evaluate(
        f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: {theme!r}}})"
    )
    light = json.dumps(str(theme.endswith("Light")).lower())
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === {light}")


def run_cells(lab: Any, name: str, sources: list[str], ready: str, timeout: float = 120_000) -> Any:
    server, page = lab
    write_notebook(server.root / name, sources)
    open_in_lab(lab, name)
    run_all(page, name)
    try:
        wait_until(page, ready, timeout=timeout)
        wait_until(page, KERNEL_IDLE)
    except Exception as error:
        page.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"))
        raise AssertionError(
            f"{name} did not reach the state awaited; console errors: {page.console_errors[-10:]}"
        ) from error
    return page


def axe_audit(page: Any, selector: str) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations inside ``selector`` (every rule, not only
    contrast)."""
    import axe_playwright_python

    source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    page.evaluate(source)
    violations: list[dict[str, Any]] = page.evaluate(
        """async (selector) => {
          const r = await axe.run(document.querySelectorAll(selector),
            {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
          return r.violations.map(v => ({id: v.id, help: v.help,
            nodes: v.nodes.map(n => [n.target.join(' '), n.failureSummary])}));
        }""",
        selector,
    )
    return violations


def chart(page: Any, title: str, scope: str = ".jp-Notebook") -> Any:
    """The chart card (menu, figure, summary) whose figure is titled ``title``."""
    card = page.locator(f"{scope} .rw-chart, {scope} .rw-overlay-chart").filter(
        has=page.locator(".mainheading", has_text=re.compile(f"^{re.escape(title)}$"))
    )
    card.first.scroll_into_view_if_needed()
    return card.first


def inside_figure(page: Any, title: str) -> dict[str, Any]:
    """Boxes of a chart's figure, its tick labels and its points (to check clipping)."""
    result: dict[str, Any] = page.evaluate(
        """(title) => {
          for (const fig of document.querySelectorAll('.bqplot.figure')) {
            const heading = fig.querySelector('.mainheading');
            if (!heading || heading.textContent !== title || fig.offsetParent === null) continue;
            fig.scrollIntoView({block: 'center'});
            const box = (e) => { const b = e.getBoundingClientRect();
              return {x: b.x, y: b.y, right: b.right, bottom: b.bottom, text: e.textContent}; };
            return {figure: box(fig.querySelector('svg.svg-figure') || fig),
              ticks: [...fig.querySelectorAll('g.axis .tick text')].filter(t => t.textContent).map(box),
              points: [...fig.querySelectorAll('.dot, path.dot')].map(box),
              names: [...fig.querySelectorAll('text.dot_text')].filter(t => t.textContent).map(box)};
          }
          return null;
        }""",
        title,
    )
    return result


# The chart titled ``title`` has a y axis whose largest tick is below ``top``.
Y_TOP_BELOW = """({title, top}) => {
  const fig = [...document.querySelectorAll('.bqplot.figure')]
    .find(f => (f.querySelector('.mainheading') || {}).textContent === title);
  if (!fig) return false;
  return [...fig.querySelectorAll('g.axis')].some(axis => {
    const labels = [...axis.querySelectorAll('.tick text')].filter(t => t.textContent);
    if (labels.length < 2) return false;
    const spread = (k) => { const v = labels.map(t => t.getBoundingClientRect()[k]);
      return Math.max(...v) - Math.min(...v); };
    const values = labels.map(t => Number(t.textContent.replace(/,/g, '').replace('\u2212', '-')));
    return spread('y') > spread('x') && Math.max(...values) < top;
  });
}"""


def menu_action(page: Any, card: Any, label: str) -> None:
    card.get_by_role("button", name=re.compile("^Chart menu")).click()
    role = "menuitemcheckbox" if label == "Ignore outliers" else "menuitem"
    card.get_by_role(role, name=re.compile(re.escape(label))).click()


# ------------------------------------------------------------------------- features --
def test_groups_bands_summaries_filter_and_exports(lab: Any, tmp_path: Path) -> None:
    page = run_cells(
        lab,
        "groups.ipynb",
        [GROUPED_RUNS, "view = ExperimentDetails(exp, group_by='alpha', metric='loss')\nview"],
        "() => document.querySelectorAll('.rw-overlay-chart path.area').length >= 3",
    )
    loss = chart(page, "loss")
    legend = loss.locator(".g_legend").text_content() or ""
    for label in ("alpha=0.1 (n=3)", "alpha=1 (n=3)", "alpha=10 (n=3)"):
        assert label in legend, legend
    # One filled band per group, in its colour, over the 16 steps (bqplot draws a band
    # mark's second line as an unfilled area too).
    bands = loss.evaluate(
        """card => [...card.querySelectorAll('path.area')]
          .filter(p => (p.getAttribute('d') || '').length && getComputedStyle(p).fill !== 'rgb(0, 0, 0)')
          .map(p => [getComputedStyle(p).fill, (p.getAttribute('d').match(/L/g) || []).length])"""
    )
    assert len({fill for fill, _ in bands}) == 3 and all(n >= 15 for _, n in bands), bands
    loss.screenshot(path=str(ARTIFACTS / "groups-bands.png"))
    # The members' own lines, in their group's colour.
    page.get_by_role("button", name="members").click()
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-overlay-chart')][0]"
        ".querySelectorAll('path.line').length >= 12",
    )
    loss.screenshot(path=str(ARTIFACTS / "groups-members.png"))
    # The run table: every run in its group's colour, the summary chosen, one time format.
    table = page.locator(".rw-runtable").first
    header = [th.inner_text() for th in table.locator("th").all()]  # the tick column first
    started = table.locator("tr.rw-row").first.locator("td").nth(header.index("Started"))
    assert re.fullmatch(TIME_RE, started.inner_text()), started.inner_text()
    loss_col = next(i for i, t in enumerate(header) if t.startswith("loss"))
    last = float(table.locator("tr.rw-row").first.locator("td").nth(loss_col).inner_text())
    table.get_by_label("Metric columns show").select_option("max")
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-runtable th')]"
        ".some(t => t.textContent.startsWith('loss (max)'))",
    )
    high = float(table.locator("tr.rw-row").first.locator("td").nth(loss_col).inner_text())
    assert high > last  # the maximum over the run's steps (its first), from the header
    # The metric filter is a regular expression; an invalid one is said, not raised.
    box = page.get_by_placeholder("filter metrics: regex, e.g. ^val_ or loss|acc")
    box.fill("^val_")
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-overlay-chart .mainheading')]"
        ".map(e => e.textContent).join() === 'val_loss'",
    )
    box.fill("val_(")
    wait_until(page, "() => document.querySelector('.rw-filter-error [role=alert]') !== null")
    assert "invalid pattern" in page.locator(".rw-filter-error").first.inner_text()
    wait_until(
        page, "() => document.querySelectorAll('.rw-overlay-chart .mainheading').length === 3"
    )
    box.fill("")
    # Exports: the figure's own PNG and SVG (made in the browser), the CSV of what it draws.
    loss = chart(page, "loss")
    with page.expect_download() as svg:
        menu_action(page, loss, "Save SVG")
    svg_path = tmp_path / "loss.svg"
    svg.value.save_as(svg_path)
    assert svg_path.read_text().lstrip().startswith("<svg") and "loss" in svg_path.read_text()
    with page.expect_download() as png:
        menu_action(page, loss, "Save PNG")
    png_path = tmp_path / "loss.png"
    png.value.save_as(png_path)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as saved:
        menu_action(page, loss, "Save CSV")
    csv_path = tmp_path / "loss.csv"
    saved.value.save_as(csv_path)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert {r["group"] for r in rows} >= {"alpha=0.1", "alpha=1", "alpha=10"}
    assert {r["run_id"] for r in rows if r["run_id"]}  # the members' lines carry run ids
    assert all(r["metric"] == "loss" for r in rows)
    # Ignore outliers, for this chart from its menu: the y axis narrows.
    before = max(number(t["text"]) for t in axes_of(page, "loss")[1])
    menu_action(page, loss, "Ignore outliers")
    wait_until(page, Y_TOP_BELOW, {"title": "loss", "top": before})
    # The overlay's last x tick ("15") is inside the figure, not cut to "1".
    boxes = inside_figure(page, "loss")
    assert max(t["right"] for t in boxes["ticks"]) <= boxes["figure"]["right"] - 1, boxes
    # The across-run chart opens on alpha (model=ridge separates nothing); the right-most
    # points' names fit inside it; parallel coordinates name alpha once although it is a
    # tag and a metric.
    page.locator(".rw-across").first.scroll_into_view_if_needed()
    assert page.locator(".rw-across select").first.input_value() == "alpha"
    boxes = inside_figure(page, "final loss by alpha")
    assert boxes["names"] and max(n["right"] for n in boxes["names"]) <= boxes["figure"]["right"]
    names = page.evaluate(
        "() => [...document.querySelectorAll('.rw-parcoords text.rw-axis-label')]"
        ".map(e => e.textContent.replace(' (log)', ''))"
    )
    assert names.count("alpha") == 1, names
    page.locator(".rw-experiment-details").first.screenshot(path=str(ARTIFACTS / "groups.png"))


def test_run_view_axes_read_right(lab: Any) -> None:
    page = run_cells(
        lab,
        "shapes.ipynb",
        [RUN_SHAPES, "RunDetails(run)"],
        "() => document.querySelectorAll('.rw-run-details .bqplot.figure path.line').length >= 4",
    )
    # Whole epochs: 0, 1, 2 …, never 0.2, 0.4 … (the x axis is the epoch column).
    x_ticks, _ = axes_of(page, "learning rate")
    epochs = [number(t["text"]) for t in x_ticks]
    assert epochs and all(e == int(e) for e in epochs), epochs
    # "5,000", not "5e+3".
    _, y_ticks = axes_of(page, "samples")
    labels = [t["text"] for t in y_ticks]
    assert not any("e+" in label for label in labels) and "5,000" in labels, labels
    for title in ("loss", "samples", "learning rate"):
        x_ticks, y_ticks = axes_of(page, title)
        assert_no_overlap(x_ticks + y_ticks)  # no "00" where the zero labels meet
        boxes = inside_figure(page, title)
        right = max(t["right"] for t in boxes["ticks"])
        assert right <= boxes["figure"]["right"] - 1, (title, boxes)  # "15" not cut to "1"
    # The log axis' top label sits below the axis' end, not against its end cap.
    loss = chart(page, "loss")
    loss.get_by_role("button", name="log y").click()
    wait_until(
        page,
        "() => { const a = [...document.querySelectorAll('.rw-chart')].find(c => "
        "c.querySelector('.mainheading').textContent === 'loss'); "
        "return a && [...a.querySelectorAll('g.axis .tick text')].some(t => t.textContent === '1'); }",
    )
    top = page.evaluate(
        """() => {
          const card = [...document.querySelectorAll('.rw-chart')]
            .find(c => c.querySelector('.mainheading').textContent === 'loss');
          const spread = (a, k) => { const v = [...a.querySelectorAll('.tick text')]
            .map(t => t.getBoundingClientRect()[k]); return Math.max(...v) - Math.min(...v); };
          const axis = [...card.querySelectorAll('g.axis')].find(a => spread(a, 'y') > spread(a, 'x'));
          const domain = axis.querySelector('path.domain').getBoundingClientRect();
          const labels = [...axis.querySelectorAll('.tick text')].filter(t => t.textContent)
            .map(t => t.getBoundingClientRect());
          return {axisTop: domain.top, labelTop: Math.min(...labels.map(b => b.top))};
        }"""
    )
    assert top["labelTop"] >= top["axisTop"] + 2, top  # "1⌐": the label touched the cap
    # Relative time, in the unit that reads (this run logged within a second: ms), from 0,
    # with labels apart (a sub-millisecond span printed "0.000620.00063…" run together).
    loss.locator("select").first.select_option(label="time since start")
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-chart .axis .axislabel, .rw-chart text.axislabel')]"
        ".some(e => /time since start \\((ms|s|min|h|days)\\)/.test(e.textContent))",
    )
    deadline = time.monotonic() + 15
    while True:
        x_ticks, _ = axes_of(page, "loss")
        try:
            assert x_ticks and number(x_ticks[0]["text"]) == 0, x_ticks
            assert_no_overlap(x_ticks)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)
    # Ignore outliers, for every chart: the 900 spike no longer sets the y axis.
    spiky_top = max(number(t["text"]) for t in axes_of(page, "spiky")[1])
    assert spiky_top >= 900
    page.get_by_role("button", name="ignore outliers").first.click()
    wait_until(page, Y_TOP_BELOW, {"title": "spiky", "top": 100})
    page.locator(".rw-run-details").first.screenshot(path=str(ARTIFACTS / "axes.png"))


def test_a_failed_run_without_a_log_shows_no_empty_chooser(lab: Any) -> None:
    page = run_cells(
        lab,
        "failed.ipynb",
        [FAILED_RUN],
        "() => [...document.querySelectorAll('.rw-status-title')].some(e => e.textContent.includes('(Failed)'))",
    )
    logs = page.locator(".rw-logs").first
    logs.scroll_into_view_if_needed()
    assert not logs.locator("select").is_visible()  # no chooser with nothing to choose
    assert "diverged" in logs.inner_text()


def test_sweep_primary_chart_reads_right(lab: Any) -> None:
    page = run_cells(
        lab,
        "sweep-look.ipynb",
        [SWEEP, "RunDetails(sweep)"],
        "() => document.querySelectorAll('.rw-sweep-view .bqplot.figure .dot, "
        ".rw-sweep-view .bqplot.figure path.dot').length >= 15",
    )
    title = "Primary metric: mse"
    x_ticks, y_ticks = axes_of(page, title)
    assert_no_overlap(x_ticks + y_ticks)  # "00": the two zero labels met in the corner
    boxes = inside_figure(page, title)
    right = boxes["figure"]["right"]
    assert max(t["right"] for t in boxes["ticks"]) <= right - 1, boxes  # the last x tick
    assert max(p["right"] for p in boxes["points"]) <= right - 1, boxes  # and its point
    assert not any("e+" in t["text"] for t in y_ticks), y_ticks
    page.locator(".rw-sweep-view").first.screenshot(path=str(ARTIFACTS / "sweep-points.png"))


# ---------------------------------------------------------------------- reopening --
def test_reopened_notebook_is_clean_follows_its_log_and_says_what_works(lab: Any) -> None:
    server, page = lab
    sources = [
        HEADER + "import io\n"
        "exp = Experiment(ws, 'reopen-clean')\n"
        "with exp.start_logging(snapshot_directory=None, display_name='long log') as run:\n"
        "    for i in range(200): run.log('loss', 1 / (i + 1))\n"
        "    text = ''.join(f'line {i}\\n' for i in range(300)).encode()\n"
        "    run.upload_file('logs/user_log.txt', io.BytesIO(text))\n",
        "RunDetails(run)",
    ]
    run_cells(
        lab,
        "reopen-clean.ipynb",
        sources,
        "() => !!document.querySelector('.rw-run-details .rw-status-title') && "
        "document.querySelector('.rw-run-details .rw-status-title').textContent.includes('(Completed)')",
    )
    _saved_with_widget_state(page, server.root / "reopen-clean.ipynb")
    close_all(page)
    load_lab(page, server)
    open_in_lab(lab, "reopen-clean.ipynb")
    page.wait_for_selector(".rw-run-details .rw-log-text", timeout=60_000)
    # Restoring the saved views is no change: the notebook is not marked modified.
    dirty = """() => { const w = window.jupyterapp.shell.currentWidget;
      return w && w.context ? w.context.model.dirty : null; }"""
    deadline = time.time() + 5
    while time.time() < deadline:
        time.sleep(0.5)
        assert page.evaluate(dirty) is False
    # "Show Active log" is ticked: the panel shows the end of the log, not its first lines.
    log = page.locator(".rw-run-details .rw-log-text").first
    log.scroll_into_view_if_needed()
    wait_until(
        page,
        "() => { const t = document.querySelector('.rw-run-details .rw-log-text');"
        " return t.clientHeight > 0 && t.scrollTop + t.clientHeight >= t.scrollHeight - 4; }",
    )
    # The report needs the kernel that made the view: the banner says what works.
    page.locator(".rw-report-link").first.click()
    wait_until(
        page,
        "() => /notebook from the top/.test((document.querySelector('.rw-header-panel "
        ".rw-error-bar') || {}).textContent || '')",
        timeout=30_000,
    )
    banner = page.locator(".rw-header-panel .rw-error-bar").first.inner_text()
    assert "run the cell again" not in banner and "get_portal_url" in banner, banner


# -------------------------------------------------------------------- accessibility --
@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_views_pass_the_wcag_21_aa_audit(lab: Any, theme: str) -> None:
    server, page = lab
    set_theme(page, theme)
    tag = theme.split()[-1].lower()
    name = f"audit-{tag}.ipynb"
    run_cells(
        lab,
        name,
        [
            GROUPED_RUNS.replace("'groups'", f"'groups-{tag}'"),
            "ExperimentDetails(exp, group_by='alpha')",
            "RunDetails(run)",
            SWEEP.replace("'sweep-look'", f"'sweep-{tag}'").replace("HD_look", f"HD_{tag}"),
            "RunDetails(sweep)",
        ],
        "() => document.querySelectorAll('.rw-overlay-chart path.area').length >= 3 && "
        "document.querySelectorAll('.rw-run-details .rw-children tr.rw-row').length >= 15",
    )
    found = {}
    for selector in (".rw-experiment-details", ".rw-run-details"):
        found[selector] = axe_audit(page, selector)
    page.screenshot(path=str(ARTIFACTS / f"audit-{tag}.png"))
    saved = _saved_with_widget_state(page, server.root / name)
    close_all(page)
    # Reopened: with the saved views, and without (the static snapshots stand in).
    stateless = dict(saved, metadata={k: v for k, v in saved["metadata"].items() if k != "widgets"})
    trusted = nbformat.reads(json.dumps(stateless), as_version=4)
    NotebookNotary().sign(trusted)
    nbformat.write(trusted, server.root / f"nostate-{name}")
    for reopened in (name, f"nostate-{name}"):
        load_lab(page, server)
        open_in_lab(lab, reopened)
        wait_until(
            page,
            "() => document.querySelectorAll('.rw-run-details, .rw-static-snapshot').length >= 3",
            timeout=60_000,
        )
        time.sleep(1)
        found[reopened] = axe_audit(page, ".jp-Notebook .jp-OutputArea")
        alts = page.evaluate(
            "() => [...document.querySelectorAll('.rw-static-snapshot img')]"
            ".filter(i => i.offsetParent).map(i => i.alt)"
        )
        if reopened.startswith("nostate"):  # the chart images name their metrics and ranges
            assert any(
                re.search(r"loss: \d+ lines?; step 0 to 15; loss [\d.]+ to [\d.]+", a) for a in alts
            ), alts
            assert any("mse per child" in a for a in alts), alts
        page.screenshot(path=str(ARTIFACTS / f"audit-reopened-{reopened.split('.')[0]}.png"))
        close_all(page)
    assert all(v == [] for v in found.values()), json.dumps(found, indent=1)[:4000]
