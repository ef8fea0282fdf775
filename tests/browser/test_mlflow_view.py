"""An MLflow run that is still logging, shown live in a real JupyterLab (Debian chromium).

The run is logged with MLflow's own client to a real ``mlflow server`` by a thread of the
test; the notebook shows ``ExperimentDetails(open_run(...))``: its loss chart must gain
points while the run logs, then the status must turn Completed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from .harness import browser_page, jupyter_server, open_notebook, run_all
from .test_jupyterlab import POINTS_OF, wait_until, write_notebook


def test_mlflow_run_renders_and_grows_while_logging(
    mlflow_server: Any, lab_root: Path, artifacts: Path
) -> None:
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment("browser-live")
    run_id = client.create_run(experiment_id, run_name="live run").info.run_id
    client.log_param(run_id, "alpha", "0.5")
    stop = threading.Event()

    def log() -> None:
        step = 0
        while not stop.is_set():
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
            step += 1
            stop.wait(0.3)

    for step in range(3):
        client.log_metric(run_id, "loss", 2.0 - step, step=step - 3)
    writer = threading.Thread(target=log, daemon=True)
    writer.start()
    write_notebook(
        lab_root / "mlflow_live.ipynb",
        [
            "from run_widgets import ExperimentDetails\n"
            "from run_widgets.mlflow import open_run\n"
            f"view = ExperimentDetails(open_run({run_id!r}, tracking_uri={mlflow_server.url!r}),"
            " refresh_interval=1)\n"
            "view"
        ],
    )
    try:
        with jupyter_server(lab_root) as server, browser_page(viewport=(1500, 1100)) as page:
            open_notebook(page, server, "mlflow_live.ipynb")
            run_all(page, "mlflow_live.ipynb")
            page.wait_for_selector(".rw-experiment-details", timeout=120_000)
            first = wait_until(
                page, f"() => ({POINTS_OF})('loss') >= 2 && ({POINTS_OF})('loss')", timeout=120_000
            )
            later = wait_until(
                page,
                f"(n) => ({POINTS_OF})('loss') > n && ({POINTS_OF})('loss')",
                arg=first,
                timeout=120_000,
            )
            assert later > first  # the chart gained points while the MLflow run logged
            assert "live run" in page.locator(".rw-experiment-details").first.inner_text()
            page.locator(".rw-experiment-details").first.screenshot(
                path=str(artifacts / "mlflow-running.png")
            )
            stop.set()
            writer.join(timeout=30)
            client.set_terminated(run_id, status="FINISHED")
            wait_until(
                page,
                "() => { const v = document.querySelector('.rw-experiment-details');"
                " return !!v && v.innerText.includes('Completed'); }",
                timeout=120_000,
            )
    finally:
        stop.set()
        writer.join(timeout=30)
