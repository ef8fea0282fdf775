"""Runs and sweeps on a Dask cluster: a real ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1 (free ports), started and stopped by the fixtures here.

Scripts that must be caught mid-run block on a release file, so what the tests observe
never depends on timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import psutil
import pytest

pytest.importorskip("distributed")

from dask_helpers import DaskProcesses, dask_processes, free_port
from submit_helpers import record_of, source_dir, wait_terminal, wait_until
from sweep_helpers import (
    child_records,
    max_overlap,
    no_leftover_sweeps,
    wait_sweep,
)

from run_widgets import (
    ComputeTarget,
    ComputeTargetException,
    DaskCompute,
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    Run,
    ScriptRunConfig,
    Workspace,
    choice,
)

__all__ = ["no_leftover_sweeps"]
pytestmark = [pytest.mark.slow, pytest.mark.dask]

# The trial processes cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SKLEARN = "sklearn.datasets,sklearn.linear_model,sklearn.metrics,sklearn.model_selection"
RIDGE = """
import argparse
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
parser.add_argument("--intercept", type=int)
args = parser.parse_args()
X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
model = Ridge(alpha=args.alpha, fit_intercept=bool(args.intercept)).fit(X_train, y_train)
run = Run.get_context()
run.log("alpha", args.alpha)
run.log("mse", mean_squared_error(y_test, model.predict(X_test)))
"""

BLOCKING = """
import os, sys, time
from pathlib import Path
from run_widgets import Run
run = Run.get_context()
release = Path(os.environ["RELEASE_DIR"])
(release / ("started-" + run.id)).write_text(str(os.getpid()))
run.log("progress", 0.0)
while not (release / "go").exists():
    time.sleep(0.05)
run.log("mse", float(sys.argv[-1]) if len(sys.argv) > 1 else 1.0)
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """One scheduler and two single-threaded workers for the whole module (their job
    templates preload scikit-learn: the grid sweep's trials do not import it each)."""
    folder = tmp_path_factory.mktemp("dask")
    with dask_processes(folder, workers=2, env={"RUN_WIDGETS_JOB_PRELOAD": SKLEARN}) as processes:
        yield processes


