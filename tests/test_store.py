"""The SQLite tracking store: refusing files it must not touch, the batch primitive,
and incremental reads."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import scalar_points
from support import python_env

from run_widgets import Experiment, Workspace
from run_widgets.exceptions import (
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from run_widgets.store import (
    SCHEMA_VERSION,
    CreateRun,
    SetTags,
    SqliteStore,
)
from run_widgets.store.sqlite.schema import MIGRATIONS


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _new_store(tmp_path: Path, name: str = "s") -> SqliteStore:
    folder = tmp_path / name
    folder.mkdir()
    return SqliteStore(folder / "tracking.db")


# ------------------------------------------------------------------ schema version ----
def test_new_store_has_current_schema_version(tmp_path: Path) -> None:
    store = _new_store(tmp_path)
    try:
        conn = sqlite3.connect(store.path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
        assert names == [m.name for m in MIGRATIONS]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
    finally:
        store.close()


def test_reopening_applies_no_migration(tmp_path: Path) -> None:
    store = _new_store(tmp_path)
    store.close()
    before = sqlite3.connect(store.path).execute("SELECT applied_at FROM migrations").fetchall()
    again = SqliteStore(store.path)
    again.close()
    after = sqlite3.connect(store.path).execute("SELECT applied_at FROM migrations").fetchall()
    assert before == after


@pytest.mark.fault
def test_newer_schema_version_is_refused_untouched(tmp_path: Path) -> None:
    store = _new_store(tmp_path)
    store.write([CreateRun("r1", "e", "interactive", "Running")])
    store.close()
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = _digest(store.path)
    with pytest.raises(StoreVersionError, match="newer run_widgets") as info:
        SqliteStore(store.path)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(info.value)
    assert _digest(store.path) == before


@pytest.mark.fault
def test_random_bytes_file_is_refused_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    path = folder / "tracking.db"
    path.write_bytes(os.urandom(8192))
    before = _digest(path)
    with pytest.raises(StoreCorruptError, match="left untouched"):
        SqliteStore(path)
    assert _digest(path) == before
    assert sorted(p.name for p in folder.iterdir()) == ["tracking.db"]


def test_workspace_on_a_garbage_store_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "tracking.db").write_bytes(b"hello, not a database" * 100)
    before = _digest(folder / "tracking.db")
    with pytest.raises(StoreCorruptError):
        Workspace(folder)
    assert _digest(folder / "tracking.db") == before


@pytest.mark.fault
def test_truncated_store_is_refused_untouched(tmp_path: Path) -> None:
    store = _new_store(tmp_path)
    store.write(
        [CreateRun("r1", "e", "interactive", "Running")]
        + [scalar_points("r1", f"m{i}", list(range(2000))) for i in range(20)]
    )
    store.close()
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = store.path.read_bytes()
    assert len(data) > 8 * 4096
    store.path.write_bytes(data[: len(data) // 2])
    before = _digest(store.path)
    with pytest.raises(StoreCorruptError, match="truncated"):
        SqliteStore(store.path)
    assert _digest(store.path) == before


def _foreign_db(path: Path, user_version: int, tables: list[str]) -> None:
    conn = sqlite3.connect(path)
    for table in tables:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, other TEXT)")
        conn.execute(f"INSERT INTO {table} (other) VALUES ('data')")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("user_version", "tables"),
    [
        (0, ["customers"]),
        (1, ["customers"]),
        (0, ["experiments", "runs", "metrics", "params", "tags"]),  # an MLflow-like db
        (1, ["runs"]),
        (7, ["runs"]),
    ],
    ids=["plain", "versioned", "mlflow-like", "runs-v1", "newer-runs"],
)
@pytest.mark.fault
def test_foreign_sqlite_db_is_refused_untouched(
    tmp_path: Path, user_version: int, tables: list[str]
) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    path = folder / "tracking.db"
    _foreign_db(path, user_version, tables)
    before = _digest(path)
    with pytest.raises(StoreError) as info:
        SqliteStore(path)
    assert "left untouched" in str(info.value)
    assert _digest(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_empty_file_becomes_a_store(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "tracking.db").touch()
    store = SqliteStore(folder / "tracking.db")
    store.write([CreateRun("r", "e", "interactive", "Running")])
    assert store.get_run("r") is not None
    store.close()


def test_missing_directory_and_directory_as_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SqliteStore(tmp_path / "missing" / "tracking.db")
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="not a file"):
        SqliteStore(tmp_path / "dir.db")


READ_ONLY_CHECK = """
    import os, sys
    from run_widgets import Workspace
    from run_widgets.exceptions import StoreReadOnlyError
    if os.getuid() == 0:
        # root ignores permissions: drop to "nobody" (after the imports: the interpreter
        # may live in a folder "nobody" cannot read)
        import pwd
        nobody = pwd.getpwnam("nobody")
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    try:
        Workspace(sys.argv[1])
    except StoreReadOnlyError as exc:
        print("READONLY", exc)
    else:
        print("OPENED")
