"""``python -m run_widgets.store.postgres.local_server`` as a user (or a service manager) runs it.

It prints a URI and keeps a throwaway server until it is told to stop; every way of
telling it (Ctrl-C, SIGTERM from ``kill`` or a service manager, SIGHUP from a closed
terminal) must stop the ``postgres`` processes and delete the server's folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

pytestmark = pytest.mark.postgres

START_TIMEOUT_S = 120


def _start() -> tuple[subprocess.Popen[str], str, Path]:
    process = subprocess.Popen(
        [sys.executable, "-m", "run_widgets.store.postgres.local_server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    uri = process.stdout.readline().strip()
    notice = process.stderr.readline()
    match = re.search(r"Server folder (\S+)\.", notice)
    assert uri.startswith("postgresql://") and match, (uri, notice)
    return process, uri, Path(match.group(1))


def _server_processes(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if any(str(folder) in part for part in cmdline):
            found.append(process)
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_stops_postgres_and_deletes_the_folder(signum: int) -> None:
    process, uri, folder = _start()
    try:
        with psycopg.connect(uri, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert folder.is_dir() and _server_processes(folder)
        process.send_signal(signum)
        process.wait(timeout=START_TIMEOUT_S)
        assert process.returncode in (0, 128 + signum), process.stderr.read()  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while _server_processes(folder) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _server_processes(folder), "postgres still runs after the wrapper ended"
        assert not folder.exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(uri, connect_timeout=3).close()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        for leftover in _server_processes(folder):  # only this test's server
            leftover.kill()
