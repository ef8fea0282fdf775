"""Pages of runs, filtered and sorted by the store: what an experiment view's table reads.

An experiment can hold tens of thousands of runs; its table shows one page of them.
:class:`RunQuery` says which page (scope, filters, sort column, window) and
:class:`RunPage` is the answer: the page's records, how many runs match the filter, and
the last value of every scalar metric of the page's runs. Backends answer it in their
query language (``SqliteStore`` in SQL); :func:`query_runs_generic` is the reference
implementation over the basic store methods (correct on any backend, but it reads every
run of the scope, so a backend should override it).

Sort keys: ``number``, ``display_name``, ``status``, ``start``, ``duration``,
``arguments``, ``tag:<key>``, ``property:<key>`` and ``metric:<name>`` (the last value
of a scalar metric). Empty values sort last in either direction; ties go by run number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .entities import MetricInfo, RunRecord, RunStatus

BASE_SORT_KEYS = ("number", "display_name", "status", "start", "duration", "arguments")
SORT_PREFIXES = ("tag:", "property:", "metric:")
MAX_PAGE_SIZE = 1000
ACTIVE = "active"
"""In ``RunQuery.statuses``: every non-terminal status."""


def check_sort_key(key: str) -> str:
    """Return ``key`` if the store can sort by it.

    Raises:
        ValueError: an unknown sort key.
    """
    if key in BASE_SORT_KEYS or (key.startswith(SORT_PREFIXES) and key.split(":", 1)[1]):
        return key
    raise ValueError(
        f"Cannot sort runs by {key!r}: use one of {', '.join(BASE_SORT_KEYS)}, "
        "'tag:<key>', 'property:<key>' or 'metric:<name>'."
    )


@dataclass(frozen=True)
class RunQuery:
    """Which runs, filtered how, sorted by what, and which window of them.

    Args:
        experiment_id: runs of this experiment (``None``: any experiment).
        run_ids: only these runs (``None``: every run of the scope).
        include_children: also child runs (default: top-level runs only).
        statuses: any of these statuses (``"active"`` stands for every non-terminal one);
            empty means every status.
        tag: ``"key"`` (the run has the tag) or ``"key=value"``.
        text: a case-insensitive substring of the display name, id, number, a tag key or
            a tag value.
        sort: the sort key (see the module docstring).
        descending: sort direction.
        offset: how many matching runs to skip.
        limit: page size (at most ``MAX_PAGE_SIZE``).
        now: the time durations of active runs are measured to (default: now).
    """

    experiment_id: int | None = None
    run_ids: tuple[str, ...] | None = None
    include_children: bool = False
    statuses: tuple[str, ...] = ()
    tag: str = ""
    text: str = ""
    sort: str = "number"
    descending: bool = True
    offset: int = 0
    limit: int = 25
    now: float | None = None

    def __post_init__(self) -> None:
        check_sort_key(self.sort)
        if not 0 < self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {self.limit}.")
        if self.offset < 0:
            raise ValueError(f"offset must not be negative, got {self.offset}.")
        unknown = set(self.statuses) - RunStatus.ALL - {ACTIVE}
        if unknown:
            raise ValueError(f"Unknown run status(es) {sorted(unknown)} in the status filter.")

    def status_set(self) -> frozenset[str]:
        """The statuses to keep (empty: all), with ``"active"`` expanded."""
        wanted = set(self.statuses)
        if ACTIVE in wanted:
            wanted.discard(ACTIVE)
            wanted |= RunStatus.ALL - RunStatus.TERMINAL
        return frozenset(wanted)

    def tag_filter(self) -> tuple[str, str | None] | None:
        """``(key, value)`` of the tag filter (value ``None``: the tag exists), or ``None``."""
        text = self.tag.strip()
        if not text:
            return None
        key, sep, value = text.partition("=")
        return (key.strip(), value.strip() if sep else None)

    def at(self) -> float:
        """The time durations are measured to."""
        return self.now if self.now is not None else time.time()


@dataclass(frozen=True)
class RunPage:
    """One page of runs with their last scalar metric values."""

    records: tuple[RunRecord, ...]
    total: int
    metrics: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunColumns:
    """The keys a scope's runs use: tag keys and scalar metric names, each with a count."""

    tags: Mapping[str, int]
    metrics: Mapping[str, int]


# ------------------------------------------------------------------ reference version --
class RunSource(Protocol):
    """The two store methods the reference version reads (every ``TrackingStore`` has them)."""

    def find_runs(
        self, *, experiment_id: int | None = None, top_level_only: bool = False
    ) -> list[RunRecord]:
        """Runs of an experiment (or all), newest first."""
        ...

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs."""
        ...


def arguments_of(record: RunRecord) -> str:
    """The run's script arguments as one string (``""`` if none)."""
    arguments = record.definition.get("arguments") or []
    return " ".join(str(a) for a in arguments) if isinstance(arguments, list) else ""


