"""Moving a workspace between backends: ``Workspace.copy_to`` and ``python -m run_widgets.store copy``.

Every test runs both ways: ``[sqlite]`` copies a SQLite workspace to PostgreSQL,
``[postgresql]`` a PostgreSQL one to SQLite. The source holds a bit of everything a
workspace can hold (experiments, an empty one too; runs of every status with errors,
display names, descriptions, tags with ``None``, properties; a tree of children; scalar
metrics flushed in many chunks and compacted, explicit steps, NaN and infinities, lists,
rows, tables, strings, an image; uploaded files; models, environments, a compute target;
an Azure Blob datastore with sealed credentials made the default; two versions of a
dataset pinned to a built-in datastore's file and an unnamed one a pipeline step reads;
published pipelines, one disabled; an endpoint with two versions), and a checksum of everything (:func:`run_widgets.store.digest.store_digest`) must be the
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

from run_widgets import (
    Dataset,
    Datastore,
    Environment,
    Experiment,
    Pipeline,
    PipelineEndpoint,
    PublishedPipeline,
    PythonScriptStep,
    Run,
    Workspace,
)
from run_widgets.registry.models import Model
from run_widgets.store import open_store
from run_widgets.store.copy import MARKER
from run_widgets.store.digest import store_digest
from run_widgets.store.postgres.local_server import LocalPostgres
from run_widgets.submit.compute import AmlCompute, ComputeTarget

ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LW5ldmVyLXByaW50ZWQ="
"""A storage account key (never contacted: registered with ``skip_validation``)."""
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
    ids.update(fill_data_assets(ws, tmp_path))
    return ids


def fill_data_assets(ws: Workspace, tmp_path: Path, more: bool = True) -> dict[str, str]:
    """Datastores, datasets, published pipelines, an endpoint; ``more``: their later changes.

    Without ``more``: a blob datastore (the default), version 1 of dataset ``t`` pinned to a
    file of the built-in datastore, an unnamed file dataset read by a step, a published
    pipeline and an endpoint of one version. ``more`` adds what happens later: version 2,
    a second published pipeline made the endpoint's default, the first one disabled.
    """
    ids: dict[str, str] = {}
    if ws.store.get_datastore("blobs") is None:
        blobs = Datastore.register_azure_blob_container(
            ws, "blobs", "container", "account", account_key=ACCOUNT_KEY, skip_validation=True
        )
        blobs.set_as_default()
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        (data / "t.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
        builtin = Datastore.get(ws, "workspaceblobstore")
        builtin.upload(str(data), "tables", overwrite=True, show_progress=False)
        table = Dataset.Tabular.from_delimited_files(builtin.path("tables/t.csv"))
        table.register(ws, "t", description="first", tags={"k": "v"})
        src = tmp_path / "src"
        src.mkdir(exist_ok=True)
        (src / "step.py").write_text("print('step')\n", encoding="utf-8")
        raw = Dataset.File.from_files(builtin.path("tables/"))
        step = PythonScriptStep(
            "step.py", name="only", source_directory=str(src), inputs=[raw.as_named_input("raw")]
        )
        first = Pipeline(ws, [step]).publish("p", description="first")
        PipelineEndpoint.publish(ws, "ep", "the endpoint", first)
        ids["published"] = first.id
    if more:
        builtin = Datastore.get(ws, "workspaceblobstore")
        table = Dataset.Tabular.from_delimited_files(builtin.path("tables/t.csv"))
        table.take(1).register(ws, "t", create_new_version=True)
        src = tmp_path / "src"
        step = PythonScriptStep("step.py", name="only", source_directory=str(src))
        PipelineEndpoint.get(ws, name="ep").add_default(Pipeline(ws, [step]).publish("p2"))
        first_id = ws.store.list_published_pipelines()[0].id
        PublishedPipeline.get(ws, first_id).disable()
    return ids


def check_data_assets(copy: Workspace, source: Workspace, report_text: str) -> None:
    """The copy's data assets work as the source's (the copy's datastore opens its key)."""
    assert copy.get_default_datastore().name == "blobs"
    blobs = Datastore.get(copy, "blobs")
    assert blobs._credentials() == {"account_key": ACCOUNT_KEY}  # sealed, opened here
    assert ACCOUNT_KEY not in report_text and ACCOUNT_KEY[:12] not in report_text
    for version in (1, 2):
        mine = Dataset.get_by_name(source, "t", version=version)
        theirs = Dataset.get_by_name(copy, "t", version=version)
        assert (theirs.id, theirs.fingerprint) == (mine.id, mine.fingerprint)
        assert theirs.to_pandas_dataframe().equals(mine.to_pandas_dataframe())
    assert Dataset.get_by_name(copy, "t", version=1).description == "first"
    unnamed = [d for d in copy.store.list_datasets(unnamed=True) if d.name is None]
    assert [d.id for d in unnamed] == [
        d.id for d in source.store.list_datasets(unnamed=True) if d.name is None
    ]
    assert len(unnamed) == 1
    endpoint = PipelineEndpoint.get(copy, name="ep")
    assert endpoint.default_version == "1"
    assert [p.status for p in PublishedPipeline.list(copy, active_only=False)] == [
        p.status for p in PublishedPipeline.list(source, active_only=False)
    ]


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
        "datastores": 1,
        "default datastore": 1,
        "datasets": 3,
        "published pipelines": 2,
        "pipeline endpoints": 1,
    }
    assert report.secret_keys and "workspace secret key" in str(report)
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
        for section in ("datastores", "datasets", "published_pipelines", "pipeline_endpoints"):
            assert theirs.counts[section] > 0, section
        check_data_assets(copy, ws, str(report))
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


