"""SQL for :class:`~run_widgets.store.run_query.RunQuery`, shared by the SQL backends.

One statement counts the matching runs and one picks the page's ids in order; both use
the same WHERE clause, and the store runs them in one read transaction (one snapshot).
Sorting by a tag, a property or a metric is a correlated subquery on that table's
(run_id, key/name) index, so a page of a 10,000-run experiment costs a few milliseconds
and never loads the other runs. Results match ``query_runs_generic`` (the contract tests
in ``tests/test_run_query.py`` compare them on both backends), except that SQLite's
``LIKE`` folds case for ASCII only. What differs between the databases (JSON functions,
case-insensitive matching, text order) comes from the :class:`~run_widgets.store.sql.dialect.Dialect`.
"""

from __future__ import annotations

from typing import Any

from ..run_query import RunColumns, RunQuery, metric_sort
from .dialect import Connection, Dialect

NEVER_EMPTY = frozenset({"number", "status", "start", "duration"})
_LABEL = "(SELECT x.value FROM {table} x WHERE x.run_id = r.id AND x.key = ?)"
_TEXT_SORTS = frozenset({"display_name", "status", "arguments"})


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def scope_clause(query: RunQuery, dialect: Dialect) -> tuple[list[str], list[Any]]:
    """The WHERE terms (on ``runs r``) of the query's scope: experiment, ids, children."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.experiment_id is not None:
        clauses.append("r.experiment_id = ?")
        params.append(query.experiment_id)
    if query.run_ids is not None:
        clauses.append(dialect.in_clause("r.id"))
        params.append(dialect.values_param(query.run_ids))
    if not query.include_children:
        clauses.append("r.parent_id IS NULL")
    return clauses, params


def where_clause(query: RunQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """The WHERE clause of the scope and the filters."""
    clauses, params = scope_clause(query, dialect)
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
        like = f"{dialect.ilike} ? ESCAPE '\\'"
        clauses.append(
            f"(r.display_name {like} OR r.id {like}"
            " OR CAST(r.number AS TEXT) = ? OR EXISTS (SELECT 1 FROM tags t WHERE"
            f" t.run_id = r.id AND (t.key {like} OR t.value {like})))"
        )
        params.extend([pattern, pattern, text, pattern, pattern])
    return " AND ".join(clauses) or dialect.true, params


_METRIC_JOIN = "LEFT JOIN metrics m ON m.run_id = r.id AND m.name = ?"


def metric_join(query: RunQuery) -> tuple[str, list[Any]]:
    """The join a metric sort needs (its rows as ``m``), or nothing for other sorts."""
    sort = metric_sort(query.sort)
    if sort is not None:
        return _METRIC_JOIN, [sort[1]]
    return "", []


# A scalar metric's smallest and largest numeric value, kept in its header (REAL columns).
_SUMMARY = {"min": "m.min_value", "max": "m.max_value"}


def sort_expression(query: RunQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """The SQL value a run is sorted by (NULL: empty, sorted last).

    A metric sort reads the rows :func:`metric_join` adds.
    """
    key = query.sort
    simple = {
        "number": "r.number",
        "display_name": "r.display_name",
        "status": "r.status",
        "start": "COALESCE(r.start_time, r.created_at)",
        "arguments": dialect.arguments,
    }
    if key in simple:
        text = dialect.text_order if key in _TEXT_SORTS else ""
        return simple[key] + text, []
    if key == "duration":
        return f"{dialect.greatest}(0.0, COALESCE(r.end_time, ?) - r.created_at)", [query.at()]
    sort = metric_sort(key)
    if sort is not None:
        stat = sort[0]
        if stat == "last":
            return dialect.metric_value, []
        return f"CASE WHEN m.kind = 'scalar' THEN {_SUMMARY[stat]} END", []
    prefix, name = key.split(":", 1)
    table = "tags" if prefix == "tag" else "properties"
    return _LABEL.format(table=table) + dialect.text_order, [name]


def page_ids(conn: Connection, dialect: Dialect, query: RunQuery) -> tuple[list[str], int]:
    """The ids of the page's runs in order, and how many runs match the filters."""
    where, params = where_clause(query, dialect)
    row = dialect.execute(conn, f"SELECT COUNT(*) FROM runs r WHERE {where}", params).fetchone()
    total = int(row[0])
    if total <= query.offset:
        return [], total
    expression, sort_params = sort_expression(query, dialect)
    join, join_params = metric_join(query)
    direction = "DESC" if query.descending else "ASC"
    # Never-empty columns need no "empties last" term, so ORDER BY number can walk the
    # runs_by_page index and stop after the page. (The sort value is computed in a
    # subquery: PostgreSQL allows an output alias in ORDER BY only on its own.)
    nulls = "" if query.sort in NEVER_EMPTY else "(s.v IS NULL), "
    rows = dialect.execute(
        conn,
        f"SELECT s.id FROM (SELECT r.id, r.number, {expression} AS v FROM runs r {join}"
        f" WHERE {where}) s ORDER BY {nulls}s.v {direction}, s.number {direction}"
        " LIMIT ? OFFSET ?",
        [*sort_params, *join_params, *params, query.limit, query.offset],
    ).fetchall()
    return [str(row[0]) for row in rows], total


def run_columns(conn: Connection, dialect: Dialect, query: RunQuery) -> RunColumns:
    """Tag keys and scalar metric names used in the query's scope, with counts."""
    clauses, params = scope_clause(query, dialect)
    where = " AND ".join(clauses) or dialect.true
    tags = dialect.execute(
        conn,
        f"SELECT t.key, COUNT(*) FROM tags t JOIN runs r ON r.id = t.run_id WHERE {where}"
        " GROUP BY t.key",
        params,
    ).fetchall()
    metrics = dialect.execute(
        conn,
        f"SELECT m.name, COUNT(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE {where}"
        " AND m.kind = 'scalar' GROUP BY m.name",
        params,
    ).fetchall()
    return RunColumns(
        tags={str(k): int(n) for k, n in tags}, metrics={str(k): int(n) for k, n in metrics}
    )
