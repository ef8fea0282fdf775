"""Owner, writer and viewer roles on a real PostgreSQL server (issue 24, item 1).

The administrator sets the roles up with ``python -m run_widgets.store.postgres.roles``
(run here as a subprocess, its URI in the environment); each kind then opens the store
with its own login and does what a user of that kind does, through the public API:

* the owner creates and migrates the schema; no other role needs DDL rights;
* a writer creates runs (and children), logs, tags, registers models, environments and
  compute targets, and can neither alter the schema nor change another role's runs
  (row-level security, checked through the API and by raw SQL);
* a viewer reads everything (runs, metrics, details, the experiment table, the views'
  read models, registries) and every write is refused before it is sent, naming the role
  and the action; nothing is written.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from pg_support import drop_database, new_database
from support import python_env

from run_widgets import Environment, Experiment, ExperimentDetails, Run, RunDetails, Workspace
from run_widgets.exceptions import StorePermissionError, StoreVersionError
from run_widgets.registry.models import Model
from run_widgets.store.postgres import schema
from run_widgets.store.postgres import store as pg_store
from run_widgets.store.postgres.local_server import LocalPostgres
from run_widgets.store.postgres.privileges import WRITER_GRANTS
from run_widgets.store.sql.schema import Migration
from run_widgets.submit.compute import AmlCompute, ComputeTarget

pytestmark = pytest.mark.postgres

PASSWORD = "role-pw-9x"


class Team:
    """A store with an owner, two writers and a viewer, each with its own workspace."""

    def __init__(self, server: LocalPostgres, tmp_path: Path) -> None:
        self.server = server
        self.admin_uri = new_database(server, empty=True)
        self.database = self.admin_uri.rsplit("/", 1)[1]
        self.artifacts = tmp_path / "artifacts"
        self.names = {
            kind: f"{kind}_{self.database}" for kind in ("owner", "alice", "bob", "viewer")
        }
        self.workspaces: list[Workspace] = []

    def roles(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the roles tool as the administrator (URI and passwords in the environment)."""
        env = {**python_env(), "RUN_WIDGETS_STORE": self.admin_uri, "ROLE_PW": PASSWORD}
        result = subprocess.run(
            [sys.executable, "-m", "run_widgets.store.postgres.roles", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def set_up(self) -> None:
        self.roles("create", "owner", self.names["owner"], "--password-env", "ROLE_PW")
        self.roles("create", "writer", self.names["alice"], "--password-env", "ROLE_PW")
        self.roles("create", "writer", self.names["bob"], "--password-env", "ROLE_PW")
        self.roles("create", "viewer", self.names["viewer"], "--password-env", "ROLE_PW")

    def uri(self, who: str) -> str:
        return (
            f"postgresql://{self.names[who]}:{PASSWORD}@{self.server.host}:{self.server.port}"
            f"/{self.database}"
        )

    def workspace(self, who: str) -> Workspace:
        ws = Workspace(store=self.uri(who), artifacts=self.artifacts)
        self.workspaces.append(ws)
        return ws

    def seq(self) -> int:
        with psycopg.connect(self.admin_uri) as conn:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])  # type: ignore[index]

    def close(self) -> None:
        for ws in self.workspaces:
            ws.close()
        drop_database(self.server, self.admin_uri)
        with psycopg.connect(self.server.uri(), autocommit=True) as conn:
            for name in [
                *self.names.values(),
                f"{self.database}_writer",
                f"{self.database}_viewer",
            ]:
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def team(pg_server: LocalPostgres, tmp_path: Path) -> Iterator[Team]:
    made = Team(pg_server, tmp_path)
    made.set_up()
    yield made
    made.close()


def test_the_tool_sets_up_three_kinds_and_each_client_knows_its_own(team: Team) -> None:
    listing = team.roles("list").stdout.split("\n")
    assert f"owner      {team.names['owner']}" in listing
    assert f"writer     {team.names['alice']}" in listing
    assert f"writer     {team.names['bob']}" in listing
    assert f"viewer     {team.names['viewer']}" in listing
    for who, kind in (("owner", "owner"), ("alice", "writer"), ("viewer", "viewer")):
        store = team.workspace(who).store
        assert (store.access, store.role) == (kind, team.names[who])
    with psycopg.connect(team.admin_uri) as conn:  # the owner owns every table
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert owners == [(team.names["owner"],)]


