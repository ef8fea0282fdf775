"""Text and HTML representations: the exact v1 ``repr(run)``, and escaped HTML."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from run_widgets import Experiment, UserErrorException, Workspace

XSS = "<img src=x onerror=alert(1)>"


def test_run_repr_is_the_v1_format(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    assert repr(run) == (
        f"Run(Experiment: test-exp,\nId: {run.id},\nType: interactive,\nStatus: Running)"
    )
    run.complete()
    assert repr(run).endswith("Status: Completed)")


def test_run_html_has_v1_columns(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    text = run._repr_html_()
    for header in ("Experiment", "Id", "Type", "Status"):
        assert f"<th>{header}</th>" in text
    assert f"<td>{run.id}</td>" in text
    run.complete()


def test_experiment_and_workspace_html_escape_user_strings(tmp_path: Path) -> None:
    folder = tmp_path / XSS
    ws = Workspace(folder, name=XSS)
    try:
        exp = Experiment(ws, "exp")
        for text in (ws._repr_html_(), exp._repr_html_()):
            assert "<img" not in text
            assert html.escape(XSS) in text
        assert XSS in repr(ws)
        assert repr(exp) == f"Experiment(Name: exp,\nWorkspace: {XSS})"
    finally:
        ws.close()


@pytest.mark.parametrize("run_id", [XSS, "../escape", "a/b", "", " x", "x" * 257, "é"])
def test_user_run_ids_cannot_carry_markup_or_paths(exp: Experiment, run_id: str) -> None:
    with pytest.raises(UserErrorException, match="run_id"):
        exp.start_logging(snapshot_directory=None, outputs=False, run_id=run_id)
    assert list(exp.get_runs()) == []


def test_run_ids_of_v1_shapes_are_accepted(exp: Experiment) -> None:
    for run_id in ("HD_0f1e2d3c_4", "OfflineRun_abc", "run.1-x", "x" * 256):
        exp.start_logging(snapshot_directory=None, outputs=False, run_id=run_id).complete()
    assert len(list(exp.get_runs())) == 4


def test_display_name_and_tags_with_markup_are_stored_verbatim(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False, display_name=XSS)
    run.tag("note", XSS)
    assert run.display_name == XSS
    assert run.get_tags() == {"note": XSS}
    assert "<img" not in run._repr_html_()
    run.complete()


def test_portal_report_escapes_user_strings(exp: Experiment) -> None:
    run = exp.start_logging(
        snapshot_directory=None, outputs=False, display_name=XSS, description=XSS, tags={"t": XSS}
    )
    run.add_properties({"p": XSS})
    run.log(XSS, XSS)
    run.log_row("r", c=XSS)
    run.fail(XSS)
    url = run.get_portal_url()
    assert url.startswith("file://")
    text = Path(url[len("file://") :]).read_text(encoding="utf-8")
    assert "<img src=x" not in text
    assert html.escape(XSS) in text
