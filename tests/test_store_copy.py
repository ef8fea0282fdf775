"""Moving a workspace between backends: ``Workspace.copy_to`` and ``python -m run_widgets.store copy``.

Every test runs both ways: ``[sqlite]`` copies a SQLite workspace to PostgreSQL,
``[postgresql]`` a PostgreSQL one to SQLite. The source holds a bit of everything a
workspace can hold (experiments, an empty one too; runs of every status with errors,
display names, descriptions, tags with ``None``, properties; a tree of children; scalar
metrics flushed in many chunks and compacted, explicit steps, NaN and infinities, lists,
rows, tables, strings, an image; uploaded files; models, environments, a compute target),
and a checksum of everything (:func:`run_widgets.store.digest.store_digest`) must be the
same on both sides. Then: a second copy adds nothing; a copy killed midway resumes; a
live run is copied as it is, tagged, and completed by the next copy; numbers taken in
the target are renumbered and said.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from pg_support import drop_database, new_database
from support import python_env

from run_widgets import Environment, Experiment, Run, Workspace
from run_widgets.registry.models import Model
from run_widgets.store import open_store
from run_widgets.store.copy import MARKER
from run_widgets.store.digest import store_digest
from run_widgets.store.postgres.local_server import LocalPostgres
from run_widgets.submit.compute import AmlCompute, ComputeTarget

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f8e2a30000000049454e44ae426082"
)


@pytest.fixture
def other(backend: str, tmp_path: Path, pg_server: LocalPostgres) -> Iterator[tuple[str, Path]]:
    """The other backend's empty store: its URI (or folder) and its artifacts folder."""
    files = tmp_path / "copy-files"
    if backend == "sqlite":
        uri = new_database(pg_server)
        yield uri, files
        drop_database(pg_server, uri)
    else:
        yield str(tmp_path / "copy-folder"), tmp_path / "copy-folder"


def _open(target: tuple[str, Path]) -> Workspace:
    uri, files = target
    return Workspace(store=uri, artifacts=files)


def fill(ws: Workspace, tmp_path: Path) -> dict[str, str]:
    """A bit of everything; the ids of a few runs by role."""
    Experiment(ws, "empty-experiment")
    exp = Experiment(ws, "train")
    ids: dict[str, str] = {}
    with exp.start_logging(
        snapshot_directory=None, display_name="first 'quoted' run", tags={"t": None}
    ) as run:
        ids["big"] = run.id
        for block in range(30):  # many small chunks, then compacted below
            for i in range(100):
                run.log("loss", 1.0 / (block * 100 + i + 1))
            run.flush()
        run.log("odd", float("nan"))
        run.log("odd", float("inf"))
        run.log("odd", -float("inf"))
        run.log("stepped", 0.5, step=10)
        run.log("stepped", 0.25, step=20)
        run.log_list("curve", [1, 2, 3])
        run.log_row("roc", fpr=0.1, tpr=0.5)
        run.log_row("roc", fpr=0.2, tpr=0.7)
        run.log_table("table", {"a": [1, 2], "b": ["x", "y"]})
        run.log("note", "a string \u200f with an RLM")
        image = tmp_path / "tiny.png"
        image.write_bytes(PNG)
        run.log_image("picture", path=str(image))
        run.tag("stage", "dev")
        run.add_properties({"lr": "0.1"})
        run.description = "described"
        upload = tmp_path / "notes.txt"
        upload.write_text("uploaded\n", encoding="utf-8")
        run.upload_file("outputs/notes.txt", str(upload))
        parent = run
    ws.store.compact_run(ids["big"])
    sweep = exp.start_logging(snapshot_directory=None, display_name="parent")
    ids["parent"] = sweep.id
    for n in range(2):
        child = sweep.child_run(f"child-{n}")
        child.log("acc", 0.5 + n / 10)
        if n == 1:
            grandchild = child.child_run("grandchild")
            grandchild.log_list("xs", np.arange(5, dtype=float))
            grandchild.complete()
        child.complete()
    sweep.complete()
    failed = exp.start_logging(snapshot_directory=None)
    ids["failed"] = failed.id
    failed.log("loss", 3.0)
    failed.fail(error_details="it broke", error_code="Broken")
    canceled = Experiment(ws, "other").start_logging(snapshot_directory=None)
    canceled.cancel()
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"weights")
    Model.register(ws, model_file, "standalone", tags={"k": "v"}, description="d")
    parent.register_model("from-run", model_path="outputs/notes.txt", properties={"p": "1"})
    Environment("env-a").register(ws)
    Environment("env-a").register(ws)  # version 2
    ComputeTarget.create(ws, "cpu", AmlCompute.provisioning_configuration(max_nodes=2))
    return ids


