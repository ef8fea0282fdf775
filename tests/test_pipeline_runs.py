"""Pipelines run for real on the local executor: order, data passing, reuse, failure, cancel,
datasets and outputs, published pipelines and endpoints.

Each step is a real script run by a real supervisor process, started by a real pipeline
driver process; steps caught mid-run wait for release files the test writes.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from pipeline_helpers import no_leftover_pipelines, scripts, statuses, wait_pipeline
from submit_helpers import source_dir, wait_until
from sweep_helpers import max_overlap

from run_widgets import (
    AmlCompute,
    ComputeTarget,
    Dataset,
    Experiment,
    OutputFileDatasetConfig,
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    PublishedPipeline,
    PythonScriptStep,
    Run,
    ScriptRunConfig,
    UserErrorException,
    Workspace,
)

__all__ = ["no_leftover_pipelines"]
pytestmark = pytest.mark.slow


def upload(ws: Workspace, tmp_path: Path, name: str, text: str, folder: str) -> None:
    """Put ``text`` as ``folder/name`` on the default datastore."""
    local = tmp_path / "uploads" / name
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text, encoding="utf-8")
    ws.get_default_datastore().upload_files(
        [str(local)], target_path=folder, overwrite=True, show_progress=False
    )


def copy_step(
    src: Path, name: str, source: object, output: PipelineData, tag: str, **kwargs: object
) -> PythonScriptStep:
    return PythonScriptStep(
        "copy_files.py",
        name=name,
        source_directory=src,
        arguments=["--input", source, "--output", output, "--tag", tag],
        outputs=[output],
        **kwargs,
    )


def test_steps_run_in_dependency_order_and_pass_their_data(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    src = scripts(tmp_path)
    upload(ws, tmp_path, "raw.txt", "abc", "raw")
    raw = ws.get_default_datastore().path("raw/raw.txt", data_reference_name="raw")
    first, second, third = PipelineData("first"), PipelineData("second"), PipelineData("third")
    copy_step(src, "a", raw, first, "1", inputs=[raw])
    copy_step(src, "b", first, second, "2", inputs=[first])
    c = copy_step(src, "c", second, third, "3", inputs=[second])
    run = exp.submit(Pipeline(ws, [c]))  # a and b come in through the data they produce
    out = io.StringIO()
    with redirect_stdout(out):
        assert run.wait_for_completion(show_output=True) == "Completed"
    text = out.getvalue()
    assert f"PipelineRunId: {run.id}" in text
    assert "StepRun( b ) Status" in text and "copied 1 file(s)" in text
    assert "PipelineRun Status: Completed" in text
    steps = {s.name: s for s in run.get_steps()}
    assert set(steps) == {"a", "b", "c"}
    records = {name: ws.store.get_run(step.id) for name, step in steps.items()}
    assert records["a"].end_time <= records["b"].start_time  # type: ignore[union-attr, operator]
    assert records["b"].end_time <= records["c"].start_time  # type: ignore[union-attr, operator]
    folder = (
        run.find_step_run("c")[0]
        .get_output_data("third")
        .download(tmp_path / "out", show_progress=False)
    )
    assert (Path(folder) / "raw.txt").read_text(encoding="utf-8") == "abc123"
    assert steps["c"].get_metrics() == {"chars": 5}
    reference = steps["a"].get_outputs()["first"].get_port_data_reference()
    assert reference.datastore_name == "workspaceblobstore"
    assert reference.path_on_datastore == f"azureml/{steps['a'].id}/first"
    assert run.type == "azureml.PipelineRun" and steps["a"].type == "azureml.StepRun"


def two_branches(ws: Workspace, src: Path) -> Pipeline:
    store = ws.get_default_datastore()
    left_in = store.path("left/l.txt", data_reference_name="left_in")
    right_in = store.path("right/r.txt", data_reference_name="right_in")
    left, right, merged = PipelineData("left"), PipelineData("right"), PipelineData("merged")
    copy_step(src, "left", left_in, left, "L", inputs=[left_in])
    copy_step(src, "right", right_in, right, "R", inputs=[right_in])
    s3 = PythonScriptStep(
        "merge.py",
        name="merge",
        source_directory=src,
        arguments=["--left", left, "--right", right, "--output", merged],
        inputs=[left, right],
        outputs=[merged],
    )
    return Pipeline(ws, [s3])


def test_unchanged_steps_are_reused_and_a_changed_input_reruns_exactly_its_downstream(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    src = scripts(tmp_path)
    upload(ws, tmp_path, "l.txt", "left-1 ", "left")
    upload(ws, tmp_path, "r.txt", "right-1", "right")
    pipeline = two_branches(ws, src)
    first = exp.submit(pipeline)
    assert wait_pipeline(first) == "Completed"
    assert statuses(first) == {n: ("Completed", False) for n in ("left", "right", "merge")}

    again = exp.submit(pipeline)  # nothing changed: no step runs
    assert wait_pipeline(again) == "Completed"
    assert statuses(again) == {n: ("Completed", True) for n in ("left", "right", "merge")}
    originals = {s.name: s.id for s in first.get_steps()}
    assert {s.name: s.reused_run_id for s in again.get_steps()} == originals
    assert all(s.get_file_names() == [] for s in again.get_steps())  # no log: nothing ran
    assert again.find_step_run("merge")[0].get_metrics() == {"merged_chars": 16}  # the reused run's

    upload(ws, tmp_path, "r.txt", "right-2!", "right")  # one input changes
    third = exp.submit(pipeline)
    assert wait_pipeline(third) == "Completed"
    assert statuses(third) == {
        "left": ("Completed", True),
        "right": ("Completed", False),
        "merge": ("Completed", False),
    }
    merged = (
        third.find_step_run("merge")[0]
        .get_output_data("merged")
        .download(tmp_path / "m", show_progress=False)
    )
    assert (Path(merged) / "merged.txt").read_text(encoding="utf-8") == "left-1 Lright-2!R"

    fresh = exp.submit(pipeline, regenerate_outputs=True)  # v1's way to run every step again
    assert wait_pipeline(fresh) == "Completed"
    assert not any(reused for _, reused in statuses(fresh).values())


def test_changed_parameters_and_scripts_rerun_the_steps(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    src = scripts(tmp_path)
    upload(ws, tmp_path, "raw.txt", "x", "raw")
    raw = ws.get_default_datastore().path("raw/raw.txt", data_reference_name="raw")
    tag = PipelineParameter("tag", "A")
    out = PipelineData("out")
    step = PythonScriptStep(
        "copy_files.py",
        name="copy",
        source_directory=src,
        arguments=["--input", raw, "--output", out, "--tag", tag],
        inputs=[raw],
        outputs=[out],
    )
    pipeline = Pipeline(ws, [step])
    assert wait_pipeline(exp.submit(pipeline)) == "Completed"
    same = exp.submit(pipeline, pipeline_parameters={"tag": "A"})
    assert wait_pipeline(same) == "Completed" and statuses(same)["copy"] == ("Completed", True)
    other = exp.submit(pipeline, pipeline_parameters={"tag": "B"})
    assert wait_pipeline(other) == "Completed" and statuses(other)["copy"] == ("Completed", False)
    assert other.get_pipeline_parameters()["tag"] == "B"
    (src / "copy_files.py").write_text(
        (src / "copy_files.py").read_text() + "\n# a change\n", encoding="utf-8"
    )
    edited = exp.submit(Pipeline(ws, [step]), pipeline_parameters={"tag": "B"})
    assert wait_pipeline(edited) == "Completed" and statuses(edited)["copy"] == ("Completed", False)


def test_independent_steps_run_together_within_max_nodes(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    src = scripts(tmp_path)
    flags = tmp_path / "flags"
    flags.mkdir()

    def waiting(name: str, release: str) -> PythonScriptStep:
        return PythonScriptStep(
            "wait.py",
            name=name,
            source_directory=src,
            arguments=["--flag", str(flags / name), "--release", str(flags / release)],
        )

    # Each step finishes only once the other has started: they must run at the same time.
    together = exp.submit(Pipeline(ws, [waiting("one", "two"), waiting("two", "one")]))
    assert wait_pipeline(together) == "Completed"
    for flag in flags.iterdir():
        flag.unlink()

    ComputeTarget.create(ws, "one-node", AmlCompute.provisioning_configuration(max_nodes=1))
    (flags / "go").write_text("released", encoding="utf-8")
    steps = [
        PythonScriptStep(
            "wait.py",
            name=f"s{i}",
            source_directory=src,
            compute_target="one-node",
            arguments=["--flag", str(flags / f"s{i}"), "--release", str(flags / "go")],
        )
        for i in range(3)
    ]
    serial = exp.submit(Pipeline(ws, steps))
    assert wait_pipeline(serial) == "Completed"
    records = [ws.store.get_run(s.id) for s in serial.get_steps()]
    intervals = [(r.start_time, r.end_time) for r in records if r is not None]
    assert len(intervals) == 3 and max_overlap(intervals) == 1  # type: ignore[arg-type]


def test_a_failed_step_fails_the_pipeline_and_its_downstream_never_starts(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    src = scripts(tmp_path)
    flags = tmp_path / "flags"
    flags.mkdir()
    broken_out, downstream_out = PipelineData("broken_out"), PipelineData("downstream_out")
    PythonScriptStep(
        "fail.py", name="broken", source_directory=src, arguments=[broken_out], outputs=[broken_out]
    )
    downstream = copy_step(src, "downstream", broken_out, downstream_out, "x", inputs=[broken_out])
    waiter = PythonScriptStep(
        "wait.py",
        name="waiter",
        source_directory=src,
        arguments=["--flag", str(flags / "waiter"), "--release", str(flags / "never")],
    )
    run = exp.submit(Pipeline(ws, [downstream, waiter]))
    assert wait_pipeline(run) == "Failed"
    found = statuses(run)
    assert found["broken"] == ("Failed", False)
    assert "downstream" not in found  # never started
    assert found["waiter"][0] == "Canceled"  # without continue_on_step_failure
    error = run.get_details()["error"]["error"]["message"]
    assert "'broken'" in error and "not started: 'downstream'" in error
    with pytest.raises(Exception, match="Activity Failed"):
        run.wait_for_completion(show_output=False)

    (flags / "go").write_text("now", encoding="utf-8")
    independent = copy_step(
        src, "independent", str(src / "copy_files.py"), PipelineData("copied"), "!"
    )
    kept_going = exp.submit(Pipeline(ws, [downstream, independent]), continue_on_step_failure=True)
    assert wait_pipeline(kept_going) == "Failed"
    found = statuses(kept_going)
    assert found["independent"] == ("Completed", False)
    assert found["broken"][0] == "Failed" and "downstream" not in found


def test_cancel_mid_pipeline(
    ws: Workspace, exp: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_WIDGETS_CANCEL_GRACE_S", "1")
    src = scripts(tmp_path)
    flag, out = tmp_path / "started", PipelineData("held")
    PythonScriptStep(
        "wait.py",
        name="first",
        source_directory=src,
        arguments=["--flag", str(flag), "--release", str(tmp_path / "never"), "--output", out],
        outputs=[out],
    )
    second = copy_step(src, "second", out, PipelineData("after"), "x", inputs=[out])
    run = exp.submit(Pipeline(ws, [second]))
    wait_until(flag.exists, 60, what="the first step to run")
    run.cancel()
    assert wait_pipeline(run) == "Canceled"
    found = statuses(run)
    assert found == {"first": ("Canceled", False)}


def test_datasets_and_outputs_flow_through_steps(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    store = ws.get_default_datastore()
    upload(ws, tmp_path, "iris.csv", "a,b\n1,2\n3,4\n5,6\n", "tables")
    table = Dataset.Tabular.from_delimited_files([(store, "tables/iris.csv")])
    files = Dataset.File.from_files((store, "tables/"))
    src = source_dir(
        tmp_path,
        {
            "prep.py": """
