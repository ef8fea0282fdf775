"""Azure Blob datastores for real, through adlfs, against Azurite (Microsoft's emulator).

The emulator runs on a free loopback port for the session (``azurite`` fixture); each
test uses its own container.
"""

from __future__ import annotations

import os
import stat
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azurite import ACCOUNT, KEY, Azurite, azurite
from pipeline_helpers import no_leftover_pipelines, scripts, wait_pipeline

from run_widgets import (
    AzureBlobDatastore,
    DataAccessError,
    Dataset,
    DatasetChangedError,
    Datastore,
    DatastoreNotFoundError,
    Experiment,
    Pipeline,
    PipelineData,
    PythonScriptStep,
    UserErrorException,
    Workspace,
)

__all__ = ["azurite", "no_leftover_pipelines"]
pytestmark = pytest.mark.slow


@pytest.fixture
def container(azurite: Azurite) -> str:
    name = f"c{uuid.uuid4().hex[:12]}"
    azurite.create_container(name)
    return name


def register(
    ws: Workspace, azurite: Azurite, container: str, name: str = "blobs", **kwargs: object
) -> AzureBlobDatastore:
    options: dict[str, object] = {"account_key": KEY, **kwargs}
    return Datastore.register_azure_blob_container(
        ws, name, container, ACCOUNT, protocol="http", endpoint=azurite.endpoint, **options
    )


def test_register_upload_download_and_read_datasets(
    ws: Workspace, azurite: Azurite, container: str, tmp_path: Path
) -> None:
    store = register(ws, azurite, container)
    assert Datastore(ws, "blobs") == store and "blobs" in ws.datastores
    folder = tmp_path / "local"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    (folder / "sub" / "b.csv").write_text("x,y\n3,4\n", encoding="utf-8")
    store.upload(str(folder), target_path="tables", show_progress=False)
    with pytest.raises(DataAccessError, match="exists already"):
        store.upload(str(folder), target_path="tables", show_progress=False)
    table = Dataset.Tabular.from_delimited_files([(store, "tables/**/*.csv")], include_path=True)
    frame = table.to_pandas_dataframe()
    assert sorted(frame.x) == [1, 3] and set(frame.Path) == {"/a.csv", "/sub/b.csv"}
    files = Dataset.File.from_files(store.path("tables/"))
    assert sorted(files.to_path()) == ["/a.csv", "/sub/b.csv"]
    written = files.download(tmp_path / "down")
    assert sorted(Path(p).name for p in written) == ["a.csv", "b.csv"]
    with files.mount() as mounted:  # no FUSE: the files are copied while it is mounted
        assert (Path(mounted.mount_point) / "sub" / "b.csv").read_text() == "x,y\n3,4\n"
    assert not Path(mounted.mount_point).exists()
    assert store.download(tmp_path / "back", prefix="tables/sub", show_progress=False) == 1
    assert (tmp_path / "back" / "tables" / "sub" / "b.csv").is_file()


def test_credentials_are_sealed_and_never_printed(
    ws: Workspace, azurite: Azurite, container: str
) -> None:
    store = register(ws, azurite, container)
    assert KEY not in repr(store) and KEY not in str(ws.datastores)
    assert store.account_key is None
    rows = ws.store._in_read(  # type: ignore[attr-defined]
        lambda conn, dialect: dialect.execute(
            conn, "SELECT definition, secret FROM datastores"
        ).fetchall()
    )
    assert rows and not any(KEY[:12] in str(row) for row in rows)  # sealed, on every backend
    files = b"".join(p.read_bytes() for p in Path(ws.folder).glob("tracking.db*"))
    assert KEY[:12].encode() not in files  # nor in the SQLite file and its WAL (when it is one)
    key_file = Path(os.environ["RUN_WIDGETS_HOME"]) / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another process of this machine (same key file) reads the datastore again.
    again = Datastore(Workspace.from_description(ws.description()), "blobs")
    assert isinstance(again, AzureBlobDatastore)
    again.filesystem()[0].ls(container)


