"""Azurite, Microsoft's Azure Storage emulator (npm package ``azurite``), for the Blob tests.

The blob service is started on a free 127.0.0.1 port with a temporary data folder and
stopped when the session ends. ``./scripts/test`` installs Azurite with npm into
``~/.cache/run_widgets/npm`` when it is missing; ``AZURITE_BLOB`` names another binary.
The account and key are Azurite's documented development ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CACHE = Path.home() / ".cache" / "run_widgets" / "npm"


def azurite_binary() -> str | None:
    """The ``azurite-blob`` executable: ``$AZURITE_BLOB``, the npm cache, or PATH."""
    configured = os.environ.get("AZURITE_BLOB")
    if configured:
        return configured
    cached = CACHE / "node_modules" / ".bin" / "azurite-blob"
    if cached.exists():
        return str(cached)
    return shutil.which("azurite-blob")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Azurite:
    """A running Azurite blob service.

    Attributes:
        port: its port on 127.0.0.1.
        endpoint: ``127.0.0.1:<port>`` (the ``endpoint=`` of a datastore registration).
    """

    def __init__(self, folder: Path) -> None:
        binary = azurite_binary()
        if binary is None:
            pytest.fail(
                "Azurite is not installed: ./scripts/test installs it, or run "
                f"'npm install --prefix {CACHE} azurite' (or set AZURITE_BLOB)."
            )
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self._log = open(folder / "azurite.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                binary,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(folder / "data"),
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"Azurite exited at start: {(folder / 'azurite.log').read_text()[-2000:]}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                break
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("Azurite did not listen within 60 s")
            time.sleep(0.1)

    @property
    def connection_string(self) -> str:
        """A connection string of the emulator's account."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://{self.endpoint}/{ACCOUNT};"
        )

    def create_container(self, name: str) -> None:
        """Create a blob container."""
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(self.connection_string).create_container(name)

    def stop(self) -> None:
        """End the emulator."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite blob service for the session."""
    server = Azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.stop()