@pytest.fixture
def target(ws: Workspace, cluster: DaskProcesses) -> ComputeTarget:
    """The cluster attached to the test's workspace as ``cluster`` (v1 style)."""
    cluster.wait_for_workers(2)
    config = DaskCompute.attach_configuration(address=cluster.address)
    attached = ComputeTarget.attach(ws, "cluster", config)
    attached.wait_for_completion(show_output=False)
    return attached


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder whose ``go`` file lets blocking scripts finish (workers inherit no env:
    the path travels in the script's environment variables)."""
    folder = tmp_path / "release"
    folder.mkdir()
    monkeypatch.setenv("RELEASE_DIR", str(folder))
    return folder


def blocking_config(tmp_path: Path, release: Path, target: Any) -> ScriptRunConfig:
    folder = source_dir(tmp_path, {"train.py": BLOCKING}, name="blocking")
    config = ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    config.environment.environment_variables = {"RELEASE_DIR": str(release)}
    return config


def ridge_sweep(tmp_path: Path, compute_target: Any, max_concurrent: int) -> HyperDriveConfig:
    folder = source_dir(tmp_path, {"train.py": RIDGE}, name="ridge")
    return HyperDriveConfig(
        run_config=ScriptRunConfig(
            source_directory=folder, script="train.py", compute_target=compute_target
        ),
        hyperparameter_sampling=GridParameterSampling(
            {"--alpha": choice(0.01, 0.3, 3.0), "--intercept": choice(0, 1)}
        ),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=max_concurrent,
    )


def results(sweep: Any) -> dict[str, float]:
    """mse by hyperparameters, for comparing sweeps."""
    out = {}
    for child in child_records(sweep):
        metrics = Run(sweep.experiment, child.id).get_metrics()
        out[child.properties["hyperparameters"]] = metrics["mse"]
    return out


# -------------------------------------------------------------------------- targets --
def test_attach_and_config_file_forms(
    ws: Workspace, cluster: DaskProcesses, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ComputeTargetException, match="tcp://host:8786"):
        DaskCompute.attach_configuration(address="localhost")
    target = ComputeTarget.attach(
        ws, "cluster", DaskCompute.attach_configuration(address=cluster.address)
    )
    target.wait_for_completion(show_output=True)
    assert "2 workers" in capsys.readouterr().out
    assert isinstance(ComputeTarget(ws, "cluster"), DaskCompute)
    (Path.cwd() / "run_widgets.json").write_text(
        json.dumps({"compute": {"team": {"type": "dask", "address": cluster.address}}})
    )
    declared = ComputeTarget(ws, "team")
    assert isinstance(declared, DaskCompute) and declared.address == cluster.address
    assert "maxRetries" not in declared.properties  # default: a lost run ends Failed
    (Path.cwd() / "run_widgets.json").write_text(
        json.dumps(
            {"compute": {"team": {"type": "dask", "address": cluster.address, "max_retries": 2}}}
        )
    )
    assert ComputeTarget(ws, "team").properties["maxRetries"] == 2
    with pytest.raises(ComputeTargetException, match="max_retries"):
        DaskCompute.attach_configuration(address=cluster.address, max_retries=-1)
    # A scheduler nobody runs: a clear error naming the target and the address.
    dead = f"tcp://127.0.0.1:{free_port()}"
    gone = ComputeTarget.attach(ws, "nowhere", DaskCompute.attach_configuration(address=dead))
    with pytest.raises(ComputeTargetException, match=r"'nowhere'.*cannot be reached"):
        gone.wait_for_completion(timeout_in_minutes=0.05)
    folder = source_dir(Path.cwd(), {"train.py": "print(1)"})
    run = Experiment(ws, "unreachable").submit(
        ScriptRunConfig(source_directory=folder, script="train.py", compute_target=gone)
    )
    assert wait_terminal(run, 60) == "Failed"
    assert "cannot be reached" in run.get_details()["error"]["error"]["message"]


def test_script_run_on_the_cluster(
    ws: Workspace,
    exp: Experiment,
    target: ComputeTarget,
    tmp_path: Path,
    release: Path,
    cluster: DaskProcesses,
) -> None:
    run = exp.submit(blocking_config(tmp_path, release, "cluster"))
    wait_until(lambda: run.get_status() == "Running", 60, what="the run to start on a worker")
    details = run.get_details()
    assert details["target"] == "cluster"
    worker = details["properties"]["dask_worker"]
    assert worker in cluster.worker_info()
    assert details["properties"]["dask_host"]
    (release / "go").write_text("1")
    assert wait_terminal(run, 60) == "Completed", run.get_details().get("error")
    assert run.get_metrics()["mse"] == 1.0


def test_grid_sweep_matches_the_local_executor(
    ws: Workspace, exp: Experiment, target: ComputeTarget, tmp_path: Path
) -> None:
    """6 scikit-learn trials (3 waves) on two workers give the local executor's results."""
    on_cluster = exp.submit(ridge_sweep(tmp_path, target, max_concurrent=2))
    local = exp.submit(ridge_sweep(tmp_path / "local", None, max_concurrent=2))
    assert wait_sweep(on_cluster, 240) == "Completed"
    assert wait_sweep(local, 240) == "Completed"
    children = child_records(on_cluster)
    assert len(children) == 6 and {c.status for c in children} == {"Completed"}
    assert results(on_cluster) == results(local)
    workers = {c.properties["dask_worker"] for c in children}
    assert workers <= set(cluster_addresses(on_cluster, children))
    assert max_overlap([(c.start_time or 0.0, c.end_time or 0.0) for c in children]) <= 2
    assert on_cluster.get_details()["target"] == "cluster"
    best = on_cluster.get_best_run_by_primary_metric()
    assert best is not None and best.id in {c.id for c in children}


def cluster_addresses(sweep: Any, children: list[Any]) -> list[str]:
    return [c.properties.get("dask_worker", "") for c in children]


def notebook_function(params: dict[str, Any], run: Run) -> None:
    """Defined at module level but shipped by value, as a notebook's function would be."""
    import os

    run.log("pid", float(os.getpid()))
    run.log("parent_pid", float(os.getppid()))
    run.log("mse", (params["alpha"] - 0.3) ** 2)


def test_function_sweep_runs_on_the_cluster(
    exp: Experiment, target: ComputeTarget, cluster: DaskProcesses
) -> None:
    config = HyperDriveConfig(
        function=notebook_function,
        hyperparameter_sampling=GridParameterSampling({"alpha": choice(0.1, 0.3, 0.5, 0.7)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=2,
        compute_target=target,
    )
    sweep = exp.submit(config)
    assert wait_sweep(sweep, 180) == "Completed"
    children = child_records(sweep)
    assert {c.status for c in children} == {"Completed"}
    assert all(c.properties.get("dask_worker") for c in children)
    metrics = [Run(exp, c.id).get_metrics() for c in children]
    assert len({m["pid"] for m in metrics}) == 4  # each trial in a process of its own
    # ... forked from the worker's job template (its parent), not started by the worker.
    workers = {cluster.pid_of(c.properties["dask_worker"]) for c in children}
    assert {m["parent_pid"] for m in metrics}.isdisjoint(workers), (metrics, workers)
    for child in children:
        log = exp.workspace.artifacts.run_folder(child.id) / "logs" / "control_log.txt"
        text = log.read_text() if log.is_file() else ""
        assert "Warning" not in text and "Traceback" not in text, text
    best = sweep.get_best_run_by_primary_metric()
    assert best is not None and best.get_metrics()["mse"] == 0.0
    # The sweep view shows where each child ran.
    from run_widgets import RunDetails
    from run_widgets.widgets.sweep import SweepView

    details = RunDetails(sweep)
    try:
        [view] = [e for e in details.extensions if isinstance(e, SweepView)]
        table = view.child_table_state()
        assert "worker" in [c["key"] for c in table["columns"]]
        assert all("tcp://127.0.0.1:" in row["values"]["worker"] for row in table["rows"])
    finally:
        details.close()


# --------------------------------------------------------------------------- faults --
def test_killed_worker_fails_its_trial_and_the_sweep_goes_on(
    exp: Experiment,
    target: ComputeTarget,
    tmp_path: Path,
    release: Path,
    cluster: DaskProcesses,
) -> None:
    config = HyperDriveConfig(
        run_config=blocking_config(tmp_path, release, target),
        hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2, 3, 4)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=2,
    )
    sweep = exp.submit(config)
    running = wait_until(
        lambda: [c for c in child_records(sweep) if c.status == "Running"] or None,
        90,
        what="a running trial",
    )
    victim = running[0]
    worker = wait_until(
        lambda: Run(exp, victim.id).get_details()["properties"].get("dask_worker"), 30
    )
    # Kill only once the trial's first metric is stored: what was flushed must survive.
    wait_until(lambda: "progress" in Run(exp, victim.id).get_metrics(), 30)
    os.kill(cluster.pid_of(worker), signal.SIGKILL)
    try:
        status = wait_until(
            lambda: s if (s := Run(exp, victim.id).get_status()) in ("Failed", "Completed") else "",
            15,
            what="the killed worker's trial to end",
        )
        assert status == "Failed"
        error = Run(exp, victim.id).get_details()["error"]["error"]["message"]
        assert "process lost" in error
        (release / "go").write_text("1")
        assert wait_sweep(sweep, 180) == "Completed"
        statuses = {c.id: c.status for c in child_records(sweep)}
        assert statuses[victim.id] == "Failed"
        assert sorted(statuses.values()) == ["Completed", "Completed", "Completed", "Failed"]
        assert Run(exp, victim.id).get_metrics()["progress"] == 0.0  # flushed data kept
    finally:
        cluster.add_worker()
        cluster.wait_for_workers(2)


def test_a_trial_lost_with_its_worker_is_retried_when_the_target_allows_it(
    ws: Workspace,
    exp: Experiment,
    cluster: DaskProcesses,
    tmp_path: Path,
    release: Path,
) -> None:
    cluster.wait_for_workers(2)
    config = DaskCompute.attach_configuration(address=cluster.address, max_retries=1)
    target = ComputeTarget.attach(ws, "retrying", config)
    sweep = exp.submit(
        HyperDriveConfig(
            run_config=blocking_config(tmp_path, release, target),
            hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2)}),
            primary_metric_name="mse",
            primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
            max_concurrent_runs=2,
        )
    )
    running = wait_until(
        lambda: [c for c in child_records(sweep) if c.status == "Running"] or None,
        90,
        what="a running trial",
    )
    victim = Run(exp, running[0].id)
    wait_until(lambda: (release / f"started-{victim.id}").exists(), 30)
    first = victim.get_details()["properties"]["dask_worker"]
    os.kill(cluster.pid_of(first), signal.SIGKILL)
    try:
        cluster.add_worker()  # the other worker is busy: the retry needs a free one
        properties = wait_until(
            lambda: (p := victim.get_details()["properties"]).get("dask_worker_2") and p,
            60,
            what="the lost trial's second attempt to start on another worker",
        )
        assert properties["dask_worker_2"] != first
        assert "attempt 1 was lost" in properties["attempt_2"]
        assert properties["queued_owner"]
        wait_until(lambda: victim.get_status() == "Running", 60, what="the retry to run")
        (release / "go").write_text("1")
        assert wait_sweep(sweep, 120) == "Completed"
        children = child_records(sweep)
        assert [c.status for c in children] == ["Completed", "Completed"]
        [x] = json.loads(victim.get_details()["properties"]["hyperparameters"]).values()
        assert victim.get_metrics()["mse"] == float(x)  # the retry ran to its end
        assert victim.get_details().get("error") is None
        from run_widgets import RunDetails
        from run_widgets.widgets.sweep import SweepView

        details = RunDetails(sweep)  # the sweep view shows the attempt that ran it
        try:
            [view] = [e for e in details.extensions if isinstance(e, SweepView)]
            rows = {r["id"]: r for r in view.child_table_state()["rows"]}
            assert rows[victim.id]["values"]["worker"].endswith("(attempt 2)")
        finally:
            details.close()
    finally:
        cluster.wait_for_workers(2)


