"""The PostgreSQL backend (the team store), on psycopg 3.

Everything SQL is shared with the other SQL backends (:class:`~run_widgets.store.sql.SqlStore`,
in the :data:`~run_widgets.store.postgres.dialect.POSTGRESQL` dialect, whose row locks
and commit-ordered chunk ids make incremental reads correct under concurrent writers);
this module connects, checks and migrates the database, says what the driver's errors
mean, and runs a call again when that is safe:

* A server at ``max_connections`` refuses new sessions: the main thread waits for a free
  one (one warning line, backoff, ``RUN_WIDGETS_CONNECT_WAIT`` seconds at most); other
  threads get :class:`StoreUnavailableError` at once and retry on their own (the
  flusher keeps logged points meanwhile, as during a restart).
* One connection per thread (autocommit, explicit transactions). A connection broken by
  a server restart is dropped and the call raises :class:`StoreUnavailableError` (a
  ``StoreError``, so the flusher keeps the points and retries); a call that failed on a
  connection kept from before is tried once more on a fresh one.
* Deadlocks between two writes of the same runs are detected by PostgreSQL; the write is
  rolled back and tried again.
* Metric points are the same packed chunks as in SQLite (``bytea`` columns, stored
  uncompressed) and are read with binary transfer, so a history read is a memcpy.
* Messages and ``repr`` show the store as ``postgresql://user@host:port/db``: never the
  password.
* Rights: each new connection finds what its role may do (:attr:`PostgresStore.access`:
  owner, writer or viewer; see :mod:`.roles`). Only the owner migrates the schema (a
  writer meeting an older schema is told to ask the owner); a viewer's writes are refused
  before they are sent, and a writer's change of another role's run (hidden by
  row-level security) is a ``StorePermissionError`` naming the role and what it tried.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import ClassVar, NoReturn, TypeVar

import psycopg
from psycopg import errors as pg_errors

from ...exceptions import StoreCorruptError, StoreError, StorePermissionError, StoreVersionError
from ..sql.store import SqlStore
from .dialect import POSTGRESQL
from .schema import SCHEMA_VERSION, ForeignTablesError, migrate, read_version
from .uri import PostgresTarget, parse

CONNECT_TIMEOUT_S = 10
DEADLOCK_RETRIES = 5
ENV_CONNECT_WAIT = "RUN_WIDGETS_CONNECT_WAIT"
DEFAULT_CONNECT_WAIT_S = 300.0
"""How long the main thread waits for a connection of a full server before it gives up."""

_T = TypeVar("_T")
_FULL = re.compile(r"sorry, too many clients already|remaining connection slots are reserved[^\n]*")
"""What PostgreSQL says when max_connections is reached (no SQLSTATE reaches the client)."""
_CONNECTION_PREFIX = re.compile(r"^connection (to server at [^:]*? failed|failed): ")
_TLS_WORDS = re.compile(r"\bSSL\b|certificate|\bTLS\b", re.IGNORECASE)

_ACCESS = """
SELECT current_user, r.rolsuper, t.oid IS NOT NULL,
       t.oid IS NOT NULL AND pg_has_role(current_user, t.relowner, 'USAGE'),
       t.oid IS NOT NULL AND has_table_privilege(t.oid, 'INSERT'),
       t.oid IS NOT NULL AND has_table_privilege(t.oid, 'SELECT'),
       has_schema_privilege(current_schema(), 'CREATE')
FROM pg_roles r LEFT JOIN pg_class t ON t.oid = to_regclass('runs')
WHERE r.rolname = current_user
"""
"""The session's role and what it may do with the store (its ``runs`` table)."""


class StoreUnavailableError(StoreError):
    """The PostgreSQL server cannot be reached right now (down, restarting, network, full).

    Attributes:
        announced: the store already printed a warning about this outage (a full server),
            so a caller retrying in the background need not print another.
    """

    announced: bool = False