import argparse, os
from run_widgets import Run
run = Run.get_context()
p = argparse.ArgumentParser(); p.add_argument("--files"); p.add_argument("--table"); p.add_argument("--out")
a = p.parse_args()
frame = run.input_datasets["table"].to_pandas_dataframe()
assert a.table == run.input_datasets["table"].id
listed = sorted(os.listdir(a.files))
os.makedirs(a.out, exist_ok=True)
frame.assign(c=frame.a + frame.b).to_csv(os.path.join(a.out, "prepared.csv"), index=False)
run.log("rows", len(frame)); run.log("files", len(listed))
""",
            "train.py": """
from run_widgets import Run
run = Run.get_context()
prepared = run.input_datasets["prepared_table"].to_pandas_dataframe()
run.log("total", float(prepared.c.sum()))
""",
        },
        "data-src",
    )
    prepared = OutputFileDatasetConfig(name="prepared").register_on_complete(
        "prepared_ds", description="by prep"
    )
    PythonScriptStep(
        "prep.py",
        name="prep",
        source_directory=src,
        arguments=[
            "--files",
            files.as_named_input("files").as_mount(),
            "--table",
            table.as_named_input("table"),
            "--out",
            prepared,
        ],
    )
    train = PythonScriptStep(
        "train.py",
        name="train",
        source_directory=src,
        arguments=[prepared.read_delimited_files().as_input("prepared_table")],
    )
    run = exp.submit(Pipeline(ws, [train]))
    assert wait_pipeline(run) == "Completed", run.get_details().get("error")
    steps = {s.name: s for s in run.get_steps()}
    assert steps["prep"].get_metrics() == {"rows": 3, "files": 1}
    assert steps["train"].get_metrics() == {"total": 3.0 + 7.0 + 11.0}
    registered = Dataset.get_by_name(ws, "prepared_ds")
    assert registered.version == 1 and registered.description == "by prep"
    assert registered.to_path() == ["/prepared.csv"]  # a file dataset, as in v1
    inputs = steps["prep"].get_details()["inputDatasets"]
    assert {
        i["consumptionDetails"]["inputName"]: i["consumptionDetails"]["mechanism"] for i in inputs
    } == {
        "files": "Mount",
        "table": "Direct",
    }
    outputs = steps["prep"].get_details()["outputDatasets"]
    assert outputs[0]["dataset"].name == "prepared_ds"


def test_script_run_config_takes_datasets_and_outputs(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    store = ws.get_default_datastore()
    upload(ws, tmp_path, "iris.csv", "x\n1\n2\n", "script-run")
    source = source_dir(
        tmp_path,
        {
            "dummy_train.py": """
