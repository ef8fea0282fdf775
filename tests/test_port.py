"""``python -m run_widgets.port``: v1 imports rewritten in notebooks and scripts, Azure-only
APIs listed, and a ported v1-style notebook really running in a kernel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support import python_env

from run_widgets.exceptions import UserErrorException
from run_widgets.port import port_file, port_paths
from run_widgets.port.cloud import AUTOML, DOCKER, PIPELINE, WEBSERVICE, find, imported_cloud_names
from run_widgets.port.rewrite import rewrite_source

V1 = Path(__file__).with_name("v1_notebooks")


def test_from_imports_are_split_between_run_widgets_and_azure() -> None:
    source = (
        "import os\n"
        "from azureml.core import Workspace, Experiment, Keyvault  # the usual trio\n"
        "def f():\n"
        "    from azureml.core.run import Run as R\n"
        "    return R\n"
    )
    rewrite = rewrite_source(source)
    assert rewrite.text == (
        "import os\n"
        "from run_widgets import Workspace, Experiment\n"
        "from azureml.core import Keyvault  # the usual trio\n"
        "def f():\n"
        "    from run_widgets import Run as R\n"
        "    return R\n"
    )
    assert rewrite.changed_lines == [2, 3, 5]
    assert rewrite.kept == [(3, "azureml.core", "Keyvault")]
    assert rewrite.statements == 2


def test_import_azureml_core_and_qualified_names() -> None:
    source = (
        "import azureml.core\n"
        "print('SDK version:', azureml.core.VERSION)  # azureml.core.VERSION\n"
        "x = 'azureml.core.VERSION'\n"
        "y = azureml.core.Keyvault\n"
        "z = azureml.data.__version__\n"
    )
    assert rewrite_source(source).text == (
        "import run_widgets\n"
        "print('SDK version:', run_widgets.VERSION)  # azureml.core.VERSION\n"
        "x = 'azureml.core.VERSION'\n"
        "y = azureml.core.Keyvault\n"
        "z = run_widgets.__version__\n"
    )


def test_multiline_and_semicolon_imports_and_magics() -> None:
    source = (
        "%matplotlib inline\n"
        "import numpy as np; from azureml.widgets import RunDetails\n"
        "from azureml.train.hyperdrive import (\n"
        "    HyperDriveConfig,\n"
        "    choice,\n"
        ")\n"
        "!pip install azureml-sdk\n"
    )
    rewrite = rewrite_source(source)
    assert rewrite.text == (
        "%matplotlib inline\n"
        "import numpy as np; from run_widgets import RunDetails\n"
        "from run_widgets import HyperDriveConfig, choice\n"
        "!pip install azureml-sdk\n"
    )
    assert rewrite.statements == 2  # a wrapped import counts once, not once per line


def test_pipelines_datasets_and_datastores_are_ported() -> None:
    source = (
        "from azureml.core import Workspace, Dataset, Datastore\n"
        "from azureml.data import OutputFileDatasetConfig\n"
        "from azureml.data.datapath import DataPath, DataPathComputeBinding\n"
        "from azureml.data.dataset_consumption_config import DatasetConsumptionConfig\n"
        "from azureml.pipeline.core import (Pipeline, PipelineData, PipelineParameter,\n"
        "                                   PublishedPipeline, PipelineEndpoint, Schedule)\n"
        "from azureml.pipeline.core.graph import PipelineParameter as P\n"
        "from azureml.pipeline.steps import PythonScriptStep, CommandStep, DatabricksStep\n"
        "from azureml.tensorboard import Tensorboard\n"
        "schedule = Schedule.create(ws, name='nightly')\n"
    )
    rewrite = rewrite_source(source)
    assert "from azureml.pipeline.core import Schedule" in rewrite.text
    assert "from azureml.pipeline.steps import DatabricksStep" in rewrite.text
    assert "from run_widgets import Tensorboard" in rewrite.text
    assert rewrite.statements == 8
    assert {name for _, _, name in rewrite.kept} == {"Schedule", "DatabricksStep"}
    found = {f.name: f.category for f in find(rewrite.text, imported_cloud_names([source]))}
    assert found["Schedule"] == PIPELINE and found["DatabricksStep"] == PIPELINE
    assert "Pipeline" not in found and "Dataset" not in found


def test_source_that_is_not_python_is_left_alone() -> None:
    source = "# Exclude outputs\n/outputs\nfrom azureml.core import Run\n"
    assert rewrite_source(source).text == source


def test_port_to_an_output_folder_reports_cloud_only_cells(tmp_path: Path) -> None:
    reports = {r.path.name: r for r in port_paths([V1], tmp_path / "out")}
    assert set(reports) == {
        "train-on-local-v1.ipynb",
        "deploy-to-cloud-v1.ipynb",
        "automl_pipeline_v1.py",
        "pipeline-data-dependency-v1.ipynb",
        "train-with-datasets-v1.ipynb",
    }
    # the originals are untouched, the ported copies are in the output folder
    assert "azureml.core" in (V1 / "train-on-local-v1.ipynb").read_text(encoding="utf-8")
    ported = nbformat.read(tmp_path / "out" / "train-on-local-v1.ipynb", as_version=4)
    assert "".join(ported.cells[1].source).startswith(
        "# Check core SDK version number\nimport run_widgets\n"
    )

    train = reports["train-on-local-v1.ipynb"]
    found = {(str(location), finding.category) for location, finding in train.cloud_only}
    assert found == {("cell 9 line 3", DOCKER)}  # its dataset cell is local now
    deploy = reports["deploy-to-cloud-v1.ipynb"]
    categories = {finding.category for _, finding in deploy.cloud_only}
    assert categories == {WEBSERVICE}
    # scikit-learn's Pipeline is not an Azure pipeline
    assert not any("Pipeline" in finding.text for _, finding in deploy.cloud_only)
    script = reports["automl_pipeline_v1.py"]
    assert {f.category for _, f in script.cloud_only} == {AUTOML}  # its pipeline is local now
    assert "cell" not in script.summary()


def test_in_place_keeps_a_backup_and_is_idempotent(tmp_path: Path) -> None:
    notebook = tmp_path / "train-on-local-v1.ipynb"
    shutil.copyfile(V1 / notebook.name, notebook)
    original = notebook.read_bytes()
    first = port_file(notebook)
    assert first.backup == tmp_path / "train-on-local-v1.ipynb.bak"
    assert first.backup.read_bytes() == original
    json.loads(notebook.read_text(encoding="utf-8"))  # still a valid notebook
    second = port_file(notebook)
    assert second.rewritten == [] and second.written is None and second.backup is None
    assert first.backup.read_bytes() == original  # the backup of the v1 original survives


def test_command_line(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("from azureml.core import Run\nrun = Run.get_context()\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "run_widgets.port", str(script)],
        capture_output=True,
        text=True,
        env=python_env(),
        check=True,
    )
    assert (
        f"{script}: 1 import statement(s) rewritten (original kept as train.py.bak)"
        in result.stdout
    )
    assert "1 file(s) ported, 1 import statement(s) rewritten" in result.stdout
    assert "no Azure-only APIs found" in result.stdout
    assert script.read_text(encoding="utf-8").startswith("from run_widgets import Run\n")
    missing = subprocess.run(
        [sys.executable, "-m", "run_widgets.port", str(tmp_path / "nope.ipynb")],
        capture_output=True,
        text=True,
        env=python_env(),
    )
    assert missing.returncode == 2
    assert "nope.ipynb does not exist" in missing.stderr


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(UserErrorException, match=r"broken\.ipynb is not a Jupyter notebook"):
        port_file(broken)
    with pytest.raises(UserErrorException, match=r"neither a \.ipynb notebook nor a \.py"):
        port_file(tmp_path / "notes.txt")


@pytest.mark.notebook
@pytest.mark.slow
def test_ported_v1_notebook_runs_in_a_kernel(tmp_path: Path) -> None:
    """The v1-style notebook, minus its Azure-only cells, runs after the import change."""
    port_paths([V1 / "train-on-local-v1.ipynb"], tmp_path)
    notebook = nbformat.read(tmp_path / "train-on-local-v1.ipynb", as_version=4)
    report = port_file(V1 / "train-on-local-v1.ipynb", tmp_path / "again.ipynb")
    cloud_cells = {
        location.cell for location, finding in report.cloud_only if finding.category != DOCKER
    }
    notebook.cells = [c for i, c in enumerate(notebook.cells) if i not in cloud_cells]
    (tmp_path / "run_widgets.json").write_text('{"workspace": "./ws"}', encoding="utf-8")
    # Its 'diabetes' dataset is local now: registered here, as a user porting it would.
    register = nbformat.v4.new_code_cell(
        "from sklearn.datasets import load_diabetes\n"
        "from run_widgets import Dataset, Workspace\n"
        "load_diabetes(as_frame=True).frame.to_csv('diabetes.csv', index=False)\n"
        "Dataset.Tabular.from_delimited_files('diabetes.csv').register(Workspace.from_config(), 'diabetes')"
    )
    notebook.cells.insert(0, register)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = {
        i: "".join(o.get("text", "") for o in cell.get("outputs", []))
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    }
    text = "\n".join(outputs.values())
    assert "SDK version: " in text
    assert "Azure region: local" in text
    assert "['scikit-learn']" in text
    assert "Completed" in text
    assert "['alpha', 'mse ']" in text
    assert not any(
        o.get("output_type") == "error" for c in notebook.cells for o in c.get("outputs", [])
    )


def test_a_cell_indented_as_a_whole_is_rewritten_as_ipython_runs_it() -> None:
    source = (
        " run = exp.submit(config=src)\n\n from azureml.exceptions import ActivityFailedException\n"
    )
    assert rewrite_source(source).text == (
        " run = exp.submit(config=src)\n\n from run_widgets import ActivityFailedException\n"
    )


def test_qualified_names_are_rewritten_in_every_cell_once_a_cell_imports_azureml_core(
    tmp_path: Path,
) -> None:
    # As in Microsoft's notebook-runner pipeline notebook: the import in one cell, the use
    # (azureml.core.runconfig.DEFAULT_CPU_IMAGE) in a later one.
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import azureml.core\nprint(azureml.core.VERSION)"),
        nbformat.v4.new_code_cell(
            "image = azureml.core.runconfig.DEFAULT_CPU_IMAGE  # azureml.core.runconfig\n"
            "other = azureml.core.runconfig.NotInRunWidgets\n"
            "text = 'azureml.core.runconfig.DEFAULT_CPU_IMAGE'"
        ),
    ]
    source = tmp_path / "nb.ipynb"
    nbformat.write(notebook, source)
    report = port_file(source, tmp_path / "out.ipynb", backup=False)
    cells = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells
    assert cells[0].source == "import run_widgets\nprint(run_widgets.VERSION)"
    assert cells[1].source == (
        "image = run_widgets.DEFAULT_CPU_IMAGE  # azureml.core.runconfig\n"
        "other = azureml.core.runconfig.NotInRunWidgets\n"
        "text = 'azureml.core.runconfig.DEFAULT_CPU_IMAGE'"
    )
    assert report.statements == 1
    # without the import anywhere, a cell's qualified names are not ours to rewrite
    assert rewrite_source("x = azureml.core.VERSION").text == "x = azureml.core.VERSION"
