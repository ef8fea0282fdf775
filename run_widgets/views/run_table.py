"""The experiment view's run table: columns, one page of rows, and the user's settings.

Everything here is pure: the store answers a :class:`~run_widgets.store.RunQuery` built
from :class:`TableSettings`, and :func:`table_state` turns the page into the table
panel's traits. Only the page travels to the browser; paging, sorting and filtering are
new queries.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..store import RunColumns, RunPage, RunQuery, RunRecord
from ..store.run_query import arguments_of
from . import summary

PAGE_SIZE = 20
MAX_TAG_COLUMNS = 4
MAX_METRIC_COLUMNS = 8
STATUS_CHOICES = ("", "active", "Completed", "Failed", "Canceled")
"""The status filter's choices ("" = every status, "active" = every non-terminal one)."""


@dataclass(frozen=True)
class TableSettings:
    """What the user chose: filters, sort, page."""

    status: str = ""
    tag: str = ""
    text: str = ""
    sort: str = "number"
    descending: bool = True
    page: int = 0
    page_size: int = PAGE_SIZE
    stat: str = "last"
    """Which summary of each metric the metric columns show (``views.summary.STATS``)."""
    sort_goal: str = summary.MINIMIZE
    """The goal of the metric sorted by (what "best" means for it)."""

    def query(self, scope: RunQuery, now: float | None = None) -> RunQuery:
        """The store query of the current page within ``scope``.

        A metric column sorts by the summary it shows (``stat``): a sort on
        ``metric:<name>`` asks the store for ``metric_min:<name>`` when it shows minima.
        """
        sort = self.sort
        if sort.startswith("metric:"):
            sort = stat_sort_key(sort.split(":", 1)[1], self.stat, self.sort_goal)
        return replace(
            scope,
            statuses=(self.status,) if self.status else (),
            tag=self.tag,
            text=self.text,
            sort=sort,
            descending=self.descending,
            offset=self.page * self.page_size,
            limit=self.page_size,
            now=now,
        )


def choose_columns(columns: RunColumns) -> tuple[list[str], list[str]]:
    """Tag keys and metric names shown as columns: the commonest, then by name."""

    def top(counts: Mapping[str, int], limit: int) -> list[str]:
        return sorted(counts, key=lambda k: (-counts[k], k.lower()))[:limit]

    return top(columns.tags, MAX_TAG_COLUMNS), sorted(
        top(columns.metrics, MAX_METRIC_COLUMNS), key=str.lower
    )


def column_specs(tags: list[str], metrics: list[str]) -> list[dict[str, str]]:
    """The table's columns: key (also the store's sort key), title, kind.

    A tag whose key is also a metric's name is titled ``key (tag)``, so that the two
    columns (``alpha`` the tag, ``alpha`` the metric) can be told apart.
    """
    clash = set(tags) & set(metrics)
    return [
        {"key": "number", "title": "#", "kind": "number"},
        {"key": "display_name", "title": "Name", "kind": "text"},
        {"key": "status", "title": "Status", "kind": "status"},
        {"key": "start", "title": "Started", "kind": "time"},
        {"key": "duration", "title": "Duration", "kind": "duration"},
        *(
            {"key": f"tag:{k}", "title": f"{k} (tag)" if k in clash else k, "kind": "tag"}
            for k in tags
        ),
        {"key": "arguments", "title": "Arguments", "kind": "text"},
        *({"key": f"metric:{m}", "title": m, "kind": "metric"} for m in metrics),
    ]


def hyperparameters_text(record: RunRecord) -> str:
    """Script arguments, else a sweep child's hyperparameters (``k=v`` pairs)."""
    text = arguments_of(record)
    if text:
        return text
    try:
        values = json.loads(record.properties.get("hyperparameters") or "{}")
    except ValueError:
        return ""
    if not isinstance(values, dict):
        return ""
    return " ".join(f"{k}={v}" for k, v in values.items())


def json_number(value: Any) -> Any:
    """A number JSON can carry (NaN and infinities as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def row_state(
    record: RunRecord,
    metrics: Mapping[str, float | None],
    tags: list[str],
    names: list[str],
    summaries: Mapping[str, Mapping[str, float | None]] | None = None,
) -> dict[str, Any]:
    """One table row (times in epoch seconds: the browser formats them, live).

    A metric's cell ``metric:<name>`` holds its last value; ``metric:<name>@min``,
    ``@max`` and ``@best`` its other summaries (from ``summaries``: the metric headers).
    """
    values: dict[str, Any] = {f"tag:{k}": record.tags.get(k) for k in tags}
    values["arguments"] = hyperparameters_text(record)
    values.update({f"metric:{m}": json_number(metrics.get(m)) for m in names})
    for m in names:
        found = (summaries or {}).get(m, {})
        for stat in ("min", "max", "best"):
            values[f"metric:{m}@{stat}"] = json_number(found.get(stat))
    return {
        "id": record.id,
        "number": record.number,
        "display_name": record.display_name or "",
        "status": record.status,
        "created": record.created_at,
        "start": record.start_time if record.start_time is not None else record.created_at,
        "end": record.end_time,
        "values": values,
    }


def table_state(
    page: RunPage,
    tags: list[str],
    metrics: list[str],
    settings: TableSettings,
    summaries: Mapping[str, Mapping[str, Mapping[str, float | None]]] | None = None,
    goals: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The table panel's traits for one page (``summaries``: run → metric → stat → value)."""
    pages = max(1, math.ceil(page.total / settings.page_size))
    rows = [
        row_state(r, page.metrics.get(r.id, {}), tags, metrics, (summaries or {}).get(r.id))
        for r in page.records
    ]
    columns = column_specs(tags, metrics)
    for column in columns:
        if column["kind"] == "metric":
            name = column["key"].removeprefix("metric:")
            column["goal"] = (goals or {}).get(name, summary.guessed_goal(name))
    if not any(row["values"]["arguments"] for row in rows) and settings.sort != "arguments":
        columns = [c for c in columns if c["key"] != "arguments"]  # no run on the page has any
    return {
        "columns": columns,
        "rows": rows,
        "total": page.total,
        "page": settings.page,
        "pages": pages,
        "stat": settings.stat,
    }


def stat_sort_key(metric: str, stat: str, goal: str) -> str:
    """The store's sort key for a metric column showing ``stat`` (best: by ``goal``)."""
    if stat == "best":
        stat = "max" if goal == summary.MAXIMIZE else "min"
    return f"metric:{metric}" if stat == "last" else f"metric_{stat}:{metric}"
