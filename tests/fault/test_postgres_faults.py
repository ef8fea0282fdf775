"""Faults of the PostgreSQL team store, on a real server: restart under load, no server,
wrong password. (Schema-version refusal: tests/test_postgres_store.py.)"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_commit_cutter import CommitCutter
from support import python_env

from run_widgets import Experiment, Run, Workspace
from run_widgets.exceptions import StoreError
from run_widgets.store.postgres.local_server import LocalPostgres, free_port

pytestmark = pytest.mark.fault

N_PROCESSES = 4
N_POINTS = 300

WRITER = """
    import json, os, sys, time
    from run_widgets import Workspace, Experiment
    ws = Workspace.from_config()   # RUN_WIDGETS_STORE / RUN_WIDGETS_ARTIFACTS
    run = Experiment(ws, "restart").start_logging(snapshot_directory=None, outputs=False)
    print(run.id, flush=True)
    for i in range(int(sys.argv[1])):
        run.log("x", i)
        time.sleep(0.03)           # ~9 s of logging: the restart happens in the middle
    run.complete()
    print("done", flush=True)
"""


def test_server_restart_while_four_processes_log_loses_nothing(
    pg_server: LocalPostgres, pg_uri: str, tmp_path: Path
) -> None:
    artifacts = tmp_path / "shared"
    env = {**python_env(), "RUN_WIDGETS_STORE": pg_uri, "RUN_WIDGETS_ARTIFACTS": str(artifacts)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), str(N_POINTS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(N_PROCESSES)
    ]
    try:
        run_ids = []
        for proc in procs:
            assert proc.stdout is not None
            run_ids.append(proc.stdout.readline().strip())
        pg_server.restart(down_for=2.0)
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "done" in out, err
        assert pg_server.password not in err
        # one clear warning per process while the server was away, and a "back" note
        assert err.count("cannot write to the tracking store") <= 1, err
        assert "Traceback" not in err, err
    warned = sum("cannot write to the tracking store" in err for _, err in outputs)
    assert warned >= 1  # at least one process had points to flush while it was down
    assert all(
        "127.0.0.1" in err and "reachable again" in err
        for _, err in outputs
        if "cannot write" in err
    )

    ws = Workspace(store=pg_uri, artifacts=artifacts)
    exp = Experiment(ws, "restart")
    for run_id in run_ids:
        run = Run(exp, run_id)
        assert run.get_status() == "Completed"
        assert run.get_metrics()["x"] == list(range(N_POINTS))
    ws.close()


@contextlib.contextmanager
def read_directly(uri: str, artifacts: Path, experiment: str, run_id: str) -> Iterator[Run]:
    """The run as a new workspace on the server itself (not through the proxy) reads it."""
    direct = Workspace(store=uri, artifacts=artifacts)
    try:
        yield Run(Experiment(direct, experiment), run_id)
    finally:
        direct.close()


def test_a_connection_cut_right_after_commit_stores_each_point_once(
    pg_uri: str, tmp_path: Path
) -> None:
    """The server committed a batch, the client never heard: the resent batch adds nothing."""
    cutter = CommitCutter(pg_uri)
    ws = Workspace(store=cutter.uri, artifacts=tmp_path / "a")
    try:
        run = Experiment(ws, "cut").start_logging(snapshot_directory=None, outputs=False)
        run.log("x", 0)
        run.flush()
        cutter.arm(2)
        i = 1
        deadline = time.monotonic() + 60
        while cutter.cuts < 2 or i < 400:  # log through both cuts and on
            run.log("x", i)
            i += 1
            time.sleep(0.005)
            assert time.monotonic() < deadline, f"{cutter.cuts} cut(s) in 60 s"
        run.flush()  # what the cut batches held was committed once, or is resent now
        run.complete()
    finally:
        ws.close()
        cutter.close()
    with read_directly(pg_uri, tmp_path / "a", "cut", run.id) as again:
        assert again.get_metrics()["x"] == list(range(i))  # none lost, none twice
        assert again.get_status() == "Completed"


@pytest.mark.parametrize("nth", [1, 2, 3, 4, 5])
def test_a_cut_commit_while_a_run_starts_and_ends_is_resent_harmlessly(
    pg_uri: str, tmp_path: Path, nth: int
) -> None:
    """Whichever write of a run's life loses its COMMIT's answer, the resend is harmless
    (a run created twice would otherwise fail "already exists")."""
    cutter = CommitCutter(pg_uri)
    ws = Workspace(store=cutter.uri, artifacts=tmp_path / "a")
    try:
        cutter.arm(1, skip=nth - 1)
        run = Experiment(ws, "cut").start_logging(snapshot_directory=None, outputs=False)
        run.set_tags({"t": "1"})
        run.log("x", 1.0)
        run.complete()
        assert cutter.cuts == 1  # the nth COMMIT of the run's life was cut
    finally:
        ws.close()
        cutter.close()
    with read_directly(pg_uri, tmp_path / "a", "cut", run.id) as again:
        assert again.get_status() == "Completed"
        assert again.get_metrics() == {"x": 1.0}
        assert again.get_tags() == {"t": "1"}
        assert len(list(again.experiment.get_runs())) == 1


def test_unreachable_server_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    port = free_port()
    artifacts = tmp_path / "never"
    with pytest.raises(StoreError) as info:
        Workspace(
            store=f"postgresql://team:hunter2-secret@127.0.0.1:{port}/tracking",
            artifacts=artifacts,
        )
    message = str(info.value)
    assert "127.0.0.1" in message and f"port {port}" in message
    assert "hunter2-secret" not in message
    assert not artifacts.exists()


def test_wrong_password_is_a_clear_error_and_creates_nothing(
    pg_server: LocalPostgres, pg_uri: str, tmp_path: Path
) -> None:
    artifacts = tmp_path / "never"
    wrong = pg_uri.replace(pg_server.password, "wrong-pass-42")
    with pytest.raises(StoreError, match="password authentication failed") as info:
        Workspace(store=wrong, artifacts=artifacts)
    assert "wrong-pass-42" not in str(info.value)
    assert pg_server.password not in str(info.value)
    assert not artifacts.exists()


def test_workspace_repr_hides_the_password(
    pg_server: LocalPostgres, pg_uri: str, tmp_path: Path
) -> None:
    ws = Workspace(store=pg_uri, artifacts=tmp_path / "a")
    assert pg_server.password not in repr(ws)
    assert "postgresql://postgres" in repr(ws)
    assert pg_server.password not in ws._repr_html_()
    ws.close()


def test_subprocess_reaches_the_same_store_by_uri(pg_uri: str, tmp_path: Path) -> None:
    """A second "machine" (another host id) logs to the same store; both runs in one view."""
    ws = Workspace(store=pg_uri, artifacts=tmp_path / "shared")
    exp = Experiment(ws, "team")
    mine = exp.start_logging(snapshot_directory=None, outputs=False)
    mine.log("acc", 0.5)
    code = """
        import json
        from run_widgets import Workspace, Experiment
        run = Experiment(Workspace.from_config(), "team").start_logging(
            snapshot_directory=None, outputs=False)
        run.log("acc", 0.9)
        run.complete()
        print(json.dumps(run.id))
    """
    env = {
        **python_env(),
        "RUN_WIDGETS_STORE": pg_uri,
        "RUN_WIDGETS_ARTIFACTS": str(tmp_path / "shared"),
        "RUN_WIDGETS_HOST_ID": "machine-b",
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    theirs = json.loads(result.stdout.strip().splitlines()[-1])
    mine.complete()
    runs = {r.id: r for r in exp.get_runs()}
    assert set(runs) == {mine.id, theirs}
    assert runs[theirs].get_metrics() == {"acc": 0.9}
    owner = ws.store.get_owners([ws.store.get_run(theirs).owner_id])  # type: ignore[union-attr]
    assert [o.host for o in owner.values()] == ["machine-b"]
    assert os.environ.get("RUN_WIDGETS_HOST_ID") != "machine-b"
    ws.close()


RACER = """
    import sys, time
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.005)
    from run_widgets import Workspace, Experiment
    ws = Workspace.from_config()   # opens (and on a new store, creates) the schema now
    exp = Experiment(ws, "race")
    for _ in range(2):  # run creation (numbering) races with the others' completions
        run = exp.start_logging(snapshot_directory=None, outputs=False)
        for i in range(200):
            run.log("x", i)
        run.complete()
    print("done", flush=True)
"""


def test_eight_processes_open_a_new_store_and_finish_runs_at_once(
    pg_uri: str, tmp_path: Path
) -> None:
    """Found by the benchmark: a schema created by another client could look foreign (a
    stale catalog lookup), and run numbering (experiment row lock) deadlocked with
    completions (their foreign-key checks) until every retry was spent."""
    env = {**python_env(), "RUN_WIDGETS_STORE": pg_uri, "RUN_WIDGETS_ARTIFACTS": str(tmp_path)}
    start = time.time() + 3.0  # every process is up and waiting when the race begins
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(RACER), str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    try:
        outputs = [proc.communicate(timeout=180) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and "done" in out, err
    ws = Workspace(store=pg_uri, artifacts=tmp_path)
    runs = list(Experiment(ws, "race").get_runs())
    assert len(runs) == 16
    assert sorted(r.number for r in runs) == list(range(1, 17))
    assert {r.get_status() for r in runs} == {"Completed"}
    assert all(r.get_metrics()["x"] == list(range(200)) for r in runs)
    ws.close()