"""


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A folder directly in /tmp (reachable by "nobody"), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="rw-readonly-"))
    os.chmod(folder, 0o755)
    yield folder
    for directory, _, _ in os.walk(folder):
        os.chmod(directory, 0o755)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.fault
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_read_only_workspace_directory(world_readable_dir: Path, existing: bool) -> None:
    folder = world_readable_dir / "ro"
    folder.mkdir()
    if existing:
        Workspace(folder).close()
    before = {p.name: _digest(p) for p in folder.iterdir() if p.is_file()}
    os.chmod(folder, 0o555)
    for path in folder.iterdir():
        os.chmod(path, 0o444)
    try:
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(READ_ONLY_CHECK), str(folder)],
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
    finally:
        os.chmod(folder, 0o755)
    assert "READONLY" in result.stdout, result.stdout + result.stderr
    assert "read-only" in result.stdout
    after = {p.name: _digest(p) for p in folder.iterdir() if p.is_file()}
    assert after == before
    assert sorted(after) == sorted(before)


N_OPENERS = 8
MIGRATE_RACE = """
    import sys, time
    from run_widgets import Experiment, Workspace
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    ws = Workspace(sys.argv[1])  # a new workspace: folder, store file and schema
    run = Experiment(ws, "e").start_logging(
        snapshot_directory=None, outputs=False, run_id=sys.argv[3]
    )
    run.log("x", 1)
    run.complete()
    print("ok")
"""


def test_migrations_idempotent_when_many_processes_open_a_new_store(tmp_path: Path) -> None:
    folder = tmp_path / "race"
    path = folder / "tracking.db"
    start = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(MIGRATE_RACE), str(folder), str(start), f"r{i}"],
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(N_OPENERS)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
    assert (
        conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'Completed'").fetchone()[0]
        == N_OPENERS
    )
    assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == N_OPENERS
    assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_workspace_store_connections_are_released(ws: Workspace) -> None:
    run = Experiment(ws, "e").start_logging(snapshot_directory=None, outputs=False)
    run.log("a", 1)
    run.complete()
    assert ws.store.open_connection_count() <= 2


def test_transaction_abandoned_by_an_interrupt_is_rolled_back(tmp_path: Path) -> None:
    """A signal handler's exception can land between BEGIN and the try block of a write;
    the next call must not inherit that transaction (nor its write lock)."""
    store = _new_store(tmp_path)
    try:
        store.write([CreateRun("r", "e", "interactive", "Running")])
        conn = store._conn()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE runs SET display_name = 'half-done' WHERE id = 'r'")
        store.write([SetTags("r", {"t": "1"})])  # would fail: "transaction within ..."
        record = store.get_run("r")
        assert record is not None
        assert record.display_name is None
        assert dict(record.tags) == {"t": "1"}
        other = SqliteStore(store.path, busy_timeout=2)
        other.write([SetTags("r", {"u": "2"})])  # the write lock was released
        other.close()
    finally:
        store.close()
