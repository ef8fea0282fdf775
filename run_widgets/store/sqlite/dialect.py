"""How SQLite spells the shared statements of :mod:`run_widgets.store.sql`.

Writers are serialized by SQLite itself (``BEGIN IMMEDIATE`` takes the database's write
lock), so nothing needs a row lock or an advisory lock, and ids assigned at insert time
are in commit order. Lists of values travel as one JSON array parameter (``json_each``),
never as one placeholder per value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..sql.dialect import Connection, Dialect, check_params


class SqliteDialect(Dialect):
    """The SQLite dialect (sqlite3 connections in autocommit mode)."""

    name = "sqlite"
    mark = "?"
    member_of = "{} IN (SELECT value FROM json_each(?))"
    row_lock = ""  # the write transaction holds the whole database already
    begin_write = "BEGIN IMMEDIATE"
    begin_snapshot = "BEGIN"
    object_agg = "json_group_object"
    ilike = "LIKE"  # folds ASCII case only
    metric_value = (
        "CASE WHEN m.kind = 'scalar' AND json_type(m.last_value) IN ('integer', 'real')"
        " THEN CAST(m.last_value AS REAL) END"
    )
    arguments = (
        "(SELECT NULLIF(group_concat(CAST(a.value AS TEXT), ' '), '')"
        " FROM json_each(r.definition, '$.arguments') a)"
    )
    greatest = "MAX"
    text_order = ""  # BINARY collation: code points of UTF-8
    true = "1"
    role = "NULL"
    null_safe_equal = "IS"

    def values_param(self, values: Sequence[Any]) -> Any:
        """The values as one JSON array (no per-value placeholders, no size limit)."""
        check_params(values)
        return json.dumps(list(values))

    def in_transaction(self, conn: Connection) -> bool:
        """Whether ``conn`` is inside a transaction block."""
        return bool(conn.in_transaction)


SQLITE = SqliteDialect()
