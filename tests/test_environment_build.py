"""Environments built for ``python.user_managed_dependencies = False``: real uv, real PyPI.

The package used, ``pyjokes``, is small, pure Python, and not installed in the test
environment: it is importable by the submitted script only if the isolated environment
really has it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from submit_helpers import source_dir, wait_terminal

from run_widgets import CondaDependencies, Environment, Experiment, Run, ScriptRunConfig
from run_widgets.submit.conda import CondaOnlyPackageError
from run_widgets.submit.envbuild import ENVS

pytestmark = pytest.mark.slow

JOB = """
    import sys
    from run_widgets import Run

    run = Run.get_context()
    import pyjokes

    run.log("joke", pyjokes.get_joke())
    run.log("prefix", sys.prefix)
    try:
        import sklearn  # installed where the tests run, not in the environment
        run.log("sklearn", "visible")
    except ImportError:
        run.log("sklearn", "hidden")
"""


def _jokes(name: str = "jokes", requirement: str = "pyjokes==0.8.3") -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=[requirement])
    return env


def _build_log(run: Run) -> str:
    return (run.files_dir / "logs" / "image_build_log.txt").read_text(encoding="utf-8")


def test_isolated_environment_is_built_once_and_reused(exp: Experiment, tmp_path: Path) -> None:
    assert importlib.util.find_spec("pyjokes") is None  # not where the tests run
    folder = source_dir(tmp_path, {"job.py": JOB})
    first = exp.submit(ScriptRunConfig(folder, "job.py", environment=_jokes()))
    assert wait_terminal(first, timeout=180) == "Completed", first.get_details().get("error")
    metrics = first.get_metrics()
    assert metrics["joke"]
    assert metrics["sklearn"] == "hidden"
    envs = exp.workspace.folder / ENVS
    built = [p for p in envs.iterdir() if p.is_dir()]
    assert len(built) == 1 and metrics["prefix"] == str(built[0])
    log = _build_log(first)
    assert "Building environment 'jokes'" in log and "+ pyjokes==0.8.3" in log
    assert "logs/image_build_log.txt" in first.get_file_names()
    stamp = (built[0] / "run_widgets_environment.json").stat().st_mtime_ns

    # the same packages under another name: the cached build is reused, not rebuilt
    second = exp.submit(ScriptRunConfig(folder, "job.py", environment=_jokes("jokes-again")))
    assert wait_terminal(second, timeout=120) == "Completed", second.get_details().get("error")
    assert "reusing the cached build" in _build_log(second)
    assert "Building environment" not in _build_log(second)
    assert [p for p in envs.iterdir() if p.is_dir()] == built
    assert (built[0] / "run_widgets_environment.json").stat().st_mtime_ns == stamp

    used = second.get_environment()
    assert isinstance(used, Environment)
    assert used.name == "jokes-again"
    assert used.python.user_managed_dependencies is False
    assert used.python.conda_dependencies is not None
    assert used.python.conda_dependencies.pip_packages == ["pyjokes==0.8.3"]


def test_failed_build_fails_the_run_and_keeps_the_log(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(tmp_path, {"job.py": JOB})
    run = exp.submit(
        ScriptRunConfig(folder, "job.py", environment=_jokes("broken", "pyjokes==999.0.0"))
    )
    assert wait_terminal(run, timeout=120) == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["code"] == "EnvironmentBuildFailed"
    assert "Environment 'broken' could not be built" in error["message"]
    assert "pyjokes==999.0.0" in error["message"]
    assert "logs/image_build_log.txt" in error["message"]
    assert "pyjokes" in _build_log(run)
    assert "logs/driver_log.txt" not in run.get_file_names()  # the script never started
    envs = exp.workspace.folder / ENVS
    assert [p.name for p in envs.iterdir() if p.is_dir()] == []  # nothing half-built stays


def test_conda_only_package_is_refused_before_anything_runs(
    exp: Experiment, tmp_path: Path
) -> None:
    folder = source_dir(tmp_path, {"job.py": JOB})
    env = Environment("gpu")
    env.python.conda_dependencies = CondaDependencies.create(
        conda_packages=["cudatoolkit=11.8"], pip_packages=["pyjokes"]
    )
    with pytest.raises(CondaOnlyPackageError, match=r"'cudatoolkit=11\.8' have no pip equivalent"):
        exp.submit(ScriptRunConfig(folder, "job.py", environment=env))
    assert list(exp.get_runs()) == []
    assert not (exp.workspace.folder / ENVS).exists()


def test_user_managed_environment_ignores_packages_as_v1(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(
        tmp_path,
        {
            "job.py": "import sys\nfrom run_widgets import Run\nRun.get_context().log('exe', sys.executable)\n"
        },
    )
    env = _jokes("mine")
    env.python.user_managed_dependencies = True
    run = exp.submit(ScriptRunConfig(folder, "job.py", environment=env))
    assert wait_terminal(run) == "Completed", run.get_details().get("error")
    assert not (exp.workspace.folder / ENVS).exists()
    assert "logs/image_build_log.txt" not in run.get_file_names()


def test_sweep_trials_share_one_environment_build(exp: Experiment, tmp_path: Path) -> None:
    from sweep_helpers import child_records, wait_sweep

    from run_widgets import GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal, choice

    folder = source_dir(
        tmp_path,
        {
            "trial.py": """
                import sys
                import pyjokes
                from run_widgets import Run

                run = Run.get_context()
                run.log("n", float(sys.argv[sys.argv.index("--n") + 1]))
                run.log("joke", pyjokes.get_joke())
            """
        },
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(folder, "trial.py", environment=_jokes("sweep-jokes")),
        hyperparameter_sampling=GridParameterSampling({"--n": choice(1, 2, 3)}),
        primary_metric_name="n",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_concurrent_runs=3,
    )
    sweep = exp.submit(config)
    assert wait_sweep(sweep, timeout=180) == "Completed"
    children = [Run(exp, record.id) for record in child_records(sweep)]
    assert [c.get_status() for c in children] == ["Completed"] * 3
    logs = [_build_log(c) for c in children]
    assert sum("Building environment" in log for log in logs) == 1  # the others waited, reused
    assert sum("reusing the cached build" in log for log in logs) == 2
    assert len([p for p in (exp.workspace.folder / ENVS).iterdir() if p.is_dir()]) == 1
