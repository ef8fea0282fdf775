"""The tables of the tracking store, written once for every SQL backend.

Every SQL backend holds the same tables with the same columns (the statements of
:mod:`run_widgets.store.sql` rely on it). Each table and index is written here once, with
placeholders for what the databases spell differently; a backend renders them with its
:class:`ColumnTypes` inside its own migrations (``sqlite/schema.py``,
``postgres/schema.py``), which keep their own order and numbering: the two backends grew
their tables in different steps.

Placeholders: ``{integer}``, ``{real}``, ``{blob}`` (column types), ``{serial}`` (an
integer primary key the database numbers), ``{ascending}`` (an integer primary key that
never reuses a number), ``{if_new}`` (``IF NOT EXISTS`` where a migration may meet a
half-created schema), ``{clustered}`` (the table is stored in primary-key order),
``{creator}`` (the default of a ``created_by`` column: the database role of the session
where the database has roles, nothing where it has none).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .dialect import Connection, Dialect


@dataclass(frozen=True)
class ColumnTypes:
    """How one database spells the placeholders of the statements below."""

    integer: str
    real: str
    blob: str
    serial: str
    ascending: str
    if_new: str = ""
    clustered: str = ""
    creator: str = ""

    def render(self, statements: tuple[str, ...]) -> list[str]:
        """``statements`` with the placeholders filled in."""
        values = asdict(self)
        return [statement.format(**values) for statement in statements]


@dataclass(frozen=True)
class Migration:
    """One named step of a backend's schema history: statements below, in order."""

    name: str
    statements: tuple[str, ...]

    def apply(self, conn: Connection, types: ColumnTypes) -> None:
        """Run the step on ``conn`` (a DB-API connection), inside the caller's transaction."""
        for statement in types.render(self.statements):
            conn.execute(statement)


def run_migrations(
    conn: Connection, dialect: Dialect, types: ColumnTypes, migrations: Sequence[Migration]
) -> list[str]:
    """Apply ``migrations`` in order, each recorded in the ``migrations`` table.

    Runs inside the caller's transaction (which also moves the schema version); returns
    the names applied.
    """
    for migration in migrations:
        migration.apply(conn, types)
        dialect.execute(
            conn,
            "INSERT INTO migrations (name, applied_at) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET applied_at = excluded.applied_at",
            (migration.name, time.time()),
        )
    return [migration.name for migration in migrations]


CORE = (
    "CREATE TABLE {if_new}meta (key TEXT PRIMARY KEY, value {integer} NOT NULL)",
    "INSERT INTO meta (key, value) VALUES ('seq', 0) ON CONFLICT (key) DO NOTHING",
    """CREATE TABLE {if_new}experiments (
        id         {serial},
        name       TEXT NOT NULL UNIQUE,
        created_at {real} NOT NULL
    )""",
    """CREATE TABLE {if_new}owners (
        id             {serial},
        host           TEXT NOT NULL,
        pid            {integer} NOT NULL,
        pid_started_at {real} NOT NULL,
        heartbeat_at   {real} NOT NULL
    )""",
    """CREATE TABLE {if_new}runs (
        id            TEXT PRIMARY KEY,
        experiment_id {integer} NOT NULL REFERENCES experiments(id),
        parent_id     TEXT REFERENCES runs(id),
        number        {integer} NOT NULL,
        display_name  TEXT,
        description   TEXT,
        run_type      TEXT NOT NULL,
        status        TEXT NOT NULL,
        created_at    {real} NOT NULL,
        start_time    {real},
        end_time      {real},
        owner_id      {integer} REFERENCES owners(id),
        error         TEXT,
        definition    TEXT,
        change_seq    {integer} NOT NULL
    )""",
    "CREATE INDEX {if_new}runs_by_experiment ON runs (experiment_id, created_at)",
    "CREATE INDEX {if_new}runs_by_parent ON runs (parent_id, change_seq)",
    "CREATE INDEX {if_new}runs_by_status ON runs (status)",
    """CREATE TABLE {if_new}tags (
        run_id TEXT NOT NULL REFERENCES runs(id),
        key    TEXT NOT NULL,
        value  TEXT,
        PRIMARY KEY (run_id, key)
    ){clustered}""",
    """CREATE TABLE {if_new}properties (
        run_id TEXT NOT NULL REFERENCES runs(id),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ){clustered}""",
    """CREATE TABLE {if_new}metrics (
        id          {serial},
        run_id      TEXT NOT NULL REFERENCES runs(id),
        name        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        n_points    {integer} NOT NULL DEFAULT 0,
        last_step   {integer},
        first_value TEXT,
        last_value  TEXT,
        min_value   {real},
        max_value   {real},
        columns     TEXT NOT NULL DEFAULT '[]',
        UNIQUE (run_id, name)
    )""",
    """CREATE TABLE {if_new}chunks (
        id          {ascending},
        run_id      TEXT NOT NULL,
        metric_id   {integer} NOT NULL REFERENCES metrics(id),
        first_index {integer} NOT NULL,
        n           {integer} NOT NULL,
        steps       {blob} NOT NULL,
        times       {blob} NOT NULL,
        dtype       TEXT NOT NULL,
        vals        {blob} NOT NULL
    )""",
    "CREATE INDEX {if_new}chunks_by_run ON chunks (run_id, id)",
    "CREATE INDEX {if_new}chunks_by_metric ON chunks (metric_id, first_index)",
)
"""Experiments, owners, runs with their tags and properties, metrics and point chunks."""

