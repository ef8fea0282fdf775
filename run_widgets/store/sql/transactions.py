"""Transactions of the SQL stores: reading, a consistent snapshot, writing, and retries.

:class:`SqlTransactions` is the bottom of :class:`~run_widgets.store.sql.SqlStore`: it
hands out the calling thread's connection (:mod:`.connections`) inside one of three
context managers, turns driver errors into :class:`~run_widgets.exceptions.StoreError`
through the backend's :meth:`SqlTransactions._raise_translated`, and runs every public
store call through :meth:`SqlTransactions._retry` (decorator :func:`retried`), where a
backend may run it again (PostgreSQL: after its server restarted, after a deadlock).

Every write transaction says what it does (``action``, in words): a client whose role may
not write is refused before the transaction begins, and a row the database's row-level
security hides from an update (:class:`NotYours`, raised by the statements that notice)
becomes a :class:`~run_widgets.exceptions.StorePermissionError` naming role and action.
"""

from __future__ import annotations

import abc
import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Concatenate, NoReturn, ParamSpec, TypeVar

from ...exceptions import StorePermissionError
from .connections import ThreadConnections
from .dialect import Connection, Dialect

_P = ParamSpec("_P")
_T = TypeVar("_T")
_S = TypeVar("_S", bound="SqlTransactions")


def retried(method: Callable[Concatenate[_S, _P], _T]) -> Callable[Concatenate[_S, _P], _T]:
    """Run a store method through :meth:`SqlTransactions._retry`, so a backend may run it again."""

    @functools.wraps(method)
    def call(store: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return store._retry(functools.partial(method, store, *args, **kwargs))

    return call


class NotYours(Exception):
    """A row exists but the database lets this role read it only, not change it.

    Raised inside a write transaction by statements that notice (a run whose lock
    returned nothing, an update that changed no row); the transaction turns it into a
    ``StorePermissionError``.
    """


class SqlTransactions(ThreadConnections, abc.ABC):
    """Connections and transactions of a SQL store, in its backend's dialect.

    Subclasses set :attr:`dialect` and :attr:`driver_error`, call
    :meth:`_init_connections` and implement :meth:`_open_connection` and
    :meth:`_raise_translated`; they may override :meth:`_usable`, :meth:`_begin` and
    :meth:`_retry`.
    """

    #: How this database spells the shared statements.
    dialect: ClassVar[Dialect]
    #: The base class of the driver's exceptions (``sqlite3.Error``, ``psycopg.Error``).
    driver_error: ClassVar[type[Exception]]
    location: str
    access: str
    role: str | None

    # -------------------------------------------------------------- backend hooks --
    @abc.abstractmethod
    def _raise_translated(self, exc: Exception) -> NoReturn:
        """Raise the ``StoreError`` that tells the user what the driver error ``exc`` means."""

    def _begin(self, conn: Connection, statement: str) -> None:
        """Begin a transaction with ``statement`` (after ending one an interrupt abandoned)."""
        self._end_stale_transaction(conn)
        conn.execute(statement)

    def _retry(self, call: Callable[[], _T]) -> _T:
        """Run one call of a public method; a backend may run it again after a failure."""
        return call()

    def _check_may_write(self, action: str) -> None:
        """Raise ``StorePermissionError`` now if this client may not write at all."""
        if self.access == "viewer":
            raise self._permission_error(action, "the role may only read this store (a viewer)")

    def _permission_error(self, action: str, why: str) -> StorePermissionError:
        """The error that says this client's role may not do ``action``, and why."""
        role = self.role or "this client"
        return StorePermissionError(
            f"The role {role!r} cannot {action} in the tracking store {self.location}: "
            f"{why}. Nothing was written; retrying will not help. The store's administrator "
            "gives roles their rights (python -m run_widgets.store.postgres.roles).",
            role=role,
            action=action,
        )

    def _refuse_hidden_runs(self, conn: Connection, run_ids: Sequence[str]) -> None:
        """Raise ``NotYours`` for runs that exist but that the lock did not return.

        Row-level security (PostgreSQL roles) lets a writer read every run but lock, and
        so change, only its own: the others are filtered out of the locking SELECT, not
        reported. (A run missing for real is left to the caller: RunNotFoundError.)
        """
        rows = self.dialect.select_in(conn, "SELECT id, created_by FROM runs", "id", run_ids)
        if rows:
            run_id, creator = rows[0]
            raise NotYours(
                f"run {run_id} was created by the role {creator!r}, and a writer changes only "
                "the runs its own role created"
            )

    # ---------------------------------------------------------------- transactions --
    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """The thread's connection for reads outside a transaction (one statement each)."""
        conn = self._conn()
        try:
            yield conn
        except self.driver_error as exc:
            self._raise_translated(exc)

    @contextlib.contextmanager
    def _snapshot_read(self) -> Iterator[Connection]:
        """A read transaction: several SELECTs see one consistent state."""
        with self._reading() as conn:
            self._begin(conn, self.dialect.begin_snapshot)
            self._local.in_transaction = True
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(self.driver_error):
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._local.in_transaction = False

    @contextlib.contextmanager
    def _writing(self, action: str = "write") -> Iterator[Connection]:
        """A write transaction doing ``action``: committed if the block ends normally.

        Rolled back otherwise; refused before it begins when this client may not write.
        """
        conn = self._conn()
        self._check_may_write(action)
        self._local.action = action
        try:
            self._begin(conn, self.dialect.begin_write)
        except self.driver_error as exc:
            self._raise_translated(exc)
        self._local.in_transaction = True
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(self.driver_error):
                conn.execute("ROLLBACK")
            if isinstance(exc, NotYours):
                raise self._permission_error(action, str(exc)) from None
            if isinstance(exc, self.driver_error):
                self._raise_translated(exc)
            raise
        finally:
            self._local.in_transaction = False
            self._local.action = None

    def _end_stale_transaction(self, conn: Connection) -> None:
        """Roll back a transaction left open by an interrupted call (e.g. by a signal handler).

        Every transaction of this class ends in the call that began it, so one still open
        when a new one starts, outside any of our calls, was abandoned between ``BEGIN``
        and its ``try`` block; keeping it would hold its locks forever and make every later
        write of this thread fail. Inside one of our transactions nothing is rolled back
        (a nested ``BEGIN`` then fails loudly, as it should).
        """
        if self.dialect.in_transaction(conn) and not getattr(self._local, "in_transaction", False):
            with contextlib.suppress(self.driver_error):
                conn.execute("ROLLBACK")

    def _in_read(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(conn, dialect, *args)`` on the thread's connection (see ``SqlRegistries``)."""
        return self._retry(functools.partial(self._read_with, function, *args))

    def _in_write(self, action: str, function: Callable[..., _T], *args: Any) -> _T:
        """``function(conn, dialect, *args)`` in a write transaction doing ``action``."""
        return self._retry(functools.partial(self._write_with, action, function, *args))

    def _read_with(self, function: Callable[..., _T], *args: Any) -> _T:
        with self._reading() as conn:
            return function(conn, self.dialect, *args)

    def _write_with(self, action: str, function: Callable[..., _T], *args: Any) -> _T:
        with self._writing(action) as conn:
            return function(conn, self.dialect, *args)
