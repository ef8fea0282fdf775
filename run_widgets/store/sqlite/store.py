"""The SQLite backend: the embedded default store (one WAL file per workspace).

Everything SQL is shared with the other SQL backends (:class:`~run_widgets.store.sql.SqlStore`,
in the :data:`~run_widgets.store.sqlite.dialect.SQLITE` dialect); this module opens,
checks and migrates the file and says what SQLite's errors mean.

* WAL journal with ``synchronous=NORMAL``: readers never block writers and vice versa, and
  a commit is one sequential WAL append. Every write is one short ``BEGIN IMMEDIATE``
  transaction, so writers queue on SQLite's busy handler instead of failing with
  "database is locked" when they try to upgrade a read lock.
* One connection per thread (SQLite connections must not be shared across threads
  without a lock); connections of threads that ended are closed on the next open.
* A store file is checked before anything is written to it: a newer schema version, a
  file that is not a SQLite database, a truncated file or a foreign database is refused
  with a clear error and left byte-for-byte untouched.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import NoReturn

from ...exceptions import StoreCorruptError, StoreError, StoreReadOnlyError, StoreVersionError
from ..sql.store import SqlStore
from .dialect import SQLITE
from .schema import (
    APPLICATION_ID,
    CORE_TABLES,
    SCHEMA_VERSION,
    migrate,
    read_application_id,
    read_version,
)

BUSY_TIMEOUT_S = 60.0


class SqliteStore(SqlStore):
    """A tracking store in one SQLite file.

    Args:
        path: the database file; its directory must exist and be writable.
        busy_timeout: seconds a writer waits for another writer before giving up.
    """

    dialect = SQLITE
    driver_error = sqlite3.Error

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = BUSY_TIMEOUT_S):
        self.path = Path(path)
        self.location = str(self.path)
        self.uri = f"sqlite://{self.path.resolve()}"
        self._busy_timeout = busy_timeout
        self._init_connections()
        self._check_location()
        self._conn()  # opens, validates and migrates now, so errors surface at open time

    # ------------------------------------------------------------------ connections --
    def _check_location(self) -> None:
        directory = self.path.parent
        if not directory.is_dir():
            raise StoreError(f"The workspace directory {directory} does not exist.")
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"The tracking store path {self.path} exists but is not a file.")
        if not os.access(directory, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK)
        ):
            raise StoreReadOnlyError(
                f"The workspace at {directory} is read-only: run_widgets needs to write "
                f"{self.path.name} and its journal files there. Choose a writable workspace "
                "(Workspace(path=...) or the RUN_WIDGETS_WORKSPACE variable)."
            )

    def _open_connection(self) -> sqlite3.Connection:
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        try:
            if existed:
                self._validate_existing(conn)
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            if read_version(conn) < SCHEMA_VERSION:
                migrate(conn)
            elif read_application_id(conn) == 0:  # ours (validated), from before the stamp
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, self.path) from exc
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL, waiting out other processes that open it at the same time.

        Changing the journal mode needs an exclusive lock, and SQLite reports a competing
        opener as "database is locked" at once instead of calling the busy handler, so
        several processes opening a new workspace together must retry here.
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if ("locked" not in message and "busy" not in message) or (
                    time.monotonic() > deadline
                ):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _validate_existing(self, conn: sqlite3.Connection) -> None:
        """Refuse, without writing, a store this code must not touch."""
        version = read_version(conn)  # raises "file is not a database" on garbage
        application_id = read_application_id(conn)
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        # Ours: stamped with our application id, or (stores written before the stamp)
        # unstamped with our core tables. Empty and unversioned: a new store.
        ours = application_id == APPLICATION_ID or (
            application_id == 0 and names >= CORE_TABLES and version > 0
        )
        if not ours and (names or version != 0 or application_id != 0):
            raise StoreCorruptError(
                f"{self.path} is a SQLite database but not a run_widgets tracking store "
                f"(application id {application_id:#x}, schema version {version}, tables "
                f"{sorted(names)[:5]}). It was left untouched; point the workspace elsewhere."
            )
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"The tracking store {self.path} has schema version {version}, written by a "
                f"newer run_widgets; this version understands up to {SCHEMA_VERSION}. "
                "Upgrade run_widgets to open it. The file was left untouched."
            )
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        wal = Path(f"{self.path}-wal")
        wal_empty = not wal.exists() or wal.stat().st_size == 0
        if wal_empty and self.path.stat().st_size < page_size * page_count:
            raise StoreCorruptError(
                f"The tracking store {self.path} is truncated ({self.path.stat().st_size} "
                f"bytes, its header says {page_size * page_count}). It was left untouched; "
                "restore it from a backup or move it aside to start a new store."
            )
        if version > 0:
            problem = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise StoreCorruptError(
                    f"The tracking store {self.path} is damaged ({problem}). It was left "
                    "untouched; restore it from a backup or move it aside."
                )

    def _begin(self, conn: sqlite3.Connection, statement: str) -> None:
        """Begin a transaction, retrying a spurious early BUSY until the busy timeout."""
        self._end_stale_transaction(conn)
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                # The busy handler already waited; retry only a spurious early BUSY.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"The tracking store {self.path} stayed locked by another writer "
                        f"for {self._busy_timeout:.0f} s."
                    ) from exc
                time.sleep(0.05)

    def _raise_translated(self, exc: Exception) -> NoReturn:
        """Raise the ``StoreError`` that says what SQLite's error means for this file."""
        assert isinstance(exc, sqlite3.Error)
        raise _translate(exc, self.path) from exc


def _translate(exc: sqlite3.Error, path: Path) -> StoreError:
    message = str(exc)
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return StoreReadOnlyError(
            f"The tracking store {path} cannot be written ({message}). Check the permissions "
            "of the workspace directory and of the file."
        )
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return StoreCorruptError(
            f"The tracking store {path} is damaged or is not a run_widgets store ({message})."
            " It was left untouched; restore it from a backup or move it aside."
        )
    if "disk is full" in lowered or "disk i/o" in lowered:
        return StoreError(f"Writing the tracking store {path} failed: {message}.")
    if "unable to open" in lowered:
        return StoreError(f"The tracking store {path} cannot be opened ({message}).")
    return StoreError(f"Tracking store {path}: {message}")
