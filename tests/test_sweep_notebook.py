"""A function sweep from a real notebook kernel (nbclient): the notebook-first workflow.

The function is defined in a cell and closes over data loaded in an earlier cell; it
reaches the loky workers by value (cloudpickle), so no script file is involved.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from support import python_env
from sweep_helpers import no_leftover_sweeps  # noqa: F401 - fixture

from run_widgets import Run, Workspace

ALPHAS = [0.05, 0.25, 0.5, 0.75, 0.95]

CELLS = [
    """
import json
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

from run_widgets import (Experiment, GridParameterSampling, HyperDriveConfig,
                         PrimaryMetricGoal, RunDetails, Workspace, choice)

ws = Workspace.from_config()  # the test's workspace, described in the environment
exp = Experiment(workspace=ws, name="notebook-sweep")
features, y = load_diabetes(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(features, y, test_size=0.2, random_state=0)
""",
    """
def train(params, run):
    # Closes over x_train & co. from the cell above.
    model = Ridge(alpha=params["alpha"]).fit(x_train, y_train)
    run.log("alpha", params["alpha"])
    run.log("mse", mean_squared_error(y_test, model.predict(x_test)))
""",
    """
config = HyperDriveConfig(
    function=train,
    hyperparameter_sampling=GridParameterSampling({{"alpha": choice({alphas!r})}}),
    primary_metric_name="mse",
    primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
    max_concurrent_runs=2,
)
sweep = exp.submit(config)
print(json.dumps({{"submitted_status": sweep.get_status()}}))
RunDetails(sweep, refresh_interval=1).show()
""",
    """
sweep.wait_for_completion()
best = sweep.get_best_run_by_primary_metric()
print(json.dumps({{"sweep": sweep.id, "status": sweep.get_status(), "best": best.id,
                  "metrics": best.get_metrics(), "children": len(list(sweep.get_children()))}}))
""",
]


def last_json(cell: dict) -> dict:
    texts = [o.get("text", "") for o in cell["outputs"] if o.get("output_type") == "stream"]
    lines = [line for line in "".join(texts).splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


@pytest.mark.notebook
def test_function_sweep_from_a_notebook(ws: Workspace, tmp_path: Path) -> None:
    features, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(features, y, test_size=0.2, random_state=0)
    expected = {
        alpha: mean_squared_error(y_test, Ridge(alpha=alpha).fit(x_train, y_train).predict(x_test))
        for alpha in ALPHAS
    }
    best_alpha = min(expected, key=expected.__getitem__)

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(cell.format(alphas=ALPHAS)) for cell in CELLS]
    path = tmp_path / "sweep.ipynb"
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    env = {**python_env(), **ws.description().environ()}
    client.execute(env=env)
    submitted = last_json(notebook.cells[2])
    assert submitted["submitted_status"] in ("Queued", "Running")  # submit returned at once
    widget = [o for o in notebook.cells[2]["outputs"] if o.get("output_type") == "display_data"]
    assert widget and "application/vnd.jupyter.widget-view+json" in widget[0]["data"]
    result = last_json(notebook.cells[3])
    assert result["status"] == "Completed"
    assert result["children"] == len(ALPHAS)
    assert result["metrics"]["alpha"] == best_alpha
    assert result["metrics"]["mse"] == pytest.approx(expected[best_alpha], rel=1e-12)
    # The same answer read from the store outside the kernel.
    sweep = Run.get(ws, result["sweep"])
    best = sweep.get_best_run_by_primary_metric()  # type: ignore[attr-defined]
    assert best.id == result["best"]
    for _run_id, metrics in sweep.get_metrics().items():
        assert metrics["mse"] == pytest.approx(expected[metrics["alpha"]], rel=1e-12)