def test_data_assets_changed_after_a_copy_are_brought_by_the_next_and_checksummed(
    ws: Workspace, other: tuple[str, Path], tmp_path: Path
) -> None:
    """A copy holds the datastores, datasets, pipelines and endpoint of its time; after a
    new dataset version, a new endpoint version and a disabled pipeline in the source the
    checksum names those sections, and the next copy brings exactly them (then nothing)."""
    fill_data_assets(ws, tmp_path, more=False)
    first = ws.copy_to(*other)
    assert first.registries["datasets"] == 2 and not first.conflicts, str(first)
    copy = _open(other)
    try:
        assert (
            store_digest(ws.store, ws.folder).differences(store_digest(copy.store, copy.folder))
            == []
        )
        assert PipelineEndpoint.get(copy, name="ep").default_version == "0"
        fill_data_assets(ws, tmp_path, more=True)
        assert store_digest(ws.store, ws.folder).differences(
            store_digest(copy.store, copy.folder)
        ) == ["datasets", "published_pipelines", "pipeline_endpoints"]
        second = ws.copy_to(copy)
        assert not second.conflicts, str(second)
        assert {k: n for k, n in second.registries.items() if n} == {
            "datasets": 1,
            "published pipelines": 2,  # the new one, and the first one's status
            "pipeline endpoints": 1,
        }
        assert store_digest(ws.store, ws.folder).total == (
            store_digest(copy.store, copy.folder).total
        )
        check_data_assets(copy, ws, str(second))
        before = _seq(copy)
        third = ws.copy_to(copy)
        assert not third.changed and _seq(copy) == before, str(third)
    finally:
        copy.close()


def test_data_assets_the_target_holds_otherwise_are_kept_and_said(
    ws: Workspace, other: tuple[str, Path], tmp_path: Path
) -> None:
    """Merging into a workspace that has its own datastore, endpoint and dataset of the
    same names: nothing of the target is overwritten, each clash is said, no key shown."""
    fill_data_assets(ws, tmp_path, more=False)
    copy = _open(other)
    try:
        Datastore.register_azure_blob_container(
            copy, "blobs", "theirs", "account", sas_token="sv=token", skip_validation=True
        ).set_as_default()
        data = tmp_path / "theirs"
        data.mkdir()
        (data / "u.csv").write_text("a\n1\n", encoding="utf-8")
        builtin = Datastore.get(copy, "workspaceblobstore")
        builtin.upload(str(data), "own", overwrite=True, show_progress=False)
        Dataset.Tabular.from_delimited_files(builtin.path("own/u.csv")).register(copy, "t")
        src = tmp_path / "src"
        step = PythonScriptStep("step.py", name="only", source_directory=str(src))
        PipelineEndpoint.publish(copy, "ep", "theirs", Pipeline(copy, [step]).publish("q"))
        report = ws.copy_to(copy)
        text = str(report)
        assert "datastore 'blobs': the target has another" in text
        assert "dataset t:1 is version 2 in the target" in text
        assert "pipeline endpoint 'ep': the target has another endpoint" in text
        assert ACCOUNT_KEY not in text and "sv=token" not in text
        assert Datastore.get(copy, "blobs").container_name == "theirs"
        assert PipelineEndpoint.get(copy, name="ep").description == "theirs"
        assert Dataset.get_by_name(copy, "t", version=1).description is None
        before = _seq(copy)
        again = ws.copy_to(copy)
        assert not again.changed and _seq(copy) == before, str(again)
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
