"""The tracking store: a backend-neutral interface, frozen records, rules and backends.

Layout: ``base`` (the contract), ``entities`` (records and write ops), ``rules`` (pure
backend-independent rules), ``registry`` (URI scheme → backend), ``artifacts`` (run files),
``sqlite/`` (the embedded backend). Open a store with :func:`open_store`.
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