def duration_of(record: RunRecord, now: float) -> float:
    """Seconds from creation to end (or ``now`` while active)."""
    end = record.end_time if record.end_time is not None else now
    return max(0.0, end - record.created_at)


def matches(record: RunRecord, query: RunQuery) -> bool:
    """True if ``record`` passes the query's filters (not its scope)."""
    statuses = query.status_set()
    if statuses and record.status not in statuses:
        return False
    wanted = query.tag_filter()
    if wanted is not None:
        key, value = wanted
        if key not in record.tags or (value is not None and record.tags[key] != value):
            return False
    text = query.text.strip().casefold()
    if text:
        haystack = [record.display_name or "", record.id, *record.tags]
        haystack += [v for v in record.tags.values() if v is not None]
        if str(record.number) != text and not any(text in h.casefold() for h in haystack):
            return False
    return True


def sort_value(record: RunRecord, metrics: Mapping[str, float | None], key: str, now: float) -> Any:
    """The value of column ``key`` used to sort ``record`` (``None``: empty)."""
    if key == "number":
        return record.number
    if key == "display_name":
        return record.display_name
    if key == "status":
        return record.status
    if key == "start":
        return record.start_time if record.start_time is not None else record.created_at
    if key == "duration":
        return duration_of(record, now)
    if key == "arguments":
        return arguments_of(record) or None
    prefix, name = key.split(":", 1)
    if prefix == "tag":
        return record.tags.get(name)
    if prefix == "property":
        return record.properties.get(name)
    return metrics.get(name)


def order(
    records: Sequence[RunRecord],
    metrics: Mapping[str, Mapping[str, float | None]],
    query: RunQuery,
) -> list[RunRecord]:
    """``records`` in the query's order: by the sort key, empty last, ties by number."""
    now = query.at()
    empty: Mapping[str, float | None] = {}
    keyed = [(sort_value(r, metrics.get(r.id, empty), query.sort, now), r) for r in records]
    present = [(v, r) for v, r in keyed if v is not None]
    missing = [r for v, r in keyed if v is None]
    numbers = all(isinstance(v, (int, float)) for v, _ in present)
    present.sort(
        key=lambda item: (item[0] if numbers else str(item[0]), item[1].number),
        reverse=query.descending,
    )
    missing.sort(key=lambda r: r.number, reverse=query.descending)
    return [r for _, r in present] + missing


def last_scalars(store: RunSource, run_ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Last value of each scalar metric of the given runs (non-numbers as ``None``)."""
    values: dict[str, dict[str, float | None]] = {run_id: {} for run_id in run_ids}
    for info in store.metric_infos(run_ids):
        if info.kind == "scalar":
            values[info.run_id][info.name] = number_or_none(info.last_value)
    return values


def number_or_none(value: Any) -> float | None:
    """``value`` as a float if it is a (non-bool) number, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def scope_records(store: RunSource, query: RunQuery) -> list[RunRecord]:
    """Every run of the query's scope (experiment, ids, children), unfiltered."""
    records = store.find_runs(
        experiment_id=query.experiment_id, top_level_only=not query.include_children
    )
    if query.run_ids is not None:
        wanted = set(query.run_ids)
        records = [r for r in records if r.id in wanted]
    return records


def query_runs_generic(store: RunSource, query: RunQuery) -> RunPage:
    """Answer ``query`` with the basic store methods (reads the whole scope)."""
    records = [r for r in scope_records(store, query) if matches(r, query)]
    metrics = (
        last_scalars(store, [r.id for r in records]) if query.sort.startswith("metric:") else {}
    )
    ordered = order(records, metrics, query)
    page = ordered[query.offset : query.offset + query.limit]
    if not query.sort.startswith("metric:"):
        metrics = last_scalars(store, [r.id for r in page])
    return RunPage(
        records=tuple(page),
        total=len(records),
        metrics={r.id: metrics.get(r.id, {}) for r in page},
    )


def run_columns_generic(store: RunSource, query: RunQuery) -> RunColumns:
    """Tag keys and scalar metric names used by the query's scope, with counts."""
    records = scope_records(store, query)
    tags: dict[str, int] = {}
    for record in records:
        for key in record.tags:
            tags[key] = tags.get(key, 0) + 1
    metrics: dict[str, int] = {}
    for info in store.metric_infos(r.id for r in records):
        if info.kind == "scalar":
            metrics[info.name] = metrics.get(info.name, 0) + 1
    return RunColumns(tags=tags, metrics=metrics)


def ids_json(run_ids: Sequence[str]) -> str:
    """Run ids as one JSON array parameter (no per-id placeholders, no size limit)."""
    return json.dumps(list(run_ids))
