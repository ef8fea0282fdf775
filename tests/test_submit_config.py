"""Submit-time checks, snapshots of the source folder, and what the job sees of it."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from submit_helpers import (  # noqa: F401 - no_leftover_processes: fixture
    no_leftover_processes,
    source_dir,
    wait_terminal,
    wait_until,
)

from run_widgets import (
    Environment,
    Experiment,
    ExperimentExecutionException,
    ScriptRunConfig,
)

TRAIN = """
    import json
    import os
    import mylib
    from run_widgets import Run

    run = Run.get_context()
    files = sorted(
        os.path.relpath(os.path.join(d, f), ".") for d, _, fs in os.walk(".") for f in fs
    )
    run.log_list("files", files)
    run.log("answer", mylib.ANSWER)
    run.log("data", open("data/values.json").read())
"""


def _project(tmp_path: Path) -> Path:
    folder = source_dir(
        tmp_path,
        {
            "train.py": TRAIN,
            "mylib.py": "ANSWER = 42\n",
            "data/values.json": '{"a": 1}\n',
            "big.bin": "x" * 1000,
            "secret/token.txt": "do not ship\n",
            "notes.md": "kept\n",
        },
    )
    (folder / ".amlignore").write_text("*.bin\nsecret/\n")
    return folder


def test_snapshot_ignore_files_and_restore(exp: Experiment, tmp_path: Path) -> None:
    folder = _project(tmp_path)
    run = exp.submit(ScriptRunConfig(folder, "train.py"))
    assert wait_terminal(run) == "Completed", run.get_details().get("error")
    shipped = [".amlignore", "data/values.json", "mylib.py", "notes.md", "train.py"]
    metrics = run.get_metrics()
    assert metrics["files"] == shipped  # the job's folder is the snapshot, no ignored files
    assert metrics["answer"] == 42
    assert metrics["data"] == '{"a": 1}\n'

    restored = Path(run.restore_snapshot(path=tmp_path / "restored", extract=True))
    found = sorted(p.relative_to(restored).as_posix() for p in restored.rglob("*") if p.is_file())
    assert found == shipped
    assert (restored / "train.py").read_bytes() == (folder / "train.py").read_bytes()

    zipped = Path(run.restore_snapshot(path=tmp_path / "copy.zip"))
    assert zipped == tmp_path / "copy.zip"
    with zipfile.ZipFile(zipped) as archive:
        assert sorted(archive.namelist()) == shipped
        assert archive.read("mylib.py") == b"ANSWER = 42\n"
    assert run.get_snapshot_id() == run.get_details()["snapshotId"]
    # the job's private working copy is removed (by the supervisor, after it wrote the final
    # status: a moment later on a loaded machine); the source folder is unchanged
    workdir = exp.workspace.folder / "workdirs" / run.id
    wait_until(lambda: not workdir.exists(), what=f"{workdir} to be removed")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".amlignore", "big.bin", "data", "mylib.py", "notes.md", "secret", "train.py"]
    )


def _no_runs(exp: Experiment) -> None:
    assert list(exp.get_runs(include_children=True)) == []
    workdirs = exp.workspace.folder / "workdirs"
    assert not workdirs.exists() or not any(workdirs.iterdir())


def test_missing_script_folder_and_interpreter_fail_at_submit(
    exp: Experiment, tmp_path: Path
) -> None:
    folder = source_dir(tmp_path, {"train.py": "print(1)\n"})

    with pytest.raises(ExperimentExecutionException) as missing_script:
        exp.submit(ScriptRunConfig(folder, "nope.py"))
    assert str(missing_script.value) == (
        f"{folder / 'nope.py'} script path doesn't exist. The script should be inside the "
        "project folder"
    )

    source_dir(tmp_path, {"other.py": "print(1)\n"}, name="outside")
    with pytest.raises(ExperimentExecutionException, match="script path doesn't exist"):
        exp.submit(ScriptRunConfig(folder, os.path.join("..", "outside", "other.py")))

    with pytest.raises(ExperimentExecutionException) as missing_folder:
        exp.submit(ScriptRunConfig(tmp_path / "no-such-folder", "train.py"))
    assert "no-such-folder" in str(missing_folder.value)
    assert "does not exist" in str(missing_folder.value)

    env = Environment("broken")
    env.python.interpreter_path = str(tmp_path / "no" / "python")
    with pytest.raises(ExperimentExecutionException) as bad_interpreter:
        exp.submit(ScriptRunConfig(folder, "train.py", environment=env))
    assert "interpreter" in str(bad_interpreter.value)
    assert str(tmp_path / "no" / "python") in str(bad_interpreter.value)

    not_executable = tmp_path / "python-text"
    not_executable.write_text("not a program\n")
    env.python.interpreter_path = str(not_executable)
    with pytest.raises(ExperimentExecutionException, match="interpreter"):
        exp.submit(ScriptRunConfig(folder, "train.py", environment=env))

    ignored = source_dir(tmp_path, {"train.py": "print(1)\n"}, name="ignored")
    (ignored / ".amlignore").write_text("train.py\n")
    with pytest.raises(ExperimentExecutionException, match="left out of the snapshot"):
        exp.submit(ScriptRunConfig(ignored, "train.py"))

    with pytest.raises(ExperimentExecutionException, match="no-such-program-xyz"):
        exp.submit(ScriptRunConfig(folder, command=["no-such-program-xyz", "--flag"]))
    with pytest.raises(ExperimentExecutionException, match="not found"):
        exp.submit(ScriptRunConfig(folder, command="./missing.sh"))

    _no_runs(exp)


def test_interpreter_gone_after_submit_fails_the_run_clearly(
    exp: Experiment, tmp_path: Path
) -> None:
    link = tmp_path / "bin" / "python"
    link.parent.mkdir()
    link.symlink_to(sys.executable)
    env = Environment("vanishing")
    env.python.interpreter_path = str(link)
    folder = source_dir(tmp_path, {"train.py": "print('never')\n"})
    run = exp.submit(ScriptRunConfig(folder, "train.py", environment=env))
    link.unlink()  # before the supervisor gets to start the job
    assert wait_terminal(run) == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["code"] == "JobStartFailed"
    assert str(link) in error["message"]
    assert "Could not start" in run.get_details_with_logs()["logFiles"]["logs/driver_log.txt"]


def test_unknown_config_type_is_a_clear_error(exp: Experiment) -> None:
    class NotAConfig:
        pass

    with pytest.raises(ExperimentExecutionException) as caught:
        exp.submit(NotAConfig())
    message = str(caught.value)
    assert "Method to be submitted has not been registered" in message
    assert "NotAConfig" in message and "ScriptRunConfig" in message
    _no_runs(exp)


def test_bad_config_arguments_are_rejected_early(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="compute_target"):
        ScriptRunConfig(tmp_path, "train.py", compute_target=3)
    with pytest.raises(ValueError, match="not both"):
        ScriptRunConfig(tmp_path, "train.py", command=["python", "x.py"])
    with pytest.raises(ValueError, match="max_run_duration_seconds"):
        ScriptRunConfig(tmp_path, "train.py", max_run_duration_seconds=0)
    with pytest.raises(TypeError, match="arguments"):
        ScriptRunConfig(tmp_path, "train.py", arguments=[{"a": 1}])
    numpy_arguments = ["--alpha", np.float32(0.5), "--n", np.int64(3), 2, Path("data")]
    assert ScriptRunConfig(tmp_path, "train.py", arguments=numpy_arguments).arguments == [
        "--alpha",
        "0.5",
        "--n",
        "3",
        "2",
        "data",
    ]


def test_command_environment_variables_and_time_limit(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(
        tmp_path,
        {
            "job.py": """
                import os
                import sys
                import time
                from run_widgets import Run

                run = Run.get_context()
                run.log("greeting", os.environ["GREETING"])
                run.log("args", " ".join(sys.argv[1:]))
                run.flush()
                if "--slow" in sys.argv:
                    time.sleep(60)
            """
        },
    )
    env = Environment("with-vars")
    env.environment_variables = {"GREETING": "hi"}
    by_command = exp.submit(
        ScriptRunConfig(folder, command="python job.py --fast 1 python", environment=env)
    )
    echo = exp.submit(ScriptRunConfig(folder, command=["echo", "python", "$GREETING"]))
    limited = exp.submit(
        ScriptRunConfig(
            folder,
            "job.py",
            arguments=["--slow"],
            environment=env,
            max_run_duration_seconds=6,  # room for the script to start on a loaded machine
        )
    )
    assert wait_terminal(by_command) == "Completed", by_command.get_details().get("error")
    assert by_command.get_metrics() == {"greeting": "hi", "args": "--fast 1 python"}
    assert wait_terminal(echo) == "Completed"
    assert echo.get_details_with_logs()["logFiles"]["logs/driver_log.txt"] == "python $GREETING\n"
    assert by_command.get_details()["runDefinition"]["command"] == [
        "python",
        "job.py",
        "--fast",
        "1",
        "python",
    ]
    assert wait_terminal(limited, timeout=60) == "Failed"
    message = limited.get_details()["error"]["error"]["message"]
    assert "max_run_duration_seconds" in message
    assert limited.get_metrics()["greeting"] == "hi"