STUBBORN = """
import io, os, signal, time
from pathlib import Path
from run_widgets import Run
run = Run.get_context()
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as if cut off from its cluster: it carries on
release = Path(os.environ["RELEASE_DIR"])
(release / ("started-" + run.id)).write_text(str(os.getpid()))
run.log("progress", 0.0)
while not (release / "go").exists():
    time.sleep(0.05)
run.log("mse", float(os.getpid()))
run.tag("who", str(os.getpid()))
run.add_properties({"model": str(os.getpid())})
run.upload_file("outputs/who.txt", io.BytesIO(str(os.getpid()).encode()))
run.flush()
(release / ("logged-" + str(os.getpid()))).write_text("1")
"""


def test_a_submitted_run_lost_with_its_worker_is_retried_and_fenced(
    ws: Workspace, exp: Experiment, cluster: DaskProcesses, tmp_path: Path, release: Path
) -> None:
    """``experiment.submit`` (no sweep): the run's local driver requeues the lost attempt,
    and what the lost attempt's still-running script logs, tags, adds or uploads after
    that is dropped."""
    cluster.wait_for_workers(2)
    config = DaskCompute.attach_configuration(address=cluster.address, max_retries=1)
    target = ComputeTarget.attach(ws, "retrying-run", config)
    script = ScriptRunConfig(
        source_directory=source_dir(tmp_path, {"train.py": STUBBORN}, name="stubborn"),
        script="train.py",
        compute_target=target,
    )
    # The lost script outlives its worker for as long as the test needs it.
    script.environment.environment_variables = {
        "RELEASE_DIR": str(release),
        "RUN_WIDGETS_CANCEL_GRACE_S": "120",
    }
    run = exp.submit(script)
    started = release / f"started-{run.id}"
    wait_until(started.exists, 60, what="the run to start")
    lost = int(started.read_text())
    first = run.get_details()["properties"]["dask_worker"]
    wait_until(lambda: "progress" in run.get_metrics(), 30)  # stored before the loss: kept
    os.kill(cluster.pid_of(first), signal.SIGKILL)
    try:
        properties = wait_until(
            lambda: (p := run.get_details()["properties"]).get("dask_worker_2") and p,
            60,
            what="the lost run's second attempt to start on the other worker",
        )
        assert properties["dask_worker_2"] != first
        assert "attempt 1 was lost" in properties["attempt_2"]
        retry = wait_until(
            lambda: int(started.read_text()) != lost and int(started.read_text()),
            60,
            what="the retry's script to start",
        )
        (release / "go").write_text("1")
        assert wait_terminal(run, 60) == "Completed", run.get_details().get("error")
        wait_until(
            (release / f"logged-{lost}").exists, 60, what="the lost attempt to log and flush"
        )
        assert run.get_metrics()["mse"] == float(retry)  # only the retry's point
        assert run.get_tags()["who"] == str(retry)  # and the retry's tag and property
        assert run.get_properties()["model"] == str(retry)
        assert run.get_file_path("outputs/who.txt").read_text() == str(retry)  # its file too
        assert run.get_metrics()["progress"] == [0.0, 0.0]  # both logged before the loss
        assert run.get_details().get("error") is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(lost, signal.SIGKILL)
        cluster.add_worker()
        cluster.wait_for_workers(2)