def _seq(ws: Workspace) -> int:
    return ws.store.current_seq()


def test_a_copy_both_ways_holds_everything_and_a_second_copy_adds_nothing(
    ws: Workspace, other: tuple[str, Path], tmp_path: Path
) -> None:
    ids = fill(ws, tmp_path)
    report = ws.copy_to(*other)
    assert report.runs_created == 7 and report.runs_unchanged == 0 and not report.conflicts
    assert report.registries == {
        "model versions": 2,
        "environment versions": 2,
        "compute targets": 1,
    }
    copy = _open(other)
    try:
        mine, theirs = store_digest(ws.store, ws.folder), store_digest(copy.store, copy.folder)
        assert mine.differences(theirs) == []
        assert mine.total == theirs.total
        assert theirs.counts["runs"] == 7 and theirs.counts["metrics"] > 3000
        # A few reads through the API on the copy, beside the checksum.
        big = Run(Experiment(copy, "train"), ids["big"])
        metrics = big.get_metrics()
        assert metrics["loss"] == Run(Experiment(ws, "train"), ids["big"]).get_metrics()["loss"]
        assert math.isnan(metrics["odd"][0]) and metrics["odd"][1:] == [math.inf, -math.inf]
        assert big.get_metric_history("stepped").steps.tolist() == [10, 20]
        assert big.display_name == "first 'quoted' run" and big.get_tags() == {
            "t": None,
            "stage": "dev",
        }
        assert (copy.folder / "runs" / ids["big"] / "outputs" / "notes.txt").read_text() == (
            "uploaded\n"
        )
        assert Model(copy, name="from-run").run_id == ids["big"]
        assert Run(Experiment(copy, "train"), ids["failed"]).get_status() == "Failed"
        assert [c.name for c in Experiment.list(copy)] == [e.name for e in Experiment.list(ws)]
        before = _seq(copy)
        again = ws.copy_to(copy)
        assert not again.changed, str(again)
        assert again.runs_unchanged == 7 and _seq(copy) == before
    finally:
        copy.close()


def test_a_live_run_is_copied_as_it_is_and_finished_by_the_next_copy(
    ws: Workspace, other: tuple[str, Path]
) -> None:
    exp = Experiment(ws, "live")
    run = exp.start_logging(snapshot_directory=None)
    for i in range(10):
        run.log("x", float(i))
    report = ws.copy_to(*other)  # copy_to flushes what this process logged
    assert report.active == [run.id]
    copy = _open(other)
    try:
        seen = copy.store.get_run(run.id)
        assert seen is not None and seen.status == "Running" and seen.owner_id is None
        assert MARKER in seen.tags and "copied while Running" in str(seen.tags[MARKER])
        assert Run(Experiment(copy, "live"), run.id).get_metrics()["x"] == [
            float(i) for i in range(10)
        ]
        unchanged = ws.copy_to(copy)  # still running, nothing new: nothing written
        assert not unchanged.changed, str(unchanged)
        for i in range(10, 25):
            run.log("x", float(i))
        run.complete()
        finished = ws.copy_to(copy)
        assert finished.runs_updated == 1 and finished.points == 15 and not finished.active
        done = copy.store.get_run(run.id)
        assert done is not None and done.status == "Completed" and MARKER not in done.tags
        assert (
            store_digest(ws.store, ws.folder).differences(store_digest(copy.store, copy.folder))
            == []
        )
    finally:
        copy.close()


