"""``Tensorboard([run]).start()`` / ``.stop()``: a real TensorBoard process on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from submit_helpers import wait_until

from run_widgets import Experiment, Tensorboard, UserErrorException

pytestmark = pytest.mark.slow
SQLITE_ONLY = "the launcher reads metrics through the run API, whatever the store"


def scalars(url: str, run_id: str, tag: str) -> list[list[float]]:
    query = f"{url}data/plugin/scalars/scalars?run={run_id}/run_widgets_metrics&tag={tag}"
    try:
        with urllib.request.urlopen(query, timeout=5) as answer:
            return list(json.load(answer))
    except OSError:
        return []


def test_tensorboard_shows_the_runs_metrics_and_their_event_files(
    exp: Experiment, tmp_path: Path
) -> None:
    run = exp.start_logging(snapshot_directory=None)
    for step in range(5):
        run.log("loss", 1 / (step + 1), step=step)
    events = tmp_path / "events"
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(logdir=str(events))  # the script's own TensorBoard logs
    writer.add_scalar("own", 3.0, 0)
    writer.close()
    (event_file,) = events.iterdir()
    run.upload_file(f"logs/tb/{event_file.name}", str(event_file))
    board = Tensorboard([run], local_root=tmp_path / "board", port=0, refresh_seconds=0.3)
    url = board.start()
    try:
        assert url.startswith("http://localhost:")
        wait_until(
            lambda: len(scalars(url, run.id, "loss")) == 5, 60, interval=0.3, what="5 loss points"
        )
        for step in range(5, 8):  # new points reach the running TensorBoard
            run.log("loss", 1 / (step + 1), step=step)
        run.flush()
        wait_until(
            lambda: len(scalars(url, run.id, "loss")) == 8, 60, interval=0.3, what="8 loss points"
        )
        copied = list((tmp_path / "board" / run.id / "logs" / "tb").iterdir())
        assert [p.name for p in copied] == [event_file.name]
    finally:
        board.stop()
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as probe:
        # Free again: nothing listens (the connections the test made may linger in TIME_WAIT,
        # which a plain bind would count: a failure seen on a loaded machine).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    board_again = Tensorboard([run], local_root=tmp_path / "board", port=port)
    assert board_again.start() == url  # the same port serves again at once
    board_again.stop()
    run.complete()


def test_bad_arguments_are_named(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None)
    with pytest.raises(UserErrorException, match="port must be an int"):
        Tensorboard([run], port=-1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UserErrorException, match=r"Port \d+ is in use"):
            Tensorboard([run], port=taken.getsockname()[1]).start()
    with pytest.raises(UserErrorException, match="cannot be empty"):
        Tensorboard([])
    run.complete()
