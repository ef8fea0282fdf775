"""One database connection per thread, and closing them safely: what every SQL store needs.

Driver connections (sqlite3, psycopg) must not be used by two threads at once, so a store
keeps one per thread. A connection of a thread that ended is closed the next time a
connection is opened; :meth:`ThreadConnections.close` closes the caller's connection (and
dead threads') at once and leaves the others to their own threads, which find the store
closed on their next call.
"""

from __future__ import annotations

import threading
import weakref

from ...exceptions import StoreError
from .dialect import Connection


class ThreadConnections:
    """The per-thread connections of a store (a base class of ``SqlStore``).

    A subclass opens connections in :meth:`_open_connection` and says in :meth:`_usable`
    whether a kept one still works; :meth:`_conn` hands out the calling thread's.
    """

    location: str
    _local: threading.local
    _registry_lock: threading.Lock
    _connections: list[tuple[weakref.ref[threading.Thread], Connection]]
    _closed: bool

    def _init_connections(self) -> None:
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._connections = []
        self._closed = False

    def _open_connection(self) -> Connection:
        """A new connection to the database, checked and migrated."""
        raise NotImplementedError

    def _usable(self, conn: Connection) -> bool:
        """Whether the calling thread's kept connection can still be used."""
        return True

    def _conn(self) -> Connection:
        """The calling thread's connection, opened on first use.

        Raises:
            StoreError: the store was closed.
        """
        if self._closed:
            self.release_thread_resources()  # a thread closes only its own connection
            raise StoreError(f"The tracking store {self.location} has been closed.")
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._usable(conn):
            return conn
        if conn is not None:
            self.release_thread_resources()
        conn = self._open_connection()
        self._keep_connection(conn)
        return conn

    def _keep_connection(self, conn: Connection) -> None:
        """Make ``conn`` the calling thread's connection."""
        self._local.conn = conn
        with self._registry_lock:
            self._prune_dead_threads()
            self._connections.append((weakref.ref(threading.current_thread()), conn))

    def _prune_dead_threads(self) -> None:
        # The main thread counts as alive: during interpreter shutdown (atexit hooks, which
        # still write) ``is_alive()`` is already False for it.
        keep = (threading.main_thread(), threading.current_thread())
        alive = []
        for ref, conn in self._connections:
            thread = ref()
            if thread is None or (thread not in keep and not thread.is_alive()):
                conn.close()
            else:
                alive.append((ref, conn))
        self._connections = alive

    def release_thread_resources(self) -> None:
        """Close the calling thread's connection, if it has one."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        del self._local.conn
        with self._registry_lock:
            self._connections = [(r, c) for r, c in self._connections if c is not conn]
        conn.close()

    def open_connection_count(self) -> int:
        """Number of open connections of this store in this process."""
        with self._registry_lock:
            self._prune_dead_threads()
            return len(self._connections)

    def close(self) -> None:
        """Close the store: the calling thread's connection (and dead threads') now.

        A connection of another live thread may be in use right now, and closing it under
        that thread could crash the driver; it is closed by its own thread on its next use
        (which then raises ``StoreError``), or when the thread ends.
        """
        me = threading.current_thread()
        with self._registry_lock:
            self._closed = True
            others = []
            for ref, conn in self._connections:
                thread = ref()
                if thread is None or thread is me or not thread.is_alive():
                    conn.close()
                else:
                    others.append((ref, conn))
            self._connections = others
        if getattr(self._local, "conn", None) is not None:
            del self._local.conn

    def reset_after_fork(self) -> None:
        """Forget connections inherited from the parent process (never use them)."""
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._connections = []
