"""The v1 boilerplate cells: ``VERSION``, ``ws.location`` and the workspace's v1 attributes;
metric names with surrounding spaces; ``restore_snapshot`` returning a zip as v1 did."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest

import run_widgets
from run_widgets import VERSION, Experiment, Run, Workspace
from run_widgets.workspace import register_listing


def test_version_is_the_package_version() -> None:
    assert run_widgets.__version__ == VERSION
    assert isinstance(VERSION, str)
    assert "VERSION" in run_widgets.__all__


def test_v1_boilerplate_cell_runs(folder_ws: Workspace) -> None:
    # The first cell of nearly every v1 notebook, verbatim apart from the import.
    ws = folder_ws
    line = "\n".join(
        [
            "Workspace name: " + ws.name,
            "Azure region: " + ws.location,
            "Subscription id: " + ws.subscription_id,
            "Resource group: " + ws.resource_group,
        ]
    )
    assert line == (
        "Workspace name: ws\nAzure region: local\nSubscription id: local\nResource group: local"
    )
    assert ws.folder == ws.folder.resolve()
    assert (ws.folder / "tracking.db").is_file()


def test_get_details_has_the_v1_keys_with_local_values(folder_ws: Workspace) -> None:
    ws = folder_ws
    details = ws.get_details()
    assert details["name"] == details["friendlyName"] == "ws"
    assert details["location"] == "local"
    assert (
        details["id"]
        == "/subscriptions/local/resourceGroups/local/providers/run_widgets/workspaces/ws"
    )
    assert details["storageAccount"] == str(ws.folder)
    # stable across Workspace objects (and processes) of the same folder
    assert Workspace(ws.folder).get_details()["workspaceid"] == details["workspaceid"]


def test_workspace_collections_are_dicts_by_name(ws: Workspace) -> None:
    assert isinstance(ws.environments, dict)
    assert isinstance(ws.models, dict)
    assert isinstance(ws.compute_targets, dict)


def test_a_higher_layer_fills_a_workspace_collection(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from run_widgets.runtime import REGISTRY

    monkeypatch.setattr(REGISTRY.listings, "_values", dict(REGISTRY.listings._values))
    register_listing("compute_targets", lambda w: {"cpu-cluster": w.name})
    assert ws.compute_targets == {"cpu-cluster": ws.name}


@pytest.mark.parametrize("name", ["Hello from child run ", " leading", "  both  "])
def test_metric_names_with_surrounding_spaces_are_kept_as_v1_did(
    exp: Experiment, name: str
) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    run.log(name, 1)
    run.log_list(name + "list", [1, 2])
    run.complete()
    reopened = Run(exp, run.id)
    assert reopened.get_metrics()[name] == 1
    assert reopened.get_metrics(name=name) == {name: 1}
    assert reopened.get_metrics()[name + "list"] == [1, 2]


def test_restore_snapshot_gives_a_zip_in_the_temp_folder_as_v1(exp: Experiment) -> None:
    Path("train.py").write_text("print('hi')\n", encoding="utf-8")
    run = exp.start_logging(outputs=False)
    snapshot_id = run.get_snapshot_id()
    assert snapshot_id
    try:
        path = run.restore_snapshot()
        assert path == str(Path(tempfile.gettempdir()) / f"{snapshot_id}.zip")
        with zipfile.ZipFile(path) as archive:
            assert archive.namelist() == ["train.py"]
    finally:
        Path(tempfile.gettempdir(), f"{snapshot_id}.zip").unlink(missing_ok=True)
    run.complete()


def test_restore_snapshot_into_a_folder_and_unpacked_when_asked(
    exp: Experiment, tmp_path: Path
) -> None:
    Path("train.py").write_text("print('hi')\n", encoding="utf-8")
    run = exp.start_logging(outputs=False)
    zipped = Path(run.restore_snapshot(path=tmp_path / "out"))
    assert zipped == tmp_path / "out" / f"{run.get_snapshot_id()}.zip"
    assert zipfile.is_zipfile(zipped)
    folder = Path(run.restore_snapshot(path=tmp_path / "src", extract=True))
    assert (folder / "train.py").read_text(encoding="utf-8") == "print('hi')\n"
    run.complete()


def test_compute_targets_by_name(ws: Workspace) -> None:
    from run_widgets import AmlCompute, ComputeTarget

    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=2)
    ComputeTarget.create(ws, "cpu-cluster", config).wait_for_completion()
    targets = ws.compute_targets
    assert list(targets) == ["cpu-cluster"]
    assert isinstance(targets["cpu-cluster"], AmlCompute)
    assert targets["cpu-cluster"].max_nodes == 2