def test_the_sql_is_printed_for_an_administrator_without_a_password(
    pg_server: LocalPostgres, tmp_path: Path
) -> None:
    team = Team(pg_server, tmp_path)
    try:
        team.roles("create", "owner", team.names["owner"])  # the store exists now
        printed = team.roles("--sql", "create", "writer", "carol_x", "--password-env", "ROLE_PW")
        text = printed.stdout
        assert 'CREATE ROLE "carol_x" LOGIN;' in text and "\\password carol_x" in text
        assert f'GRANT "{team.database}_writer" TO "carol_x";' in text
        assert "GRANT INSERT, UPDATE (status" in text and PASSWORD not in text
        with psycopg.connect(pg_server.uri(), autocommit=True) as conn:  # nothing was run
            assert (
                conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'carol_x'").fetchone() is None
            )
    finally:
        team.close()


def test_a_writer_logs_runs_children_and_registries_but_cannot_alter_the_schema(
    team: Team, tmp_path: Path
) -> None:
    team.workspace("owner")  # the owner opened it first (the schema is current)
    ws = team.workspace("alice")
    exp = Experiment(ws, "team")
    run = exp.start_logging(snapshot_directory=None)
    run.log("loss", 0.5)
    run.log_list("curve", [1.0, 2.0])
    run.tag("who", "alice")
    run.add_properties({"lr": "0.1"})
    child = run.child_run("child")
    child.log("acc", 0.9)
    child.complete()
    run.complete()
    again = Run(exp, run.id)
    assert again.get_metrics() == {"loss": 0.5, "curve": [1.0, 2.0]}
    assert [c.get_metrics() for c in again.get_children()] == [{"acc": 0.9}]
    assert again.get_status() == "Completed"
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"w")
    model = Model.register(ws, model_file, "m")
    model.add_tags({"stage": "dev"})
    Environment("env-a").register(ws)
    ComputeTarget.create(ws, "cpu", AmlCompute.provisioning_configuration(max_nodes=1))
    ComputeTarget(ws, "cpu").delete()
    with psycopg.connect(team.uri("alice"), autocommit=True) as conn:
        for ddl in (
            "CREATE TABLE mine (x int)",
            "ALTER TABLE runs ADD COLUMN x int",
            "DROP TABLE chunks",
            "ALTER TABLE runs DISABLE ROW LEVEL SECURITY",
            "UPDATE runs SET created_by = 'someone'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(ddl)


def test_a_writer_cannot_change_another_writers_run(
    team: Team, capfd: pytest.CaptureFixture[str]
) -> None:
    alice = Experiment(team.workspace("alice"), "team")
    run = alice.start_logging(snapshot_directory=None)
    run.log("loss", 1.0)
    run.flush()
    bob_ws = team.workspace("bob")
    theirs = Run(Experiment(bob_ws, "team"), run.id)
    before = team.seq()
    for action, call in (
        ("change the tags", lambda: theirs.tag("x", "y")),
        ("add properties", lambda: theirs.add_properties({"p": "1"})),
        ("change run", lambda: setattr(theirs, "display_name", "bob's now")),
        ("change run", lambda: theirs.cancel()),
    ):
        with pytest.raises(StorePermissionError) as info:
            call()
        message = str(info.value)
        assert team.names["bob"] in message and action in message, message
        assert team.names["alice"] in message and "Nothing was written" in message
    theirs.log("loss", 99.0)
    with pytest.raises(StorePermissionError, match="log metrics"):
        theirs.flush()
    assert team.seq() == before  # nothing was written
    err = capfd.readouterr().err
    assert "dropped 1 logged point(s)" in err and team.names["bob"] in err
    assert Run(alice, run.id).get_metrics() == {"loss": 1.0}
    assert Run(alice, run.id).get_tags() == {}
    # Her own run stays hers, and bob's own runs work meanwhile.
    mine = Experiment(bob_ws, "team").start_logging(snapshot_directory=None)
    mine.log("loss", 2.0)
    mine.complete()
    assert Run(alice, mine.id).get_metrics() == {"loss": 2.0}
    run.complete()
    # Row-level security holds for raw SQL too.
    with psycopg.connect(team.uri("bob"), autocommit=True) as conn:
        assert (
            conn.execute("UPDATE runs SET status = 'Failed' WHERE id = %s", (run.id,)).rowcount == 0
        )
        assert conn.execute("DELETE FROM chunks WHERE run_id = %s", (run.id,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO tags (run_id, key, value) VALUES (%s, 'k', 'v')", (run.id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO runs (id, experiment_id, number, run_type, status, created_at,"
                " change_seq, created_by) VALUES ('forged', 1, 99, 'run', 'Running', 0, 0, %s)",
                (team.names["alice"],),
            )
    assert Run(alice, run.id).get_status() == "Completed"


def test_a_viewer_reads_everything_and_every_write_is_refused(team: Team, tmp_path: Path) -> None:
    writer = team.workspace("alice")
    exp = Experiment(writer, "team")
    run = exp.start_logging(snapshot_directory=None)
    run.log("loss", 0.25)
    run.log_row("row", a=1, b=2)
    run.tag("t", "v")
    run.child_run("c").complete()
    run.complete()
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"w")
    Model.register(writer, model_file, "m")
    Environment("env-a").register(writer)
    before = team.seq()

    ws = team.workspace("viewer")
    seen = Experiment(ws, "team")
    runs = list(seen.get_runs(include_children=True))
    assert {r.id for r in runs} >= {run.id}
    opened = Run(seen, run.id)
    assert opened.get_metrics() == {"loss": 0.25, "row": {"a": 1, "b": 2}}
    assert opened.get_details()["status"] == "Completed"
    assert opened.get_tags() == {"t": "v"}
    assert len(seen.get_runs_dataframe()) == 1
    assert [m.name for m in Model.list(ws)] == ["m"]
    assert list(Environment.list(ws)) == ["env-a"]
    details = RunDetails(opened)  # the widgets, as a notebook shows them (no kernel)
    try:
        details.refresh()
        assert "loss" in str(details.get_widget_data()["run_metrics"])
    finally:
        details.close()
    view = ExperimentDetails(seen)
    try:
        view.refresh()
        assert view.table.total == 1
        view.set_table(text="%", sort="tag:t")
        assert view.table.total == 0
    finally:
        view.close()

    for action, call in (
        ("start runs", lambda: seen.start_logging(snapshot_directory=None)),
        ("change the tags", lambda: opened.tag("x", "y")),
        ("register model", lambda: Model.register(ws, model_file, "m2")),
        ("register environment", lambda: Environment("e2").register(ws)),
        ("create experiment", lambda: Experiment(ws, "new-one")),
    ):
        with pytest.raises(StorePermissionError) as info:
            call()
        message = str(info.value)
        assert team.names["viewer"] in message and action in message, message
        assert "viewer" in message and "Nothing was written" in message
    assert team.seq() == before


def test_a_lost_run_of_another_role_is_ended_once_the_server_agrees(team: Team) -> None:
    alice_ws = team.workspace("alice")
    run = Experiment(alice_ws, "team").start_logging(snapshot_directory=None)
    run.flush()
    record = alice_ws.store.get_run(run.id)
    assert record is not None and record.owner_id is not None

    def beat(age: float) -> None:  # as if alice's process had stopped `age` seconds ago
        with psycopg.connect(team.admin_uri, autocommit=True) as conn:
            conn.execute(
                "UPDATE owners SET heartbeat_at = %s, host = 'another-host' WHERE id = %s",
                (time.time() - age, record.owner_id),
            )

    bob = Experiment(team.workspace("bob"), "team")
    viewer = Experiment(team.workspace("viewer"), "team")
    beat(45)  # lost for the clients (30 s), not yet for the server (60 s): left alone
    assert Run(bob, run.id).get_status() == "Running"
    assert Run(viewer, run.id).get_status() == "Running"
    beat(120)
    assert Run(viewer, run.id).get_status() == "Running"  # a viewer never writes
    assert Run(bob, run.id).get_status() == "Failed"
    details = Run(viewer, run.id).get_details()
    assert details["error"]["error"]["code"] == "ProcessLost"


def test_a_writer_meeting_an_older_schema_is_told_to_ask_the_owner(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer run_widgets (one migration more) meets the store: only its owner migrates."""
    team.workspace("owner").close()
    newer = (*schema.MIGRATIONS, Migration("0099_newer_client", ("CREATE TABLE newer (x int)",)))
    monkeypatch.setattr(schema, "MIGRATIONS", newer)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(newer))
    monkeypatch.setattr(pg_store, "SCHEMA_VERSION", len(newer))
    with pytest.raises(StoreVersionError, match="may not upgrade it") as info:
        Workspace(store=team.uri("alice"), artifacts=team.artifacts)
    assert team.names["alice"] in str(info.value) and PASSWORD not in str(info.value)
    Workspace(store=team.uri("owner"), artifacts=team.artifacts).close()  # migrates
    ws = team.workspace("alice")  # works again, and no DDL was needed
    assert ws.store.access == "writer"
    with psycopg.connect(team.uri("viewer")) as conn:  # the groups' rights cover the new table
        assert conn.execute("SELECT count(*) FROM newer").fetchone() == (0,)


def test_a_revoked_role_has_no_rights(team: Team) -> None:
    team.roles("revoke", team.names["bob"])
    assert team.names["bob"] not in team.roles("list").stdout
    with pytest.raises(StorePermissionError, match="has no rights"):
        Workspace(store=team.uri("bob"), artifacts=team.artifacts)
    refused = team.roles("revoke", team.names["owner"], check=False)
    assert refused.returncode == 1 and "owns the store" in refused.stderr


def test_every_table_has_writer_rights_and_run_tables_row_security(pg_uri: str) -> None:
    """A table a later migration adds must be listed in WRITER_GRANTS (and, if it holds
    rows of runs or of one role, get a row-level security policy in its migration)."""
    with psycopg.connect(pg_uri) as conn:
        tables = conn.execute(
            "SELECT c.relname, c.relrowsecurity,"
            " EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname"
            " IN ('run_id', 'metric_id', 'created_by') AND NOT a.attisdropped)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchall()
    assert {name for name, _, _ in tables} == set(WRITER_GRANTS)
    assert [name for name, secured, per_row in tables if per_row and not secured] == []


def test_the_writer_group_needs_no_ddl_and_logs_many_points(team: Team) -> None:
    """A writer's whole logging path (owner row, heartbeat, progress rows, chunk ids,
    compaction) runs on its grants: one run, many flushes, compacted."""
    ws = team.workspace("alice")
    run = Experiment(ws, "team").start_logging(snapshot_directory=None)
    for block in range(20):
        run.log_list("x", np.arange(block * 10, block * 10 + 10, dtype=float).tolist())
        run.flush()
    assert ws.store.compact_run(run.id) > 0
    ws.store.heartbeat(ws.store.get_run(run.id).owner_id)  # type: ignore[union-attr, arg-type]
    run.complete()
    assert Run(Experiment(ws, "team"), run.id).get_metrics()["x"] == list(map(float, range(200)))


def test_summaries_are_kept_by_the_writer_and_never_built_by_other_roles(team: Team) -> None:
    """The write path folds a long metric's summary on a writer's grants; a metric left
    without one (as stored before summaries existed) is summarized only by its run's
    role: a viewer's or another writer's windowed read computes it from the points and
    writes nothing (row-level security covers the summary blocks too)."""
    alice = team.workspace("alice")
    run = Experiment(alice, "team").start_logging(snapshot_directory=None)
    values = np.arange(40_000, dtype=float) % 997
    run.log_list("loss", values.tolist())
    run.complete()
    with psycopg.connect(team.admin_uri) as conn:
        folded = conn.execute(
            "SELECT summarized FROM metrics WHERE run_id = %s", (run.id,)
        ).fetchone()
        assert folded is not None and folded[0] >= 16_384  # folded on alice's grants
        conn.execute(  # as if logged before summaries existed
            "DELETE FROM summaries WHERE metric_id IN (SELECT id FROM metrics WHERE run_id = %s)",
            (run.id,),
        )
        conn.execute(
            "UPDATE metrics SET summarized = 0, summary_tail = NULL WHERE run_id = %s", (run.id,)
        )

    def stored() -> tuple[int, int]:
        with psycopg.connect(team.admin_uri) as conn:
            row = conn.execute(
                "SELECT m.summarized, (SELECT count(*) FROM summaries s WHERE s.metric_id = m.id)"
                " FROM metrics m WHERE m.run_id = %s",
                (run.id,),
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    expected = alice.store.read_series_window(run.id, "loss", max_points=500)
    assert stored() != (0, 0)  # alice's own read built the summary ...
    with psycopg.connect(team.admin_uri) as conn:  # ... undone again for the others
        conn.execute("DELETE FROM summaries")
        conn.execute("UPDATE metrics SET summarized = 0, summary_tail = NULL")
    windows = []
    for who in ("viewer", "bob"):
        store = team.workspace(who).store
        window = store.read_series_window(run.id, "loss", max_points=500)
        # Computed from the points (level 0), so bucketed unlike the stored levels.
        assert window.covered == expected.covered == 40_000
        assert (window.y.min(), window.y.max()) == (expected.y.min(), expected.y.max())
        assert (window.x.min(), window.x.max()) == (expected.x.min(), expected.x.max())
        windows.append(window)
        assert stored() == (0, 0), who
        with pytest.raises(StorePermissionError) as info:
            store.build_summaries(run.id)
        assert team.names[who] in str(info.value) and "summarize" in str(info.value)
    assert np.array_equal(windows[0].y, windows[1].y)
    with psycopg.connect(team.uri("bob"), autocommit=True) as conn:
        metric_id = conn.execute("SELECT id FROM metrics WHERE run_id = %s", (run.id,)).fetchone()
        assert metric_id is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO summaries (metric_id, level, block, n, data) VALUES (%s, 1, 0, 1, '')",
                (metric_id[0],),
            )
    assert alice.store.build_summaries(run.id) == 40_000
    assert stored()[0] == 40_000


def test_env_password_is_never_printed(team: Team) -> None:
    for argv in (("list",), ("grant", "viewer", team.names["bob"]), ("revoke", "nobody_x")):
        result = team.roles(*argv, check=False)
        assert PASSWORD not in result.stdout + result.stderr
        assert team.server.password not in result.stdout + result.stderr


def test_writers_share_data_assets_and_a_viewer_may_not_add_any(team: Team, tmp_path: Path) -> None:
    """Datastores, datasets, published pipelines and endpoints (migration 0008): a writer
    registers them, another writer uses and changes them, a viewer reads them only."""
    from run_widgets import Dataset, Datastore, Pipeline, PipelineEndpoint, PythonScriptStep

    team.workspace("owner")
    alice, bob = team.workspace("alice"), team.workspace("bob")
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.csv").write_text("a,b\n1,2\n3,4\n")
    store = alice.get_default_datastore()
    store.upload(str(data), "tables", overwrite=True)
    table = Dataset.Tabular.from_delimited_files(store.path("tables/t.csv"))
    table.register(alice, "t", description="by alice")
    src = tmp_path / "src"
    src.mkdir()
    (src / "step.py").write_text("print('step')\n")
    step = PythonScriptStep("step.py", name="only", source_directory=str(src))
    published = Pipeline(alice, [step]).publish("p", description="by alice")
    endpoint = PipelineEndpoint.publish(alice, "ep", "by alice", published)
    Datastore.get(alice, "workspaceblobstore").set_as_default()

    bobs = Dataset.get_by_name(bob, "t")
    assert bobs.to_pandas_dataframe()["b"].tolist() == [2, 4]
    bobs.take(1).register(bob, "t", create_new_version=True)  # bob adds version 2
    assert Dataset.get_by_name(bob, "t").version == 2
    PipelineEndpoint.get(bob, name="ep").add_default(Pipeline(bob, [step]).publish("p2"))
    published.disable()
    Datastore.get(bob, "workspacefilestore").set_as_default()
    assert bob.get_default_datastore().name == "workspacefilestore"
    before = team.seq()

    viewer = team.workspace("viewer")
    assert Dataset.get_by_name(viewer, "t", version=1).description == "by alice"
    assert [p.name for p in PipelineEndpoint.list(viewer)] == ["ep"]
    assert PipelineEndpoint.get(viewer, name="ep").default_version == "1"
    assert viewer.get_default_datastore().name == "workspacefilestore"
    for action, call in (
        ("register dataset", lambda: Dataset.get_by_name(viewer, "t").register(viewer, "t2")),
        ("publish pipeline", lambda: Pipeline(viewer, [step]).publish("p3")),
        (
            "datastore 'workspaceblobstore'",
            lambda: Datastore.get(viewer, "workspaceblobstore").set_as_default(),
        ),
    ):
        with pytest.raises(StorePermissionError) as info:
            call()
        assert action in str(info.value) and "Nothing was written" in str(info.value)
    assert endpoint.name == "ep" and team.seq() == before