def test_a_number_taken_in_the_target_is_renumbered_and_said(
    ws: Workspace, other: tuple[str, Path]
) -> None:
    mine = Experiment(ws, "shared").start_logging(snapshot_directory=None)
    mine.complete()
    copy = _open(other)
    try:
        theirs = Experiment(copy, "shared").start_logging(snapshot_directory=None)
        theirs.complete()
        report = ws.copy_to(copy)
        assert report.renumbered == {mine.id: (1, 2)}
        assert f"run {mine.id}: number 1 was taken in the target, it is 2" in str(report)
        assert Run(Experiment(copy, "shared"), mine.id).number == 2
        assert not ws.copy_to(copy).changed
    finally:
        copy.close()


def _cli(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "run_widgets.store", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cli_args(uri: str, files: Path) -> tuple[str, dict[str, str], list[str]]:
    """A URI without its password (which goes to PGPASSWORD) and the files option."""
    env = python_env()
    if uri.startswith("postgresql://"):
        user, rest = uri[len("postgresql://") :].split("@", 1)
        name, _, password = user.partition(":")
        env["PGPASSWORD"] = password
        return f"postgresql://{name}@{rest}", env, [str(files)]
    return uri, env, []


def test_the_command_copies_resumes_after_a_kill_and_checksums_alike(
    ws: Workspace, other: tuple[str, Path], tmp_path: Path
) -> None:
    """``python -m run_widgets.store copy`` killed (SIGKILL) in the middle of a big run."""
    exp = Experiment(ws, "big")
    for n in range(3):
        run = exp.start_logging(snapshot_directory=None)
        for name in ("a", "b", "c", "d"):
            run.log_list(name, np.arange(50_000, dtype=float) * (n + 1))
        run.complete()
    target, env, target_files = _cli_args(*other)
    source = ws.store_uri
    if source.startswith("postgresql://"):
        source, env, source_files = _cli_args(source, ws.folder)
    else:
        source_files = []
    argv = ["copy", "--from", source, "--to", target, "--batch-points", "2000"]
    if source_files:
        argv += ["--from-artifacts", *source_files]
    if target_files:
        argv += ["--to-artifacts", *target_files]
    copy = _open(other)
    try:
        process = _cli(*argv, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until the copy is inside a run's transactions
            halfway = [r for r in copy.store.find_runs() if MARKER in r.tags]
            if halfway:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        interrupted = copy.store.find_runs()
        assert any(r.tags.get(MARKER) == "copy in progress" for r in interrupted)
        resumed = _cli(*argv, env=env)
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err
        assert "copied " in out and "already complete" in out
        for text in (out, err):
            assert "PGPASSWORD" not in text and env.get("PGPASSWORD", "\0") not in text
        assert all(MARKER not in r.tags for r in copy.store.find_runs())
        sums = []
        for store, files in (
            (source, source_files or [str(ws.folder)]),
            (target, target_files or [str(other[1])]),
        ):
            checked = _cli("checksum", "--store", store, "--artifacts", *files, env=env)
            out, err = checked.communicate(timeout=300)
            assert checked.returncode == 0, err
            sums.append(out)
        assert sums[0] == sums[1] and "total" in sums[0]
    finally:
        copy.close()


def test_copying_a_store_onto_itself_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValueError, match="onto itself"):
        ws.copy_to(ws)


def test_an_owner_copy_keeps_who_created_each_run(pg_server: LocalPostgres, tmp_path: Path) -> None:
    """Who created each run survives a copy made by the target's owner (a superuser here)."""
    source_uri = new_database(pg_server)
    target_uri = new_database(pg_server)
    try:
        source = Workspace(store=source_uri, artifacts=tmp_path / "a")
        Experiment(source, "e").start_logging(snapshot_directory=None).complete()
        with psycopg.connect(source_uri, autocommit=True) as conn:  # as if alice had made it
            conn.execute("UPDATE runs SET created_by = 'alice'")
        source.copy_to(target_uri, artifacts=tmp_path / "b")
        target = open_store(target_uri)
        assert [r.created_by for r in target.find_runs()] == ["alice"]
        assert (
            store_digest(source.store, roles=True).sections["runs"]
            == (store_digest(target, roles=True).sections["runs"])
        )
        target.close()
        source.close()
    finally:
        drop_database(pg_server, source_uri)
        drop_database(pg_server, target_uri)