def test_a_worker_on_another_host_is_declared_lost_by_its_heartbeat_age(
    tmp_path: Path, pg_uri: str, release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL store shared by "machines": the worker is ``machine-b``
    (``RUN_WIDGETS_HOST_ID``). Its pid means nothing here: once it is killed (and the
    submitting side is gone too), a reader marks the run lost by its heartbeat's age."""
    monkeypatch.setenv("RUN_WIDGETS_HEARTBEAT_TIMEOUT", "10")  # heartbeats come every 5 s
    ws = Workspace(store=pg_uri, artifacts=tmp_path / "shared")
    try:
        with dask_processes(tmp_path / "machine-b", workers=0) as remote:
            remote.add_worker(env={"RUN_WIDGETS_HOST_ID": "machine-b"})
            remote.wait_for_workers(1)
            config = DaskCompute.attach_configuration(address=remote.address)
            target = ComputeTarget.attach(ws, "machine-b", config)
            run = Experiment(ws, "team").submit(blocking_config(tmp_path, release, target))
            wait_until(lambda: (release / f"started-{run.id}").exists(), 60)
            details = run.get_details()
            assert details["properties"]["dask_host"] == "machine-b"
            owner = ws.store.get_owners([record_of(run).owner_id or 0])
            assert [o.host for o in owner.values()] == ["machine-b"]
            # The notebook's machine goes away too: no executor watches the cluster.
            assert _kill_own_children("run_widgets.submit.remote", run.id) == 1
            worker = details["properties"]["dask_worker"]
            os.kill(remote.pid_of(worker), signal.SIGKILL)
            killed = time.monotonic()
            assert run.get_status() == "Running"  # a dead local pid proves nothing here
            status = wait_until(
                lambda: s if (s := run.get_status()) != "Running" else "",
                40,
                what="the run to be declared lost",
            )
            assert status == "Failed" and time.monotonic() - killed > 3
            error = run.get_details()["error"]["error"]["message"]
            assert "process lost" in error and "machine-b" in error
            assert "ended without reporting" in error  # the heartbeat's verdict
    finally:
        ws.close()


def _kill_own_children(*words: str) -> int:
    """SIGKILL the descendants of this test process whose command line holds ``words``."""
    killed = 0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error, ChildProcessError):
            if all(word in child.cmdline() for word in words):
                child.kill()
                killed += 1
                child.wait(10)
    return killed


