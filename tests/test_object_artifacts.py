"""Run files on object storage: ``Workspace(store=..., artifacts="az://container/prefix")``,
against Azurite. Two "machines" share one store and one container: each has its own home
folder (so its own working copy), and sees the other's files, logs and snapshots.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azurite import Azurite, azurite
from pipeline_helpers import no_leftover_pipelines, scripts, wait_pipeline
from submit_helpers import source_dir

from run_widgets import (
    Experiment,
    Pipeline,
    PipelineData,
    PythonScriptStep,
    Run,
    ScriptRunConfig,
    UserErrorException,
    Workspace,
)

__all__ = ["azurite", "no_leftover_pipelines"]
pytestmark = pytest.mark.slow


@pytest.fixture
def shared(
    azurite: Azurite, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """(store URI, artifacts URL) of a team: the test's store, a fresh container."""
    container = f"team{uuid.uuid4().hex[:10]}"
    azurite.create_container(container)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    yield ws.store_uri, f"az://{container}/runs-of-team"


def machine(shared: tuple[str, str], home: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The team's workspace as a machine with its own home (working copy) opens it."""
    monkeypatch.setenv("RUN_WIDGETS_HOME", str(home))
    return Workspace(store=shared[0], artifacts=shared[1])


def blob_names(azurite: Azurite, url: str) -> list[str]:
    import adlfs

    fs = adlfs.AzureBlobFileSystem(
        connection_string=azurite.connection_string, skip_instance_cache=True
    )
    return sorted(str(p) for p in fs.find(url.split("://", 1)[1]))


def test_run_files_are_shared_through_object_storage(
    shared: tuple[str, str], azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = machine(shared, tmp_path / "machine-1", monkeypatch)
    assert first.artifacts.location == shared[1]
    run = Experiment(first, "shared").start_logging(snapshot_directory=None)
    run.upload_file("outputs/model.txt", io.BytesIO(b"weights"))
    run.log_image("curve", plot=_figure())
    run.complete()
    container_path = shared[1].split("://", 1)[1]
    stored = blob_names(azurite, shared[1])
    assert f"{container_path}/runs/{run.id}/outputs/model.txt" in stored
    assert any(n.endswith(".png") for n in stored)

    second = machine(shared, tmp_path / "machine-2", monkeypatch)  # another working copy
    assert second.folder != first.folder
    again = Run.get(second, run.id)
    names = again.get_file_names()
    assert "outputs/model.txt" in names and any(n.endswith(".png") for n in names)
    target = again.download_file("outputs/model.txt", str(tmp_path / "model.txt"))
    assert Path(target).read_bytes() == b"weights"
    assert second.artifacts.read_bytes(run.id, "outputs/model.txt", offset=3) == b"ghts"
    with pytest.raises(UserErrorException, match=r"contains '\.\.'"):
        again.upload_file("../escape.txt", io.BytesIO(b"x"))
    with pytest.raises(UserErrorException, match="Resource Conflict"):
        again.upload_file("outputs/model.txt", io.BytesIO(b"other"))
    with pytest.raises(UserErrorException, match="needs store="):
        Workspace(artifacts=shared[1])


def test_a_submitted_run_s_log_outputs_and_snapshot_reach_another_machine(
    shared: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = machine(shared, tmp_path / "machine-1", monkeypatch)
    source = source_dir(
        tmp_path,
        {
            "train.py": (
                "import os\nfrom run_widgets import Run\n"
                "print('training on the team store')\n"
                "os.makedirs('outputs', exist_ok=True)\nopen('outputs/result.txt', 'w').write('42')\n"
                "Run.get_context().log('answer', 42)\n"
            )
        },
    )
    run = Experiment(first, "shared").submit(
        ScriptRunConfig(source_directory=source, script="train.py")
    )
    run.wait_for_completion(show_output=False)
    second = machine(shared, tmp_path / "machine-2", monkeypatch)
    elsewhere = Run.get(second, run.id)
    assert elsewhere.get_metrics() == {"answer": 42}
    log = second.artifacts.read_bytes(run.id, "logs/driver_log.txt").decode()
    assert "training on the team store" in log
    assert Path(elsewhere.get_file_path("outputs/result.txt")).read_text() == "42"
    restored = elsewhere.restore_snapshot(path=str(tmp_path / "restored"), extract=True)
    assert (Path(restored) / "train.py").is_file()


def test_a_pipeline_on_object_storage(
    shared: tuple[str, str], azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = machine(shared, tmp_path / "machine-1", monkeypatch)
    datastore = team.get_default_datastore()
    assert datastore.location == f"{shared[1]}/datastores/workspaceblobstore"
    local = tmp_path / "in.txt"
    local.write_text("shared data", encoding="utf-8")
    datastore.upload_files([str(local)], target_path="raw", show_progress=False)
    src = scripts(tmp_path)
    raw = datastore.path("raw/in.txt", data_reference_name="raw")
    out = PipelineData("copied")
    step = PythonScriptStep(
        "copy_files.py",
        name="copy",
        source_directory=src,
        arguments=["--input", raw, "--output", out, "--tag", "!"],
        inputs=[raw],
        outputs=[out],
    )
    run = Experiment(team, "shared-pipeline").submit(Pipeline(team, [step]))
    assert wait_pipeline(run) == "Completed", run.get_details().get("error")
    other = machine(shared, tmp_path / "machine-2", monkeypatch)
    reference = Run.get(other, run.id).find_step_run("copy")[0].get_output_data("copied")  # type: ignore[attr-defined]
    folder = reference.download(tmp_path / "fetched", show_progress=False)
    assert (Path(folder) / "in.txt").read_text() == "shared data!"
    container_path = shared[1].split("://", 1)[1]
    assert any(
        f"{container_path}/datastores/workspaceblobstore/azureml/" in n
        for n in blob_names(azurite, shared[1])
    )


def _figure() -> object:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot(1, 1, 1).plot([1, 2, 3])
    return figure
