"""The pipeline view live in a real JupyterLab 4, driven in Debian chromium.

What a user sees: ``RunDetails(pipeline_run).show()`` draws the step graph at once (steps
not started yet in grey); the first step turns "Running", then every step "Completed"
without re-running the cell; a click on a step box opens that step's own view below; the
graph's text is readable (axe-core contrast). Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import browser_page, jupyter_server, open_notebook, run_all
from .test_jupyterlab import wait_until, write_notebook
from .test_view import axe_contrast

SETUP = '''\
import os, pathlib, textwrap
from run_widgets import Experiment, Pipeline, PipelineData, PythonScriptStep, RunDetails, Workspace
ws = Workspace.from_config()
src = pathlib.Path("pipeline-steps"); src.mkdir(exist_ok=True)
release = pathlib.Path("release").absolute()
(src / "prep.py").write_text(textwrap.dedent("""
    import argparse, os, pathlib, time
    p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--release"); a = p.parse_args()
    while not pathlib.Path(a.release).exists():
        time.sleep(0.1)
    os.makedirs(a.out, exist_ok=True); open(os.path.join(a.out, "rows.csv"), "w").write("x\\\\n1\\\\n2\\\\n")
"""))
(src / "train.py").write_text(textwrap.dedent("""
    import argparse, os
    from run_widgets import Run
    p = argparse.ArgumentParser(); p.add_argument("--data"); p.add_argument("--model"); a = p.parse_args()
    rows = open(os.path.join(a.data, "rows.csv")).read().split()[1:]
    os.makedirs(a.model, exist_ok=True); open(os.path.join(a.model, "model.txt"), "w").write(str(len(rows)))
    Run.get_context().log("rows", len(rows))
"""))
(src / "evaluate.py").write_text("import sys\\nprint('evaluated', sys.argv[1:])\\n")
prepared, model = PipelineData("prepared_data"), PipelineData("model")
prep = PythonScriptStep("prep.py", name="data prep", source_directory=src,
                        arguments=["--out", prepared, "--release", str(release)], outputs=[prepared])
train = PythonScriptStep("train.py", name="train", source_directory=src,
                         arguments=["--data", prepared, "--model", model], inputs=[prepared], outputs=[model])
evaluate = PythonScriptStep("evaluate.py", name="evaluate", source_directory=src, arguments=[model], inputs=[model])
run = Experiment(ws, "browser-pipeline").submit(Pipeline(ws, [evaluate]))
'''
SHOW = "RunDetails(run, refresh_interval=1).show()"

STEP_STATUS = """(name) => {
  for (const g of document.querySelectorAll('.rw-pipeline-node.rw-pipeline-step')) {
    if (g.querySelector('title').textContent.startsWith(name + ' - ')) return g.dataset.status;
  }
  return '';
}"""
STEPS_COMPLETED = """() => [...document.querySelectorAll('.rw-pipeline-node.rw-pipeline-step')]
  .filter(g => g.dataset.status === 'Completed').length"""


@pytest.fixture(autouse=True)
def _slow_marker(request: pytest.FixtureRequest) -> None:
    request.node.add_marker(pytest.mark.slow)


def test_the_pipeline_graph_updates_live_and_opens_steps(lab_root: Path, artifacts: Path) -> None:
    write_notebook(lab_root / "pipeline.ipynb", [SETUP, SHOW])
    with jupyter_server(lab_root) as server, browser_page(viewport=(1400, 1600)) as page:
        open_notebook(page, server, "pipeline.ipynb")
        run_all(page, "pipeline.ipynb")
        try:
            _drive(page, lab_root, artifacts)
        except Exception:
            page.screenshot(path=str(artifacts / "pipeline-failure.png"), full_page=True)
            raise


def _drive(page: Any, lab_root: Path, artifacts: Path) -> None:
    # The whole graph is there at once: 3 steps, 2 data nodes, arrows between them.
    wait_until(
        page, "() => document.querySelectorAll('.rw-pipeline-node').length === 5", timeout=120_000
    )
    assert page.locator(".rw-pipeline-edge").count() == 4
    wait_until(page, f"(name) => ({STEP_STATUS})(name) === 'Running'", "data prep")
    assert page.evaluate(STEP_STATUS, "train") == "NotStarted"
    page.locator(".rw-pipeline").first.screenshot(path=str(artifacts / "pipeline-running.png"))
    (lab_root / "release").write_text("go", encoding="utf-8")  # the first step may finish now
    wait_until(page, f"() => ({STEPS_COMPLETED})() === 3", timeout=120_000)
    wait_until(
        page,
        "() => (document.querySelector('.rw-status-title') || {}).textContent.includes('Completed')",
    )
    assert axe_contrast(page, ".rw-pipeline") == []
    page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "pipeline-view.png"))
    # A click on the train step opens its own view below, with its metric.
    page.locator(".rw-pipeline-node.rw-clickable", has_text="train").first.click()
    wait_until(
        page, "() => [...document.querySelectorAll('.rw-run-details .rw-run-details')].length >= 1"
    )
    wait_until(
        page,
        "() => [...document.querySelectorAll('.rw-run-details .rw-run-details .rw-properties')]"
        ".some(p => p.textContent.includes('rows'))",
    )
    page.locator(".rw-run-details").first.screenshot(path=str(artifacts / "pipeline-step-open.png"))
