"""Pages of runs, filtered and sorted by the store: what an experiment view's table reads.

An experiment can hold tens of thousands of runs; its table shows one page of them.
:class:`RunQuery` says which page (scope, filters, sort column, window) and
:class:`RunPage` is the answer: the page's records, how many runs match the filter, the
last value of every scalar metric of the page's runs, and their summaries (last, minimum
and maximum, read from the metric headers: never from the points). Backends answer it in their
query language (``SqliteStore`` in SQL); :func:`query_runs_generic` is the reference
implementation over the basic store methods (correct on any backend, but it reads every
run of the scope, so a backend should override it).

Sort keys: ``number``, ``display_name``, ``status``, ``start``, ``duration``,
``arguments``, ``tag:<key>``, ``property:<key>``, ``metric:<name>`` (the last value of a
scalar metric), ``metric_min:<name>`` and ``metric_max:<name>`` (its smallest and largest
numeric value). Empty values sort last in either direction; ties go by run number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .entities import MetricInfo, RunRecord, RunStatus
from .rules import check_storable

BASE_SORT_KEYS = ("number", "display_name", "status", "start", "duration", "arguments")
METRIC_SORTS = {"metric": "last", "metric_min": "min", "metric_max": "max"}
"""Metric sort prefixes and the summary of the metric each sorts by."""
SORT_PREFIXES = ("tag:", "property:", *(f"{prefix}:" for prefix in METRIC_SORTS))
MAX_PAGE_SIZE = 1000
MAX_TEXT_FILTER = 10_000
"""Longest text filter, in characters (SQLite refuses LIKE patterns over 50,000 bytes)."""
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
        "'tag:<key>', 'property:<key>', 'metric:<name>', 'metric_min:<name>' or "
        "'metric_max:<name>'."
    )


def metric_sort(key: str) -> tuple[str, str] | None:
    """``(summary, metric name)`` of a metric sort key, else ``None``.

    The summary is ``"last"``, ``"min"`` or ``"max"``.
    """
    prefix, _, name = key.partition(":")
    stat = METRIC_SORTS.get(prefix)
    return (stat, name) if stat is not None and name else None


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
            a tag value (matched literally: ``%`` and ``_`` are not wildcards); at most
            ``MAX_TEXT_FILTER`` characters.
        sort: the sort key (see the module docstring).
        descending: sort direction.
        offset: how many matching runs to skip.
        limit: page size (at most ``MAX_PAGE_SIZE``).
        now: the time durations of active runs are measured to (default: now).
        with_metrics: also read the page's scalar metrics (last values and summaries);
            ``False`` when only the runs are wanted (e.g. every run's group).
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
    with_metrics: bool = True

    def __post_init__(self) -> None:
        check_sort_key(self.sort)
        if not 0 < self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {self.limit}.")
        if self.offset < 0:
            raise ValueError(f"offset must not be negative, got {self.offset}.")
        unknown = set(self.statuses) - RunStatus.ALL - {ACTIVE}
        if unknown:
            raise ValueError(f"Unknown run status(es) {sorted(unknown)} in the status filter.")
        if len(self.text) > MAX_TEXT_FILTER:
            raise ValueError(
                f"The text filter is {len(self.text)} characters long; at most "
                f"{MAX_TEXT_FILTER} are searched for."
            )
        for what, text in (
            ("text filter", self.text),
            ("tag filter", self.tag),
            ("sort key", self.sort),
        ):
            check_storable(text, what)  # such text can match nothing: say so on every backend

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


Summary = tuple[float | None, float | None, float | None]
"""A scalar metric's ``(last, minimum, maximum)`` (``None``: no number)."""


@dataclass(frozen=True)
class RunPage:
    """One page of runs with their scalar metrics' last values and summaries.

    ``summaries`` maps run id → metric → ``(last, min, max)`` (from the metric headers;
    empty when the source does not provide them).
    """

    records: tuple[RunRecord, ...]
    total: int
    metrics: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    summaries: Mapping[str, Mapping[str, Summary]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunColumns:
    """The keys a scope's runs use: tag keys and scalar metric names, each with a count."""

    tags: Mapping[str, int]
    metrics: Mapping[str, int]


# ------------------------------------------------------------------ reference version --
class HeaderSource(Protocol):
    """Where metric headers are read (a store, or a view's reader)."""

    def metric_infos(self, run_ids: Iterable[str]) -> list[MetricInfo]:
        """Metric headers of the given runs."""
        ...


class RunSource(HeaderSource, Protocol):
    """The two store methods the reference version reads (every ``TrackingStore`` has them)."""

    def find_runs(
        self, *, experiment_id: int | None = None, top_level_only: bool = False
    ) -> list[RunRecord]:
        """Runs of an experiment (or all), newest first."""
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
    """The value of column ``key`` used to sort ``record`` (``None``: empty).

    For a metric key, ``metrics`` holds the summary it sorts by (see :func:`metric_values`).
    """
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
    return metrics.get(name)  # a metric: the value of the summary sorted by


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


def last_scalars(store: HeaderSource, run_ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Last value of each scalar metric of the given runs (non-numbers as ``None``)."""
    return metric_values(store, run_ids, "last")


def scalar_summaries(store: HeaderSource, run_ids: Sequence[str]) -> dict[str, dict[str, Summary]]:
    """``(last, min, max)`` of each scalar metric of the given runs (from the headers)."""
    values: dict[str, dict[str, Summary]] = {run_id: {} for run_id in run_ids}
    for info in store.metric_infos(run_ids):
        if info.kind == "scalar":
            values[info.run_id][info.name] = (
                number_or_none(info.last_value),
                number_or_none(info.min_value),
                number_or_none(info.max_value),
            )
    return values


def metric_values(
    store: HeaderSource, run_ids: Sequence[str], stat: str
) -> dict[str, dict[str, float | None]]:
    """One summary (``"last"``, ``"min"`` or ``"max"``) of each scalar metric of the runs."""
    index = {"last": 0, "min": 1, "max": 2}[stat]
    return {
        run_id: {name: summary[index] for name, summary in metrics.items()}
        for run_id, metrics in scalar_summaries(store, run_ids).items()
    }


def page_of(
    store: HeaderSource, records: Sequence[RunRecord], total: int, with_metrics: bool = True
) -> RunPage:
    """A page of ``records`` with their metrics' last values and summaries (one read)."""
    if not with_metrics:
        return RunPage(records=tuple(records), total=total)
    summaries = scalar_summaries(store, [r.id for r in records])
    return RunPage(
        records=tuple(records),
        total=total,
        metrics={
            run_id: {name: summary[0] for name, summary in metrics.items()}
            for run_id, metrics in summaries.items()
        },
        summaries=summaries,
    )


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
    sort = metric_sort(query.sort)
    values = metric_values(store, [r.id for r in records], sort[0]) if sort else {}
    ordered = order(records, values, query)
    window = ordered[query.offset : query.offset + query.limit]
    return page_of(store, window, len(records), query.with_metrics)


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
