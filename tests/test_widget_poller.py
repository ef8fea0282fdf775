"""The poller's lifecycle with a fake clock, and no thread or connection outliving a view."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from widget_helpers import FakeClock, fake_kernel, new_run, unowned_run, wait_until

from run_widgets import Experiment, Run, RunDetails
from run_widgets.widgets import _live as live_module
from run_widgets.widgets.poller import MAX_BACKOFF_S, THREAD_PREFIX, Poller, poll_threads


@pytest.fixture(autouse=True)
def no_leftover_pollers() -> Iterator[None]:
    """Every test ends with no poller thread and an empty registry."""
    yield
    for poller in Poller.active().values():
        poller.stop(wait=5)
    wait_until(lambda: not poll_threads(), 10, "poller threads to end")
    assert Poller.active() == {}


class Ticks:
    """A tick function whose results (True/False/exception) are scripted."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.count = 0
        self.threads: list[str] = []

    def __call__(self) -> bool:
        self.count += 1
        self.threads.append(threading.current_thread().name)
        result = self.script.pop(0) if self.script else False
        if isinstance(result, BaseException):
            raise result
        return bool(result)


def started(tick: Ticks, clock: FakeClock, interval: float = 12.0, **kw: Any) -> Poller:
    return Poller(("ws", "run-1"), tick, interval, wait=clock.wait, **kw).start()


def test_ticks_at_the_interval_on_a_named_daemon_thread() -> None:
    clock, tick = FakeClock(), Ticks()
    poller = started(tick, clock)
    clock.wait_for_waits(1)
    assert tick.count == 0 and clock.waits == [12.0]  # the first tick after one interval
    for n in range(1, 4):
        clock.advance(12.0)
        clock.wait_for_waits(n + 1)
        assert tick.count == n
    assert clock.waits == [12.0] * 4
    assert tick.threads == [f"{THREAD_PREFIX}run-1"] * 3
    (thread,) = poll_threads()
    assert thread.daemon and thread.name.startswith(THREAD_PREFIX)
    assert Poller.active() == {("ws", "run-1"): poller}
    poller.stop(wait=5)
    assert not poller.alive and not poll_threads()


def test_immediate_first_tick() -> None:
    clock, tick = FakeClock(), Ticks()
    poller = started(tick, clock, immediate=True)
    clock.wait_for_waits(1)
    assert tick.count == 1
    poller.stop(wait=5)


def test_stops_after_the_tick_that_reports_a_terminal_status() -> None:
    clock, tick = FakeClock(), Ticks([False, False, True])
    stopped: list[str] = []
    poller = started(tick, clock, on_stop=lambda: stopped.append(threading.current_thread().name))
    for n in range(1, 4):
        clock.wait_for_waits(n)
        clock.advance(12.0)
    wait_until(lambda: not poller.alive, 10, "the poller to end")
    assert tick.count == 3  # the third was the final refresh
    assert poller.finished
    assert Poller.active() == {}
    assert stopped == [f"{THREAD_PREFIX}run-1"]  # on_stop runs on the poller thread
    clock.advance(100.0)
    assert tick.count == 3


def test_stop_wakes_the_thread_at_once() -> None:
    tick = Ticks()
    poller = Poller(("ws", "r"), tick, interval=3600.0).start()  # the real Event wait
    wait_until(lambda: poller.alive, 5)
    start = time.monotonic()
    poller.stop(wait=30)
    assert not poller.alive
    assert time.monotonic() - start < 25  # woken, not after the hour-long interval
    assert tick.count == 0 and not poller.finished


def test_errors_back_off_doubling_up_to_the_maximum_and_clear_on_success() -> None:
    clock = FakeClock()
    failures = [RuntimeError(f"boom {i}") for i in range(6)]
    tick = Ticks([*failures, False, False])
    reports: list[tuple[str | None, int, float]] = []

    def on_error(error: BaseException | None, count: int, delay: float) -> None:
        reports.append((None if error is None else str(error), count, delay))

    poller = started(tick, clock, interval=10.0, on_error=on_error)
    for n in range(8):
        clock.wait_for_waits(n + 1)
        clock.advance(clock.waits[-1])
    clock.wait_for_waits(9)
    assert clock.waits == [
        10.0,
        20.0,
        40.0,
        80.0,
        MAX_BACKOFF_S,
        MAX_BACKOFF_S,
        MAX_BACKOFF_S,
        10,
        10,
    ]
    assert reports == [
        ("boom 0", 1, 20.0),
        ("boom 1", 2, 40.0),
        ("boom 2", 3, 80.0),
        ("boom 3", 4, MAX_BACKOFF_S),
        ("boom 4", 5, MAX_BACKOFF_S),
        ("boom 5", 6, MAX_BACKOFF_S),
        (None, 0, 10.0),  # cleared on the first success
    ]
    assert poller.failures == 0
    poller.stop(wait=5)


def test_backing_off_never_shortens_a_long_interval() -> None:
    poller = Poller(("ws", "r"), Ticks(), interval=600.0)
    poller.failures = 3
    assert poller.next_delay() == 600.0
    poller.failures = 10_000  # no overflow
    assert poller.next_delay() == 600.0