RUN_PAGES = (
    # Pages of an experiment's runs (``query_runs``): top-level runs by number, and the
    # active ones by status, read from the index instead of scanning the experiment.
    "CREATE INDEX {if_new}runs_by_page ON runs (experiment_id, parent_id, number)",
    "CREATE INDEX {if_new}runs_by_experiment_status ON runs (experiment_id, status)",
)
"""Indexes of the run-page queries (``store/sql/run_query.py``)."""

REGISTRIES = (
    """CREATE TABLE {if_new}models (
        name            TEXT NOT NULL,
        version         {integer} NOT NULL,
        created_at      {real} NOT NULL,
        description     TEXT,
        tags            TEXT NOT NULL DEFAULT '{{}}',
        properties      TEXT NOT NULL DEFAULT '{{}}',
        run_id          TEXT,
        experiment_name TEXT,
        storage         TEXT NOT NULL,
        path            TEXT NOT NULL,
        PRIMARY KEY (name, version)
    )""",
    "CREATE INDEX {if_new}models_by_run ON models (run_id)",
    """CREATE TABLE {if_new}environments (
        name       TEXT NOT NULL,
        version    {integer} NOT NULL,
        created_at {real} NOT NULL,
        definition TEXT NOT NULL,
        PRIMARY KEY (name, version)
    )""",
)
"""Registered models and environments (statements in ``store/sql/registries.py``)."""

COMPUTE_TARGETS = (
    # Definitions made in code (ComputeTarget.create/attach), shared by every client.
    "CREATE TABLE {if_new}compute_targets"
    " (name TEXT PRIMARY KEY, definition TEXT NOT NULL, created_at {real} NOT NULL)",
)
"""Saved compute target definitions (JSON objects by name)."""

WRITE_PROGRESS = (
    # Each log buffer's highest stored append: a batch resent after a COMMIT whose answer
    # was lost is not stored twice (``rules.unapplied_appends``).
    "CREATE TABLE {if_new}write_progress (writer TEXT PRIMARY KEY, last_seq BIGINT NOT NULL)",
)
"""Each writer's highest stored append; one row a log buffer."""

SUMMARIES = (
    # How far each metric's summary goes and the last, partial bucket of each level
    # (store/summaries/levels.py); metrics logged before this migration start at 0 and
    # are summarized on their first windowed read.
    "ALTER TABLE metrics ADD COLUMN summarized {integer} NOT NULL DEFAULT 0",
    "ALTER TABLE metrics ADD COLUMN summary_tail {blob}",
    # The complete buckets of each level, 64 to a row (only a level's last row changes).
    """CREATE TABLE {if_new}summaries (
        metric_id {integer} NOT NULL REFERENCES metrics(id),
        level     {integer} NOT NULL,
        block     {integer} NOT NULL,
        n         {integer} NOT NULL,
        data      {blob} NOT NULL,
        PRIMARY KEY (metric_id, level, block)
    ){clustered}""",
)
"""Multi-resolution summaries of numeric series (``store/summaries``)."""

CREATORS = tuple(
    # Which database role made a row: a run (its "owner" for row-level security: writers
    # change only their own runs), an owner process, a writer's progress, a registered
    # model, a compute target. NULL on SQLite (no roles) and for rows made before.
    f"ALTER TABLE {table} ADD COLUMN created_by TEXT{{creator}}"
    for table in ("runs", "owners", "write_progress", "models", "compute_targets")
)
"""The ``created_by`` column of the tables whose rows belong to a role (see postgres/roles.py)."""

DATA_AND_PIPELINES = (
    """CREATE TABLE {if_new}datastores (
        name TEXT PRIMARY KEY,
        definition TEXT NOT NULL,
        secret TEXT,
        is_default {integer} NOT NULL DEFAULT 0,
        created_at {real} NOT NULL
    )""",
    """CREATE TABLE {if_new}datasets (
        id TEXT PRIMARY KEY,
        name TEXT,
        version {integer},
        definition TEXT NOT NULL,
        fingerprint TEXT,
        manifest TEXT,
        description TEXT,
        tags TEXT NOT NULL,
        created_at {real} NOT NULL,
        UNIQUE (name, version)
    )""",
    """CREATE TABLE {if_new}published_pipelines (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT,
        version TEXT,
        spec TEXT NOT NULL,
        continue_on_step_failure {integer} NOT NULL,
        status TEXT NOT NULL,
        created_at {real} NOT NULL
    )""",
    """CREATE TABLE {if_new}pipeline_endpoints (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT,
        pipeline_ids TEXT NOT NULL,
        default_version TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at {real} NOT NULL
    )""",
)
"""Datastores, datasets, published pipelines and pipeline endpoints (``data_assets.py``)."""