def test_a_machine_with_another_secret_key_gets_a_clear_error(
    ws: Workspace, azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(ws, azurite, container)
    from cryptography.fernet import Fernet

    monkeypatch.setenv("RUN_WIDGETS_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(
        DataAccessError, match=r"datastore 'blobs' were encrypted with workspace secret key \w+"
    ):
        Datastore(ws, "blobs").upload_files([__file__], show_progress=False)


def test_a_copied_workspace_reads_the_blob_datastore_with_the_same_key(
    ws: Workspace,
    azurite: Azurite,
    container: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ws.copy_to``: the copy's datastore opens its still-sealed credentials with this
    machine's key and reads the container; its dataset stays pinned; the key is never in
    the report nor in the copy's files; a machine with another key is told which it needs."""
    store = register(ws, azurite, container)
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    store.upload(str(data), target_path="tables", show_progress=False)
    Dataset.Tabular.from_delimited_files([(store, "tables/t.csv")]).register(ws, "t")
    report = ws.copy_to(tmp_path / "copy")
    assert report.registries["datastores"] == 1 and not report.conflicts
    assert KEY not in str(report) and KEY[:12] not in str(report)
    copy = Workspace(store=tmp_path / "copy")
    try:
        copied = Datastore(copy, "blobs")
        assert isinstance(copied, AzureBlobDatastore)
        assert copied.download(tmp_path / "back", prefix="tables", show_progress=False) == 1
        assert (tmp_path / "back" / "tables" / "t.csv").read_text() == "x,y\n1,2\n"
        frame = Dataset.get_by_name(copy, "t").to_pandas_dataframe()
        assert frame.to_dict("list") == {"x": [1], "y": [2]}
        files = b"".join(p.read_bytes() for p in (tmp_path / "copy").glob("tracking.db*"))
        assert KEY[:12].encode() not in files
        from cryptography.fernet import Fernet

        monkeypatch.setenv("RUN_WIDGETS_SECRET_KEY", Fernet.generate_key().decode())
        with pytest.raises(DataAccessError, match="encrypted with workspace secret key"):
            Datastore(copy, "blobs").download(tmp_path / "none", show_progress=False)
    finally:
        copy.close()


def test_wrong_credentials_or_container_register_nothing(
    ws: Workspace, azurite: Azurite, container: str
) -> None:
    wrong = "A" + KEY[1:]
    with pytest.raises(
        DataAccessError,
        match=rf"Azure refused the credentials given for the container '{container}' of storage account '{ACCOUNT}'",
    ):
        register(ws, azurite, container, account_key=wrong)
    with pytest.raises(DataAccessError, match=r"container 'missing-container' .* does not exist"):
        register(ws, azurite, "missing-container")
    assert set(ws.datastores) == {"workspaceblobstore", "workspacefilestore"}
    with pytest.raises(DatastoreNotFoundError, match="No datastore named 'blobs'"):
        Datastore(ws, "blobs")
    created = register(ws, azurite, "made-on-demand", create_if_not_exists=True)
    assert created.container_name == "made-on-demand"
    with pytest.raises(UserErrorException, match="Give exactly one of account_key and sas_token"):
        Datastore.register_azure_blob_container(ws, "x", container, ACCOUNT)
    register(ws, azurite, container, name="made_twice", skip_validation=True)
    with pytest.raises(UserErrorException, match="registered already"):
        Datastore.register_azure_blob_container(
            ws,
            "made_twice",
            "other",
            ACCOUNT,
            account_key=KEY,
            protocol="http",
            endpoint=azurite.endpoint,
            skip_validation=True,
        )


def test_sas_tokens_work(ws: Workspace, azurite: Azurite, container: str) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    token = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True, delete=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    store = Datastore.register_azure_blob_container(
        ws,
        "by_sas",
        container,
        ACCOUNT,
        sas_token=token,
        protocol="http",
        endpoint=azurite.endpoint,
    )
    assert store.credential_type == "Sas" and token not in repr(store)
    store.upload_files([__file__], target_path="code", show_progress=False)
    assert Dataset.File.from_files((store, "code/")).to_path() == [f"/{Path(__file__).name}"]


def test_a_registered_dataset_on_blob_is_pinned_to_its_content(
    ws: Workspace, azurite: Azurite, container: str, tmp_path: Path
) -> None:
    store = register(ws, azurite, container)
    local = tmp_path / "data.csv"
    local.write_text("v\n1\n", encoding="utf-8")
    store.upload_files([str(local)], target_path="d", show_progress=False)
    dataset = Dataset.Tabular.from_delimited_files((store, "d/data.csv")).register(ws, "blobbed")
    assert Dataset.get_by_name(ws, "blobbed").to_pandas_dataframe().v.tolist() == [1]
    local.write_text("v\n2\n", encoding="utf-8")
    store.upload_files([str(local)], target_path="d", overwrite=True, show_progress=False)
    with pytest.raises(
        DatasetChangedError,
        match=r"'blobbed' version 1 changed since it was registered \(changed: data.csv\)",
    ):
        Dataset.get_by_name(ws, "blobbed").to_pandas_dataframe()
    newer = dataset.register(ws, "blobbed", create_new_version=True)
    assert newer.version == 2 and newer.to_pandas_dataframe().v.tolist() == [2]


def test_a_pipeline_reads_and_writes_blob_storage(
    ws: Workspace, exp: Experiment, azurite: Azurite, container: str, tmp_path: Path
) -> None:
    store = register(ws, azurite, container)
    local = tmp_path / "in.txt"
    local.write_text("blob!", encoding="utf-8")
    store.upload_files([str(local)], target_path="input", show_progress=False)
    src = scripts(tmp_path)
    raw = store.path("input/in.txt", data_reference_name="raw")
    first, second = PipelineData("first", datastore=store), PipelineData("second", datastore=store)
    PythonScriptStep(
        "copy_files.py",
        name="a",
        source_directory=src,
        arguments=["--input", raw, "--output", first, "--tag", "1"],
        inputs=[raw],
        outputs=[first],
    )
    b = PythonScriptStep(
        "copy_files.py",
        name="b",
        source_directory=src,
        arguments=["--input", first, "--output", second, "--tag", "2"],
        inputs=[first],
        outputs=[second],
    )
    run = exp.submit(Pipeline(ws, [b]))
    assert wait_pipeline(run) == "Completed", run.get_details().get("error")
    reference = run.find_step_run("b")[0].get_output_data("second")
    assert reference.datastore_name == "blobs"
    fs, _ = store.filesystem()
    assert fs.cat(store.full_path(f"{reference.path_on_datastore}/in.txt")) == b"blob!12"
