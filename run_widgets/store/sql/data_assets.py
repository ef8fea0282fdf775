"""SQL of the workspace's data and pipeline assets, for every SQL backend.

Datastores (credentials sealed by the caller: this module never sees a key), datasets
(registered versions pinned to a content fingerprint, and saved unnamed definitions runs
refer to by id), published pipelines and pipeline endpoints. SQLite and PostgreSQL run
these same statements, each function inside the caller's transaction. A dataset version is
``MAX(version) + 1`` computed after ``dialect.lock`` on its name, as models' are;
``UNIQUE (name, version)`` is the last guard. Every write is one transaction: an asset is
registered whole or not at all.

Tables: ``schema.DATA_AND_PIPELINES``, migration 0008 on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...exceptions import UserErrorException
from .. import rules
from ..assets import (
    DatasetRecord,
    DatastoreRecord,
    NewDataset,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
)
from .dialect import Connection, Dialect
from .transactions import SqlTransactions


class SqlDataAssets(SqlTransactions):
    """The data and pipeline asset methods of ``TrackingStore`` for a SQL store.

    Each method runs its function inside a read or write transaction through
    :meth:`~.transactions.SqlTransactions._in_read` / ``_in_write``.
    """

    # -- datastores ------------------------------------------------------------------
    def add_datastore(
        self,
        name: str,
        definition: Mapping[str, Any],
        secret: Mapping[str, str] | None,
        created_at: float,
        overwrite: bool = False,
    ) -> DatastoreRecord:
        """Register datastore ``name``; return what is stored under the name.

        With ``overwrite`` a datastore of that name is replaced; without, the one there is
        returned (the caller compares definitions).
        """
        return self._in_write(
            f"register datastore {name!r}",
            add_datastore,
            name,
            definition,
            secret,
            created_at,
            overwrite,
        )

    def get_datastore(self, name: str) -> DatastoreRecord | None:
        """Datastore ``name``, or None."""
        return self._in_read(get_datastore, name)

    def list_datastores(self) -> list[DatastoreRecord]:
        """Every registered datastore, by name."""
        return self._in_read(list_datastores)

    def delete_datastore(self, name: str) -> bool:
        """Forget datastore ``name``; False if there was none."""
        return self._in_write(f"unregister datastore {name!r}", delete_datastore, name)

    def set_default_datastore(self, name: str) -> None:
        """Make ``name`` the default datastore (a built-in name clears every flag)."""
        self._in_write(f"make {name!r} the default datastore", set_default_datastore, name)

    def get_default_datastore_name(self) -> str | None:
        """The registered datastore marked default, or None (the built-in default)."""
        return self._in_read(get_default_datastore_name)

    # -- datasets --------------------------------------------------------------------
    def add_dataset(self, dataset: NewDataset) -> DatasetRecord:
        """Save a dataset: as the next version of its name, or unnamed (version None)."""
        return self._in_write(
            f"register dataset {dataset.name or dataset.id!r}", add_dataset, dataset
        )

    def get_dataset(self, name: str, version: int | None = None) -> DatasetRecord | None:
        """A registered version (the latest when ``version`` is None), or None."""
        return self._in_read(get_dataset, name, version)

    def get_dataset_by_id(self, dataset_id: str) -> DatasetRecord | None:
        """A saved or registered dataset by id, or None."""
        return self._in_read(get_dataset_by_id, dataset_id)

    def list_datasets(
        self, name: str | None = None, *, unnamed: bool = False
    ) -> list[DatasetRecord]:
        """Registered versions (of one ``name``), by name then version.

        With ``unnamed``, the saved unnamed definitions follow, oldest first.
        """
        return self._in_read(list_datasets, name, unnamed)

    # -- published pipelines and endpoints ---------------------------------------------
    def add_published_pipeline(self, record: PublishedPipelineRecord) -> None:
        """Store a published pipeline."""
        self._in_write(f"publish pipeline {record.name!r}", add_published_pipeline, record)

    def get_published_pipeline(self, pipeline_id: str) -> PublishedPipelineRecord | None:
        """A published pipeline by id, or None."""
        return self._in_read(get_published_pipeline, pipeline_id)

    def list_published_pipelines(self) -> list[PublishedPipelineRecord]:
        """Every published pipeline, oldest first."""
        return self._in_read(list_published_pipelines)

    def set_published_pipeline_status(self, pipeline_id: str, status: str) -> bool:
        """Enable or disable a published pipeline; False if there is none."""
        return self._in_write(
            f"set published pipeline {pipeline_id} {status}",
            set_published_pipeline_status,
            pipeline_id,
            status,
        )

    def add_pipeline_endpoint(self, record: PipelineEndpointRecord) -> PipelineEndpointRecord:
        """Store a new pipeline endpoint (its name must be free)."""
        return self._in_write(
            f"create pipeline endpoint {record.name!r}", add_pipeline_endpoint, record
        )

    def get_pipeline_endpoint(
        self, id: str | None = None, name: str | None = None
    ) -> PipelineEndpointRecord | None:
        """An endpoint by id or name, or None."""
        return self._in_read(get_pipeline_endpoint, id, name)

    def list_pipeline_endpoints(self) -> list[PipelineEndpointRecord]:
        """Every pipeline endpoint, oldest first."""
        return self._in_read(list_pipeline_endpoints)

    def update_pipeline_endpoint(
        self,
        endpoint_id: str,
        *,
        name: str | None = None,
        default_version: str | None = None,
        status: str | None = None,
        add_pipeline: str | None = None,
    ) -> PipelineEndpointRecord:
        """Change an endpoint in one transaction (rename, default, status, a new version)."""
        return self._in_write(
            f"change pipeline endpoint {endpoint_id}",
            update_pipeline_endpoint,
            endpoint_id,
            name,
            default_version,
            status,
            add_pipeline,
        )


# ----------------------------------------------------------------------- datastores --
_DATASTORE_COLUMNS = "name, definition, secret, is_default, created_at"


def _datastore(row: Sequence[Any]) -> DatastoreRecord:
    return DatastoreRecord(
        name=str(row[0]),
        definition=json.loads(row[1]),
        secret=json.loads(row[2]) if row[2] else None,
        is_default=bool(row[3]),
        created_at=float(row[4]),
    )


def add_datastore(
    conn: Connection,
    dialect: Dialect,
    name: str,
    definition: Mapping[str, Any],
    secret: Mapping[str, str] | None,
    created_at: float,
    overwrite: bool,
) -> DatastoreRecord:
    """Insert (or, with ``overwrite``, replace) a datastore; return the stored row."""
    rules.check_registry_name(name, "datastore name")
    dialect.lock(conn, f"datastores:{name}")
    values = (name, json.dumps(dict(definition)), json.dumps(dict(secret)) if secret else None)
    if overwrite:
        dialect.execute(
            conn,
            "UPDATE datastores SET definition = ?, secret = ? WHERE name = ?",
            (values[1], values[2], name),
        )
    dialect.execute(
        conn,
        f"INSERT INTO datastores ({_DATASTORE_COLUMNS}) VALUES (?, ?, ?, 0, ?)"
        " ON CONFLICT (name) DO NOTHING",
        (*values, created_at),
    )
    record = get_datastore(conn, dialect, name)
    assert record is not None
    return record


def get_datastore(conn: Connection, dialect: Dialect, name: str) -> DatastoreRecord | None:
    """One datastore, or None."""
    row = dialect.execute(
        conn, f"SELECT {_DATASTORE_COLUMNS} FROM datastores WHERE name = ?", (name,)
    ).fetchone()
    return _datastore(row) if row else None


def list_datastores(conn: Connection, dialect: Dialect) -> list[DatastoreRecord]:
    """Every datastore, by name."""
    rows = dialect.execute(
        conn, f"SELECT {_DATASTORE_COLUMNS} FROM datastores ORDER BY name"
    ).fetchall()
    return [_datastore(row) for row in rows]


def delete_datastore(conn: Connection, dialect: Dialect, name: str) -> bool:
    """Remove one datastore; False if there was none."""
    return bool(dialect.execute(conn, "DELETE FROM datastores WHERE name = ?", (name,)).rowcount)


def set_default_datastore(conn: Connection, dialect: Dialect, name: str) -> None:
    """Flag ``name`` as the default (and no other); an unregistered name clears the flags."""
    dialect.lock(conn, "datastores:default")
    dialect.execute(conn, "UPDATE datastores SET is_default = 0 WHERE is_default <> 0")
    dialect.execute(conn, "UPDATE datastores SET is_default = 1 WHERE name = ?", (name,))


def get_default_datastore_name(conn: Connection, dialect: Dialect) -> str | None:
    """The flagged default datastore, or None."""
    row = dialect.execute(
        conn, "SELECT name FROM datastores WHERE is_default <> 0 ORDER BY name LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None


# ------------------------------------------------------------------------- datasets --
_DATASET_COLUMNS = (
    "id, name, version, definition, fingerprint, manifest, description, tags, created_at"
)


def _dataset(row: Sequence[Any]) -> DatasetRecord:
    return DatasetRecord(
        id=str(row[0]),
        name=row[1],
        version=int(row[2]) if row[2] is not None else None,
        definition=json.loads(row[3]),
        fingerprint=row[4],
        manifest=json.loads(row[5]) if row[5] else None,
        description=row[6],
        tags=json.loads(row[7]),
        created_at=float(row[8]),
    )


def add_dataset(conn: Connection, dialect: Dialect, dataset: NewDataset) -> DatasetRecord:
    """Insert a dataset (a named one as the next version of its name); return it."""
    version = None
    if dataset.name is not None:
        rules.check_registry_name(dataset.name, "dataset name")
        dialect.lock(conn, f"datasets:{dataset.name}")
        row = dialect.execute(
            conn, "SELECT MAX(version) FROM datasets WHERE name = ?", (dataset.name,)
        ).fetchone()
        version = rules.next_number(row[0])
    dialect.execute(
        conn,
        f"INSERT INTO datasets ({_DATASET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            dataset.id,
            dataset.name,
            version,
            json.dumps(dict(dataset.definition)),
            dataset.fingerprint,
            json.dumps(dict(dataset.manifest)) if dataset.manifest is not None else None,
            dataset.description,
            json.dumps(dict(dataset.tags)),
            dataset.created_at,
        ),
    )
    record = get_dataset_by_id(conn, dialect, dataset.id)
    assert record is not None
    return record


def get_dataset(
    conn: Connection, dialect: Dialect, name: str, version: int | None = None
) -> DatasetRecord | None:
    """A registered version (the latest when ``version`` is None), or None."""
    if version is None:
        sql = (
            f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name = ? ORDER BY version DESC LIMIT 1"
        )
        row = dialect.execute(conn, sql, (name,)).fetchone()
    else:
        sql = f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name = ? AND version = ?"
        row = dialect.execute(conn, sql, (name, version)).fetchone()
    return _dataset(row) if row else None


def get_dataset_by_id(conn: Connection, dialect: Dialect, dataset_id: str) -> DatasetRecord | None:
    """A dataset by id, or None."""
    row = dialect.execute(
        conn, f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE id = ?", (dataset_id,)
    ).fetchone()
    return _dataset(row) if row else None


def list_datasets(
    conn: Connection, dialect: Dialect, name: str | None = None, unnamed: bool = False
) -> list[DatasetRecord]:
    """Registered versions (of one name), by name then version.

    With ``unnamed`` (and no name), the saved unnamed definitions follow, oldest first.
    """
    if name is None:
        sql = (
            f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name IS NOT NULL ORDER BY name, version"
        )
        rows = dialect.execute(conn, sql).fetchall()
        if unnamed:
            sql = (
                f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name IS NULL"
                " ORDER BY created_at, id"
            )
            rows = [*rows, *dialect.execute(conn, sql).fetchall()]
    else:
        sql = f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name = ? ORDER BY version"
        rows = dialect.execute(conn, sql, (name,)).fetchall()
    return [_dataset(row) for row in rows]


# -------------------------------------------------------------- published pipelines --
_PUBLISHED_COLUMNS = (
    "id, name, description, version, spec, continue_on_step_failure, status, created_at"
)


def _published(row: Sequence[Any]) -> PublishedPipelineRecord:
    return PublishedPipelineRecord(
        id=str(row[0]),
        name=str(row[1]),
        description=row[2],
        version=row[3],
        spec=json.loads(row[4]),
        continue_on_step_failure=bool(row[5]),
        status=str(row[6]),
        created_at=float(row[7]),
    )


def add_published_pipeline(
    conn: Connection, dialect: Dialect, record: PublishedPipelineRecord
) -> None:
    """Insert a published pipeline."""
    dialect.execute(
        conn,
        f"INSERT INTO published_pipelines ({_PUBLISHED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.name,
            record.description,
            record.version,
            json.dumps(dict(record.spec)),
            int(record.continue_on_step_failure),
            record.status,
            record.created_at,
        ),
    )


def get_published_pipeline(
    conn: Connection, dialect: Dialect, pipeline_id: str
) -> PublishedPipelineRecord | None:
    """A published pipeline, or None."""
    row = dialect.execute(
        conn, f"SELECT {_PUBLISHED_COLUMNS} FROM published_pipelines WHERE id = ?", (pipeline_id,)
    ).fetchone()
    return _published(row) if row else None


def list_published_pipelines(conn: Connection, dialect: Dialect) -> list[PublishedPipelineRecord]:
    """Every published pipeline, oldest first."""
    rows = dialect.execute(
        conn, f"SELECT {_PUBLISHED_COLUMNS} FROM published_pipelines ORDER BY created_at, id"
    ).fetchall()
    return [_published(row) for row in rows]


def set_published_pipeline_status(
    conn: Connection, dialect: Dialect, pipeline_id: str, status: str
) -> bool:
    """Set a published pipeline's status; False if there is none."""
    cursor = dialect.execute(
        conn, "UPDATE published_pipelines SET status = ? WHERE id = ?", (status, pipeline_id)
    )
    return bool(cursor.rowcount)


