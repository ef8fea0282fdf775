"""The team store, end to end: two "machines" log to one PostgreSQL store, one view sees both.

Two separate processes, each with its own ``RUN_WIDGETS_HOST_ID`` (standing in for two
machines), reach the store and the shared artifacts folder through
``RUN_WIDGETS_STORE``/``RUN_WIDGETS_ARTIFACTS`` and ``Workspace.from_config()``, as the
README's "A team store" section shows. The test process holds the kernel-free read models
of ``ExperimentDetails`` (``ExperimentModel``) and ``RunDetails`` (``RunTracker``) and
watches both runs grow step by step and complete. Each writer logs one point, flushes,
reports it, and waits for the test's go-ahead file, so every step is observed without
timing assumptions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from submit_helpers import wait_until

from run_widgets import Experiment, Run, Workspace
from run_widgets.store import RunQuery
from run_widgets.views.experiment_model import ExperimentModel
from run_widgets.views.experiment_reader import StoreExperimentReader
from run_widgets.views.reader import run_reader
from run_widgets.views.tracker import RunTracker

STEPS = 3
HOSTS = ("machine-a", "machine-b")

WRITER = textwrap.dedent(
    f"""
    import sys, time
    from pathlib import Path
    from run_widgets import Experiment, Workspace

    host, control = sys.argv[1], Path(sys.argv[2])
    run = Experiment(Workspace.from_config(), "team").start_logging(
        display_name=host, snapshot_directory=None
    )
    run.upload_file("notes.txt", str(control / "notes.txt"))
    print(run.id, flush=True)
    for step in range({STEPS}):
        run.log("acc", 0.5 + step / 10)
        run.flush()
        print(step, flush=True)
        go = control / f"{{host}}-go-{{step}}"
        while not go.exists():
            time.sleep(0.01)
    run.complete()
    """
)


@pytest.fixture
def team(tmp_path: Path, pg_uri: str) -> Iterator[tuple[Workspace, dict[str, str]]]:
    """The test's workspace on the PostgreSQL store, and the environment of a team member."""
    shared = tmp_path / "shared"
    ws = Workspace(store=pg_uri, artifacts=shared)
    env = {**os.environ, "RUN_WIDGETS_STORE": pg_uri, "RUN_WIDGETS_ARTIFACTS": str(shared)}
    yield ws, env
    ws.close()


def test_two_hosts_log_to_one_store_and_one_view_sees_both(
    team: tuple[Workspace, dict[str, str]], tmp_path: Path
) -> None:
    ws, env = team
    exp = Experiment(ws, "team")
    control = tmp_path / "control"
    control.mkdir()
    (control / "notes.txt").write_text("shared artifacts folder\n")
    writers = {
        host: subprocess.Popen(
            [sys.executable, "-c", WRITER, host, str(control)],
            env={**env, "RUN_WIDGETS_HOST_ID": host},
            stdout=subprocess.PIPE,
            text=True,
        )
        for host in HOSTS
    }
    try:
        lines = {host: writer.stdout for host, writer in writers.items()}
        run_ids = {host: _line(lines[host]) for host in HOSTS}
        model = ExperimentModel(StoreExperimentReader(ws.store), RunQuery(experiment_id=exp.id))
        tracker = RunTracker(run_reader(Run(exp, run_ids["machine-b"])))
        for step in range(STEPS):
            for host in HOSTS:
                assert _line(lines[host]) == str(step)  # that point is flushed to the store
            model.poll()
            tracker.poll()
            assert {r.id for r in model.page.records} == set(run_ids.values())
            assert all(r.status == "Running" for r in model.page.records)  # heartbeats, not pids
            for run_id in run_ids.values():
                assert model.series[run_id].metrics["acc"].count == step + 1
            assert tracker.metrics["acc"].info.n_points == step + 1
            for host in HOSTS:
                (control / f"{host}-go-{step}").touch()
        for host, writer in writers.items():
            assert writer.wait(timeout=60) == 0, host
    finally:
        for writer in writers.values():
            if writer.poll() is None:
                writer.kill()
                writer.wait()

    def both_completed() -> bool:
        model.poll()
        return all(r.status == "Completed" for r in model.page.records)

    wait_until(both_completed, what="both runs Completed in the experiment view")
    tracker.poll()
    assert tracker.record.status == "Completed"
    assert {r.display_name: r.id for r in model.page.records} == run_ids
    owners = ws.store.get_owners(r.owner_id for r in model.page.records if r.owner_id)
    assert {o.host for o in owners.values()} == set(HOSTS)  # two "machines", one store
    for run_id in run_ids.values():  # files went to the shared artifacts folder
        assert Run(exp, run_id).get_file_names() == ["notes.txt"]


def _line(stream: object) -> str:
    assert hasattr(stream, "readline")
    line = str(stream.readline()).strip()
    assert line, "a writer ended early"
    return line