@pytest.mark.parametrize("interval", [0, -1, float("nan"), float("inf")])
def test_invalid_intervals_are_refused(interval: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        Poller(("ws", "r"), Ticks(), interval=interval)


def test_the_poller_never_prints(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()

    def bad_handler(*args: Any) -> None:
        raise ValueError("the error bar itself failed")

    tick = Ticks([RuntimeError("x"), RuntimeError("y"), False, True])
    poller = started(tick, clock, on_error=bad_handler)
    for n in range(1, 5):
        clock.wait_for_waits(n)
        clock.advance(clock.waits[-1])
    wait_until(lambda: not poller.alive, 10, "the final refresh")
    assert tick.count == 4 and poller.finished
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_registering_the_same_key_stops_the_old_poller() -> None:
    clock = FakeClock()
    first = started(Ticks(), clock)
    second = started(Ticks(), clock)
    wait_until(lambda: not first.alive, 10, "the replaced poller to end")
    assert second.alive
    assert Poller.active() == {("ws", "run-1"): second}
    first.stop()  # stopping the old one again does not unregister the new one
    assert Poller.active() == {("ws", "run-1"): second}
    other = Poller(("ws", "run-2"), Ticks(), wait=clock.wait).start()
    assert set(Poller.active()) == {("ws", "run-1"), ("ws", "run-2")}
    second.stop(wait=5)
    other.stop(wait=5)
    assert len(poll_threads()) == 0


# ----------------------------------------------------------------- with RunDetails --
@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """RunDetails' pollers wait on a fake clock."""
    fake = FakeClock()
    monkeypatch.setattr(live_module, "Poller", functools.partial(Poller, wait=fake.wait))
    return fake


def test_run_details_polls_until_the_run_ends(exp: Experiment, clock: FakeClock) -> None:
    run = new_run(exp)
    view = RunDetails(run, refresh_interval=5)
    poller = view.start_polling()
    assert poller.interval == 5.0
    clock.wait_for_waits(1)
    run.log("loss", 1.0)
    run.log("loss", 0.5)
    clock.advance(5)
    clock.wait_for_waits(2)
    assert view._charts["loss"].points_shown() == [2]
    run.log("loss", 0.25)
    run.complete()
    clock.advance(5)
    wait_until(lambda: not poller.alive, 10, "the final refresh")
    assert poller.finished
    assert view.header.header["status"] == "Completed"
    assert view._charts["loss"].points_shown() == [3]
    assert view.logs.text == "Log is empty or no log files found."
    view.close()


def test_run_details_shows_refresh_errors_in_the_error_bar(
    exp: Experiment, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    view = RunDetails(new_run(exp), refresh_interval=1)
    real_poll = view.tracker.poll
    monkeypatch.setattr(view.tracker, "poll", lambda: (_ for _ in ()).throw(OSError("disk gone")))
    view.start_polling()
    clock.wait_for_waits(1)
    clock.advance(1)
    clock.wait_for_waits(2)
    assert view.header.error.startswith("Refreshing the view failed 1 time(s) in a row")
    assert "OSError: disk gone" in view.header.error
    assert clock.waits[-1] == 2.0
    monkeypatch.setattr(view.tracker, "poll", real_poll)
    clock.advance(2)
    clock.wait_for_waits(3)
    assert view.header.error == ""
    view.close()
    assert capsys.readouterr().out == ""


def connections(run: Run) -> int:
    return run.workspace.store.open_connection_count()


def test_close_leaves_no_thread_and_no_connection(exp: Experiment) -> None:
    run = unowned_run(exp)
    view = RunDetails(run, refresh_interval=0.1)
    baseline = connections(run)
    poller = view.start_polling()
    wait_until(lambda: poller.ticks >= 2, 30, "two real refreshes")
    assert connections(run) == baseline + 1  # the poller thread's own connection
    view.close()
    assert not poll_threads()
    assert connections(run) == baseline
    assert view.poller is None


@pytest.mark.fault
def test_a_view_closed_and_shown_again_fifty_times_leaks_nothing(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    display = fake_kernel(monkeypatch)
    run = unowned_run(exp)
    baseline_threads = threading.active_count()
    baseline = connections(run)
    for _ in range(50):
        view = RunDetails(run, refresh_interval=0.1)
        view.show()
        assert len(poll_threads()) == 1
        view.close()
        assert not poll_threads()
    assert len(display.handles) == 50
    assert connections(run) == baseline
    assert threading.active_count() == baseline_threads
    assert Poller.active() == {}


@pytest.mark.fault
def test_two_views_of_the_same_run_share_one_poller(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_kernel(monkeypatch)
    run = unowned_run(exp)
    baseline = connections(run)
    first, second = RunDetails(run), RunDetails(run)
    first.show()
    first_poller = first.poller
    assert first_poller is not None
    second.show()  # the same run shown again: the old poller is replaced
    wait_until(lambda: not first_poller.alive, 10, "the replaced poller to end")
    assert len(poll_threads()) == 1
    first.close()  # closing the old view leaves the new one refreshing
    assert second.poller is not None and second.poller.alive
    second.close()
    assert not poll_threads()
    assert connections(run) == baseline


def test_closing_a_parent_closes_the_open_child_view(
    exp: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_kernel(monkeypatch)
    parent = new_run(exp)
    child = parent.child_run()
    view = RunDetails(parent)
    view.show()
    view.children_table.selected_id = child.id
    assert len(poll_threads()) == 2  # the parent's and the open child's
    view.close()
    assert not poll_threads()
