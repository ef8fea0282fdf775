"""A lost attempt's process that still runs is fenced off from its retry's run.

Kernel-free: the process here plays the lost attempt (stamping its writes with attempt 1 as a job of a
retryable run), and the store is told a retry began (the ``attempt_2`` property a
detector writes). The real-cluster version is in ``test_dask_compute.py``.
"""

from __future__ import annotations

import dataclasses
import io

import pytest
from matplotlib.figure import Figure

from run_widgets import Experiment, Run
from run_widgets.exceptions import RunWidgetsWarning
from run_widgets.runtime.attempts import execution_attempt
from run_widgets.store import AddProperties

RETRYABLE = {"compute": {"properties": {"maxRetries": 1}}}


def attempt_1(exp: Experiment) -> Run:
    """A run of a retryable target, logged by this process as its attempt 1 (fenced)."""
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    record = exp.workspace.store.get_run(run.id)
    assert record is not None
    attempt = execution_attempt(dataclasses.replace(record, definition=RETRYABLE))
    run._core.state.buffer.attempt = attempt  # as attach_run(..., executes=True) does in a job
    return run


def test_a_replaced_attempt_writes_nothing_more_to_the_run(exp: Experiment) -> None:
    run = attempt_1(exp)
    store = exp.workspace.store
    # Attempt 1 writes while it is the run's attempt: kept.
    run.log("loss", 1.0)
    run.tag("who", "attempt 1")
    run.upload_file("outputs/early.txt", io.BytesIO(b"1"))
    run.flush()
    store.write([AddProperties(run.id, {"attempt_2": "attempt 1 was lost"})])
    # A detector declared it lost and a retry began: what it writes now is dropped.
    run.log("loss", 2.0)
    run.tag("who", "lost")
    run.add_properties({"model": "lost"})
    with pytest.warns(RunWidgetsWarning, match="replaced by attempt 2"):
        assert run.upload_file("outputs/model.txt", io.BytesIO(b"lost")) == "outputs/model.txt"
    with pytest.warns(RunWidgetsWarning, match="upload_files from this process is ignored"):
        run.upload_files(["outputs/a.txt"], [io.BytesIO(b"a")])
    run.flush()
    assert run.get_metrics() == {"loss": 1.0}
    assert run.get_tags()["who"] == "attempt 1"
    assert "model" not in run.get_properties()
    assert run.get_file_names() == ["outputs/early.txt"]
    # The retry's process (attempt 2) may upload the name the lost one could not take.
    run._core.state.buffer.attempt = 2
    run.upload_file("outputs/model.txt", io.BytesIO(b"retry"))
    run.tag("who", "attempt 2")
    assert run.get_file_names() == ["outputs/early.txt", "outputs/model.txt"]
    assert run.get_tags()["who"] == "attempt 2"
    run.complete()


def test_a_replaced_attempt_writes_no_image_or_json_metric_file(exp: Experiment) -> None:
    run = attempt_1(exp)
    store = exp.workspace.store
    store.write([AddProperties(run.id, {"attempt_2": "attempt 1 was lost"})])
    image = Figure(figsize=(2, 1))
    image.add_subplot().plot([1, 2])
    # The lost attempt's files would be kept by no metric (its points are dropped) and
    # would take the indices its retry's files are named by.
    with pytest.warns(RunWidgetsWarning, match="log_image from this process is ignored") as seen:
        run.log_image("curve", plot=image)
    # The warning points at the user's call (matplotlib may warn too, e.g. about its fonts).
    assert [w.filename for w in seen if issubclass(w.category, RunWidgetsWarning)] == [__file__]
    with pytest.warns(RunWidgetsWarning, match="log_confusion_matrix from this process") as seen:
        run.log_confusion_matrix("cm", {"class_labels": [0, 1], "matrix": [[1, 0], [0, 1]]})
    assert [w.filename for w in seen if issubclass(w.category, RunWidgetsWarning)] == [__file__]
    run.flush()
    assert run.get_file_names() == []
    assert run.get_metrics() == {}
    # The retry's files get the first names.
    run._core.state.buffer.attempt = 2
    run.log_image("curve", plot=image)
    run.log_confusion_matrix("cm", {"class_labels": [0, 1], "matrix": [[1, 0], [0, 1]]})
    run.flush()
    names = run.get_file_names()
    assert len(names) == 2 and all(n.rsplit("_", 1)[1] in ("0.png", "0.json") for n in names)
    assert set(run.get_metrics()) == {"curve", "cm"}
    run.complete()