_ENDPOINT_COLUMNS = "id, name, description, pipeline_ids, default_version, status, created_at"


def _endpoint(row: Sequence[Any]) -> PipelineEndpointRecord:
    return PipelineEndpointRecord(
        id=str(row[0]),
        name=str(row[1]),
        description=row[2],
        pipeline_ids=tuple(json.loads(row[3])),
        default_version=str(row[4]),
        status=str(row[5]),
        created_at=float(row[6]),
    )


def add_pipeline_endpoint(
    conn: Connection, dialect: Dialect, record: PipelineEndpointRecord
) -> PipelineEndpointRecord:
    """Insert an endpoint; its name must be free."""
    rules.check_registry_name(record.name, "pipeline endpoint name")
    dialect.lock(conn, f"pipeline_endpoints:{record.name}")
    if get_pipeline_endpoint(conn, dialect, None, record.name) is not None:
        raise UserErrorException(f"A pipeline endpoint named {record.name!r} exists already.")
    dialect.execute(
        conn,
        f"INSERT INTO pipeline_endpoints ({_ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.name,
            record.description,
            json.dumps(list(record.pipeline_ids)),
            record.default_version,
            record.status,
            record.created_at,
        ),
    )
    return record


def get_pipeline_endpoint(
    conn: Connection, dialect: Dialect, endpoint_id: str | None, name: str | None
) -> PipelineEndpointRecord | None:
    """An endpoint by id (or else by name), or None."""
    column, value = ("id", endpoint_id) if endpoint_id is not None else ("name", name)
    sql = f"SELECT {_ENDPOINT_COLUMNS} FROM pipeline_endpoints WHERE {column} = ?"
    row = dialect.execute(conn, sql, (value,)).fetchone()
    return _endpoint(row) if row else None