class _FullServerWait:
    """Waiting for a free connection of a full server: backoff, one warning per episode.

    One episode per store location and process: the first thread that meets the full
    server prints the warning; the episode ends when any thread connects again.
    """

    FIRST_DELAY_S = 0.5
    MAX_DELAY_S = 8.0
    _warned: ClassVar[set[str]] = set()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        self.started = time.monotonic()
        self.limit = _connect_wait_s()
        self.delay = self.FIRST_DELAY_S
        self.foreground = threading.current_thread() is threading.main_thread()
        if not self.foreground:
            return
        with self._lock:
            first = location not in self._warned
            self._warned.add(location)
        if first:
            print(
                f"run_widgets: the PostgreSQL server of the tracking store {location} has no "
                f"free connection (max_connections reached: {reason}); waiting for one, retrying "
                f"with backoff (up to every {self.MAX_DELAY_S:.0f} s) for up to "
                f"{self.limit:.0f} s (RUN_WIDGETS_CONNECT_WAIT). Logged points are kept meanwhile.",
                file=sys.stderr,
                flush=True,
            )

    def wait(self) -> bool:
        """Sleep before the next attempt; False when this thread should give up instead."""
        if not self.foreground or time.monotonic() - self.started >= self.limit:
            return False
        time.sleep(min(self.delay, max(0.0, self.limit - (time.monotonic() - self.started))))
        self.delay = min(self.delay * 2, self.MAX_DELAY_S)
        return True

    def summary(self) -> str:
        """What the waiting amounted to, for the error raised after it."""
        if not self.foreground:
            return ""
        return f"; waited {time.monotonic() - self.started:.0f} s for a free connection"

    @classmethod
    def announced(cls, location: str) -> bool:
        """Whether a warning about ``location`` being full was printed in this episode."""
        with cls._lock:
            return location in cls._warned

    @classmethod
    def ended(cls, location: str) -> None:
        """A connection to ``location`` succeeded: the next full episode warns again."""
        if cls._warned:
            with cls._lock:
                cls._warned.discard(location)


def _connect_wait_s() -> float:
    """How long the main thread waits for a free connection (``RUN_WIDGETS_CONNECT_WAIT``)."""
    try:
        return max(0.0, float(os.environ.get(ENV_CONNECT_WAIT, DEFAULT_CONNECT_WAIT_S)))
    except ValueError:
        return DEFAULT_CONNECT_WAIT_S


class _WriteConflict(StoreError):
    """A transaction was rolled back by a deadlock or serialization failure: try again."""


