"""The seed article's Ridge workflow, parallel submissions, and v1's "manage runs" workflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import joblib
import numpy as np
from submit_helpers import (  # noqa: F401 - fixtures
    driver_log,
    no_leftover_processes,
    source_dir,
    submit,
    wait_terminal,
)

from run_widgets import Environment, Experiment, Run, ScriptRunConfig

# The seed's train.py + mylib.py, as the train-on-local notebook submits them.
RIDGE = Path(__file__).resolve().parents[1] / "notebooks" / "scripts"


def _direct_ridge_sweep() -> tuple[list[float], list[float]]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    alphas, errors = [], []
    for alpha in np.arange(0.0, 1.0, 0.05):
        reg = Ridge(alpha=alpha).fit(x_train, y_train)
        alphas.append(float(alpha))
        errors.append(float(mean_squared_error(reg.predict(x_test), y_test)))
    return alphas, errors


def test_seed_ridge_sweep_with_script_run_config(exp: Experiment, tmp_path: Path) -> None:
    folder = tmp_path / "ridge"
    shutil.copytree(RIDGE, folder)
    # as in the article: a user-managed environment, the whole folder submitted
    user_managed_env = Environment("user-managed-env")
    user_managed_env.python.user_managed_dependencies = True
    src = ScriptRunConfig(source_directory=str(folder), script="train.py")
    src.run_config.environment = user_managed_env
    run = Experiment(exp.workspace, "train-on-local").submit(src)

    details = run.wait_for_completion()
    assert details["status"] == "Completed", details.get("error")
    assert details["runDefinition"]["environment"]["name"] == "user-managed-env"

    alphas, errors = _direct_ridge_sweep()
    assert len(alphas) == 20
    metrics = run.get_metrics()
    assert set(metrics) == {"alpha", "mse"}
    assert metrics["alpha"] == alphas
    assert metrics["mse"] == errors
    best = int(np.argmin(metrics["mse"]))
    assert metrics["alpha"][best] == alphas[int(np.argmin(errors))]

    names = run.get_file_names()
    assert "outputs/ridge_0.40.pkl" in names
    assert sorted(n for n in names if n.startswith("outputs/")) == sorted(
        f"outputs/ridge_{a:.2f}.pkl" for a in alphas
    )
    model = joblib.load(run.get_file_path("outputs/ridge_0.40.pkl"))
    assert model.alpha == alphas[8]
    lines = driver_log(run).splitlines()
    assert len(lines) == 20
    assert lines[8] == f"alpha is 0.40, and mse is {errors[8]:0.2f}"
    # the source folder is untouched: outputs went to the run's private working copy
    assert not (folder / "outputs").exists()


PARALLEL_SCRIPT = """
    import sys
    from run_widgets import Run

    run = Run.get_context()
    k = int(sys.argv[1])
    for i in range(2000):
        run.log("value", k * 10000 + i)
    for i in range(50):
        run.log_row("row", i=i, k=k)
    run.log("k", k)
    print(f"worker {k} done")
"""


def test_eight_parallel_submissions_lose_nothing(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(tmp_path, {"train.py": PARALLEL_SCRIPT})
    runs = [exp.submit(ScriptRunConfig(folder, "train.py", arguments=[k])) for k in range(8)]
    assert len({r.id for r in runs}) == 8
    for k, run in enumerate(runs):
        assert wait_terminal(run, timeout=60) == "Completed", run.get_details().get("error")
        metrics = run.get_metrics()
        assert metrics["value"] == [k * 10000 + i for i in range(2000)]
        assert metrics["row"] == {"i": list(range(50)), "k": [k] * 50}
        assert metrics["k"] == k
        assert driver_log(run) == f"worker {k} done\n"
    assert len(list(exp.get_runs(status="Completed"))) == 8


def test_manage_runs_workflow(exp: Experiment, tmp_path: Path) -> None:
    """v1's "Start, monitor, and cancel training runs" article, end to end."""
    # start a run interactively and log
    notebook_run = exp.start_logging(snapshot_directory=None, outputs=False)
    notebook_run.log(name="message", value="Hello from run!")
    assert notebook_run.get_status() == "Running"
    notebook_run.complete()
    assert notebook_run.get_status() == "Completed"

    # submit a script and monitor it
    folder = source_dir(
        tmp_path,
        {
            "hello.py": """
                import sys
                import time
                from run_widgets import Run

                run = Run.get_context()
                run.log("message", "Hello from a script")
                if "--slow" in sys.argv:
                    time.sleep(60)
            """
        },
    )
    local_script_run = exp.submit(ScriptRunConfig(folder, "hello.py"))
    assert local_script_run.get_status() in ("Queued", "Starting", "Running")
    details = local_script_run.wait_for_completion()
    assert details["status"] == "Completed"
    assert local_script_run.get_details()["runDefinition"]["script"] == "hello.py"

    # properties (write-once) and tags (mutable), and finding runs by them
    local_script_run.add_properties({"author": "azureml-user"})
    assert local_script_run.get_properties()["author"] == "azureml-user"
    local_script_run.tag("quality", "great run")
    local_script_run.tag("quality", "fantastic run")
    local_script_run.tag("worth another look")
    assert local_script_run.get_tags() == {"quality": "fantastic run", "worth another look": None}
    assert [r.id for r in exp.get_runs(properties={"author": "azureml-user"})] == [
        local_script_run.id
    ]
    assert [r.id for r in exp.get_runs(tags={"quality": "fantastic run"})] == [local_script_run.id]
    assert [r.id for r in exp.get_runs(tags="worth another look")] == [local_script_run.id]
    assert [r.id for r in exp.get_runs(type="scriptrun")] == [local_script_run.id]

    # child runs
    with exp.start_logging(snapshot_directory=None, outputs=False) as parent_run:
        for c in range(5):
            with parent_run.child_run(f"child-{c}") as child:
                child.log(name="Hello from child run", value=c)
    assert parent_run.get_status() == "Completed"
    children = list(parent_run.get_children())
    assert len(children) == 5
    assert {c.get_metrics()["Hello from child run"] for c in children} == set(range(5))
    assert children[0].parent is not None and children[0].parent.id == parent_run.id

    # cancel a submitted run, and fail an interactive one
    slow = exp.submit(ScriptRunConfig(folder, "hello.py", arguments=["--slow"]))
    slow.cancel()
    assert wait_terminal(slow, timeout=15) == "Canceled"
    failing = exp.start_logging(snapshot_directory=None, outputs=False)
    failing.fail()
    assert failing.get_status() == "Failed"

    # every run, newest first; reopen one by id
    statuses = {r.id: r.get_status() for r in exp.get_runs()}
    assert statuses == {
        notebook_run.id: "Completed",
        local_script_run.id: "Completed",
        parent_run.id: "Completed",
        slow.id: "Canceled",
        failing.id: "Failed",
    }
    assert Run(exp, local_script_run.id).get_metrics() == {"message": "Hello from a script"}

    # the snapshot of the submitted folder comes back
    restored = Path(local_script_run.restore_snapshot(path=tmp_path / "restored", extract=True))
    assert (restored / "hello.py").read_text() == (folder / "hello.py").read_text()
