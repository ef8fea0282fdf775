"""http(s) datasets, read from a local HTTP server the tests start (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from http_files import FileServer, http_files
from pipeline_helpers import no_leftover_pipelines, wait_pipeline
from submit_helpers import source_dir

from run_widgets import (
    DataAccessError,
    Dataset,
    DatasetChangedError,
    DatasetConsumptionConfig,
    Experiment,
    Pipeline,
    PipelineParameter,
    PythonScriptStep,
    Workspace,
)

__all__ = ["http_files", "no_leftover_pipelines"]
pytestmark = pytest.mark.slow

TITANIC = "PassengerId,Survived,Name\n1,0,Braund\n2,1,Cumings\n3,1,Heikkinen\n"


def test_tabular_and_file_datasets_from_urls(
    ws: Workspace, http_files: FileServer, tmp_path: Path
) -> None:
    (http_files.folder / "Titanic.csv").write_text(TITANIC, encoding="utf-8")
    url = http_files.url("Titanic.csv")
    table = Dataset.Tabular.from_delimited_files(url)
    assert table.to_pandas_dataframe().Survived.tolist() == [0, 1, 1]
    files = Dataset.File.from_files(url)
    assert files.to_path() == ["/Titanic.csv"]
    assert Path(files.download(tmp_path / "d")[0]).read_text() == TITANIC
    registered = table.register(ws, "titanic")
    (http_files.folder / "Titanic.csv").write_text(TITANIC + "4,0,Allen\n", encoding="utf-8")
    with pytest.raises(DatasetChangedError, match="'titanic' version 1 changed"):
        Dataset.get_by_name(ws, "titanic").to_pandas_dataframe()
    assert registered.register(ws, "titanic", create_new_version=True).version == 2


def test_unreachable_and_missing_urls_are_named(http_files: FileServer) -> None:
    with pytest.raises(DataAccessError, match=r"URL '.*/nope.csv' does not exist"):
        Dataset.Tabular.from_delimited_files(http_files.url("nope.csv"))
    closed = http_files.url("x.csv")
    http_files.stop()
    with pytest.raises(
        DataAccessError, match=r"URL '.*x.csv' cannot be reached: ClientConnectorError"
    ):
        Dataset.File.from_files(closed)


def test_a_pipeline_with_dataset_parameters_from_urls(
    ws: Workspace, exp: Experiment, http_files: FileServer, tmp_path: Path
) -> None:
    (http_files.folder / "Titanic.csv").write_text(TITANIC, encoding="utf-8")
    (http_files.folder / "iris.csv").write_text("sepal,species\n5.1,setosa\n", encoding="utf-8")
    file_param = PipelineParameter(
        "file_ds_param", Dataset.File.from_files(http_files.url("Titanic.csv"))
    )
    table_param = PipelineParameter(
        "tabular_ds_param", Dataset.Tabular.from_delimited_files(http_files.url("Titanic.csv"))
    )
    file_input = DatasetConsumptionConfig("file_dataset", file_param).as_mount()
    table_input = DatasetConsumptionConfig("tabular_dataset", table_param)
    src = source_dir(
        tmp_path,
        {
            "train_with_dataset.py": """
from run_widgets import Run
run = Run.get_context()
path = run.input_datasets["file_dataset"]
print(open(path).read().splitlines()[0])
frame = run.input_datasets["tabular_dataset"].to_pandas_dataframe()
run.log("rows", len(frame)); run.log("columns", len(frame.columns))
"""
        },
        "url-src",
    )
    step = PythonScriptStep(
        "train_with_dataset.py",
        name="train_step",
        source_directory=src,
        arguments=["--param1", file_input, "--param2", table_input],
        inputs=[file_input, table_input],
    )
    pipeline = Pipeline(ws, [step])
    run = exp.submit(pipeline)
    assert wait_pipeline(run) == "Completed", run.get_details().get("error")
    train = run.find_step_run("train_step")[0]
    assert train.get_metrics() == {"rows": 3, "columns": 3}
    assert "PassengerId,Survived,Name" in train.get_job_log()
    iris_file = Dataset.File.from_files(http_files.url("iris.csv"))
    iris_table = Dataset.Tabular.from_delimited_files(http_files.url("iris.csv"))
    other = exp.submit(
        pipeline, pipeline_parameters={"file_ds_param": iris_file, "tabular_ds_param": iris_table}
    )
    assert wait_pipeline(other) == "Completed", other.get_details().get("error")
    assert other.find_step_run("train_step")[0].get_metrics() == {"rows": 1, "columns": 2}
