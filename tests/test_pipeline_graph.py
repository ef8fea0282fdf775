"""A pipeline's graph before anything runs: closure, order, and every check of validate().

Kernel-free and server-free: steps are built over small source folders; ``validate()``
compiles them (snapshots, environments, compute targets) but starts nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from submit_helpers import source_dir

from run_widgets import (
    AmlCompute,
    CommandStep,
    ComputeTarget,
    DataPath,
    DataPathComputeBinding,
    DataReference,
    Dataset,
    DatasetConsumptionConfig,
    Datastore,
    OutputFileDatasetConfig,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineValidationError,
    PythonScriptStep,
    StepSequence,
    UserErrorException,
    Workspace,
)
from run_widgets.pipeline.graph import build


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return source_dir(
        tmp_path, {"a.py": "print('a')\n", "b.py": "print('b')\n", "c.py": "print('c')\n"}
    )


def names(steps: list[PythonScriptStep]) -> list[str]:
    return [s.name for s in steps]


def test_closure_adds_producers_and_orders_by_data(ws: Workspace, src: Path) -> None:
    first = PipelineData("first")
    second = PipelineData("second")
    PythonScriptStep("a.py", source_directory=src, arguments=["--out", first], outputs=[first])
    PythonScriptStep(
        "b.py",
        source_directory=src,
        arguments=["--in", first, "--out", second],
        inputs=[first],
        outputs=[second],
    )
    c = PythonScriptStep(
        "c.py", source_directory=src, arguments=["--in", second]
    )  # undeclared input
    pipeline = Pipeline(ws, [c])
    assert names(pipeline.steps) == ["a.py", "b.py", "c.py"]
    graph = build([c])
    assert graph.upstream == {"step_0": [], "step_1": ["step_0"], "step_2": ["step_1"]}
    assert pipeline.validate() == []
    spec = pipeline.compile()
    assert [s["arguments"] for s in spec["steps"]] == [
        ["--out", "$AZUREML_DATAREFERENCE_first"],
        ["--in", "$AZUREML_DATAREFERENCE_first", "--out", "$AZUREML_DATAREFERENCE_second"],
        ["--in", "$AZUREML_DATAREFERENCE_second"],
    ]
    edges = {(e["from"], e["to"]) for e in spec["graph"]["edges"]}
    assert edges == {
        ("step_0", "data:first"),
        ("data:first", "step_1"),
        ("step_1", "data:second"),
        ("data:second", "step_2"),
    }


def test_without_closure_a_missing_producer_is_an_error(ws: Workspace, src: Path) -> None:
    data = PipelineData("made")
    PythonScriptStep("a.py", source_directory=src, outputs=[data], arguments=[data])
    consumer = PythonScriptStep("b.py", source_directory=src, inputs=[data])
    with pytest.raises(
        PipelineValidationError,
        match=r"'b.py' reads 'made', which no step of the pipeline produces",
    ):
        Pipeline(ws, [consumer], resolve_closure=False).validate()


def test_an_output_consumed_but_never_produced_names_it(ws: Workspace, src: Path) -> None:
    orphan = PipelineData("orphan")
    step = PythonScriptStep("a.py", source_directory=src, arguments=["--in", orphan])
    with pytest.raises(PipelineValidationError, match="reads 'orphan', which no step"):
        Pipeline(ws, [step]).validate()
    output = OutputFileDatasetConfig(name="later")
    reader = PythonScriptStep("b.py", source_directory=src, arguments=[output.as_input()])
    with pytest.raises(PipelineValidationError, match="reads 'later'"):
        Pipeline(ws, [reader]).validate()


def test_a_cycle_is_named(ws: Workspace, src: Path) -> None:
    a = PythonScriptStep("a.py", name="first", source_directory=src)
    b = PythonScriptStep("b.py", name="second", source_directory=src)
    c = PythonScriptStep("c.py", name="third", source_directory=src)
    b.run_after(a)
    c.run_after(b)
    a.run_after(c)
    with pytest.raises(
        PipelineValidationError, match=r"form a cycle: '(first|second|third)' -> .* -> "
    ):
        Pipeline(ws, [a]).validate()


def test_a_data_cycle_is_an_error_too(ws: Workspace, src: Path) -> None:
    x, y = PipelineData("x"), PipelineData("y")
    a = PythonScriptStep("a.py", source_directory=src, inputs=[y], outputs=[x], arguments=[x, y])
    b = PythonScriptStep("b.py", source_directory=src, inputs=[x], outputs=[y], arguments=[x, y])
    with pytest.raises(PipelineValidationError, match="cycle"):
        Pipeline(ws, [a, b]).validate()


def test_two_producers_and_name_clashes(ws: Workspace, src: Path) -> None:
    shared = PipelineData("shared")
    a = PythonScriptStep("a.py", source_directory=src, outputs=[shared])
    b = PythonScriptStep("b.py", source_directory=src, outputs=[shared])
    with pytest.raises(
        PipelineValidationError, match=r"'shared' is produced by two steps, 'a\.py' and 'b\.py'"
    ):
        Pipeline(ws, [a, b]).validate()
    c = PythonScriptStep("a.py", source_directory=src, outputs=[PipelineData("same")])
    d = PythonScriptStep("b.py", source_directory=src, outputs=[PipelineData("same")])
    with pytest.raises(
        PipelineValidationError, match="Two different data objects are named 'same'"
    ):
        Pipeline(ws, [c, d]).validate()


def test_step_sequence_and_run_after_order_steps(ws: Workspace, src: Path) -> None:
    a = PythonScriptStep("a.py", source_directory=src)
    b = PythonScriptStep("b.py", source_directory=src)
    c = PythonScriptStep("c.py", source_directory=src)
    StepSequence([c, [a, b]])
    graph = Pipeline(ws, [b, a, c]).graph
    assert names(graph.steps)[0] == "c.py"
    assert sorted(graph.upstream[graph.node_id(a)]) == [graph.node_id(c)]
    assert sorted(graph.upstream[graph.node_id(b)]) == [graph.node_id(c)]


def test_validate_names_missing_folder_script_target_and_datastore(
    ws: Workspace, src: Path, tmp_path: Path
) -> None:
    with pytest.raises(PipelineValidationError, match=r"source_directory .* is not a folder"):
        Pipeline(ws, [PythonScriptStep("a.py", source_directory=tmp_path / "nope")]).validate()
    with pytest.raises(PipelineValidationError, match=r"missing\.py script path doesn't exist"):
        Pipeline(ws, [PythonScriptStep("missing.py", source_directory=src)]).validate()
    with pytest.raises(
        PipelineValidationError, match="Compute target with name 'gpu-cluster' not found"
    ):
        Pipeline(
            ws, [PythonScriptStep("a.py", source_directory=src, compute_target="gpu-cluster")]
        ).validate()
    blob = Datastore.register_azure_blob_container(
        ws, "blobby", "container", "account", account_key="a2V5", skip_validation=True
    )
    reference = DataReference(blob, "raw", "raw/")
    blob.unregister()
    with pytest.raises(PipelineValidationError, match="No datastore named 'blobby'"):
        Pipeline(
            ws, [PythonScriptStep("a.py", source_directory=src, inputs=[reference])]
        ).validate()


def test_missing_dataset_files_fail_validation(ws: Workspace, src: Path, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n", encoding="utf-8")
    dataset = Dataset.File.from_files(str(data))
    step = PythonScriptStep(
        "a.py", source_directory=src, arguments=[dataset.as_named_input("raw").as_mount()]
    )
    pipeline = Pipeline(ws, [step])
    data.unlink()
    with pytest.raises(
        PipelineValidationError, match=r"'a.py' reads a dataset that cannot be read: .*data.csv"
    ):
        pipeline.validate()


def test_parameters_are_collected_and_checked(ws: Workspace, src: Path) -> None:
    count = PipelineParameter("count", 3)
    where = PipelineParameter("where", DataPath(ws.get_default_datastore(), "raw"))
    step = PythonScriptStep(
        "a.py",
        source_directory=src,
        arguments=["--n", count, "--in", (where, DataPathComputeBinding(mode="mount"))],
        inputs=[(where, DataPathComputeBinding(mode="mount"))],
    )
    pipeline = Pipeline(ws, [step])
    assert set(pipeline.parameters) == {"count", "where"}
    spec, values = pipeline._prepare(ws, {"count": 5})
    assert values["count"] == 5
    assert values["where"] == {"kind": "datapath", "datastore": "workspaceblobstore", "path": "raw"}
    assert spec["steps"][0]["arguments"] == [
        "--n",
        "$AML_PARAMETER_count",
        "--in",
        "$AZUREML_DATAREFERENCE_where",
    ]
    with pytest.raises(
        UserErrorException, match=r"pipeline_parameters names \['cuont'\].*it has: count, where"
    ):
        pipeline._prepare(ws, {"cuont": 5})
    with pytest.raises(UserErrorException, match="must start with a letter"):
        PipelineParameter("1bad", 1)
    with pytest.raises(TypeError, match="must be a str, number, bool, DataPath or Dataset"):
        PipelineParameter("x", object())


def test_dataset_parameters_become_dataset_inputs(ws: Workspace, src: Path, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n", encoding="utf-8")
    parameter = PipelineParameter("data", Dataset.File.from_files(str(tmp_path / "d.csv")))
    consumption = DatasetConsumptionConfig("raw", parameter).as_mount()
    step = PythonScriptStep(
        "a.py", source_directory=src, arguments=[consumption], inputs=[consumption]
    )
    spec = Pipeline(ws, [step]).compile()
    (entry,) = spec["steps"][0]["inputs"]
    assert entry == {
        "name": "raw",
        "mode": "mount",
        "kind": "dataset_parameter",
        "parameter": "data",
    }


def test_compute_targets_and_command_steps_compile(ws: Workspace, src: Path) -> None:
    target = ComputeTarget.create(
        ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2)
    )
    step = CommandStep("python a.py --x 1", source_directory=src, compute_target=target)
    spec = Pipeline(ws, [step]).compile()
    (compiled,) = spec["steps"]
    assert compiled["command"] == ["python", "a.py", "--x", "1"]
    assert compiled["definition"]["compute"]["properties"]["maxNodes"] == 2
    assert compiled["name"] == "python"
    status = target.get_status()  # v1 notebooks print target.get_status().serialize()
    assert status == "Succeeded" and status.serialize()["maxNodes"] == 2


def test_v1_run_configuration_takes_conda_dependencies(ws: Workspace, src: Path) -> None:
    from run_widgets import CondaDependencies, RunConfiguration

    packages = CondaDependencies()
    packages.add_pip_package("pandas")
    config = RunConfiguration(conda_dependencies=packages)
    assert config.environment.python.conda_dependencies is packages
    step = PythonScriptStep("a.py", source_directory=src, runconfig=config)
    assert step.environment.python.user_managed_dependencies is False


def test_bad_step_arguments_name_the_problem(src: Path) -> None:
    with pytest.raises(TypeError, match="A step argument must be a str, a number"):
        PythonScriptStep("a.py", source_directory=src, arguments=[object()])
    with pytest.raises(TypeError, match="A step output must be PipelineData"):
        PythonScriptStep("a.py", source_directory=src, outputs=["out"])
    with pytest.raises(UserErrorException, match="script_name must be a non-empty str"):
        PythonScriptStep("", source_directory=src)
    step = PythonScriptStep("a.py", source_directory=src)
    with pytest.raises(UserErrorException, match="cannot run after itself"):
        step.run_after(step)
    with pytest.raises(UserErrorException, match="at least one step"):
        StepSequence([])
