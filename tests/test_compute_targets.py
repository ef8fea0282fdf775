"""Compute targets: v1 ``ComputeTarget``/``AmlCompute`` definitions and ``max_nodes`` queueing.

Real supervisors and sweep drivers run the jobs; jobs block on a release file so that the
queueing is observed deterministically (never by timing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from submit_helpers import record_of, source_dir, wait_terminal, wait_until
from sweep_helpers import child_records, max_overlap, no_leftover_sweeps, wait_sweep

from run_widgets import (
    AmlCompute,
    ComputeTarget,
    ComputeTargetException,
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    Run,
    ScriptRunConfig,
    Workspace,
    choice,
)
from run_widgets.submit.config import RunConfiguration
from run_widgets.submit.slots import slots_folder, try_acquire

__all__ = ["no_leftover_sweeps"]

BLOCKING = """
import os, sys, time
from pathlib import Path
from run_widgets import Run
run = Run.get_context()
release = Path(os.environ["RELEASE_DIR"]) / "go"
while not release.exists():
    time.sleep(0.05)
run.log("mse", float(sys.argv[-1]) if len(sys.argv) > 1 else 1.0)
"""


def create_cluster(ws: Workspace, name: str = "cpu-cluster", max_nodes: int = 1) -> ComputeTarget:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=max_nodes)
    target = ComputeTarget.create(ws, name, config)
    target.wait_for_completion(show_output=False)
    return target


# ------------------------------------------------------------------------ definitions --
def test_v1_get_or_create_pattern(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ComputeTargetException, match="cpu-cluster") as missing:
        ComputeTarget(workspace=ws, name="cpu-cluster")
    assert isinstance(missing.value, ValueError)
    config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2, idle_seconds_before_scaledown=120
    )
    target = ComputeTarget.create(ws, "cpu-cluster", config)
    target.wait_for_completion(show_output=True)
    assert "Succeeded" in capsys.readouterr().out
    found = ComputeTarget(workspace=ws, name="cpu-cluster")
    assert isinstance(found, AmlCompute)
    assert found == target
    assert found.max_nodes == 2
    assert found.vm_size == "STANDARD_D2_V2"
    assert found.provisioning_state == "Succeeded"
    assert found.type == "AmlCompute"
    assert found.serialize()["properties"]["idleSecondsBeforeScaledown"] == 120
    assert AmlCompute(ws, "cpu-cluster") == target
    assert [t.name for t in ComputeTarget.list(ws)] == ["cpu-cluster"]


def test_definition_is_seen_by_another_process_on_another_host(ws: Workspace) -> None:
    """Targets live in the store: a process of another host sees them and adds its own."""
    create_cluster(ws, max_nodes=3)
    code = (
        "import sys; from run_widgets import AmlCompute, Workspace, ComputeTarget\n"
        "ws = Workspace(store=sys.argv[1], artifacts=sys.argv[2])\n"
        "print(ComputeTarget(ws, 'cpu-cluster').max_nodes)\n"
        "config = AmlCompute.provisioning_configuration(max_nodes=5)\n"
        "ComputeTarget.create(ws, 'gpu-box', config)\n"
    )
    env = {**os.environ, "RUN_WIDGETS_HOST_ID": "machine-b"}
    out = subprocess.run(
        [sys.executable, "-c", code, ws.store.uri, str(ws.folder)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "3"
    assert sorted(ws.compute_targets) == ["cpu-cluster", "gpu-box"]
    assert AmlCompute(ws, "gpu-box").max_nodes == 5
    assert not (ws.folder / "compute").exists()  # nothing kept beside the store


def test_definition_files_of_an_older_version_move_into_the_store(ws: Workspace) -> None:
    old = {
        "name": "old-box",
        "type": "AmlCompute",
        "provisioningState": "Succeeded",
        "properties": {"maxNodes": 2},
    }
    (ws.folder / "compute").mkdir(parents=True)
    (ws.folder / "compute" / "old-box.json").write_text(json.dumps(old))
    assert [t.name for t in ComputeTarget.list(ws)] == ["old-box"]
    assert not (ws.folder / "compute" / "old-box.json").exists()
    assert AmlCompute(ws, "old-box").max_nodes == 2
    AmlCompute(ws, "old-box").delete()
    with pytest.raises(ComputeTargetException, match="not found"):
        ComputeTarget(ws, "old-box")


def test_node_slots_are_per_host(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """max_nodes holds per host: another host id has its own slots (documented)."""
    monkeypatch.setenv("RUN_WIDGETS_HOST_ID", "machine-a")
    held = try_acquire(slots_folder(ws.folder, "cpu-cluster"), 1)
    assert held is not None
    assert try_acquire(slots_folder(ws.folder, "cpu-cluster"), 1) is None  # busy here
    monkeypatch.setenv("RUN_WIDGETS_HOST_ID", "machine-b")
    other = try_acquire(slots_folder(ws.folder, "cpu-cluster"), 1)
    assert other is not None
    other.release()
    held.release()
    monkeypatch.setenv("RUN_WIDGETS_HOST_ID", "machine-a")
    again = try_acquire(slots_folder(ws.folder, "cpu-cluster"), 1)
    assert again is not None
    again.release()


def test_create_again_is_idempotent_but_another_config_is_refused(ws: Workspace) -> None:
    first = create_cluster(ws, max_nodes=2)
    assert create_cluster(ws, max_nodes=2) == first
    with pytest.raises(ComputeTargetException, match="already in use"):
        create_cluster(ws, max_nodes=4)
    first.delete()
    with pytest.raises(ComputeTargetException):
        ComputeTarget(ws, "cpu-cluster")
    assert create_cluster(ws, max_nodes=4).max_nodes == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_nodes": 0}, "max_nodes"),
        ({"max_nodes": "2"}, "max_nodes"),
        ({"max_nodes": 1, "min_nodes": 2}, "min_nodes"),
        ({"vm_size": 3}, "vm_size"),
    ],
)
def test_bad_provisioning_configuration(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ComputeTargetException, match=message):
        AmlCompute.provisioning_configuration(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "x", "1abc", "a b", "local", "../evil", "a" * 40])
def test_bad_names_are_refused(ws: Workspace, name: str) -> None:
    config = AmlCompute.provisioning_configuration(max_nodes=1)
    with pytest.raises(ComputeTargetException, match="name"):
        ComputeTarget.create(ws, name, config)
    assert not (ws.folder / "compute").exists() or not any((ws.folder / "compute").iterdir())
    assert ws.store.list_compute_targets() == []


def test_wrong_arguments_get_clear_errors(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ComputeTargetException, match="provisioning_configuration"):
        ComputeTarget.create(ws, "cpu-cluster", {"max_nodes": 2})
    with pytest.raises(ComputeTargetException, match="workspace"):
        ComputeTarget(workspace="ws", name="cpu-cluster")  # type: ignore[arg-type]
    folder = source_dir(tmp_path, {"train.py": "print(1)"})
    with pytest.raises(ComputeTargetException, match="compute_target"):
        ScriptRunConfig(source_directory=folder, script="train.py", compute_target=3)
    config = ScriptRunConfig(source_directory=folder, script="train.py", compute_target="nope")
    with pytest.raises(ComputeTargetException, match="nope"):
        Experiment(ws, "e").submit(config)
    assert Experiment(ws, "e").get_runs() is not None
    assert list(Experiment(ws, "e").get_runs()) == []  # nothing half-made


def test_target_declared_in_the_config_file(ws: Workspace, tmp_path: Path) -> None:
    (Path.cwd() / "run_widgets.json").write_text(
        json.dumps({"compute": {"team-box": {"type": "AmlCompute", "max_nodes": 2}}})
    )
    target = ComputeTarget(ws, "team-box")
    assert isinstance(target, AmlCompute)
    assert target.max_nodes == 2
    assert "team-box" in [t.name for t in ComputeTarget.list(ws)]
    with pytest.raises(ComputeTargetException, match="config file"):
        target.delete()
    (Path.cwd() / "run_widgets.json").write_text(
        json.dumps({"compute": {"bad": {"type": "Kubernetes"}}})
    )
    with pytest.raises(ComputeTargetException, match="Unknown compute target type 'Kubernetes'"):
        ComputeTarget(ws, "bad")


# ----------------------------------------------------------------------- max_nodes --
@pytest.mark.slow
def test_max_nodes_queues_runs_across_processes(
    ws: Workspace, exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two "notebooks" submit to a 1-node target: the second run waits Queued."""
    release = tmp_path / "release"
    release.mkdir()
    monkeypatch.setenv("RELEASE_DIR", str(release))
    target = create_cluster(ws, max_nodes=1)
    folder = source_dir(tmp_path, {"train.py": BLOCKING})
    first = exp.submit(
        ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    )
    wait_until(lambda: first.get_status() == "Running", 30, what="first run to start")
    other_notebook = textwrap.dedent(
        """
        import sys
        from run_widgets import Experiment, ScriptRunConfig, Workspace
        exp = Experiment(Workspace.from_config(), "test-exp")  # RUN_WIDGETS_STORE, ...
        config = ScriptRunConfig(source_directory=sys.argv[1], script="train.py",
                                 compute_target="cpu-cluster")
        print(exp.submit(config).id)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", other_notebook, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ws.description().environ()},
    )
    second = Run(exp, out.stdout.strip().splitlines()[-1])
    for _ in range(10):  # it stays Queued while the node is busy
        assert second.get_status() == "Queued"
        assert first.get_status() == "Running"
    assert second.get_details()["target"] == "cpu-cluster"
    (release / "go").write_text("1")
    assert wait_terminal(first, 30) == "Completed"
    assert wait_terminal(second, 30) == "Completed"
    assert record_of(second).start_time >= record_of(first).end_time - 1.0


@pytest.mark.slow
def test_queued_run_can_be_cancelled(
    ws: Workspace, exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "release"
    release.mkdir()
    monkeypatch.setenv("RELEASE_DIR", str(release))
    create_cluster(ws, max_nodes=1)
    folder = source_dir(tmp_path, {"train.py": BLOCKING})
    run_config = RunConfiguration()
    run_config.target = "cpu-cluster"  # v1 style: the target on the run configuration
    config = ScriptRunConfig(source_directory=folder, script="train.py", run_config=run_config)
    first = exp.submit(config)
    wait_until(lambda: first.get_status() == "Running", 30, what="first run to start")
    second = exp.submit(config)
    assert second.get_status() == "Queued"
    second.cancel()
    assert wait_terminal(second, 10) == "Canceled"
    (release / "go").write_text("1")
    assert wait_terminal(first, 30) == "Completed"


@pytest.mark.slow
def test_script_sweep_on_a_target_respects_max_nodes(
    ws: Workspace, exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_concurrent_runs=3 but max_nodes=2: never more than two children run at once."""
    release = tmp_path / "release"
    release.mkdir()
    monkeypatch.setenv("RELEASE_DIR", str(release))
    target = create_cluster(ws, max_nodes=2)
    folder = source_dir(tmp_path, {"train.py": BLOCKING})
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(
            source_directory=folder, script="train.py", compute_target=target
        ),
        hyperparameter_sampling=GridParameterSampling({"--x": choice(1, 2, 3, 4)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=3,
    )
    sweep = exp.submit(config)

    def statuses() -> list[str]:
        return sorted(c.status for c in child_records(sweep))

    seen = wait_until(
        lambda: statuses() if statuses().count("Running") == 2 and "Queued" in statuses() else None,
        60,
        what="two running children and one queued",
    )
    assert seen == ["Queued", "Running", "Running"]
    from run_widgets import RunDetails

    widget_data = RunDetails(sweep).get_widget_data()
    assert "Queued" in json.dumps(widget_data)
    (release / "go").write_text("1")
    assert wait_sweep(sweep, 90) == "Completed"
    children = child_records(sweep)
    assert [c.status for c in children] == ["Completed"] * 4
    intervals = [(c.start_time or 0.0, c.end_time or 0.0) for c in children]
    assert max_overlap(intervals) <= 2
    assert sweep.get_details()["target"] == "cpu-cluster"


@pytest.mark.slow
def test_function_sweep_on_a_target_respects_max_nodes(ws: Workspace, exp: Experiment) -> None:
    target = create_cluster(ws, max_nodes=1)

    def train(params: dict[str, float], run: Run) -> None:
        import time

        time.sleep(0.3)
        run.log("mse", params["x"])

    config = HyperDriveConfig(
        function=train,
        hyperparameter_sampling=GridParameterSampling({"x": choice(1.0, 2.0, 3.0)}),
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_concurrent_runs=3,
        compute_target=target,
    )
    sweep = exp.submit(config)
    assert wait_sweep(sweep, 90) == "Completed"
    children = child_records(sweep)
    assert [c.status for c in children] == ["Completed"] * 3
    assert max_overlap([(c.start_time or 0.0, c.end_time or 0.0) for c in children]) == 1
    assert sweep.get_best_run_by_primary_metric() is not None


STAMPED = """
import os, sys, time
from pathlib import Path
release = Path(os.environ["RELEASE_DIR"])
while not (release / "go").exists():
    time.sleep(0.05)
"""


@pytest.mark.slow
def test_runs_waiting_for_a_node_start_in_submission_order(
    ws: Workspace, exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four runs wait for the one node of a target: they get it in the order submitted."""
    from run_widgets.submit.slots import QUEUE, slots_folder

    release = tmp_path / "release"
    release.mkdir()
    monkeypatch.setenv("RELEASE_DIR", str(release))
    target = create_cluster(ws, max_nodes=1)
    folder = source_dir(tmp_path, {"train.py": STAMPED})
    config = ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    first = exp.submit(config)
    wait_until(lambda: first.get_status() == "Running", 30, what="first run to start")
    waiting = [exp.submit(config) for _ in range(4)]
    queue = slots_folder(ws.folder, "cpu-cluster") / QUEUE
    # Every waiter holds its ticket before the node frees: the order is the queue's alone.
    wait_until(
        lambda: queue.is_dir() and len([n for n in os.listdir(queue) if n.endswith(".wait")]) == 4,
        60,
        what="four queued runs waiting for the node",
    )
    (release / "go").write_text("1")
    for run in [first, *waiting]:
        assert wait_terminal(run, 60) == "Completed"
    starts = [record_of(run).start_time or 0.0 for run in waiting]
    assert starts == sorted(starts), [(r.id, s) for r, s in zip(waiting, starts, strict=True)]


def test_a_dead_waiters_ticket_does_not_block_the_queue(tmp_path: Path) -> None:
    from run_widgets.submit.slots import QUEUE, Ticket, try_acquire, wait_for_slot

    held = try_acquire(tmp_path, 1)
    assert held is not None
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\n"
            "from run_widgets.submit.slots import Ticket\n"
            "Ticket(Path(sys.argv[1]), '00000000000000000001-early')\n"
            "print('waiting', flush=True)\ntime.sleep(600)\n",
            str(tmp_path / QUEUE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.stdout is not None and waiter.stdout.readline() == "waiting\n"
        later = Ticket(tmp_path / QUEUE, "00000000000000000002-later")
        assert not later.is_first()  # an older live waiter goes first
        waiter.kill()
        waiter.wait()
        assert later.is_first()  # its ticket is stale now: removed
        later.release()
        held.release()
        slot = wait_for_slot(tmp_path, 1, lambda: False, "00000000000000000003-new")
        assert slot is not None and os.listdir(tmp_path / QUEUE) == []
        slot.release()
    finally:
        waiter.kill()
        waiter.wait()
