"""RunDetails outside a kernel (text summary, no thread), its settings, and show()'s outputs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from widget_helpers import fake_kernel, new_run, wait_until

from run_widgets import Experiment, RunDetails
from run_widgets.widgets import details as details_module
from run_widgets.widgets.details import ENV_REFRESH, WIDGET_MIME
from run_widgets.widgets.poller import DEFAULT_INTERVAL_S, poll_threads


@pytest.fixture(autouse=True)
def no_refresh_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_REFRESH, raising=False)


def test_show_outside_a_kernel_prints_a_summary_and_returns(
    exp: Experiment, capsys: pytest.CaptureFixture[str]
) -> None:
    run = new_run(exp)
    run.log("accuracy", 0.9)
    run.log("loss", 1.0)
    run.log("loss", 0.5)
    view = RunDetails(run)
    assert not details_module.in_kernel()
    assert view.show() is None
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"RunDetails: run {run.id} of experiment test-exp"
    assert "Status: Running" in lines
    assert "Values: accuracy=0.9" in lines
    assert "Charts: loss (2 points)" in lines
    report = lines[-1]
    assert report.startswith("Report: file://")
    assert Path(report[len("Report: file://") :]).is_file()
    assert view.poller is None and not poll_threads()  # nothing keeps running
    view.close()


def test_repr_is_deterministic(exp: Experiment) -> None:
    run = new_run(exp)
    first, second = RunDetails(run), RunDetails(run)
    assert repr(first) == repr(second) == f"RunDetails(run_id={run.id!r})"
    assert "0x" not in repr(first)
    bundle = first._repr_mimebundle_()
    assert bundle[WIDGET_MIME]["model_id"] == first.model_id
    assert bundle["text/plain"].startswith(f"RunDetails: run {run.id}")  # the snapshot's text
    assert "Status: Running" in bundle["text/plain"]
    run.complete()
    first.refresh()
    assert repr(first) == f"RunDetails(run_id={run.id!r})"  # the repr never goes stale
    assert "Status: Completed" in first._repr_mimebundle_()["text/plain"]
    first.close()
    second.close()


def test_refresh_forces_a_poll(exp: Experiment) -> None:
    run = new_run(exp)
    view = RunDetails(run)
    polls = view.tracker.polls
    assert "loss" not in view._charts
    run.log("loss", 1.0)
    run.log("loss", 0.9)
    changes = view.refresh()
    assert view.tracker.polls == polls + 1
    assert changes.metrics == {"loss"}
    assert view._charts["loss"].points_shown() == [2]
    view.close()


def test_non_runs_are_refused() -> None:
    with pytest.raises(TypeError, match="Run"):
        RunDetails("not a run")  # type: ignore[arg-type]


# ------------------------------------------------------------------ refresh interval --
def test_refresh_interval_sources_and_precedence(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = new_run(exp)
    assert RunDetails(run).refresh_interval == DEFAULT_INTERVAL_S == 12.0
    monkeypatch.setenv(ENV_REFRESH, "3.5")
    assert RunDetails(run).refresh_interval == 3.5
    assert RunDetails(run, widget_settings={"refresh_interval": 2}).refresh_interval == 2.0
    assert RunDetails(run, 1, widget_settings={"refresh_interval": 2}).refresh_interval == 1.0
    assert RunDetails(run, widget_settings={"debug": True}).refresh_interval == 3.5
    import numpy as np

    assert RunDetails(run, np.float32(0.5)).refresh_interval == 0.5


def test_show_with_other_settings_keeps_the_interval(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = RunDetails(new_run(exp), refresh_interval=2)
    view.show(widget_settings={"debug": True})
    assert view.refresh_interval == 2.0
    view.show(widget_settings={"refresh_interval": 4})
    assert view.refresh_interval == 4.0
    assert view.widget_settings == {"debug": True, "refresh_interval": 4}
    view.close()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (0.01, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("5", TypeError),
        (True, TypeError),
        ([1], TypeError),
    ],
)
def test_invalid_refresh_intervals_are_refused(exp: Experiment, value: Any, error: type) -> None:
    run = new_run(exp)
    with pytest.raises(error, match="refresh_interval"):
        RunDetails(run, refresh_interval=value)
    with pytest.raises(error, match=r"widget_settings\['refresh_interval'\]"):
        RunDetails(run, widget_settings={"refresh_interval": value})
    view = RunDetails(run)
    with pytest.raises(error, match="refresh_interval"):
        view.show(widget_settings={"refresh_interval": value})
    assert view.refresh_interval == DEFAULT_INTERVAL_S
    view.close()


@pytest.mark.parametrize("text", ["abc", "0", "-2", "nan", "inf"])
def test_invalid_refresh_environment_is_refused(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(ENV_REFRESH, text)
    with pytest.raises(ValueError, match=ENV_REFRESH):
        RunDetails(new_run(exp))


def test_widget_settings_must_be_a_dict(exp: Experiment) -> None:
    with pytest.raises(TypeError, match="widget_settings"):
        RunDetails(new_run(exp), widget_settings=[("refresh_interval", 3)])  # type: ignore[arg-type]


# ---------------------------------------------------------------- show() in a kernel --
def test_show_in_a_kernel_puts_the_view_and_a_static_snapshot(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    display = fake_kernel(monkeypatch)
    run = new_run(exp)
    run.log("loss", 1.0)
    run.log("loss", 0.5)
    view = RunDetails(run, refresh_interval=0.1)
    view.show()
    live, snapshot = display.outputs
    assert live == {
        WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": view.model_id},
        "text/plain": repr(view),
    }
    assert "Status: Running" in snapshot["text/plain"]
    assert 'class="rw-static-snapshot"' in snapshot["text/html"]
    assert "image/png" not in snapshot  # charts are drawn once, at the end
    (handle,) = display.handles
    poller = view.poller
    assert poller is not None and poller.alive
    run.log("loss", 0.25)
    run.complete()
    wait_until(lambda: not poller.alive, 30, "the final refresh")
    (final,) = handle.updates  # rewritten once, at the terminal status
    assert "Status: Completed" in final["text/plain"]
    assert "Charts: loss (3 points)" in final["text/plain"]
    png = base64.b64decode(final["image/png"])
    assert png.startswith(b"\x89PNG")
    assert "data:image/png;base64," in final["text/html"]
    view.close()
    assert handle.updates == [final]


def test_show_of_a_finished_run_shows_its_final_snapshot_at_once(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    display = fake_kernel(monkeypatch)
    run = new_run(exp)
    run.log_row("curve", x=1, y=2)
    run.log_row("curve", x=2, y=3)
    run.complete()
    view = RunDetails(run)
    view.show()
    assert view.poller is None and not poll_threads()  # nothing will change any more
    _, snapshot = display.outputs
    assert "Status: Completed" in snapshot["text/plain"]
    assert base64.b64decode(snapshot["image/png"]).startswith(b"\x89PNG")
    (handle,) = display.handles
    assert handle.updates == []
    view.close()


def test_a_failed_construction_is_collected_quietly(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys

    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(ValueError):
        RunDetails(new_run(exp), refresh_interval=-1)
    gc.collect()  # ipywidgets' __del__ calls close() on the half-built view
    assert unraisable == []


def test_last_expression_displays_through_show(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    display = fake_kernel(monkeypatch)
    view = RunDetails(new_run(exp))
    view._ipython_display_()
    assert len(display.outputs) == 2
    view.close()
    assert not poll_threads()


def test_a_closed_view_cannot_be_shown_again(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    display = fake_kernel(monkeypatch)
    view = RunDetails(new_run(exp))
    view.close()
    with pytest.raises(RuntimeError, match=r"RunDetails\(run\)\.show\(\)"):
        view.show()
    assert display.outputs == [] and not poll_threads()


def test_the_users_follow_choice_is_never_overwritten_by_a_refresh(exp: Experiment) -> None:
    run = new_run(exp)
    log = run.files_dir / "logs" / "user_log.txt"
    log.parent.mkdir(parents=True)
    log.write_text("a\n", encoding="utf-8")
    view = RunDetails(run)
    sets: list[Any] = []
    view.logs.observe(lambda change: sets.append(change["new"]), "follow")
    view.logs.follow = False  # the user unticks "Show Active log"
    (run.files_dir / "logs" / "z_log.txt").write_text("b\n", encoding="utf-8")
    view.refresh()
    assert view.logs.follow is False and sets == [False]
    assert view.logs.selected == "logs/user_log.txt"
    view.close()
