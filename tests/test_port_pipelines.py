"""Ported v1 notebooks written in the style of Azure ML's pipeline and dataset samples run
locally: ``python -m run_widgets.port`` rewrites them, the cells it reports as Azure-only
are left out, and the rest runs in a real kernel (datasets read from a local HTTP server
the test starts)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from http_files import FileServer, http_files
from nbclient import NotebookClient
from pipeline_helpers import no_leftover_pipelines

from run_widgets.port import port_paths
from run_widgets.port.cloud import DATASET, DOCKER, PIPELINE, SIGN_IN

__all__ = ["http_files", "no_leftover_pipelines"]
pytestmark = [pytest.mark.slow, pytest.mark.notebook]
V1 = Path(__file__).with_name("v1_notebooks")
IRIS = "sepal_length,sepal_width,petal_length,petal_width,species\n" + "".join(
    f"{5 + i / 10},{3 + i / 20},{1 + i / 5},{i / 10},{'setosa' if i < 5 else 'virginica'}\n"
    for i in range(10)
)


def run_ported(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[nbformat.NotebookNode, dict[int, set[str]]]:
    (report,) = port_paths([V1 / name], tmp_path / "ported")
    cloud: dict[int, set[str]] = {}
    for location, finding in report.cloud_only:
        if finding.category != DOCKER:
            assert location.cell is not None
            cloud.setdefault(location.cell, set()).add(finding.category)
    notebook = nbformat.read(tmp_path / "ported" / name, as_version=4)
    notebook.cells = [c for i, c in enumerate(notebook.cells) if i not in cloud]
    work = tmp_path / "ported"
    (work / "run_widgets.json").write_text('{"workspace": "./ws"}', encoding="utf-8")
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors, errors
    return notebook, cloud


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_a_pipeline_notebook_runs_after_porting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook, cloud = run_ported("pipeline-data-dependency-v1.ipynb", tmp_path, monkeypatch)
    assert {frozenset(c) for c in cloud.values()} == {
        frozenset({PIPELINE}),
        frozenset({SIGN_IN}),
    }  # schedule, REST
    text = text_of(notebook)
    assert "Blobstore's name: workspaceblobstore" in text
    assert "Pipeline validation complete" in text
    assert "PipelineRun Status: Completed" in text
    assert "path on datastore: azureml/" in text
    assert "{'survivors': 3}" in text
    assert "[('train.py', 'Completed'), ('extract.py', 'Completed')]" in text
    assert "PublishedPipeline(Name: My_New_Pipeline" in text


def test_a_dataset_notebook_runs_after_porting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_files: FileServer
) -> None:
    (http_files.folder / "iris.csv").write_text(IRIS, encoding="utf-8")
    monkeypatch.setenv("IRIS_URL", http_files.url("iris.csv"))  # the kernel inherits it
    notebook, cloud = run_ported("train-with-datasets-v1.ipynb", tmp_path, monkeypatch)
    assert list(cloud.values()) == [{DATASET}]  # from_sql_query
    text = text_of(notebook)
    assert "iris 1" in text
    assert "'rows': 10" in text and "'features': 4" in text
    assert "['/iris.csv']" in text
    assert "copied ['iris.csv']" in text
