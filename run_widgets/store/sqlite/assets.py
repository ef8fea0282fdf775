"""Tables of the workspace's registries on SQLite.

Models and environments: migration 0003; compute targets: migration 0004.

The statements that read and write them are shared with PostgreSQL, in
:mod:`run_widgets.store.sql_assets`.
"""

from __future__ import annotations

MIGRATION_SQL = """
CREATE TABLE IF NOT EXISTS models (
    name            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      REAL NOT NULL,
    description     TEXT,
    tags            TEXT NOT NULL DEFAULT '{}',
    properties      TEXT NOT NULL DEFAULT '{}',
    run_id          TEXT,
    experiment_name TEXT,
    storage         TEXT NOT NULL,
    path            TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX IF NOT EXISTS models_by_run ON models (run_id);

CREATE TABLE IF NOT EXISTS environments (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at REAL NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
"""

COMPUTE_TARGETS_SQL = """
CREATE TABLE IF NOT EXISTS compute_targets (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""
