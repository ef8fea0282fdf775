"""The pipeline view without a kernel: graph state, layout, step table, clicks, snapshot.

Pipelines run for real (local executor); the view's state is read from its widgets
(``get_state()``-level traits) as bqplot/anywidget model tests do.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from pipeline_helpers import no_leftover_pipelines, scripts, wait_pipeline

from run_widgets import Experiment, Pipeline, PipelineData, PythonScriptStep, RunDetails, Workspace
from run_widgets.views.pipeline_graph import COLORS, PipelineGraphModel, graph_png
from run_widgets.widgets.pipeline import PipelineView

__all__ = ["no_leftover_pipelines"]
pytestmark = pytest.mark.slow
SQLITE_ONLY = "the view's state is made from records the pipeline run tests check on both backends"


def build(ws: Workspace, tmp_path: Path) -> Pipeline:
    src = scripts(tmp_path)
    raw = tmp_path / "raw.txt"
    raw.write_text("abc", encoding="utf-8")
    ws.get_default_datastore().upload_files(
        [str(raw)], target_path="raw", overwrite=True, show_progress=False
    )
    source = ws.get_default_datastore().path("raw/raw.txt", data_reference_name="raw")
    prepared, model = PipelineData("prepared"), PipelineData("model")
    PythonScriptStep(
        "copy_files.py",
        name="prep",
        source_directory=src,
        arguments=["--input", source, "--output", prepared],
        inputs=[source],
        outputs=[prepared],
    )
    PythonScriptStep(
        "copy_files.py",
        name="train",
        source_directory=src,
        arguments=["--input", prepared, "--output", model],
        inputs=[prepared],
        outputs=[model],
    )
    broken = PythonScriptStep(
        "fail.py", name="evaluate", source_directory=src, arguments=[model], inputs=[model]
    )
    return Pipeline(ws, [broken])


def test_the_graph_state_layout_and_step_table(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    pipeline = build(ws, tmp_path)
    first = exp.submit(pipeline)
    assert wait_pipeline(first) == "Failed"
    second = exp.submit(pipeline, continue_on_step_failure=True)
    assert wait_pipeline(second) == "Failed"
    view = RunDetails(second)
    try:
        (extension,) = view.extensions
        assert isinstance(extension, PipelineView)
        graph = extension.panel.graph
        steps = {n["name"]: n for n in graph["nodes"] if n["kind"] == "step"}
        data = {n["name"]: n for n in graph["nodes"] if n["kind"] != "step"}
        assert {k: (v["status"], v["reused"]) for k, v in steps.items()} == {
            "prep": ("Completed", True),
            "train": ("Completed", True),
            "evaluate": ("Failed", False),
        }
        assert (
            steps["prep"]["label"] == "prep - Reused"
            and steps["evaluate"]["label"] == "evaluate - Failed"
        )
        assert (
            steps["evaluate"]["color"] == COLORS["failed"]
            and steps["prep"]["color"] == COLORS["completed"]
        )
        assert set(data) == {"prepared", "model", "workspaceblobstore/raw/raw.txt"}
        assert data["workspaceblobstore/raw/raw.txt"]["kind"] == "input"
        assert graph["counts"] == {"Reused": 2, "Failed": 1}
        # Top to bottom: every edge goes down, and no two boxes overlap.
        positions = {n["id"]: n for n in graph["nodes"]}
        for edge in graph["edges"]:
            assert positions[edge["from"]]["y"] < positions[edge["to"]]["y"], edge
            assert edge["points"][0] == [positions[edge["from"]]["x"], positions[edge["from"]]["y"]]
        boxes = list(positions.values())
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                apart_x = abs(a["x"] - b["x"]) >= (a["width"] + b["width"]) / 2
                apart_y = abs(a["y"] - b["y"]) >= (a["height"] + b["height"]) / 2
                assert apart_x or apart_y, (a["name"], b["name"])
        labels = {
            (positions[e["from"]]["name"], positions[e["to"]]["name"]): e["label"]
            for e in graph["edges"]
        }
        assert (
            labels[("prep", "prepared")] == "prepared" and labels[("model", "evaluate")] == "model"
        )

        table = view.children_table
        assert [c["title"] for c in table.columns] == [
            "Step",
            "Status",
            "Reused",
            "Created",
            "Ended",
            "Duration",
            "Run Id",
        ]
        assert sorted((r["display_name"], r["reused"]) for r in table.rows) == [
            ("evaluate", ""),
            ("prep", "Yes"),
            ("train", "Yes"),
        ]
        assert table.sort_key == "created" and table.sort_desc is True

        # A click on a step (the panel's intent) opens that step's own view below.
        evaluate_run = steps["evaluate"]["run_id"]
        extension.panel.selected_id = evaluate_run
        assert table.selected_id == evaluate_run
        child_view = view.detail.children[1]
        assert isinstance(child_view, RunDetails) and child_view.tracker.record.id == evaluate_run
        table.selected_id = ""
        assert extension.panel.selected_id == ""
        extension.panel.selected_id = "not-a-run"  # a step without a run opens nothing
        assert table.selected_id == ""

        bundle = view.static_bundle()
        assert (
            "pipeline graph" in bundle["text/html"]
            and "Steps: 1 Failed, 2 Reused" in bundle["text/html"]
        )
        png = re.search(
            r'alt="pipeline graph" src="data:image/png;base64,([^"]+)"', bundle["text/html"]
        )
        assert png is not None and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
        assert "evaluate</td><td>Failed" in bundle["text/html"]
    finally:
        view.close()


def test_a_step_view_shows_its_lineage(ws: Workspace, exp: Experiment, tmp_path: Path) -> None:
    run = exp.submit(build(ws, tmp_path))
    assert wait_pipeline(run) == "Failed"
    train = run.find_step_run("train")[0]
    view = RunDetails(train)
    try:
        rows = {row[0]: row[1] for row in view.properties.rows}
        assert rows["Input prepared"].startswith("workspaceblobstore:azureml/")
        assert rows["Input prepared"].endswith("(mount)")
        assert rows["Output model"] == f"workspaceblobstore:azureml/{train.id}/model (1 files)"
        assert not any(label.startswith("property: azureml.") for label in rows)
    finally:
        view.close()


def test_a_pipeline_not_started_yet_shows_its_whole_graph(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    run = exp.submit(build(ws, tmp_path))
    model = PipelineGraphModel(ws.store.get_run(run.id))  # type: ignore[arg-type]
    state = model.graph_state({}, "Queued")
    assert {n["name"]: n["status"] for n in state["nodes"] if n["kind"] == "step"} == {
        "prep": "NotStarted",
        "train": "NotStarted",
        "evaluate": "NotStarted",
    }
    assert {n["status"] for n in state["nodes"] if n["kind"] == "data"} == {"pending"}
    assert graph_png(state) is not None
    assert wait_pipeline(run) == "Failed"
