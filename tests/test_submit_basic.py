"""Submitted scripts that succeed: statuses, metrics, logs, children and the context run."""

from __future__ import annotations

import time
from pathlib import Path

from submit_helpers import (  # noqa: F401 - fixtures
    ORDER,
    TERMINAL,
    driver_log,
    no_leftover_processes,
    source_dir,
    submit,
    wait_terminal,
)

from run_widgets import Experiment, Run, ScriptRunConfig

LOGGING_SCRIPT = """
    import time
    from run_widgets import Run

    run = Run.get_context()
    run.log("accuracy", 0.5)
    for i in range(5):
        run.log("loss", 1.0 / (i + 1))
        print(f"epoch {i}", flush=True)
        time.sleep(0.15)
    run.log_list("fib", [0, 1, 1, 2])
    run.tag("trained", "yes")
    print("done")
"""


def test_logging_script_goes_through_the_statuses_to_completed(
    exp: Experiment, tmp_path: Path
) -> None:
    started = time.monotonic()
    run = submit(exp, tmp_path, LOGGING_SCRIPT)
    assert time.monotonic() - started < 2.0, "submit() must return at once"
    assert run.get_status() in ("Queued", "Starting")
    assert run.type == "scriptrun"
    assert run.id.startswith("test-exp_")

    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = Run(exp, run.id).get_status()
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in TERMINAL:
            break
        time.sleep(0.01)
    assert seen[-1] == "Completed", seen
    assert "Running" in seen
    positions = [ORDER.index(s) for s in seen]
    assert positions == sorted(positions), f"statuses out of order: {seen}"

    control = run.get_file_path("logs/control_log.txt").read_text()
    recorded = [line.split("status ", 1)[1] for line in control.splitlines() if " status " in line]
    assert recorded == ["Starting", "Running", "Finalizing", "Completed"]

    assert run.get_metrics() == {
        "accuracy": 0.5,
        "loss": [1.0, 0.5, 1 / 3, 0.25, 0.2],
        "fib": [0, 1, 1, 2],
    }
    assert run.get_tags()["trained"] == "yes"
    assert driver_log(run).splitlines() == [f"epoch {i}" for i in range(5)] + ["done"]
    details = run.get_details()
    assert details["status"] == "Completed"
    assert "startTimeUtc" in details and "endTimeUtc" in details
    assert details["runDefinition"]["script"] == "train.py"
    assert "logs/driver_log.txt" in details["logFiles"]
    assert "error" not in details


def test_children_created_in_the_job_belong_to_the_submitted_run(
    exp: Experiment, tmp_path: Path
) -> None:
    by_child_run = submit(
        exp,
        tmp_path,
        """
        from run_widgets import Run

        run = Run.get_context()
        for i in range(5):
            child = run.child_run(name=f"alpha-{i}")
            child.log("alpha", i / 10)
            child.log("mse", 100.0 - i)
            child.complete()
        """,
        name="by_child_run",
    )
    by_create_children = submit(
        exp,
        tmp_path,
        """
        from run_widgets import Run

        run = Run.get_context()
        for i, child in enumerate(run.create_children(5)):
            child.log("i", i)
        # not completed here: ending the script completes them
        """,
        name="by_create_children",
    )
    assert wait_terminal(by_child_run) == "Completed"
    assert wait_terminal(by_create_children) == "Completed"

    children = list(by_child_run.get_children())
    assert len(children) == 5
    assert sorted(c.display_name or "" for c in children) == [f"alpha-{i}" for i in range(5)]
    for child in children:
        assert child.get_status() == "Completed"
        assert child.parent is not None and child.parent.id == by_child_run.id
        metrics = child.get_metrics()
        assert set(metrics) == {"alpha", "mse"}
    recursive = by_child_run.get_metrics(recursive=True)
    assert set(recursive) == {c.id for c in children}

    created = list(by_create_children.get_children())
    assert len(created) == 5
    assert sorted(c.get_tags()["azureml.batch_child_number"] or "" for c in created) == [
        str(i) for i in range(5)
    ]
    assert all(c.get_status() == "Completed" for c in created)
    assert sorted(c.get_metrics()["i"] for c in created) == [0, 1, 2, 3, 4]
    # children are not top-level runs
    top = {r.id for r in exp.get_runs()}
    assert top == {by_child_run.id, by_create_children.id}
    assert len(list(exp.get_runs(include_children=True))) == 12


def test_context_run_inside_the_job(exp: Experiment, tmp_path: Path) -> None:
    completing = submit(
        exp,
        tmp_path,
        """
        from run_widgets import Run

        first = Run.get_context()
        second = Run.get_context()
        first.log("same_object", first is second)
        first.log("x", 1)
        first.complete()  # inside a job: only flushes
        first.log("status_after_complete", first.get_status())
        first.log("x", 2)
        with Run.get_context() as run:  # the context manager completes = flushes too
            run.log("y", 3)
        print("still running after complete()")
        """,
        name="completing",
    )
    failing = submit(
        exp,
        tmp_path,
        """
        from run_widgets import Run

        run = Run.get_context()
        run.log("before", 1)
        run.fail("the data was bad", error_code="BadData")
        run.log("status_after_fail", run.get_status())
        print("the script goes on after fail()")
        """,
        name="failing",
    )
    assert wait_terminal(completing) == "Completed"
    assert completing.get_metrics() == {
        "same_object": True,
        "x": [1, 2],
        "status_after_complete": "Running",
        "y": 3,
    }
    assert "still running after complete()" in driver_log(completing)

    assert wait_terminal(failing) == "Failed"
    error = failing.get_details()["error"]["error"]
    assert error["code"] == "BadData"
    assert error["message"] == "the data was bad"
    assert failing.get_metrics() == {"before": 1, "status_after_fail": "Running"}
    assert "the script goes on after fail()" in driver_log(failing)


def test_get_details_with_logs_submit_child_and_tags(exp: Experiment, tmp_path: Path) -> None:
    folder = source_dir(
        tmp_path,
        {
            "train.py": """
                import sys
                from run_widgets import Run

                run = Run.get_context()
                run.log("arg", float(sys.argv[1]))
                print("hello from the job", sys.argv[1])
            """
        },
    )
    tagged = exp.submit(
        ScriptRunConfig(folder, "train.py", arguments=[0.25]), tags={"team": "ml", "v": "1"}
    )
    parent = exp.start_logging(snapshot_directory=None, outputs=False)
    child = parent.submit_child(ScriptRunConfig(folder, "train.py", arguments=[2]), tags={"k": "c"})
    assert child.get_tags() == {"k": "c"}
    assert child.type == "scriptrun"
    assert child.parent is not None and child.parent.id == parent.id

    assert wait_terminal(tagged) == "Completed"
    assert tagged.get_tags() == {"team": "ml", "v": "1"}
    assert [r.id for r in exp.get_runs(tags={"team": "ml"})] == [tagged.id]
    logs = tagged.get_details_with_logs()["logFiles"]
    assert logs["logs/driver_log.txt"] == "hello from the job 0.25\n"
    assert tagged.get_metrics() == {"arg": 0.25}

    assert wait_terminal(child) == "Completed"
    assert [c.id for c in parent.get_children()] == [child.id]
    assert child.get_metrics() == {"arg": 2.0}
    parent.complete()
    assert {r.id for r in exp.get_runs()} == {tagged.id, parent.id}
