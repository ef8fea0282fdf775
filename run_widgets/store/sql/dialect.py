"""How one SQL database spells what the shared statements need: the dialect.

The statements of :mod:`run_widgets.store.sql` are written once, with ``?`` parameter
marks, and run on every SQL backend through its :class:`Dialect`: the parameter mark, a
"column is one of these values" term that takes one parameter, row locks, how write and
snapshot transactions begin, how chunk ids are drawn, and the few expressions the run-page
queries need (JSON, case-insensitive matching, text order). Every text parameter is
checked on the way in (:func:`~run_widgets.store.rules.unstorable_reason`): text no
database can hold (NUL, a lone surrogate) is a ``UserErrorException`` on every backend,
never a driver error on one and a silent truncation on the other. Each backend package defines
its dialect (``sqlite/dialect.py``, ``postgres/dialect.py``) as a subclass that sets these
attributes and overrides the methods whose behaviour differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..rules import check_storable

Connection = Any
"""An open DB-API connection of the backend (``sqlite3.Connection`` or ``psycopg.Connection``):
both have ``execute(sql, params)`` returning a cursor with ``fetchone``/``fetchall``, and
``cursor()`` whose cursors have ``executemany``."""


class Dialect:
    """The differences between SQL databases that the shared statements need.

    Attributes are SQL fragments; methods run the statements on a connection.
    """

    #: ``sqlite`` or ``postgresql``.
    name: str
    #: The parameter placeholder of the driver.
    mark: str
    #: WHERE term "``{}`` is one of the values of the one parameter" (format it with the
    #: column); :meth:`values_param` builds that parameter.
    member_of: str
    #: Appended to a SELECT inside a write: lock the rows read until the transaction ends
    #: (never blocking the foreign-key checks of other writers).
    row_lock: str
    #: The statement that begins a write transaction.
    begin_write: str
    #: The statement that begins a read transaction with one consistent snapshot.
    begin_snapshot: str
    #: Aggregate of ``(key, value)`` rows into one JSON object (tags, properties).
    object_agg: str
    #: Case-insensitive LIKE.
    ilike: str
    #: The last value of the metric row ``m`` as a float (NULL: not a scalar number).
    metric_value: str
    #: The run's script arguments joined by spaces (NULL: none).
    arguments: str
    #: The larger of two numbers.
    greatest: str
    #: Appended to a text sort value: code-point order, as Python compares str.
    text_order: str
    #: A WHERE clause that is always true.
    true: str
    #: Equality that matches NULL with NULL.
    null_safe_equal: str
    #: The session's database role as an SQL value (NULL where there are no roles).
    role: str

    # -- statements ------------------------------------------------------------------------
    def sql(self, statement: str) -> str:
        """``statement`` (written with ``?`` marks) in this dialect."""
        return statement if self.mark == "?" else statement.replace("?", self.mark)

    def execute(self, conn: Connection, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run ``statement`` (written with ``?`` marks) on ``conn``; return the cursor.

        Raises:
            UserErrorException: a text parameter no database can hold (NUL, surrogates).
        """
        params = tuple(params)
        check_params(params)
        return conn.execute(self.sql(statement), params)

    def executemany(self, conn: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``statement`` once per row of parameters (nothing for no rows).

        Raises:
            UserErrorException: a text parameter no database can hold (NUL, surrogates).
        """
        for row in rows:
            check_params(row)
        if rows:
            cursor = conn.cursor()
            try:
                cursor.executemany(self.sql(statement), rows)
            finally:
                cursor.close()

    def in_clause(self, column: str) -> str:
        """WHERE term "``column`` is one of the values of the one parameter"."""
        return self.member_of.format(column)

    def values_param(self, values: Sequence[Any]) -> Any:
        """The one parameter of :meth:`in_clause` holding ``values``."""
        raise NotImplementedError

    def one_of(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        """WHERE term "``column`` is one of ``values``" and its one parameter.

        One value (a write's usual case: one run, one writer) is a plain ``=``: no list to
        encode and unpack.
        """
        if len(values) == 1:
            return f"{column} = ?", values[0]
        return self.in_clause(column), self.values_param(values)

    def select_in(
        self, conn: Connection, select: str, column: str, values: Sequence[Any], rest: str = ""
    ) -> list[Any]:
        """The rows of ``select WHERE column IN values`` (then ``rest``: more terms, a lock)."""
        term, param = self.one_of(column, values)
        return list(self.execute(conn, f"{select} WHERE {term}{rest}", (param,)).fetchall())

    # -- behaviour -------------------------------------------------------------------------
    def lock(self, conn: Connection, key: str) -> None:
        """Serialize, until commit, the write transactions that number things under ``key``."""

    def in_transaction(self, conn: Connection) -> bool:
        """Whether ``conn`` is inside a transaction block."""
        raise NotImplementedError

    def chunk_ids(self, conn: Connection, n: int) -> Sequence[int | None]:
        """Ids for ``n`` new chunks, ascending (``None``: the insert assigns the next one)."""
        return [None] * n

    def blob_cursor(self, conn: Connection) -> Any:
        """A cursor for statements that read or write packed point blobs."""
        return conn.cursor()


def check_params(params: Iterable[Any]) -> None:
    """Refuse text parameters no database can hold, the same way on every backend.

    Raises:
        UserErrorException: a NUL character or a lone surrogate in a str parameter.
    """
    for param in params:
        if type(param) is str:
            check_storable(param, "text")
        elif type(param) is list:  # an array parameter (PostgreSQL's "= ANY(?)")
            check_params(param)
