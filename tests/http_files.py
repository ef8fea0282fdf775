"""A local HTTP server of a temporary folder, for the http(s) dataset tests.

It binds 127.0.0.1 on a free port, serves in a thread of the test process, and is shut
down when the fixture ends.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class FileServer:
    """A running server of ``folder``; ``url(name)`` is a file's address."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="http-files", daemon=True
        )
        self.thread.start()

    def url(self, name: str) -> str:
        """The URL of ``name`` below the folder."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[FileServer]:
    """A server of a fresh folder (``http_files.folder``)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = FileServer(folder)
    try:
        yield server
    finally:
        server.stop()