import os, sys
from run_widgets import Run
mounted_input_path, mounted_output_path = sys.argv[1], sys.argv[2]
content = open(mounted_input_path).read()
open(os.path.join(mounted_output_path, "output.csv"), "w").write(content)
print("inputs:", sorted(Run.get_context().input_datasets))
"""
        },
        "script-run-src",
    )
    input_data = (
        Dataset.File.from_files(store.path("script-run/iris.csv"))
        .as_named_input("input")
        .as_mount()
    )
    output = OutputFileDatasetConfig(destination=(store, "sample/{run-id}"))
    run = exp.submit(
        ScriptRunConfig(
            source_directory=source, script="dummy_train.py", arguments=[input_data, output]
        )
    )
    run.wait_for_completion(show_output=False)
    assert "inputs: ['input']" in Path(run.get_file_path("logs/driver_log.txt")).read_text()
    written = ws.get_default_datastore().full_path(f"sample/{run.id}/output.csv")
    assert Path(written).read_text(encoding="utf-8") == "x\n1\n2\n"
    assert set(run.input_datasets) == {"input"}
    assert run.input_datasets["input"].to_path() == ["/iris.csv"]


def test_missing_input_fails_the_run_before_the_script(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    upload(ws, tmp_path, "gone.csv", "x\n", "vanishing")
    source = source_dir(tmp_path, {"t.py": "print('ran')\n"}, "vanish-src")
    dataset = Dataset.File.from_files((ws.get_default_datastore(), "vanishing/gone.csv"))
    Path(ws.get_default_datastore().full_path("vanishing/gone.csv")).unlink()
    run = exp.submit(
        ScriptRunConfig(
            source_directory=source,
            script="t.py",
            arguments=[dataset.as_named_input("d").as_download()],
        )
    )
    details = run.wait_for_completion(show_output=False, raise_on_error=False)
    assert details["status"] == "Failed"
    assert details["error"]["error"]["code"] == "DataPreparationFailed"
    assert "vanishing/gone.csv" in details["error"]["error"]["message"]
    assert "logs/driver_log.txt" not in run.get_file_names()  # the script never started


def test_published_pipelines_and_endpoints(ws: Workspace, exp: Experiment, tmp_path: Path) -> None:
    src = scripts(tmp_path)
    upload(ws, tmp_path, "raw.txt", "p", "raw")
    raw = ws.get_default_datastore().path("raw/raw.txt", data_reference_name="raw")
    tag = PipelineParameter("tag", "default")
    out = PipelineData("out")
    step = PythonScriptStep(
        "copy_files.py",
        name="copy",
        source_directory=src,
        arguments=["--input", raw, "--output", out, "--tag", tag],
        inputs=[raw],
        outputs=[out],
    )
    published = Pipeline(ws, [step]).publish(name="copier", description="copies", version="1.0")
    again = PublishedPipeline.get(ws, published.id)
    assert (again.name, again.version, again.parameters) == ("copier", "1.0", {"tag": "default"})
    run = again.submit(ws, "published-exp", pipeline_parameters={"tag": "!"})
    assert wait_pipeline(run) == "Completed"
    folder = (
        run.find_step_run("copy")[0]
        .get_output_data("out")
        .download(tmp_path / "o", show_progress=False)
    )
    assert (Path(folder) / "raw.txt").read_text() == "p!"
    assert run.get_properties()["azureml.pipelineid"] == published.id
    with pytest.raises(
        UserErrorException, match=r"names \['nope'\], which published pipeline 'copier'"
    ):
        again.submit(ws, "published-exp", pipeline_parameters={"nope": 1})

    endpoint = PipelineEndpoint.publish(
        ws, name="copy-endpoint", description="d", pipeline=published
    )
    second = Pipeline(ws, [step]).publish(name="copier-2")
    endpoint.add(second)
    assert [v.version for v in endpoint.list_versions()] == ["0", "1"]
    endpoint.set_default_version("1")
    found = PipelineEndpoint.get(ws, name="copy-endpoint")
    assert found.get_default_version() == "1" and found.get_pipeline().id == second.id
    via_experiment = Experiment(ws, "endpoint-exp").submit(found, pipeline_version="0")
    assert wait_pipeline(via_experiment) == "Completed"
    assert via_experiment.get_properties()["azureml.pipelineid"] == published.id
    found.disable()
    with pytest.raises(UserErrorException, match="is disabled"):
        found.submit("endpoint-exp")
    with pytest.raises(UserErrorException, match="exists already"):
        PipelineEndpoint.publish(ws, name="copy-endpoint", description="d", pipeline=published)
    assert [e.name for e in PipelineEndpoint.list(ws, active_only=False)] == ["copy-endpoint"]
    with pytest.raises(UserErrorException, match="No published pipeline with id 'nope'"):
        PublishedPipeline.get(ws, "nope")


def test_a_reopened_pipeline_run_is_a_pipeline_run(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    src = scripts(tmp_path)
    step = copy_step(src, "copy", str(src / "copy_files.py"), PipelineData("out"), "")
    run = exp.submit(Pipeline(ws, [step]))
    assert wait_pipeline(run) == "Completed"
    reopened = PipelineRun(exp, run.id)
    assert [s.name for s in reopened.get_steps()] == ["copy"]
    assert isinstance(Run.get(ws, run.id), PipelineRun)
    assert isinstance(next(iter(exp.get_runs())), PipelineRun)


def test_a_datapath_parameter_to_an_empty_path_is_mounted_as_v1_did(
    ws: Workspace, exp: Experiment, tmp_path: Path
) -> None:
    from run_widgets import DataPath, DataPathComputeBinding

    src = source_dir(
        tmp_path,
        {"show.py": "import sys, os\nprint('arg', sys.argv[1], os.path.isdir(sys.argv[1]))\n"},
        "dp",
    )
    where = PipelineParameter(
        "input_datapath", DataPath(ws.get_default_datastore(), "sample_datapath1")
    )
    binding = (where, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep(
        "show.py", name="show", source_directory=src, arguments=[binding], inputs=[binding]
    )
    run = exp.submit(Pipeline(ws, [step]))
    assert wait_pipeline(run) == "Completed", run.get_details().get("error")
    assert (
        "datastores/workspaceblobstore/sample_datapath1"
        in run.find_step_run("show")[0].get_job_log()
    )