def test_cancel_a_child_and_the_sweep(
    exp: Experiment, target: ComputeTarget, tmp_path: Path, release: Path
) -> None:
    config = HyperDriveConfig(
        run_config=blocking_config(tmp_path, release, target),
        hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2, 3, 4, 5)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=3,  # 2 workers: one child waits Queued for a worker
    )
    sweep = exp.submit(config)

    def statuses() -> list[str]:
        return sorted(c.status for c in child_records(sweep))

    wait_until(
        lambda: statuses() == ["Queued", "Running", "Running"],
        90,
        what="two running children and one queued",
    )
    running = [c for c in child_records(sweep) if c.status == "Running"]
    wait_until(lambda: (release / f"started-{running[0].id}").exists(), 30)
    Run(exp, running[0].id).cancel()
    assert wait_terminal(Run(exp, running[0].id), 10) == "Canceled"
    sweep.cancel()
    assert wait_sweep(sweep, 30) == "Canceled"
    children = child_records(sweep)
    assert all(c.status == "Canceled" for c in children), [(c.id, c.status) for c in children]


def test_scheduler_going_away_fails_the_sweep_clearly(
    ws: Workspace, exp: Experiment, tmp_path: Path, release: Path
) -> None:
    with dask_processes(tmp_path / "flaky", workers=1) as own:
        config = DaskCompute.attach_configuration(address=own.address)
        target = ComputeTarget.attach(ws, "flaky", config)
        sweep = exp.submit(
            HyperDriveConfig(
                run_config=blocking_config(tmp_path, release, target),
                hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2, 3)}),
                primary_metric_name="mse",
                primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
                max_concurrent_runs=2,
            )
        )
        wait_until(
            lambda: sorted(c.status for c in child_records(sweep)) == ["Queued", "Running"],
            90,
            what="one running and one queued child",
        )
        running = next(c for c in child_records(sweep) if c.status == "Running")
        wait_until(lambda: "progress" in Run(exp, running.id).get_metrics(), 30)
        own.scheduler.send_signal(signal.SIGKILL)
        assert wait_sweep(sweep, 60) == "Failed"
        message = sweep.get_details()["error"]["error"]["message"]
        assert "Dask scheduler" in message and own.address in message
        children = {c.id: c for c in child_records(sweep)}
        assert all(c.is_terminal for c in children.values())
        queued = [c for c in children.values() if c.id != running.id]
        assert [c.status for c in queued] == ["Failed"], [
            (c.id, c.status, c.error) for c in children.values()
        ]
        assert "went away" in (queued[0].error or {}).get("error", {}).get("message", "")
        assert Run(exp, running.id).get_metrics()["progress"] == 0.0  # nothing logged lost


