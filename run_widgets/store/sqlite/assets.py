"""SQL of the model and environment registries on SQLite (tables from migration 0003).

Each function runs inside the caller's transaction: ``SqliteStore`` opens a write
(``BEGIN IMMEDIATE``) or read transaction and passes its connection. A server backend
mirrors the same statements; the version of a new registration is ``MAX(version) + 1``
computed in the inserting transaction, with ``UNIQUE (name, version)`` as the guard
(retry on a unique violation where writers are not serialized).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ...exceptions import UserErrorException
from ..assets import EnvironmentRecord, ModelRecord, NewModel

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

_MODEL_COLUMNS = (
    "name, version, created_at, description, tags, properties, run_id, experiment_name, "
    "storage, path"
)


def add_model(conn: sqlite3.Connection, model: NewModel) -> ModelRecord:
    """Insert ``model`` as the next version of its name; return the stored record."""
    version = _next_version(conn, "models", model.name)
    conn.execute(
        f"INSERT INTO models ({_MODEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            model.name,
            version,
            model.created_at,
            model.description,
            json.dumps(dict(model.tags), sort_keys=True),
            json.dumps(dict(model.properties), sort_keys=True),
            model.run_id,
            model.experiment_name,
            model.storage,
            model.path,
        ),
    )
    record = get_model(conn, model.name, version)
    assert record is not None
    return record


def get_model(
    conn: sqlite3.Connection, name: str, version: int | None = None
) -> ModelRecord | None:
    """One version of a model (the latest when ``version`` is None), or None."""
    if version is None:
        row = conn.execute(
            f"SELECT {_MODEL_COLUMNS} FROM models WHERE name = ? ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
    else:
        row = conn.execute(
            f"SELECT {_MODEL_COLUMNS} FROM models WHERE name = ? AND version = ?",
            (name, version),
        ).fetchone()
    return _model(row) if row else None


def list_models(
    conn: sqlite3.Connection, name: str | None = None, run_id: str | None = None
) -> list[ModelRecord]:
    """Models (every version), newest registration first, optionally of one name or run."""
    where, params = [], []
    if name is not None:
        where.append("name = ?")
        params.append(name)
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT {_MODEL_COLUMNS} FROM models {clause} ORDER BY created_at DESC, name, version DESC",
        params,
    ).fetchall()
    return [_model(row) for row in rows]


def update_model(
    conn: sqlite3.Connection,
    name: str,
    version: int,
    set_tags: Mapping[str, str] | None = None,
    remove_tags: Sequence[str] = (),
    add_properties: Mapping[str, str] | None = None,
) -> ModelRecord:
    """Change a model version's tags and add properties (which are write-once)."""
    record = get_model(conn, name, version)
    if record is None:
        raise UserErrorException(f"Model {name}:{version} does not exist.")
    tags = {**record.tags, **(set_tags or {})}
    for key in remove_tags:
        tags.pop(key, None)
    properties = dict(record.properties)
    for key, value in (add_properties or {}).items():
        if key in properties and properties[key] != value:
            raise UserErrorException(
                f"Property {key!r} of model {name}:{version} is already {properties[key]!r}; "
                "model properties cannot be changed once set."
            )
        properties[key] = value
    conn.execute(
        "UPDATE models SET tags = ?, properties = ? WHERE name = ? AND version = ?",
        (json.dumps(tags, sort_keys=True), json.dumps(properties, sort_keys=True), name, version),
    )
    updated = get_model(conn, name, version)
    assert updated is not None
    return updated


def add_environment(
    conn: sqlite3.Connection, name: str, definition: Mapping[str, Any], created_at: float
) -> EnvironmentRecord:
    """Insert a new version of environment ``name``; return it."""
    version = _next_version(conn, "environments", name)
    conn.execute(
        "INSERT INTO environments (name, version, created_at, definition) VALUES (?, ?, ?, ?)",
        (name, version, created_at, json.dumps(dict(definition), sort_keys=True)),
    )
    return EnvironmentRecord(name, version, dict(definition), created_at)


def get_environment(
    conn: sqlite3.Connection, name: str, version: int | None = None
) -> EnvironmentRecord | None:
    """One version of an environment (the latest when ``version`` is None), or None."""
    if version is None:
        row = conn.execute(
            "SELECT name, version, definition, created_at FROM environments WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT name, version, definition, created_at FROM environments "
            "WHERE name = ? AND version = ?",
            (name, version),
        ).fetchone()
    return _environment(row) if row else None


def list_environments(conn: sqlite3.Connection) -> list[EnvironmentRecord]:
    """Every version of every environment, by name then version."""
    rows = conn.execute(
        "SELECT name, version, definition, created_at FROM environments ORDER BY name, version"
    ).fetchall()
    return [_environment(row) for row in rows]


def _next_version(conn: sqlite3.Connection, table: str, name: str) -> int:
    row = conn.execute(f"SELECT MAX(version) FROM {table} WHERE name = ?", (name,)).fetchone()
    return int(row[0] or 0) + 1


def _model(row: Sequence[Any]) -> ModelRecord:
    return ModelRecord(
        name=row[0],
        version=int(row[1]),
        created_at=float(row[2]),
        description=row[3],
        tags=json.loads(row[4]),
        properties=json.loads(row[5]),
        run_id=row[6],
        experiment_name=row[7],
        storage=row[8],
        path=row[9],
    )


def _environment(row: Sequence[Any]) -> EnvironmentRecord:
    return EnvironmentRecord(
        name=row[0], version=int(row[1]), definition=json.loads(row[2]), created_at=float(row[3])
    )
