"""A PostgreSQL server at ``max_connections`` (issue 24, item 5): clients wait, nothing is lost.

The test starts its own small server (``max_connections = 12``, no reserved superuser
slots) and takes every free slot itself, so the server refuses new sessions with "sorry,
too many clients already":

* a writer that is logging loses its connections (terminated by the test) while the
  server is full: it keeps logging into memory, says so in one line, and writes every
  point once the test frees the slots; its run completes;
* a writer process started while the server is full waits for a connection (one warning
  line) instead of failing, then runs to completion once slots are free.

Exactly one warning line per process; every point stored.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import python_env

from run_widgets import Experiment, Run, Workspace
from run_widgets.store.postgres.local_server import LocalPostgres

pytestmark = pytest.mark.postgres

MAX_CONNECTIONS = 12
N_POINTS = 400

WRITER = """
    import sys, time
    from run_widgets import Workspace, Experiment
    ws = Workspace.from_config()
    run = Experiment(ws, "full").start_logging(snapshot_directory=None, outputs=False)
    print(run.id, flush=True)
    for i in range(int(sys.argv[1])):
        run.log("x", i)
        time.sleep(float(sys.argv[2]))
    run.complete()
    print("done", flush=True)
"""


@pytest.fixture
def small_server() -> Iterator[LocalPostgres]:
    server = LocalPostgres(fsync=False)
    try:
        with open(server.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"max_connections = {MAX_CONNECTIONS}\nsuperuser_reserved_connections = 0\n")
        server.start()
        Workspace(store=server.uri(), artifacts=server.folder / "files").close()  # the schema
        yield server
    finally:
        server.cleanup()


class Hog:
    """Connections the test holds so that the server has none left."""

    def __init__(self, server: LocalPostgres) -> None:
        self.server = server
        self.held: list[psycopg.Connection] = []

    def fill(self) -> None:
        """Open connections until the server refuses one."""
        while True:
            try:
                self.held.append(psycopg.connect(self.server.uri(), autocommit=True))
            except psycopg.OperationalError as exc:
                assert "too many clients" in str(exc)
                return

    def terminate_run_widgets_sessions(self) -> int:
        """End the writers' sessions, then take their slots at once."""
        admin = self.held[0]
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'run_widgets'"
        ).fetchone()
        self.fill()
        return int(ended[0]) if ended else 0

    def release(self) -> None:
        for conn in self.held:
            conn.close()
        self.held.clear()


def _writer(server: LocalPostgres, points: int, pause: float) -> subprocess.Popen[str]:
    env = {
        **python_env(),
        "RUN_WIDGETS_STORE": server.uri(),
        "RUN_WIDGETS_ARTIFACTS": str(server.folder / "files"),
    }
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(WRITER), str(points), str(pause)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "max_connections" in line]


def test_writers_wait_for_free_connections_and_lose_nothing(small_server: LocalPostgres) -> None:
    hog = Hog(small_server)
    running = _writer(small_server, N_POINTS, 0.04)  # ~16 s of logging
    waiting: subprocess.Popen[str] | None = None
    try:
        assert running.stdout is not None
        running_id = running.stdout.readline().strip()
        time.sleep(1.0)  # it has flushed a few times: both its connections are open
        hog.fill()
        assert hog.terminate_run_widgets_sessions() >= 1  # its connections are gone...
        waiting = _writer(small_server, 50, 0.0)  # ...and a new writer finds no slot
        time.sleep(6.0)  # both keep trying meanwhile (a new one waits, the other buffers)
        assert running.poll() is None and waiting.poll() is None
        hog.release()
        running_out, running_err = running.communicate(timeout=120)
        waiting_out, waiting_err = waiting.communicate(timeout=120)
    finally:
        hog.release()
        for process in (running, waiting):
            if process is not None and process.poll() is None:
                process.kill()
    assert running.returncode == 0 and "done" in running_out, running_err
    assert waiting.returncode == 0 and "done" in waiting_out, waiting_err
    for err in (running_err, waiting_err):
        assert len(_warnings(err)) == 1, err  # one clear line, not one per retry
        assert "Traceback" not in err and small_server.password not in err
    assert "kept" in _warnings(running_err)[0] and "reachable again" in running_err
    assert "waiting for one" in _warnings(waiting_err)[0]

    ws = Workspace(store=small_server.uri(), artifacts=small_server.folder / "files")
    try:
        exp = Experiment(ws, "full")
        run = Run(exp, running_id)
        assert run.get_status() == "Completed"
        assert run.get_metrics()["x"] == list(range(N_POINTS))
        waited = Run(exp, waiting_out.split()[0])
        assert waited.get_status() == "Completed"
        assert waited.get_metrics()["x"] == list(range(50))
    finally:
        ws.close()


def test_a_main_thread_gives_up_after_its_wait_with_a_clear_error(
    small_server: LocalPostgres, tmp_path: Path
) -> None:
    hog = Hog(small_server)
    hog.fill()
    try:
        code = "from run_widgets import Workspace\nWorkspace.from_config()\n"
        env = {
            **python_env(),
            "RUN_WIDGETS_STORE": small_server.uri(),
            "RUN_WIDGETS_ARTIFACTS": str(tmp_path / "files"),
            "RUN_WIDGETS_CONNECT_WAIT": "3",
        }
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        hog.release()
    assert result.returncode != 0
    assert len(_warnings(result.stderr.split("Traceback")[0])) == 1
    assert "refuses new connections: the server's max_connections is reached" in result.stderr
    assert "waited 3 s" in result.stderr and small_server.password not in result.stderr
