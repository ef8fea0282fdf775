"""PostgreSQL-only behaviour of the team store, on a real server.

The backend-neutral contract runs on both backends in tests/test_store.py; here: commit
order of cursors under concurrent writers, schema versions, and connection errors.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import psycopg
import pytest
from pg_support import new_database

from run_widgets.exceptions import StoreCorruptError, StoreError, StoreVersionError
from run_widgets.store import AppendPoints, CreateRun, RunStatus, SetTags
from run_widgets.store.postgres import PostgresStore, StoreUnavailableError
from run_widgets.store.postgres.local_server import LocalPostgres, free_port
from run_widgets.store.postgres.schema import SCHEMA_VERSION


def _points(run_id: str, name: str, n: int = 3) -> AppendPoints:
    return AppendPoints(run_id, name, "scalar", np.arange(n, dtype=float), np.full(n, time.time()))


def _wait_until_blocked(admin_uri: str, timeout: float = 10.0) -> None:
    """Wait until some backend waits for a row lock (the writer thread reached it)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError("the writer never blocked on the lock")


def test_late_commit_is_not_skipped_by_incremental_readers(pg_uri: str) -> None:
    """A write that started first but commits second still lands after the reader's cursor.

    Writer A stalls mid-transaction (another connection holds a row lock it needs) after
    it has already written part of its batch; writer B starts later and commits first.
    With ids drawn from sequences at insert time, A would commit a lower chunk id / change
    seq than B and a reader whose cursor moved past B would skip A's points for good.
    """
    store = PostgresStore(pg_uri)
    store.write(
        [
            CreateRun("a", "exp", "run", RunStatus.RUNNING),
            CreateRun("b", "exp", "run", RunStatus.RUNNING),
        ]
    )
    store.write([_points("a", "loss"), _points("b", "loss")])
    cursor_seq = store.current_seq()
    cursor_chunk = {run: store.last_chunk_id(run) for run in ("a", "b")}

    blocker = psycopg.connect(pg_uri)  # a transaction holding the row A needs last
    blocker.execute("SELECT 1 FROM metrics WHERE run_id = 'a' AND name = 'loss' FOR UPDATE")
    done_a: list[int] = []
    writer_a = threading.Thread(
        target=lambda: done_a.append(store.write([_points("a", "acc"), _points("a", "loss")]))
    )
    writer_a.start()
    try:
        _wait_until_blocked(pg_uri)
        seq_b = store.write([_points("b", "loss"), SetTags("b", {"k": "v"})])

        changed = store.find_runs(changed_after=cursor_seq)  # the reader polls now
        assert [r.id for r in changed] == ["b"]
        cursor_seq = max(r.change_seq for r in changed)
        chunks_b = store.read_chunks("b", after_chunk_id=cursor_chunk["b"])
        assert store.read_chunks("a", after_chunk_id=cursor_chunk["a"]) == []
    finally:
        blocker.rollback()
        blocker.close()
        writer_a.join(10)
    assert done_a and done_a[0] > seq_b

    later = store.find_runs(changed_after=cursor_seq)
    assert [r.id for r in later] == ["a"]
    chunks_a = store.read_chunks("a", after_chunk_id=cursor_chunk["a"])
    assert sorted(c.metric_name for c in chunks_a) == ["acc", "loss"]
    assert min(c.id for c in chunks_a) > max(c.id for c in chunks_b)  # ids in commit order
    store.close()


def test_many_writers_and_a_polling_reader_see_everything(pg_uri: str) -> None:
    """Four threads write four runs while a reader follows with cursors: nothing missed."""
    store = PostgresStore(pg_uri)
    runs = [f"r{i}" for i in range(4)]
    store.write([CreateRun(r, "exp", "run", RunStatus.RUNNING) for r in runs])
    per_writer = 40
    stop = threading.Event()
    seen: dict[str, int] = dict.fromkeys(runs, 0)
    cursors: dict[str, int] = dict.fromkeys(runs, 0)

    def writer(run_id: str) -> None:
        for _ in range(per_writer):
            store.write([_points(run_id, "loss", 5)])

    def reader() -> None:
        while True:
            finished = stop.is_set()
            for run_id in runs:
                for chunk in store.read_chunks(run_id, after_chunk_id=cursors[run_id]):
                    seen[run_id] += chunk.n
                    cursors[run_id] = chunk.id
            if finished:
                return

    threads = [threading.Thread(target=writer, args=(r,)) for r in runs]
    poller = threading.Thread(target=reader)
    poller.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stop.set()
    poller.join(60)
    assert seen == dict.fromkeys(runs, per_writer * 5)
    store.close()


def test_new_database_gets_the_schema_once_even_with_concurrent_clients(
    pg_server: LocalPostgres,
) -> None:
    uri = new_database(pg_server, empty=True)
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            PostgresStore(uri).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("SELECT count(*) FROM migrations").fetchone() == (SCHEMA_VERSION,)


def test_client_of_an_older_schema_version_is_refused(pg_uri: str) -> None:
    """A database upgraded by a newer run_widgets is refused with a clear message."""
    PostgresStore(pg_uri).close()
    with psycopg.connect(pg_uri, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
        before = conn.execute("SELECT count(*) FROM pg_stat_user_tables").fetchone()
    with pytest.raises(StoreVersionError, match="newer run_widgets") as info:
        PostgresStore(pg_uri)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(info.value)
    with psycopg.connect(pg_uri) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_user_tables").fetchone() == before
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (
            SCHEMA_VERSION + 1,
        )


def test_foreign_database_is_refused_untouched(pg_server: LocalPostgres) -> None:
    uri = new_database(pg_server, empty=True)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(StoreCorruptError, match="not a run_widgets tracking store"):
        PostgresStore(uri)
    with psycopg.connect(uri) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        assert [r[0] for r in tables] == ["invoices"]


def test_unreachable_server_names_host_and_port_never_the_password() -> None:
    port = free_port()
    with pytest.raises(StoreUnavailableError) as info:
        PostgresStore(f"postgresql://alice:s3cr3t-pw@127.0.0.1:{port}/tracking")
    message = str(info.value)
    assert "127.0.0.1" in message and str(port) in message
    assert "s3cr3t-pw" not in message and "s3cr3t-pw" not in repr(info.value)
    assert isinstance(info.value, StoreError)


def test_wrong_password_is_a_clear_error_without_the_password(
    pg_server: LocalPostgres, pg_uri: str
) -> None:
    wrong = pg_uri.replace(pg_server.password, "not-the-pw-123")
    with pytest.raises(StoreUnavailableError, match="password authentication failed") as info:
        PostgresStore(wrong)
    assert "not-the-pw-123" not in str(info.value)
    assert pg_server.password not in str(info.value)
    assert f"port {pg_server.port}" in str(info.value)


def test_repr_and_location_hide_the_password(pg_server: LocalPostgres, pg_uri: str) -> None:
    store = PostgresStore(pg_uri)
    assert pg_server.password not in repr(store)
    assert pg_server.password not in store.location
    assert store.location.startswith("postgresql://postgres@127.0.0.1:")
    assert "options" not in store.location
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.current_seq()
