"""Datasets over local files and the workspace's datastores: reading, transforms, versions
pinned to content, and bad input. (http(s) datasets: tests/test_datasets_http.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from run_widgets import (
    DataAccessError,
    Dataset,
    DatasetChangedError,
    DatasetNotFoundError,
    DatasetTimestampMissingError,
    Datastore,
    FileDataset,
    TabularDataset,
    UserErrorException,
    Workspace,
)


@pytest.fixture
def csvs(tmp_path: Path) -> Path:
    folder = tmp_path / "csvs"
    folder.mkdir()
    (folder / "a.csv").write_text("x,y\n1,a\n2,b\n3,c\n", encoding="utf-8")
    (folder / "b.csv").write_text("x,y\n4,d\n5,e\n", encoding="utf-8")
    return folder


def test_tabular_from_local_files_and_globs(csvs: Path) -> None:
    table = Dataset.Tabular.from_delimited_files(str(csvs / "*.csv"), include_path=True)
    frame = table.to_pandas_dataframe()
    assert list(frame.x) == [1, 2, 3, 4, 5] and list(frame.Path) == ["/a.csv"] * 3 + ["/b.csv"] * 2
    assert list(table.take(2).to_pandas_dataframe().x) == [1, 2]
    assert list(table.skip(3).to_pandas_dataframe().x) == [4, 5]
    assert list(table.keep_columns("y").to_pandas_dataframe().columns) == ["y"]
    assert list(table.drop_columns(["Path", "y"]).to_pandas_dataframe().columns) == ["x"]
    left, right = table.random_split(0.5, seed=3)
    assert sorted([*left.to_pandas_dataframe().x, *right.to_pandas_dataframe().x]) == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert list(left.to_pandas_dataframe().x) == list(left.to_pandas_dataframe().x)  # reproducible
    typed = Dataset.Tabular.from_delimited_files(str(csvs / "a.csv"), set_column_types={"x": float})
    assert typed.to_pandas_dataframe().x.dtype == "float64"
    semicolons = csvs.parent / "semi.txt"
    semicolons.write_text("p;q\n1;2\n", encoding="utf-8")
    assert Dataset.Tabular.from_delimited_files(
        str(semicolons), separator=";"
    ).to_pandas_dataframe().q.tolist() == [2]


def test_parquet_and_json_lines_with_partitions_and_time_filters(tmp_path: Path) -> None:
    for month, values in ((1, [1, 2]), (2, [3])):
        folder = tmp_path / "weather" / "2019" / f"{month:02d}"
        folder.mkdir(parents=True)
        pd.DataFrame(
            {"t": values, "when": [datetime(2019, month, d + 1) for d in range(len(values))]}
        ).to_parquet(folder / "data.parquet")
    dataset = Dataset.Tabular.from_parquet_files(
        str(tmp_path / "weather" / "*" / "*" / "data.parquet"),
        partition_format="weather/{partition_time:yyyy/MM}/data.parquet",
    )
    frame = dataset.to_pandas_dataframe()
    assert list(frame.t) == [1, 2, 3]
    assert list(frame.partition_time) == [datetime(2019, 1, 1)] * 2 + [datetime(2019, 2, 1)]
    timed = dataset.with_timestamp_columns(timestamp="when", partition_timestamp="partition_time")
    assert timed.timestamp_columns == ("when", "partition_time")
    assert list(timed.time_before(datetime(2019, 1, 1, 12)).to_pandas_dataframe().t) == [1]
    assert list(timed.time_after(datetime(2019, 1, 2)).to_pandas_dataframe().t) == [2, 3]
    assert list(
        timed.time_between(datetime(2019, 1, 2), datetime(2019, 1, 31)).to_pandas_dataframe().t
    ) == [2]
    assert list(timed.time_recent(timedelta(days=1)).to_pandas_dataframe().t) == [3]
    with pytest.raises(DatasetTimestampMissingError, match="no timestamp column"):
        dataset.time_before(datetime(2019, 1, 1))
    with pytest.raises(DatasetTimestampMissingError, match="'when' was dropped"):
        timed.drop_columns("when").time_before(datetime(2020, 1, 1)).to_pandas_dataframe()
    zoned = tmp_path / "zoned.parquet"  # a UTC column filtered with naive datetimes (v1's UTC)
    stamps = pd.to_datetime(["2019-01-01", "2019-01-03"]).tz_localize("UTC")
    pd.DataFrame({"v": [1, 2], "at": stamps}).to_parquet(zoned)
    utc = Dataset.Tabular.from_parquet_files(str(zoned)).with_timestamp_columns(timestamp="at")
    assert list(utc.time_after(datetime(2019, 1, 2)).to_pandas_dataframe().v) == [2]
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    assert Dataset.Tabular.from_json_lines_files(str(lines)).to_pandas_dataframe().a.tolist() == [
        1,
        2,
    ]


def test_file_datasets_download_mount_and_select(csvs: Path, tmp_path: Path) -> None:
    files = Dataset.File.from_files(str(csvs))
    assert isinstance(files, FileDataset) and files.to_path() == ["/a.csv", "/b.csv"]
    assert files.take(1).to_path() == ["/a.csv"] and files.skip(1).to_path() == ["/b.csv"]
    written = files.download(tmp_path / "out")
    assert sorted(Path(p).name for p in written) == ["a.csv", "b.csv"]
    with pytest.raises(DataAccessError, match="exists already; pass overwrite=True"):
        files.download(tmp_path / "out")
    assert len(files.download(tmp_path / "out", overwrite=True)) == 2
    with files.mount() as context:  # local files are linked, not copied
        mounted = Path(context.mount_point) / "a.csv"
        assert mounted.is_symlink() and mounted.read_text().startswith("x,y")
    assert not Path(context.mount_point).exists()
    mounted_input = files.as_mount()  # v1: dataset.as_mount() straight into arguments
    assert mounted_input.mode == "mount" and mounted_input.name.startswith("input_")
    assert files.as_download().mode == "download"


def test_datastore_paths_and_the_default_datastore(
    ws: Workspace, csvs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ws.get_default_datastore()
    assert store.name == "workspaceblobstore" and Datastore(ws, "workspaceblobstore") == store
    assert Path(store.location) == ws.folder / "datastores" / "workspaceblobstore"
    store.upload_files(
        [str(csvs / "a.csv"), str(csvs / "b.csv")],
        target_path="train/",
        overwrite=True,
        show_progress=False,
    )
    table = Dataset.Tabular.from_delimited_files(
        path=[(store, "train/a.csv"), (store, "train/b.csv")]
    )
    assert len(table.take(3).to_pandas_dataframe()) == 3
    assert Dataset.File.from_files(store.path("train/")).to_path() == ["/a.csv", "/b.csv"]
    monkeypatch.setenv("RUN_WIDGETS_WORKSPACE", str(ws.folder))  # what from_config() opens
    assert Dataset.File.from_files(
        f"azureml://datastores/{store.name}/paths/train/b.csv"
    ).to_path() == ["/b.csv"]
    ws.set_default_datastore("workspacefilestore")
    assert ws.get_default_datastore().name == "workspacefilestore"
    with pytest.raises(UserErrorException, match="built-in datastore; it cannot be unregistered"):
        store.unregister()
    with pytest.raises(UserErrorException, match="Azure file share datastores are cloud-only"):
        Datastore.register_azure_file_share(ws, "share", "x", "y")


def test_registered_versions_are_pinned_to_their_content(ws: Workspace, csvs: Path) -> None:
    table = Dataset.Tabular.from_delimited_files(str(csvs / "*.csv"))
    first = table.register(ws, "numbers", description="the numbers", tags={"kind": "demo"})
    assert (first.name, first.version, first.description, first.tags) == (
        "numbers",
        1,
        "the numbers",
        {"kind": "demo"},
    )
    assert (
        table.register(ws, "numbers").version == 1
    )  # same definition and content: the same version
    assert isinstance(Dataset.get_by_name(ws, "numbers"), TabularDataset)
    assert Dataset.get_by_id(ws, first.id).version == 1
    assert set(ws.datasets) == {"numbers"}
    (csvs / "b.csv").write_text("x,y\n40,d\n", encoding="utf-8")
    with pytest.raises(
        DatasetChangedError,
        match=r"'numbers' version 1 changed since it was registered \(changed: b.csv\)",
    ):
        Dataset.get_by_name(ws, "numbers", version=1).to_pandas_dataframe()
    with pytest.raises(
        UserErrorException, match=r"registered already .* pass create_new_version=True"
    ):
        table.register(ws, "numbers")
    second = table.register(ws, "numbers", create_new_version=True)
    assert second.version == 2 and list(
        Dataset.get_by_name(ws, "numbers").to_pandas_dataframe().x
    ) == [1, 2, 3, 40]
    (csvs / "c.csv").write_text("x,y\n6,f\n", encoding="utf-8")
    with pytest.raises(DatasetChangedError, match=r"new: c.csv"):
        Dataset.get_by_name(ws, "numbers").to_pandas_dataframe()


def test_bad_input_names_the_problem(ws: Workspace, csvs: Path, tmp_path: Path) -> None:
    with pytest.raises(DataAccessError, match="matches no file"):
        Dataset.File.from_files(str(tmp_path / "nothing-*.csv"))
    with pytest.raises(DataAccessError, match="does not exist"):
        Dataset.Tabular.from_delimited_files(str(tmp_path / "missing.csv"))
    assert Dataset.File.from_files(str(tmp_path / "missing.csv"), validate=False).definition[
        "sources"
    ]
    with pytest.raises(TypeError, match="path must be a local path, an http"):
        Dataset.File.from_files(42)
    with pytest.raises(UserErrorException, match="between 0 and 1"):
        Dataset.File.from_files(str(csvs)).random_split(1.5)
    with pytest.raises(UserErrorException, match="count must be an int"):
        Dataset.File.from_files(str(csvs)).take(-1)
    with pytest.raises(DatasetNotFoundError, match="No dataset named 'nope'"):
        Dataset.get_by_name(ws, "nope")
    Dataset.File.from_files(str(csvs)).register(ws, "files")
    with pytest.raises(
        DatasetNotFoundError, match=r"Dataset 'files' has no version 7; it has \[1\]"
    ):
        Dataset.get_by_name(ws, "files", version=7)
    with pytest.raises(DatasetNotFoundError, match="No dataset with id 'x'"):
        Dataset.get_by_id(ws, "x")
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataAccessError, match="cannot be read as parquet"):
        Dataset.Tabular.from_parquet_files(str(broken))
    with pytest.raises(UserErrorException, match="only a file dataset can be mounted"):
        Dataset.Tabular.from_delimited_files(str(csvs / "a.csv")).as_named_input("t").as_mount()
