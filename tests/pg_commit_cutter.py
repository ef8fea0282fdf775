"""A TCP proxy in front of a real PostgreSQL server that cuts a connection right after
the client sent COMMIT: the server commits, the client never hears back.

That is the one fault a retry cannot tell apart from "not written", and the reason the
store applies each writer's appends once (``AppendPoints.writer``/``seq``). Only the
network is faked here; the database is the real server behind the proxy.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# The simple-query message psycopg sends to end a transaction block.
COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"


class CommitCutter:
    """Forwards 127.0.0.1:``port`` to the server of ``uri``; :meth:`arm` cuts COMMITs."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        netloc = parts.netloc.rsplit(":", 1)[0] + f":{self.port}"
        self.uri = urlunsplit(parts._replace(netloc=netloc))
        self._lock = threading.Lock()
        self._to_cut = 0
        self._to_skip = 0
        self.cuts = 0
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, times: int, skip: int = 0) -> None:
        """Cut the connection after each of the ``times`` COMMITs that follow the next
        ``skip`` ones."""
        with self._lock:
            self._to_skip = skip
            self._to_cut = times

    def close(self) -> None:
        """Stop listening and drop every connection."""
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _take_cut(self) -> bool:
        with self._lock:
            if self._to_cut <= 0:
                return False
            if self._to_skip > 0:
                self._to_skip -= 1
                return False
            self._to_cut -= 1
            return True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            self._sockets += [client, server]
            state: dict[str, Any] = {"drop": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, Any]) -> None:
        tail = b""
        with contextlib.suppress(OSError):
            while data := client.recv(1 << 16):
                window = tail + data
                if COMMIT in window and self._take_cut():
                    state["drop"] = True  # before the server can answer
                    server.sendall(data)
                    time.sleep(0.5)  # the server commits; its answer goes nowhere
                    with self._lock:
                        self.cuts += 1
                    break
                server.sendall(data)
                tail = window[-len(COMMIT) :]
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _down(self, server: socket.socket, client: socket.socket, state: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(1 << 16):
                if state["drop"]:
                    continue
                client.sendall(data)
