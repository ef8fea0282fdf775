"""Schema and migrations: versioning, identification of our files, idempotence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from run_widgets.store import SCHEMA_VERSION, CreateRun, SqliteStore
from run_widgets.store.sqlite import schema
from run_widgets.store.sqlite.schema import (
    APPLICATION_ID,
    MIGRATIONS,
    migrate,
    read_application_id,
    read_version,
)


def test_migration_names_are_unique_and_ordered() -> None:
    names = [m.name for m in MIGRATIONS]
    assert len(set(names)) == len(names)
    assert names == sorted(names)
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_migrate_is_idempotent_on_one_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    assert migrate(conn) == [m.name for m in MIGRATIONS]
    assert migrate(conn) == []
    assert read_version(conn) == SCHEMA_VERSION
    assert read_application_id(conn) == APPLICATION_ID
    conn.close()


def test_failed_migration_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = schema.Migration("9999_x", ("CREATE TABLE half (x)", "CREATE TABLE half (y)"))
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(MIGRATIONS) + 1)
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="half already exists"):
        schema.migrate(conn)
    assert read_version(conn) == 0
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} == set()
    conn.close()


def test_store_written_before_the_application_id_is_accepted_and_stamped(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    path = folder / "tracking.db"
    store = SqliteStore(path)
    store.write([CreateRun("r", "e", "interactive", "Running")])
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")  # as stores of the first release were
    conn.commit()
    conn.close()
    again = SqliteStore(path)
    assert again.get_run("r") is not None
    again.close()
    conn = sqlite3.connect(path)
    assert read_application_id(conn) == APPLICATION_ID
    conn.close()