def list_pipeline_endpoints(conn: Connection, dialect: Dialect) -> list[PipelineEndpointRecord]:
    """Every endpoint, oldest first."""
    rows = dialect.execute(
        conn, f"SELECT {_ENDPOINT_COLUMNS} FROM pipeline_endpoints ORDER BY created_at, id"
    ).fetchall()
    return [_endpoint(row) for row in rows]


def update_pipeline_endpoint(
    conn: Connection,
    dialect: Dialect,
    endpoint_id: str,
    name: str | None,
    default_version: str | None,
    status: str | None,
    add_pipeline: str | None,
) -> PipelineEndpointRecord:
    """Change an endpoint; the new record."""
    dialect.lock(conn, f"pipeline_endpoints:{endpoint_id}")
    record = get_pipeline_endpoint(conn, dialect, endpoint_id, None)
    if record is None:
        raise UserErrorException(f"Pipeline endpoint {endpoint_id} does not exist.")
    if name is not None and name != record.name:
        rules.check_registry_name(name, "pipeline endpoint name")
        dialect.lock(conn, f"pipeline_endpoints:{name}")
        if get_pipeline_endpoint(conn, dialect, None, name) is not None:
            raise UserErrorException(f"A pipeline endpoint named {name!r} exists already.")
    pipelines = list(record.pipeline_ids) + ([add_pipeline] if add_pipeline else [])
    dialect.execute(
        conn,
        "UPDATE pipeline_endpoints SET name = ?, pipeline_ids = ?, default_version = ?, status = ?"
        " WHERE id = ?",
        (
            name or record.name,
            json.dumps(pipelines),
            default_version if default_version is not None else record.default_version,
            status or record.status,
            endpoint_id,
        ),
    )
    updated = get_pipeline_endpoint(conn, dialect, endpoint_id, None)
    assert updated is not None
    return updated