class PostgresStore(SqlStore):
    """A tracking store in a PostgreSQL database, shared by every client that opens its URI.

    Args:
        uri: ``postgresql://user:password@host:port/database``; libpq's usual sources
            (``PGPASSWORD``, ``~/.pgpass``) supply a password the URI leaves out.

    Raises:
        StoreUnavailableError: the server cannot be reached or refused the login.
        StoreVersionError: the database was written by a newer run_widgets.
        StoreCorruptError: the database holds tables that are not a run_widgets store.
    """

    dialect = POSTGRESQL
    driver_error = psycopg.Error

    def __init__(self, uri: str) -> None:
        self.target: PostgresTarget = parse(uri)
        self.location = self.target.safe
        self.uri = uri
        self._init_connections()
        self._conn()  # connect, validate and migrate now, so errors surface at open time

    # ------------------------------------------------------------------ connections --
    def _connect(self) -> psycopg.Connection:
        """A new connection; while the server is full, the main thread waits for a slot.

        A server at ``max_connections`` refuses new sessions until one ends. The main
        thread (opening a workspace, creating or ending a run) waits and retries with
        backoff for up to ``RUN_WIDGETS_CONNECT_WAIT`` seconds, after one warning line;
        background threads (the flusher, a view's poller) fail at once: they try again on
        their own schedule and keep their points meanwhile.
        """
        waited: _FullServerWait | None = None
        while True:
            try:
                conn = psycopg.connect(
                    self.target.conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    application_name="run_widgets",
                )
            except psycopg.OperationalError as exc:
                full = _FULL.search(str(exc))
                if full is None:
                    raise self._unavailable(exc) from None
                if waited is None:
                    waited = _FullServerWait(self.location, full.group(0))
                if not waited.wait():
                    raise self._unavailable(exc, waited.summary()) from None
                continue
            _FullServerWait.ended(self.location)
            return conn

    def _unavailable(self, exc: BaseException, note: str = "") -> StoreUnavailableError:
        text = self.target.scrub(str(exc).strip())
        if _TLS_WORDS.search(text):
            return self._tls_failure(text)
        detail = text.splitlines()[0] if text else ""
        full = _FULL.search(text)
        if full is not None:
            error = StoreUnavailableError(
                f"The PostgreSQL tracking store {self.location} (host {self.target.host}, port "
                f"{self.target.port}) refuses new connections: the server's max_connections is "
                f"reached ({full.group(0)}){note}"
            )
            error.announced = _FullServerWait.announced(self.location)
            return error
        return StoreUnavailableError(
            f"The PostgreSQL tracking store {self.location} (host {self.target.host}, port "
            f"{self.target.port}) cannot be reached: {detail or type(exc).__name__}"
        )

    def _tls_failure(self, text: str) -> StoreUnavailableError:
        """The error of a connection whose TLS handshake or certificate check failed."""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        detail = next((line for line in lines if _TLS_WORDS.search(line)), lines[0])
        while (shorter := _CONNECTION_PREFIX.sub("", detail, count=1)) != detail:
            detail = shorter
        hint = {
            "verify-full": "the server's certificate must be signed by the CA in sslrootcert "
            "and name the host of the URI",
            "verify-ca": "the server's certificate must be signed by the CA in sslrootcert",
        }.get(self.target.tls or "", "check the server's TLS settings and the URI's ssl parameters")
        return StoreUnavailableError(
            f"The TLS connection to the PostgreSQL tracking store {self.location} (host "
            f"{self.target.host}, port {self.target.port}, sslmode={self.target.tls or 'prefer'})"
            f" failed: {detail}. With sslmode={self.target.tls or 'prefer'}, {hint}."
        )

    def _open_connection(self) -> psycopg.Connection:
        conn = self._connect()
        try:
            self._check_and_migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _detect_access(self, conn: psycopg.Connection) -> None:
        """Find what this connection's role may do: ``access`` owner, writer, viewer or none."""
        row = conn.execute(_ACCESS).fetchone()
        assert row is not None
        role, superuser, exists, owns, inserts, selects, creates = row
        self.role = str(role)
        if superuser or owns or (not exists and creates):
            self.access = "owner"
        elif inserts:
            self.access = "writer"
        elif selects:
            self.access = "viewer"
        else:
            self.access = "none"

    def _check_and_migrate(self, conn: psycopg.Connection) -> None:
        """Refuse a database this code must not touch; create or upgrade our schema."""
        self._detect_access(conn)
        if self.access == "none":
            raise StorePermissionError(
                f"The role {self.role!r} has no rights on the tracking store {self.location}"
                + (
                    ""
                    if conn.execute("SELECT to_regclass('runs')").fetchone() != (None,)
                    else " (the database holds no store yet, and the role may not create one)"
                )
                + ". The store's administrator gives roles rights: python -m "
                "run_widgets.store.postgres.roles.",
                role=self.role or "",
                action="open the store",
            )
        version = read_version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"The tracking store {self.location} has schema version {version}, written by "
                f"a newer run_widgets; this version understands up to {SCHEMA_VERSION}. "
                "Upgrade run_widgets on this machine to use it. Nothing was written."
            )
        if (version is None or version < SCHEMA_VERSION) and self.access != "owner":
            raise StoreVersionError(
                f"The tracking store {self.location} has schema version {version or 0}; this "
                f"run_widgets needs version {SCHEMA_VERSION}, and the role {self.role!r} (a "
                f"{self.access}) may not upgrade it. Its owner upgrades it by opening it once "
                "(python -m run_widgets.store migrate --store URI-of-the-owner). Nothing was "
                "written."
            )
        if version is None or version < SCHEMA_VERSION:
            try:
                migrate(conn)
            except ForeignTablesError as foreign:
                raise StoreCorruptError(
                    f"The database {self.location} has tables ({', '.join(foreign.tables[:5])})"
                    " but is not a run_widgets tracking store. It was left untouched; point the "
                    "workspace at an empty database."
                ) from None
            except psycopg.OperationalError as exc:
                raise self._unavailable(exc) from None
            except psycopg.Error as exc:
                raise StoreError(
                    f"Creating the schema of {self.location} failed: {self.target.scrub(str(exc))}"
                ) from None
            if (read_version(conn) or 0) > SCHEMA_VERSION:  # a newer client won the race
                raise StoreVersionError(
                    f"The tracking store {self.location} was just upgraded by a newer "
                    "run_widgets; upgrade this one too."
                )
            self._detect_access(conn)  # the tables exist now

    def _usable(self, conn: psycopg.Connection) -> bool:
        return not conn.closed and not conn.broken

    def _raise_translated(self, exc: Exception) -> NoReturn:
        """Raise the ``StoreError`` that says what the driver error means (no password)."""
        if isinstance(exc, (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)):
            raise _WriteConflict(self.target.scrub(str(exc))) from None
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            action = getattr(self._local, "action", None) or "read from it"
            raise self._permission_error(action, self.target.scrub(str(exc).strip())) from None
        if isinstance(exc, psycopg.OperationalError):
            self.release_thread_resources()
            raise self._unavailable(exc) from None
        raise StoreError(f"Tracking store {self.location}: {self.target.scrub(str(exc))}") from None

    def _retry(self, call: Callable[[], _T]) -> _T:
        """Run ``call``; again if the kept connection was dead, or after a deadlock.

        A server restart kills every connection, and a client learns it only on next use:
        that first call is retried once on a fresh connection. (A call that fails on a
        fresh connection means the server is away: the error goes to the caller.) A write
        rolled back by a deadlock is tried again, a few times.
        """
        reconnected = False
        for attempt in range(DEADLOCK_RETRIES):
            reused = getattr(self._local, "conn", None) is not None
            try:
                return call()
            except StoreUnavailableError:
                if not reused or reconnected:
                    raise
                reconnected = True
            except _WriteConflict:
                if attempt == DEADLOCK_RETRIES - 1:
                    raise StoreError(
                        f"Tracking store {self.location}: a write kept deadlocking with "
                        "other writers; try again."
                    ) from None
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")
