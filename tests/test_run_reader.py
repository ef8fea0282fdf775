"""The narrow reader views use: a run's record, children, chunks and files by offset."""

from __future__ import annotations

import pytest

from run_widgets import Experiment
from run_widgets.exceptions import FileNotFoundInRunError
from run_widgets.views.reader import RunReader, WorkspaceRunReader, run_reader


def test_reader_answers_from_the_store_and_the_artifact_store(exp: Experiment) -> None:
    parent = exp.start_logging(snapshot_directory=None)
    parent.log("loss", 1.0)
    child = parent.child_run()
    child.log("mse", 0.5)
    child.complete()
    reader: RunReader = run_reader(parent)
    assert isinstance(reader, WorkspaceRunReader)
    reader.flush()
    record = reader.run()
    assert record is not None and record.id == parent.id
    assert [c.id for c in reader.changed_children(0)] == [child.id]
    assert reader.changed_children(reader.current_seq()) == []
    assert [i.name for i in reader.metric_infos()] == ["loss"]
    assert [i.name for i in reader.metric_infos([child.id])] == ["mse"]
    chunks = reader.read_chunks()
    assert [c.metric_name for c in chunks] == ["loss"]
    assert reader.read_chunks(after_chunk_id=chunks[-1].id) == []
    assert [c.metric_name for c in reader.read_chunks(names=["mse"], run_id=child.id)] == ["mse"]
    parent.complete()


def test_reader_lists_and_reads_files_by_offset(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    log = run.files_dir / "logs" / "driver_log.txt"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"first\nsecond\n")
    (run.files_dir / "model.bin").write_bytes(b"\0\1")
    reader = run_reader(run)
    assert reader.file_names("logs/") == ["logs/driver_log.txt"]
    assert reader.file_names() == ["logs/driver_log.txt", "model.bin"]
    assert reader.file_names("nothing/") == []
    assert reader.file_size("logs/driver_log.txt") == 13
    assert reader.file_size("missing.txt") is None
    assert reader.read_file("logs/driver_log.txt", offset=6) == b"second\n"
    assert reader.read_file("logs/driver_log.txt", offset=6, limit=3) == b"sec"
    with pytest.raises(FileNotFoundInRunError):
        reader.read_file("missing.txt")
    url = reader.file_url("model.bin")
    assert url is not None and url.startswith("file://") and url.endswith("/model.bin")
    run.complete()
