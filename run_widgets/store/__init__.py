"""The tracking store: a backend-neutral interface, frozen records, rules and backends.

Layout, bottom up:

* ``entities`` (frozen records and write ops), ``assets`` (model and environment records),
  ``codec`` (packed point blobs), ``run_query`` (pages of runs: the query model and its
  reference answer);
* ``rules``: every backend-independent write rule, as pure functions;
* ``summaries/``: multi-resolution summaries of numeric series (first/last/min/max per
  bucket, levels of buckets packed into blocks) and the windowed read drawn from them;
* ``base``: the contract (:class:`TrackingStore`) and what a backend declares
  (:class:`StoreBackend`);
* ``sql/``: one SQL store base class holding everything the SQL backends share (the write
  path, the reads, run pages, registries), over a per-database ``Dialect``;
* ``sqlite/`` (the embedded default) and ``postgres/`` (the team store): connection,
  dialect, schema and migrations only;
* ``registry``: URI scheme → backend, one registry object derived from what each backend
  declares; ``description``: how a process names a workspace to another one;
* ``artifacts``, ``local_files``, ``snapshots``: run files, apart from the tracking store.

Open a store with :func:`open_store`.
"""

from .base import TagFilter, TrackingStore
from .entities import (
    AddProperties,
    AppendPoints,
    CreateRun,
    ExperimentRecord,
    MetricInfo,
    OwnerRecord,
    PointChunk,
    RemoveTags,
    RunRecord,
    RunStatus,
    SetTags,
    UpdateRun,
    WriteOp,
)
from .registry import normalize_uri, open_store, redact, register_store
from .run_query import RunColumns, RunPage, RunQuery
from .sqlite import SCHEMA_VERSION, SqliteStore
from .summaries import SeriesWindow

__all__ = [
    "SCHEMA_VERSION",
    "AddProperties",
    "AppendPoints",
    "CreateRun",
    "ExperimentRecord",
    "MetricInfo",
    "OwnerRecord",
    "PointChunk",
    "RemoveTags",
    "RunColumns",
    "RunPage",
    "RunQuery",
    "RunRecord",
    "RunStatus",
    "SeriesWindow",
    "SetTags",
    "SqliteStore",
    "TagFilter",
    "TrackingStore",
    "UpdateRun",
    "WriteOp",
    "normalize_uri",
    "open_store",
    "redact",
    "register_store",
]
