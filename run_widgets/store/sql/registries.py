"""SQL of the workspace's registries (models, environments, compute targets), for every SQL backend.

SQLite and PostgreSQL run these same statements.

Each function runs inside the caller's transaction (the store opens a write or read
transaction and passes its connection and :class:`~run_widgets.store.sql.dialect.Dialect`).
The version of a new registration is ``MAX(version) + 1`` (``rules.next_number``) computed
in the inserting transaction after ``dialect.lock`` on the name, so two processes
registering the same name at once get distinct versions; ``PRIMARY KEY (name, version)``
is the last guard.
Tables: SQLite migrations 0003-0004, PostgreSQL migrations 0002-0003 (same columns).
A compute target is one row per name holding its JSON definition; it is written once
(``INSERT ... ON CONFLICT DO NOTHING``) and the caller compares what is there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...exceptions import UserErrorException
from .. import rules
from ..assets import EnvironmentRecord, ModelRecord, NewModel
from .dialect import Connection, Dialect
from .transactions import NotYours, SqlTransactions


class SqlRegistries(SqlTransactions):
    """The registry methods of ``TrackingStore`` for a SQL store, over the functions below.

    Each method runs its function inside a read or write transaction through
    :meth:`~.transactions.SqlTransactions._in_read` / ``_in_write``.
    """

    def add_model(self, model: NewModel) -> ModelRecord:
        """Insert ``model`` as the next version of its name (1, 2, …) in one transaction."""
        return self._in_write(f"register model {model.name!r}", add_model, model)

    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None:
        """One version of a model (the latest when ``version`` is None), or None."""
        return self._in_read(get_model, name, version)

    def list_models(self, name: str | None = None, run_id: str | None = None) -> list[ModelRecord]:
        """Every version of every model (of one ``name`` / registered from one run)."""
        return self._in_read(list_models, name, run_id)

    def update_model(
        self,
        name: str,
        version: int,
        set_tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        add_properties: Mapping[str, str] | None = None,
    ) -> ModelRecord:
        """Change a model version's tags and add properties, in one transaction."""
        return self._in_write(
            f"change model {name}:{version}",
            update_model,
            name,
            version,
            set_tags,
            remove_tags,
            add_properties,
        )

    def add_environment(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> EnvironmentRecord:
        """Insert a new version of environment ``name``."""
        return self._in_write(
            f"register environment {name!r}", add_environment, name, definition, created_at
        )

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord | None:
        """One version of an environment (the latest when ``version`` is None), or None."""
        return self._in_read(get_environment, name, version)

    def list_environments(self) -> list[EnvironmentRecord]:
        """Every version of every registered environment."""
        return self._in_read(list_environments)

    def add_compute_target(
        self, name: str, definition: Mapping[str, Any], created_at: float
    ) -> dict[str, Any]:
        """Save target ``name`` unless it exists; return what is stored under the name."""
        return self._in_write(
            f"save compute target {name!r}", add_compute_target, name, definition, created_at
        )

    def get_compute_target(self, name: str) -> dict[str, Any] | None:
        """The definition of compute target ``name``, or None."""
        return self._in_read(get_compute_target, name)

    def list_compute_targets(self) -> list[str]:
        """Names of the saved compute targets, sorted."""
        return self._in_read(list_compute_targets)

    def delete_compute_target(self, name: str) -> bool:
        """Remove compute target ``name``; False if there was none."""
        return self._in_write(f"delete compute target {name!r}", delete_compute_target, name)


def dumps_labels(labels: Mapping[str, Any]) -> str:
    """Tags, properties or a definition as the JSON text the registries store (keys sorted)."""
    return json.dumps(dict(labels), sort_keys=True)


_MODEL_COLUMNS = (
    "name, version, created_at, description, tags, properties, run_id, experiment_name, "
    "storage, path"
)
_ENVIRONMENT_COLUMNS = "name, version, definition, created_at"


def add_model(conn: Connection, dialect: Dialect, model: NewModel) -> ModelRecord:
    """Insert ``model`` as the next version of its name; return the stored record."""
    rules.check_registry_name(model.name, "model name")
    version = _next_version(conn, dialect, "models", model.name)
    dialect.execute(
        conn,
        f"INSERT INTO models ({_MODEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            model.name,
            version,
            model.created_at,
            model.description,
            dumps_labels(model.tags),
            dumps_labels(model.properties),
            model.run_id,
            model.experiment_name,
            model.storage,
            model.path,
        ),
    )
    record = get_model(conn, dialect, model.name, version)
    assert record is not None
    return record


def _version_row(
    conn: Connection, dialect: Dialect, table: str, columns: str, name: str, version: int | None
) -> Any:
    """The row of one version of a registered name (the latest when ``version`` is None)."""
    if version is None:
        sql = f"SELECT {columns} FROM {table} WHERE name = ? ORDER BY version DESC LIMIT 1"
        return dialect.execute(conn, sql, (name,)).fetchone()
    sql = f"SELECT {columns} FROM {table} WHERE name = ? AND version = ?"
    return dialect.execute(conn, sql, (name, version)).fetchone()


def get_model(
    conn: Connection, dialect: Dialect, name: str, version: int | None = None
) -> ModelRecord | None:
    """One version of a model (the latest when ``version`` is None), or None."""
    row = _version_row(conn, dialect, "models", _MODEL_COLUMNS, name, version)
    return _model(row) if row else None