def trivial(params: dict[str, Any], run: Run) -> None:
    run.log("mse", params["alpha"])


def test_local_cluster_started_owned_and_stopped_when_idle(ws: Workspace, exp: Experiment) -> None:
    from run_widgets.submit.dask.local_cluster import read_state

    config = DaskCompute.provisioning_configuration(
        n_workers=1, threads_per_worker=2, idle_seconds_before_scaledown=2
    )
    target = ComputeTarget.create(ws, "laptop", config)
    assert isinstance(target, DaskCompute) and target.is_local_cluster
    try:
        sweep = exp.submit(
            HyperDriveConfig(
                function=trivial,
                hyperparameter_sampling=GridParameterSampling({"alpha": choice(1.0, 2.0)}),
                primary_metric_name="mse",
                primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
                compute_target="laptop",
            )
        )
        assert wait_sweep(sweep, 120) == "Completed"
        assert all(c.properties.get("dask_worker") for c in child_records(sweep))
        state = read_state(ws.folder, "laptop")
        assert state is not None and state["address"].startswith("tcp://127.0.0.1:")
        # No task and no client for idle_seconds_before_scaledown: the cluster stops.
        wait_until(lambda: read_state(ws.folder, "laptop") is None, 60, what="idle stop")
    finally:
        state = read_state(ws.folder, "laptop")
        if state is not None:
            os.kill(int(state["pid"]), signal.SIGKILL)


def test_deleting_a_local_cluster_target_stops_its_cluster(ws: Workspace) -> None:
    from run_widgets.submit.dask.local_cluster import read_state

    config = DaskCompute.provisioning_configuration(
        n_workers=1, threads_per_worker=1, idle_seconds_before_scaledown=600
    )
    target = ComputeTarget.create(ws, "to-delete", config)
    try:
        target.wait_for_completion(show_output=False)  # starts the cluster
        state = read_state(ws.folder, "to-delete")
        assert state is not None
        owner = psutil.Process(int(state["pid"]))
        family = [owner, *owner.children(recursive=True)]
        assert len(family) >= 2  # the cluster's process and its worker
        target.delete()  # long before the idle limit
        gone, alive = psutil.wait_procs(family, timeout=30)
        assert alive == [] and len(gone) == len(family)
        assert read_state(ws.folder, "to-delete") is None
        assert "to-delete" not in ws.compute_targets
    finally:
        state = read_state(ws.folder, "to-delete")
        if state is not None:
            os.kill(int(state["pid"]), signal.SIGKILL)
