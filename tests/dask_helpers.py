"""A real Dask cluster for tests: one ``dask scheduler`` and ``dask worker`` processes.

Every process binds to 127.0.0.1 on a port chosen at run time, runs from a temporary
folder, and is stopped (SIGKILL for whatever survives) when the fixture ends. Workers run
without a nanny (``--no-nanny``), so killing a worker's pid kills the worker itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from distributed import Client

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DaskProcesses:
    """A scheduler and its workers, as real processes started by the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = self._spawn(
            "scheduler",
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
        )
        self.workers: list[subprocess.Popen[bytes]] = []
        self.worker_env: dict[str, str] = {}  # extra variables of every worker

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            argv,
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    def add_worker(
        self, threads: int = 1, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one more ``dask worker --nworkers 1`` process (``env``: extra variables,
        besides ``worker_env``)."""
        name = f"worker-{len(self.workers)}"
        worker = self._spawn(
            name,
            [
                DASK,
                "worker",
                self.address,
                "--nworkers",
                "1",
                "--nthreads",
                str(threads),
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--name",
                name,
            ],
            {**self.worker_env, **(env or {})},
        )
        self.workers.append(worker)
        return worker

    def worker_info(self) -> dict[str, Any]:
        """The scheduler's view of the live workers, by address."""
        with Client(self.address, timeout="10s", set_as_default=False) as client:
            info: dict[str, Any] = client.scheduler_info(n_workers=-1)["workers"]
        return info

    def wait_for_workers(self, count: int, timeout: float = 90.0) -> None:
        """Block until ``count`` workers are connected."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if len(self.worker_info()) >= count:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = "\n".join(
                    p.name + ": " + p.read_text(errors="replace")[-800:]
                    for p in sorted(self.folder.glob("*.log"))
                )
                pytest.fail(f"Dask cluster did not get {count} workers in {timeout} s\n{logs}")
            time.sleep(0.3)

    def pid_of(self, worker_address: str) -> int:
        """The pid of the worker process at ``worker_address``."""
        with Client(self.address, timeout="10s", set_as_default=False) as client:
            pids: dict[str, int] = client.run(os.getpid, workers=[worker_address])
        return int(pids[worker_address])

    def stop(self) -> None:
        """End every process this cluster started (and what they started)."""
        for process in [*self.workers, self.scheduler]:
            with contextlib.suppress(psutil.Error):
                tree = [psutil.Process(process.pid)]
                tree += tree[0].children(recursive=True)
                for member in tree:
                    with contextlib.suppress(psutil.Error):
                        member.send_signal(signal.SIGKILL)
            with contextlib.suppress(Exception):
                process.wait(timeout=10)


@contextlib.contextmanager
def dask_processes(
    folder: Path, workers: int = 2, threads: int = 1, env: dict[str, str] | None = None
) -> Iterator[DaskProcesses]:
    """A running scheduler with ``workers`` workers (``env``: theirs), stopped afterwards."""
    cluster = DaskProcesses(folder)
    cluster.worker_env = dict(env or {})
    try:
        for _ in range(workers):
            cluster.add_worker(threads)
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        cluster.stop()
