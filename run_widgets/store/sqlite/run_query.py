"""SQL for :class:`~run_widgets.store.run_query.RunQuery` on the SQLite store.

One statement counts the matching runs and one picks the page's ids in order; both use
the same WHERE clause. Sorting by a tag, a property or a metric is a correlated subquery
on that table's (run_id, key/name) index, so a page of a 10,000-run experiment costs a
few milliseconds and never loads the other runs. Results match ``query_runs_generic``
(the contract tests compare them), except that text matching folds case for ASCII only
(SQLite's ``LIKE``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..run_query import RunColumns, RunQuery, ids_json

NEVER_EMPTY = frozenset({"number", "status", "start", "duration"})
_SUBQUERY = "(SELECT x.value FROM {table} x WHERE x.run_id = r.id AND x.key = ?)"
_METRIC = (
    "(SELECT CASE WHEN m.kind = 'scalar' AND json_type(m.last_value) IN ('integer', 'real')"
    " THEN CAST(m.last_value AS REAL) END FROM metrics m WHERE m.run_id = r.id AND m.name = ?)"
)
_ARGUMENTS = (
    "(SELECT NULLIF(group_concat(CAST(a.value AS TEXT), ' '), '')"
    " FROM json_each(r.definition, '$.arguments') a)"
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def scope_clause(query: RunQuery) -> tuple[list[str], list[Any]]:
    """The WHERE terms (on ``runs r``) of the query's scope: experiment, ids, children."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.experiment_id is not None:
        clauses.append("r.experiment_id = ?")
        params.append(query.experiment_id)
    if query.run_ids is not None:
        clauses.append("r.id IN (SELECT value FROM json_each(?))")
        params.append(ids_json(query.run_ids))
    if not query.include_children:
        clauses.append("r.parent_id IS NULL")
    return clauses, params


def where_clause(query: RunQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of the scope and the filters."""
    clauses, params = scope_clause(query)
    statuses = sorted(query.status_set())
    if statuses:
        clauses.append(f"r.status IN ({','.join('?' * len(statuses))})")
        params.extend(statuses)
    wanted = query.tag_filter()
    if wanted is not None:
        key, value = wanted
        if value is None:
            clauses.append("EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ?)")
            params.append(key)
        else:
            clauses.append(
                "EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ? AND t.value = ?)"
            )
            params.extend([key, value])
    text = query.text.strip()
    if text:
        pattern = _like(text)
        clauses.append(
            "(r.display_name LIKE ? ESCAPE '\\' OR r.id LIKE ? ESCAPE '\\'"
            " OR CAST(r.number AS TEXT) = ? OR EXISTS (SELECT 1 FROM tags t WHERE"
            " t.run_id = r.id AND (t.key LIKE ? ESCAPE '\\' OR t.value LIKE ? ESCAPE '\\')))"
        )
        params.extend([pattern, pattern, text, pattern, pattern])
    return " AND ".join(clauses) or "1", params


def sort_expression(query: RunQuery) -> tuple[str, list[Any]]:
    """The SQL value a run is sorted by (NULL: empty, sorted last)."""
    key = query.sort
    simple = {
        "number": "r.number",
        "display_name": "r.display_name",
        "status": "r.status",
        "start": "COALESCE(r.start_time, r.created_at)",
        "arguments": _ARGUMENTS,
    }
    if key in simple:
        return simple[key], []
    if key == "duration":
        return "MAX(0.0, COALESCE(r.end_time, ?) - r.created_at)", [query.at()]
    prefix, name = key.split(":", 1)
    if prefix == "metric":
        return _METRIC, [name]
    return _SUBQUERY.format(table="tags" if prefix == "tag" else "properties"), [name]


def page_ids(conn: sqlite3.Connection, query: RunQuery) -> tuple[list[str], int]:
    """The ids of the page's runs in order, and how many runs match the filters."""
    where, params = where_clause(query)
    total = int(conn.execute(f"SELECT COUNT(*) FROM runs r WHERE {where}", params).fetchone()[0])
    if total <= query.offset:
        return [], total
    expression, sort_params = sort_expression(query)
    direction = "DESC" if query.descending else "ASC"
    # Never-empty columns need no "empties last" term, so ORDER BY number can walk the
    # runs_by_page index and stop after the page.
    nulls = "" if query.sort in NEVER_EMPTY else "(v IS NULL), "
    rows = conn.execute(
        f"SELECT r.id, {expression} AS v FROM runs r WHERE {where}"
        f" ORDER BY {nulls}v {direction}, r.number {direction} LIMIT ? OFFSET ?",
        [*sort_params, *params, query.limit, query.offset],
    ).fetchall()
    return [row[0] for row in rows], total


def run_columns(conn: sqlite3.Connection, query: RunQuery) -> RunColumns:
    """Tag keys and scalar metric names used in the query's scope, with counts."""
    clauses, params = scope_clause(query)
    where = " AND ".join(clauses) or "1"
    tags = conn.execute(
        f"SELECT t.key, COUNT(*) FROM tags t JOIN runs r ON r.id = t.run_id WHERE {where}"
        " GROUP BY t.key",
        params,
    ).fetchall()
    metrics = conn.execute(
        f"SELECT m.name, COUNT(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE {where}"
        " AND m.kind = 'scalar' GROUP BY m.name",
        params,
    ).fetchall()
    return RunColumns(tags=dict(tags), metrics=dict(metrics))
