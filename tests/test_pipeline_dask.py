"""Pipelines on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes
on 127.0.0.1, started and stopped by the fixture here. Independent steps run on both
workers at the same time (each waits until the other has started), and data flows between
steps as on the local executor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from dask_helpers import DaskProcesses, dask_processes
from pipeline_helpers import no_leftover_pipelines, scripts, statuses, wait_pipeline

from run_widgets import (
    ComputeTarget,
    DaskCompute,
    Experiment,
    Pipeline,
    PipelineData,
    PythonScriptStep,
    Workspace,
)

__all__ = ["no_leftover_pipelines"]
pytestmark = [pytest.mark.slow, pytest.mark.dask]
SQLITE_ONLY = "what runs on the cluster does not depend on the store backend (tests/test_pipeline_runs.py runs on both)"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    with dask_processes(tmp_path_factory.mktemp("dask-pipelines"), workers=2) as processes:
        yield processes


def test_a_pipeline_runs_on_a_dask_cluster(
    ws: Workspace, exp: Experiment, cluster: DaskProcesses, tmp_path: Path
) -> None:
    cluster.wait_for_workers(2)
    ComputeTarget.attach(ws, "cluster", DaskCompute.attach_configuration(address=cluster.address))
    src = scripts(tmp_path)
    flags = tmp_path / "flags"
    flags.mkdir()
    left, right, merged = PipelineData("left"), PipelineData("right"), PipelineData("merged")

    def meeting(name: str, other: str, out: PipelineData) -> PythonScriptStep:
        # Writes its flag, then waits for the other's: both must run at once.
        return PythonScriptStep(
            "wait.py",
            name=name,
            source_directory=src,
            compute_target="cluster",
            arguments=[
                "--flag",
                str(flags / name),
                "--release",
                str(flags / other),
                "--output",
                out,
            ],
            outputs=[out],
        )

    a, b = meeting("a", "b", left), meeting("b", "a", right)
    a_write = PythonScriptStep(
        "copy_files.py",
        name="copy",
        source_directory=src,
        compute_target="cluster",
        arguments=["--input", str(src / "wait.py"), "--output", merged],
        outputs=[merged],
    )
    a_write.run_after(a)
    a_write.run_after(b)
    run = exp.submit(Pipeline(ws, [a_write]))
    assert wait_pipeline(run, timeout=180) == "Completed", run.get_details().get("error")
    assert statuses(run) == {n: ("Completed", False) for n in ("a", "b", "copy")}
    workers = {s.name: s.get_properties().get("dask_worker") for s in run.get_steps()}
    assert workers["a"] and workers["b"] and workers["a"] != workers["b"]
    assert run.find_step_run("copy")[0].get_metrics()["chars"] > 0
    again = exp.submit(Pipeline(ws, [a_write]))
    assert wait_pipeline(again, timeout=180) == "Completed"
    assert all(reused for _, reused in statuses(again).values())
