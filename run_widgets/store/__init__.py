"""The embedded tracking store: a narrow interface, frozen records and a SQLite backend."""

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
from .run_query import RunColumns, RunPage, RunQuery
from .schema import SCHEMA_VERSION
from .sqlite import SqliteStore

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
]