def list_models(
    conn: Connection, dialect: Dialect, name: str | None = None, run_id: str | None = None
) -> list[ModelRecord]:
    """Models (every version), newest registration first, optionally of one name or run."""
    where: list[str] = []
    params: list[Any] = []
    if name is not None:
        where.append("name = ?")
        params.append(name)
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = dialect.execute(
        conn,
        f"SELECT {_MODEL_COLUMNS} FROM models {clause} ORDER BY created_at DESC, name, version DESC",
        params,
    ).fetchall()
    return [_model(row) for row in rows]


def update_model(
    conn: Connection,
    dialect: Dialect,
    name: str,
    version: int,
    set_tags: Mapping[str, str] | None = None,
    remove_tags: Sequence[str] = (),
    add_properties: Mapping[str, str] | None = None,
) -> ModelRecord:
    """Change a model version's tags and add properties (which are write-once)."""
    dialect.lock(conn, f"models:{name}:{version}")
    record = get_model(conn, dialect, name, version)
    if record is None:
        raise UserErrorException(f"Model {name}:{version} does not exist.")
    tags, properties = rules.merge_model_labels(
        record.model_id, record.tags, record.properties, set_tags, remove_tags, add_properties
    )
    changed = dialect.execute(
        conn,
        "UPDATE models SET tags = ?, properties = ? WHERE name = ? AND version = ?",
        (dumps_labels(tags), dumps_labels(properties), name, version),
    ).rowcount
    if not changed:  # row-level security let this role read the row, not change it
        raise NotYours(
            f"model {name}:{version} was registered by {_creator(conn, dialect, 'models', name, version)!r}"
        )
    updated = get_model(conn, dialect, name, version)
    assert updated is not None
    return updated


def add_environment(
    conn: Connection,
    dialect: Dialect,
    name: str,
    definition: Mapping[str, Any],
    created_at: float,
) -> EnvironmentRecord:
    """Insert a new version of environment ``name``; return it."""
    rules.check_registry_name(name, "environment name")
    version = _next_version(conn, dialect, "environments", name)
    dialect.execute(
        conn,
        f"INSERT INTO environments ({_ENVIRONMENT_COLUMNS}) VALUES (?, ?, ?, ?)",
        (name, version, dumps_labels(definition), created_at),
    )
    return EnvironmentRecord(name, version, dict(definition), created_at)


def get_environment(
    conn: Connection, dialect: Dialect, name: str, version: int | None = None
) -> EnvironmentRecord | None:
    """One version of an environment (the latest when ``version`` is None), or None."""
    row = _version_row(conn, dialect, "environments", _ENVIRONMENT_COLUMNS, name, version)
    return _environment(row) if row else None


def list_environments(conn: Connection, dialect: Dialect) -> list[EnvironmentRecord]:
    """Every version of every environment, by name then version."""
    rows = dialect.execute(
        conn, f"SELECT {_ENVIRONMENT_COLUMNS} FROM environments ORDER BY name, version"
    ).fetchall()
    return [_environment(row) for row in rows]


def add_compute_target(
    conn: Connection, dialect: Dialect, name: str, definition: Mapping[str, Any], created_at: float
) -> dict[str, Any]:
    """Save target ``name`` unless it exists; return the definition stored under the name."""
    rules.check_registry_name(name, "compute target name")
    dialect.execute(
        conn,
        "INSERT INTO compute_targets (name, definition, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING",
        (name, dumps_labels(definition), created_at),
    )
    stored = get_compute_target(conn, dialect, name)
    assert stored is not None
    return stored


def get_compute_target(conn: Connection, dialect: Dialect, name: str) -> dict[str, Any] | None:
    """The definition of target ``name``, or None."""
    row = dialect.execute(
        conn, "SELECT definition FROM compute_targets WHERE name = ?", (name,)
    ).fetchone()
    return dict(json.loads(row[0])) if row else None


def list_compute_targets(conn: Connection, dialect: Dialect) -> list[str]:
    """Names of the saved targets, sorted."""
    rows = dialect.execute(conn, "SELECT name FROM compute_targets ORDER BY name").fetchall()
    return [str(row[0]) for row in rows]


def delete_compute_target(conn: Connection, dialect: Dialect, name: str) -> bool:
    """Remove target ``name``; False if there was none."""
    cursor = dialect.execute(conn, "DELETE FROM compute_targets WHERE name = ?", (name,))
    if not cursor.rowcount and get_compute_target(conn, dialect, name) is not None:
        creator = _creator(conn, dialect, "compute_targets", name)
        raise NotYours(f"compute target {name!r} was saved by {creator!r}")
    return bool(cursor.rowcount)


def _creator(
    conn: Connection, dialect: Dialect, table: str, name: str, version: int | None = None
) -> str | None:
    """The role that made a registry row (``created_by``), for messages."""
    sql = f"SELECT created_by FROM {table} WHERE name = ?"
    params: list[Any] = [name]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    row = dialect.execute(conn, sql, params).fetchone()
    return None if row is None else row[0]


def _next_version(conn: Connection, dialect: Dialect, table: str, name: str) -> int:
    dialect.lock(conn, f"{table}:{name}")
    row = dialect.execute(
        conn, f"SELECT MAX(version) FROM {table} WHERE name = ?", (name,)
    ).fetchone()
    return rules.next_number(row[0])


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
