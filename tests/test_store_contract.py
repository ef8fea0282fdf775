"""The store contract: every ``TrackingStore`` method, on every backend.

Each test gets a new, empty store from the ``store`` fixture, once per backend (ids
``[sqlite]`` and ``[postgresql]``, a real server; see ``tests/pg_support.py``), as Optuna
runs its storage tests over ``STORAGE_MODES``. What one backend alone promises lives
beside it: ``test_store.py`` (SQLite files), ``test_postgres_store.py`` (the server);
pages of runs (``query_runs``, ``run_columns``) have their own contract suite in
``test_run_query.py``, on both backends too.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
import time
from typing import Any

import numpy as np
import pytest
from store_helpers import scalar_points, stored_values

from run_widgets.exceptions import RunNotFoundError, StoreError, UserErrorException
from run_widgets.store import (
    AddProperties,
    AppendPoints,
    CreateRun,
    RemoveTags,
    RunQuery,
    RunStatus,
    SetTags,
    TrackingStore,
    UpdateRun,
    open_store,
)
from run_widgets.store.assets import NewModel
from run_widgets.store.entities import AUTO_STEP
from run_widgets.store.rules import MIN_CHUNKS_TO_COMPACT
from run_widgets.store.sql.schema import run_migrations


def _history(store: TrackingStore, run_id: str) -> dict[str, list[tuple[int, Any]]]:
    """Every metric's ``(step, value)`` points in order; a table's rows as dicts without
    the empty cells (compaction fills a column missing from a block with ``None``)."""
    points: dict[str, list[tuple[int, Any]]] = {}
    for chunk in store.read_chunks(run_id):
        values = chunk.values
        if isinstance(values, dict):
            n = len(next(iter(values.values())))
            values = [{k: v[i] for k, v in values.items() if v[i] is not None} for i in range(n)]
        else:
            values = list(values.tolist() if isinstance(values, np.ndarray) else values)
        points.setdefault(chunk.metric_name, []).extend(
            zip(chunk.steps.tolist(), values, strict=True)
        )
    return points


def _run(run_id: str, experiment: str = "e", **kwargs: Any) -> CreateRun:
    return CreateRun(run_id, experiment, "interactive", RunStatus.RUNNING, **kwargs)


# ------------------------------------------------------------------ experiments ----
def test_experiments_are_created_once_and_listed_oldest_first(store: TrackingStore) -> None:
    assert store.get_experiment("a") is None
    assert store.list_experiments() == []
    first = store.ensure_experiment("a")
    assert store.ensure_experiment("a") == first
    assert store.get_experiment("a") == first
    store.write([_run("r", "b")])  # a run creates its experiment too
    second = store.get_experiment("b")
    assert second is not None and second.id != first.id
    assert [e.name for e in store.list_experiments()] == ["a", "b"]
    assert first.created_at <= second.created_at <= time.time()


# ------------------------------------------------------------------------- runs ----
def test_a_created_run_reads_back_with_every_field(store: TrackingStore) -> None:
    seq = store.write(
        [
            CreateRun(
                "r1",
                "exp",
                "script",
                RunStatus.NOT_STARTED,
                display_name="first",
                description="about it",
                definition={"arguments": ["--alpha", "0.1"], "nested": {"k": [1, 2]}},
                tags={"t": "v", "empty": None},
                properties={"p": "1"},
                created_at=1_700_000_000.5,
            ),
            _run("r2", "exp", parent_id="r1"),
        ]
    )
    one, two = store.get_run("r1"), store.get_run("r2")
    assert one is not None and two is not None
    assert (one.number, two.number) == (1, 2)  # numbered per experiment
    assert (one.experiment_name, one.run_type, one.status) == ("exp", "script", "NotStarted")
    assert (one.display_name, one.description) == ("first", "about it")
    assert dict(one.definition) == {"arguments": ["--alpha", "0.1"], "nested": {"k": [1, 2]}}
    assert dict(one.tags) == {"t": "v", "empty": None}
    assert dict(one.properties) == {"p": "1"}
    assert one.created_at == 1_700_000_000.5
    assert one.start_time is None and one.end_time is None and one.error is None
    assert two.start_time is not None  # created Running: started now
    assert two.parent_id == "r1" and one.change_seq == two.change_seq == seq
    assert store.get_run("nope") is None
    store.write([_run("r3", "other")])
    other = store.get_run("r3")
    assert other is not None and other.number == 1


def test_find_runs_filters_newest_first(store: TrackingStore) -> None:
    store.write(
        [
            _run("a", tags={"k": "1"}, properties={"p": "x"}, created_at=1.0),
            _run("b", tags={"k": "2", "n": None}, created_at=2.0),
            CreateRun("c", "e", "script", RunStatus.QUEUED, parent_id="a", created_at=3.0),
            _run("d", "f", created_at=4.0),
        ]
    )
    exp = store.get_experiment("e")
    assert exp is not None

    def ids(**filters: Any) -> list[str]:
        return [r.id for r in store.find_runs(**filters)]

    assert ids() == ["d", "c", "b", "a"]
    assert ids(experiment_id=exp.id) == ["c", "b", "a"]
    assert ids(experiment_id=exp.id, top_level_only=True) == ["b", "a"]
    assert ids(parent_id="a") == ["c"]
    assert ids(run_type="script") == ["c"]
    assert ids(status=RunStatus.QUEUED) == ["c"]
    assert ids(tags="k") == ["b", "a"]
    assert ids(tags={"k": "2"}) == ["b"]
    assert ids(tags={"n": None}) == ["b"]  # a tag whose value is None
    assert ids(tags={"k": "1", "n": None}) == []
    assert ids(properties={"p": "x"}) == ["a"]
    assert ids(properties="p") == ["a"]
    assert ids(limit=2) == ["d", "c"]


def test_descendants_at_every_depth(store: TrackingStore) -> None:
    store.write(
        [
            _run("root"),
            _run("c1", parent_id="root"),
            _run("c2", parent_id="root"),
            _run("g1", parent_id="c1"),
            _run("gg", parent_id="g1"),
            _run("other"),
        ]
    )
    assert sorted(store.descendant_ids("root")) == ["c1", "c2", "g1", "gg"]
    assert store.descendant_ids("c2") == []
    assert store.descendant_ids("missing") == []


def test_conditional_updates_apply_only_when_their_condition_holds(
    store: TrackingStore,
) -> None:
    owner, other = store.register_owner("h", 1, 1.0), store.register_owner("h", 2, 2.0)
    store.write([_run("r", owner_id=owner)])
    queued_only = frozenset({RunStatus.QUEUED})
    store.write([UpdateRun("r", status=RunStatus.FAILED, only_if_status=queued_only)])
    store.write([UpdateRun("r", status=RunStatus.FAILED, only_if_owner=other)])
    record = store.get_run("r")
    assert record is not None and record.status == RunStatus.RUNNING  # both skipped
    # In one batch: the owner changes, then an update conditional on the new owner applies.
    store.write(
        [
            UpdateRun("r", owner_id=other, only_if_owner=owner),
            UpdateRun("r", display_name="moved", only_if_owner=other),
            UpdateRun("r", description="not me", only_if_owner=owner),
        ]
    )
    record = store.get_run("r")
    assert record is not None
    assert (record.owner_id, record.display_name, record.description) == (other, "moved", None)
    running = frozenset({RunStatus.RUNNING})
    store.write([UpdateRun("r", status=RunStatus.COMPLETED, end_time=5.0, only_if_status=running)])
    record = store.get_run("r")
    assert record is not None and (record.status, record.end_time) == ("Completed", 5.0)


# ------------------------------------------------------- writes: rules and resends ----
def test_write_batch_is_all_or_nothing(store: TrackingStore) -> None:
    store.write([CreateRun("r", "e", "interactive", "Running")])
    store.write([AddProperties("r", {"p": "1"})])
    seq = store.current_seq()
    with pytest.raises(UserErrorException, match="write-once"):
        store.write(
            [
                SetTags("r", {"t": "1"}),
                scalar_points("r", "m", [1.0, 2.0]),
                AddProperties("r", {"p": "2"}),
            ]
        )
    record = store.get_run("r")
    assert record is not None
    assert dict(record.tags) == {}
    assert store.metric_infos(["r"]) == []
    assert store.read_chunks("r") == []
    assert store.current_seq() == seq
    with pytest.raises(RunNotFoundError):
        store.write([SetTags("r", {"t": "1"}), SetTags("ghost", {"t": "1"})])
    with pytest.raises(RunNotFoundError):
        store.write([CreateRun("child", "e", "interactive", "Running", parent_id="ghost")])
    assert store.get_run("child") is None
    with pytest.raises(UserErrorException, match="already exists"):
        store.write([CreateRun("r", "other", "interactive", "Running")])
    with pytest.raises(UserErrorException, match="already exists"):
        store.write([CreateRun("r", "e", "script", "Running")])
    # A second creation of the id (another time stamp, or none) fails; the same
    # creation again is a resend (its first COMMIT's answer lost): a no-op.
    with pytest.raises(UserErrorException, match="already exists"):
        store.write([CreateRun("r", "e", "interactive", "Running")])
    before = store.get_run("r")
    assert before is not None
    with pytest.raises(UserErrorException, match="already exists"):
        store.write(
            [CreateRun("r", "e", "interactive", "Running", created_at=before.created_at + 1)]
        )
    store.write([CreateRun("r", "e", "interactive", "Running", created_at=before.created_at)])
    after = store.get_run("r")
    assert before is not None and after is not None
    assert dataclasses.replace(after, change_seq=before.change_seq) == before


def test_an_append_sent_again_is_stored_once(store: TrackingStore) -> None:
    """A batch resent because its COMMIT's answer was lost adds nothing the second time."""

    store.write([CreateRun("r", "e", "interactive", "Running")])
    first = [
        scalar_points("r", "loss", [1.0, 2.0], writer="w1", seq=1),
        scalar_points("r", "acc", [0.5], writer="w1", seq=2),
    ]
    store.write(first)
    # Resent together with the next points (as the flusher does after a failure).
    store.write([*first, scalar_points("r", "loss", [3.0], writer="w1", seq=3)])
    store.write([scalar_points("r", "loss", [3.0], writer="w1", seq=3)])
    # Another writer's numbers are its own; appends without a writer always apply.
    store.write([scalar_points("r", "loss", [4.0], writer="w2", seq=1)])
    store.write([scalar_points("r", "loss", [5.0]), scalar_points("r", "loss", [5.0])])
    values = stored_values(store, "r")
    assert values == {"loss": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0], "acc": [0.5]}
    # A stale batch skipped as a whole still leaves the other ops of its write applied.
    store.write([scalar_points("r", "acc", [9.0], writer="w1", seq=2), SetTags("r", {"t": "1"})])
    record = store.get_run("r")
    assert record is not None and dict(record.tags) == {"t": "1"}
    assert [i.n_points for i in store.metric_infos(["r"]) if i.name == "acc"] == [1]


def test_appends_of_a_replaced_attempt_are_dropped(store: TrackingStore) -> None:
    """A lost attempt's process that still logs does not add to its retry's run."""

    store.write([CreateRun("r", "e", "script", "Running")])
    store.write([scalar_points("r", "x", [1.0], attempt=1)])  # before the loss: kept
    store.write([AddProperties("r", {"attempt_2": "attempt 1 was lost"})])
    store.write(
        [
            scalar_points("r", "x", [2.0], attempt=1),  # the lost attempt, still running
            scalar_points("r", "x", [3.0], attempt=2),
            scalar_points("r", "y", [4.0]),  # not from a job of the run: always kept
            SetTags("r", {"t": "1"}),
        ]
    )
    values = stored_values(store, "r")
    assert values == {"x": [1.0, 3.0], "y": [4.0]}
    record = store.get_run("r")
    assert record is not None and dict(record.tags) == {"t": "1"}


def test_tags_properties_and_updates_of_a_replaced_attempt_are_dropped(
    store: TrackingStore,
) -> None:
    """The lost attempt can no more tag, describe or fail its retry's run than log to it."""

    store.write([CreateRun("r", "e", "script", "Running")])
    store.write([SetTags("r", {"who": "1"}, attempt=1)])  # before the loss: kept
    store.write([AddProperties("r", {"attempt_2": "attempt 1 was lost"})])
    store.write(
        [
            SetTags("r", {"who": "lost", "extra": "x"}, attempt=1),
            RemoveTags("r", ("who",), attempt=1),
            AddProperties("r", {"model": "lost"}, attempt=1),
            UpdateRun("r", error={"message": "lost"}, description="lost", attempt=1),
        ]
    )
    record = store.get_run("r")
    assert record is not None
    assert dict(record.tags) == {"who": "1"}
    assert "model" not in record.properties
    assert record.error is None and record.description is None
    # The retry's own writes, and writes not from a job of the run, apply.
    store.write(
        [
            SetTags("r", {"who": "2"}, attempt=2),
            AddProperties("r", {"model": "retry"}, attempt=2),
            UpdateRun("r", description="retry", attempt=2),
            SetTags("r", {"by": "notebook"}),
        ]
    )
    record = store.get_run("r")
    assert record is not None
    assert dict(record.tags) == {"who": "2", "by": "notebook"}
    assert record.properties["model"] == "retry" and record.description == "retry"


def test_terminal_status_sticky_in_store(store: TrackingStore) -> None:
    store.write([CreateRun("r", "e", "interactive", "Running")])
    store.write([UpdateRun("r", status="Completed", end_time=1.0)])
    store.write([UpdateRun("r", status="Running", end_time=2.0, display_name="n")])
    record = store.get_run("r")
    assert record is not None
    assert (record.status, record.end_time, record.display_name) == ("Completed", 1.0, "n")
    store.write([SetTags("r", {"a": "1", "b": None}), RemoveTags("r", ("a", "zz"))])
    record = store.get_run("r")
    assert record is not None and dict(record.tags) == {"b": None}


def test_force_status_changes_a_terminal_run_and_errors_read_back(store: TrackingStore) -> None:
    store.write([_run("r")])
    error = {"code": "UserError", "message": 'it\'s "bad" — ünïcode', "details": [1, None]}
    store.write([UpdateRun("r", status=RunStatus.FAILED, end_time=2.0, error=error)])
    store.write([UpdateRun("r", status=RunStatus.COMPLETED, error={"message": "late"})])
    record = store.get_run("r")
    assert record is not None
    assert (record.status, dict(record.error or {})) == ("Failed", error)
    store.write(
        [
            UpdateRun(
                "r",
                status=RunStatus.CANCELED,
                end_time=3.0,
                definition={"new": True},
                force_status=True,
            )
        ]
    )
    record = store.get_run("r")
    assert record is not None
    assert (record.status, record.end_time, dict(record.definition)) == (
        "Canceled",
        3.0,
        {"new": True},
    )


def test_properties_are_write_once(store: TrackingStore) -> None:
    store.write([_run("r", properties={"a": "1"})])
    store.write([AddProperties("r", {"a": "1", "b": "2"})])  # the same value again: fine
    with pytest.raises(UserErrorException, match="write-once"):
        store.write([AddProperties("r", {"b": "3"})])
    record = store.get_run("r")
    assert record is not None and dict(record.properties) == {"a": "1", "b": "2"}


# ---------------------------------------------------------------------- metrics ----
def test_metric_kinds_rows_and_tables_mix_others_never(store: TrackingStore) -> None:
    store.write([_run("r")])
    store.write(
        [
            AppendPoints("r", "t", "row", {"x": [1], "y": [2.0]}, np.zeros(1)),
            AppendPoints("r", "t", "table", {"x": [2, 3], "z": ["a", "b"]}, np.zeros(2)),
        ]
    )
    (info,) = store.metric_infos(["r"])
    assert (info.kind, info.n_points, info.columns) == ("table", 3, ("x", "y", "z"))
    blocks = [c.values for c in store.read_chunks("r")]
    assert blocks == [{"x": [1], "y": [2.0]}, {"x": [2, 3], "z": ["a", "b"]}]
    store.write([scalar_points("r", "s", [1.0])])
    seq = store.current_seq()
    with pytest.raises(UserErrorException, match=r"run\.log_list"):
        store.write(
            [SetTags("r", {"t": "1"}), AppendPoints("r", "s", "list", np.ones(2), np.zeros(2))]
        )
    assert store.current_seq() == seq
    assert [i.n_points for i in store.metric_infos(["r"]) if i.name == "s"] == [1]


def test_steps_continue_and_auto_steps_follow_the_previous_one(store: TrackingStore) -> None:
    store.write([_run("r")])
    store.write([scalar_points("r", "m", [1.0, 2.0])])  # steps 0, 1
    store.write([scalar_points("r", "m", [3.0], steps=np.array([10]))])
    store.write(
        [scalar_points("r", "m", [4.0, 5.0, 6.0], steps=np.array([AUTO_STEP, 20, AUTO_STEP]))]
    )
    store.write([scalar_points("r", "m", [7.0])])
    steps = np.concatenate([c.steps for c in store.read_chunks("r")]).tolist()
    assert steps == [0, 1, 10, 11, 20, 21, 22]
    (info,) = store.metric_infos(["r"])
    assert info.last_step == 22 and info.n_points == 7


@pytest.mark.parametrize(
    "values",
    [
        np.array([1.5, -2.0, np.inf]),
        np.array([1, 2, 3], dtype=np.int64),
        np.array([True, False]),
        ["a", None, 3, 4.5, {"nested": [1]}],
    ],
    ids=["float", "int", "bool", "json"],
)
def test_values_read_back_as_written(store: TrackingStore, values: Any) -> None:
    store.write([_run("r")])
    store.write([AppendPoints("r", "m", "list", values, np.arange(len(values), dtype=float))])
    (chunk,) = store.read_chunks("r")
    got = chunk.values
    if isinstance(values, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype.kind == values.dtype.kind
        assert got.tolist() == values.tolist()
    else:
        assert list(got) == values
    assert chunk.times.tolist() == list(range(len(values)))


def test_an_append_without_points_writes_nothing(store: TrackingStore) -> None:
    store.write([_run("r")])
    store.write([scalar_points("r", "m", [])])
    assert store.metric_infos(["r"]) == [] and store.last_chunk_id("r") == 0


def test_compaction_keeps_the_points_and_the_readers_cursor(store: TrackingStore) -> None:
    store.write([_run("r")])
    for i in range(MIN_CHUNKS_TO_COMPACT + 4):
        store.write([scalar_points("r", "m", [float(i), float(i) + 0.5])])
    store.write([AppendPoints("r", "t", "row", {"c": [1]}, np.zeros(1)) for _ in range(2)])
    for _ in range(MIN_CHUNKS_TO_COMPACT):
        store.write([AppendPoints("r", "t", "row", {"d": ["x"]}, np.zeros(1))])
    before = _history(store, "r")
    cursor = store.last_chunk_id("r")
    removed = store.compact_run("r")
    assert removed > 0
    assert _history(store, "r") == before
    assert store.last_chunk_id("r") == cursor  # a merged chunk keeps the largest id
    assert store.read_chunks("r", after_chunk_id=cursor) == []
    assert store.compact_run("r") == 0
    store.write([scalar_points("r", "m", [99.0])])
    (new,) = store.read_chunks("r", after_chunk_id=cursor)
    assert new.values.tolist() == [99.0] and new.first_index == 2 * (MIN_CHUNKS_TO_COMPACT + 4)


# ------------------------------------------------------------------------ owners ----
def test_owners_and_heartbeats(store: TrackingStore) -> None:
    assert store.get_owners([]) == {}
    one = store.register_owner("host-a", 123, 1000.5)
    two = store.register_owner("host-b", 456, 2000.0)
    assert one != two
    owners = store.get_owners([one, two, 999])
    assert set(owners) == {one, two}
    assert (owners[one].host, owners[one].pid, owners[one].pid_started_at) == (
        "host-a",
        123,
        1000.5,
    )
    before = owners[one].heartbeat_at
    time.sleep(0.01)
    store.heartbeat(one)
    assert store.get_owners([one])[one].heartbeat_at > before


# ------------------------------------------------------------------- registries ----
def test_models_get_versions_and_write_once_properties(store: TrackingStore) -> None:
    def model(**kwargs: Any) -> NewModel:
        return NewModel(
            name="m", storage="models/m", path="model.pkl", created_at=time.time(), **kwargs
        )

    first = store.add_model(model(tags={"a": "1"}, properties={"p": "1"}, run_id="r1"))
    second = store.add_model(model(description="better"))
    assert (first.version, second.version) == (1, 2)
    assert store.get_model("m") == second
    assert store.get_model("m", 1) == first
    assert store.get_model("m", 3) is None and store.get_model("x") is None
    assert [r.version for r in store.list_models(name="m")] == [2, 1]
    assert [r.version for r in store.list_models(run_id="r1")] == [1]
    updated = store.update_model(
        "m", 1, set_tags={"b": "2"}, remove_tags=["a"], add_properties={"q": "2"}
    )
    assert (dict(updated.tags), dict(updated.properties)) == ({"b": "2"}, {"p": "1", "q": "2"})
    with pytest.raises(UserErrorException, match="cannot be changed"):
        store.update_model("m", 1, add_properties={"p": "other"})
    with pytest.raises(UserErrorException, match="does not exist"):
        store.update_model("m", 7, set_tags={"b": "3"})
    assert store.get_model("m", 1) == updated


def test_environments_get_versions(store: TrackingStore) -> None:
    one = store.add_environment("env", {"python": "3.11", "deps": ["numpy"]}, 1.0)
    two = store.add_environment("env", {"python": "3.12"}, 2.0)
    store.add_environment("another", {}, 3.0)
    assert (one.version, two.version) == (1, 2)
    assert store.get_environment("env") == two
    assert store.get_environment("env", 1) == one
    assert store.get_environment("env", 5) is None
    assert [(e.name, e.version) for e in store.list_environments()] == [
        ("another", 1),
        ("env", 1),
        ("env", 2),
    ]


def test_compute_targets_are_saved_once_by_name(store: TrackingStore) -> None:
    definition = {"type": "local", "max_nodes": 2}
    assert store.add_compute_target("cpu", definition, 1.0) == definition
    assert store.add_compute_target("cpu", {"type": "dask"}, 2.0) == definition  # taken
    store.add_compute_target("a-first", {"type": "local"}, 3.0)
    assert store.get_compute_target("cpu") == definition
    assert store.get_compute_target("none") is None
    assert store.list_compute_targets() == ["a-first", "cpu"]
    assert store.delete_compute_target("cpu") is True
    assert store.delete_compute_target("cpu") is False
    assert store.list_compute_targets() == ["a-first"]


# ------------------------------------------------------------ incremental reads ----
def test_read_chunks_after_cursor(store: TrackingStore) -> None:
    store.write([CreateRun("r", "e", "interactive", "Running")])
    store.write([scalar_points("r", "a", [1.0, 2.0]), scalar_points("r", "b", [5.0])])
    first = store.read_chunks("r")
    assert [(c.metric_name, c.n) for c in first] == [("a", 2), ("b", 1)]
    cursor = first[-1].id
    assert store.read_chunks("r", after_chunk_id=cursor) == []
    store.write([scalar_points("r", "a", [3.0])])
    new = store.read_chunks("r", after_chunk_id=cursor)
    assert [(c.metric_name, list(c.values), list(c.steps)) for c in new] == [("a", [3.0], [2])]
    assert new[0].first_index == 2
    assert [c.metric_name for c in store.read_chunks("r", names=["b"])] == ["b"]
    assert store.read_chunks("r", names=[]) == []
    assert store.last_chunk_id("r") == new[0].id


def test_find_runs_changed_after(store: TrackingStore) -> None:
    store.write([CreateRun("a", "e", "interactive", "Running")])
    store.write([CreateRun("b", "e", "interactive", "Running")])
    cursor = store.current_seq()
    assert store.find_runs(changed_after=cursor) == []
    store.write([SetTags("a", {"x": "1"})])
    assert [r.id for r in store.find_runs(changed_after=cursor)] == ["a"]
    cursor = store.current_seq()
    store.write([scalar_points("b", "m", [1.0])])
    assert [r.id for r in store.find_runs(changed_after=cursor)] == ["b"]
    assert [r.id for r in store.find_runs(changed_after=0)] == ["b", "a"]
    assert [r.id for r in store.find_runs(limit=1)] == ["b"]


def test_metric_infos_summaries(store: TrackingStore) -> None:
    store.write([CreateRun("r", "e", "interactive", "Running")])
    store.write([scalar_points("r", "m", [3.0, float("nan"), -1.0], description="d")])
    store.write([scalar_points("r", "m", [10.0])])
    (info,) = store.metric_infos(["r"])
    assert (info.name, info.kind, info.n_points, info.last_step) == ("m", "scalar", 4, 3)
    assert (info.first_value, info.last_value) == (3.0, 10.0)
    assert (info.min_value, info.max_value) == (-1.0, 10.0)
    assert info.description == "d"


def test_incremental_readers_miss_nothing_under_concurrent_commits(store: TrackingStore) -> None:
    """Writers in threads commit while a reader follows runs and points with cursors."""
    runs = [f"w{i}" for i in range(4)]
    store.write([_run(r) for r in runs])
    per_writer, batch = 25, 4
    seen: dict[str, list[float]] = {r: [] for r in runs}
    chunk_cursor = dict.fromkeys(runs, 0)
    seq_cursor = 0
    changed: set[str] = set()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(run_id: str) -> None:
        try:
            for i in range(per_writer):
                values = [float(i * batch + k) for k in range(batch)]
                store.write([scalar_points(run_id, "x", values), SetTags(run_id, {"i": str(i)})])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            store.release_thread_resources()

    def poll() -> None:
        nonlocal seq_cursor
        for record in store.find_runs(changed_after=seq_cursor):
            changed.add(record.id)
            seq_cursor = max(seq_cursor, record.change_seq)
        for run_id in runs:
            for chunk in store.read_chunks(run_id, after_chunk_id=chunk_cursor[run_id]):
                assert chunk.id > chunk_cursor[run_id]
                seen[run_id].extend(chunk.values.tolist())
                chunk_cursor[run_id] = chunk.id

    threads = [threading.Thread(target=writer, args=(r,)) for r in runs]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        poll()
    for thread in threads:
        thread.join()
    stop.set()
    poll()
    assert errors == []
    expected = [float(v) for v in range(per_writer * batch)]
    assert {r: v for r, v in seen.items()} == dict.fromkeys(runs, expected)
    assert changed == set(runs)
    assert seq_cursor == store.current_seq()


def test_every_write_gets_a_greater_seq(store: TrackingStore) -> None:
    assert store.current_seq() == 0
    seqs = [store.write([_run("r")]), store.write([]), store.write([SetTags("r", {"a": "1"})])]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert store.current_seq() == seqs[-1]


# ----------------------------------------------------------------------- bad input ----
def test_bad_input_is_refused_and_nothing_is_written(store: TrackingStore) -> None:
    store.write([_run("r")])
    seq = store.current_seq()
    bad_batches: list[tuple[list[Any], type[Exception]]] = [
        ([SetTags("r", {"a": "1"}), UpdateRun("ghost", status="Failed")], RunNotFoundError),
        ([scalar_points("ghost", "m", [1.0])], RunNotFoundError),
        ([AddProperties("ghost", {"a": "1"})], RunNotFoundError),
        ([_run("new"), _run("new2", parent_id="missing")], RunNotFoundError),
        ([_run("r", "elsewhere")], UserErrorException),
        ([_run("x"), _run("x")], UserErrorException),
    ]
    for ops, error in bad_batches:
        with pytest.raises(error):
            store.write(ops)
    assert store.current_seq() == seq
    assert [r.id for r in store.find_runs()] == ["r"]
    record = store.get_run("r")
    assert record is not None and dict(record.tags) == {}


def test_names_with_quotes_marks_and_unicode_are_plain_data(store: TrackingStore) -> None:
    odd = "it's %s ? \\ ; DROP TABLE runs; -- ünï 😀"
    store.write([_run(odd, odd, tags={odd: odd}, properties={odd: odd}, display_name=odd)])
    store.write([scalar_points(odd, odd, [1.0]), RemoveTags(odd, ("missing", "%"))])
    record = store.get_run(odd)
    assert record is not None
    assert (record.experiment_name, record.display_name) == (odd, odd)
    assert dict(record.tags) == {odd: odd} and dict(record.properties) == {odd: odd}
    assert [r.id for r in store.find_runs(tags={odd: odd}, properties=odd)] == [odd]
    assert [i.name for i in store.metric_infos([odd])] == [odd]
    assert [c.metric_name for c in store.read_chunks(odd, names=[odd])] == [odd]


def test_a_closed_store_refuses_calls(store_uri: str) -> None:
    store = open_store(store_uri)
    store.write([_run("r")])
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_run("r")
    with pytest.raises(StoreError, match="closed"):
        store.write([SetTags("r", {"a": "1"})])
    again = open_store(store_uri)
    record = again.get_run("r")
    assert record is not None and dict(record.tags) == {}
    again.close()


# ----------------------------------------------------------- process resources ----
def test_a_transaction_abandoned_by_an_interrupt_is_rolled_back(
    store: TrackingStore, store_uri: str
) -> None:
    """A signal handler's exception can land between BEGIN and the try block of a write;
    the next call must not inherit that transaction (nor its locks)."""
    store.write([_run("r")])
    conn = store._conn()  # type: ignore[attr-defined]
    conn.execute(store.dialect.begin_write)  # type: ignore[attr-defined]
    conn.execute("UPDATE runs SET display_name = 'half-done' WHERE id = 'r'")
    store.write([SetTags("r", {"t": "1"})])  # would fail: "transaction within ..."
    record = store.get_run("r")
    assert record is not None
    assert record.display_name is None and dict(record.tags) == {"t": "1"}
    other = open_store(store_uri)
    other.write([SetTags("r", {"u": "2"})])  # the locks were released
    other.close()


def test_threads_release_their_connections(store: TrackingStore) -> None:
    store.write([_run("r")])
    counts: list[int] = []

    def reader() -> None:
        store.get_run("r")
        counts.append(store.open_connection_count())  # type: ignore[attr-defined]
        store.release_thread_resources()

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    assert counts == [2]  # this thread's and the reader's
    assert store.open_connection_count() == 1  # type: ignore[attr-defined]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_uses_its_own_connection(store: TrackingStore) -> None:
    store.write([_run("r")])
    pid = os.fork()
    if pid == 0:  # the child: never touch the parent's connection, never run finalizers
        code = 1
        try:
            store.reset_after_fork()
            store.write([SetTags("r", {"child": "1"})])
            store.release_thread_resources()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.write([SetTags("r", {"parent": "1"})])  # the parent's connection still works
    record = store.get_run("r")
    assert record is not None and dict(record.tags) == {"child": "1", "parent": "1"}


# ------------------------------------------------------------------- migrations ----
def _old_store(backend: str, uri: str, version: int) -> None:
    """Make ``uri`` a store as an older run_widgets left it: its first ``version``
    migrations applied, and one run with a tag and a property in it."""
    rows = (
        "INSERT INTO experiments (name, created_at) VALUES ('old', 1.0)",
        "INSERT INTO runs (id, experiment_id, number, run_type, status, created_at,"
        " definition, change_seq) SELECT 'kept', id, 1, 'script', 'Completed', 2.0, '{}', 1"
        " FROM experiments",
        "INSERT INTO tags (run_id, key, value) VALUES ('kept', 'tag', 'v')",
        "INSERT INTO properties (run_id, key, value) VALUES ('kept', 'prop', 'p')",
        "UPDATE meta SET value = 1 WHERE key = 'seq'",
    )
    if backend == "sqlite":
        from run_widgets.store.registry import sqlite_path
        from run_widgets.store.sqlite import dialect as sqlite_dialect
        from run_widgets.store.sqlite import schema as sqlite_schema

        conn = sqlite3.connect(sqlite_path(uri), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        migrations = sqlite_schema.MIGRATIONS[:version]
        run_migrations(conn, sqlite_dialect.SQLITE, sqlite_schema.TYPES, migrations)
        for statement in rows:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
        conn.close()
        return
    import psycopg

    from run_widgets.store.postgres import dialect as pg_dialect
    from run_widgets.store.postgres import schema as pg_schema

    with psycopg.connect(uri) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)")
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        migrations = pg_schema.MIGRATIONS[:version]
        run_migrations(conn, pg_dialect.POSTGRESQL, pg_schema.TYPES, migrations)
        for statement in rows:
            conn.execute(statement)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_store_of_an_older_schema_is_migrated_and_keeps_its_runs(
    backend: str, store_uri: str, request: pytest.FixtureRequest, version: int
) -> None:
    if backend == "postgresql":  # a database with nothing in it (store_uri has the schema)
        from pg_support import new_database

        store_uri = new_database(request.getfixturevalue("pg_server"), empty=True)
    _old_store(backend, store_uri, version)
    store = open_store(store_uri)
    try:
        record = store.get_run("kept")
        assert record is not None
        assert (record.experiment_name, record.status) == ("old", "Completed")
        assert (dict(record.tags), dict(record.properties)) == ({"tag": "v"}, {"prop": "p"})
        # What the later migrations added works: resend-proof appends, registries, pages.
        store.write([scalar_points("kept", "m", [1.0], writer="w", seq=1)])
        store.write([scalar_points("kept", "m", [1.0], writer="w", seq=1)])
        assert [i.n_points for i in store.metric_infos(["kept"])] == [1]
        assert store.add_model(NewModel("m", "s", "p", 1.0)).version == 1
        assert store.add_environment("e", {}, 1.0).version == 1
        assert store.add_compute_target("t", {"type": "local"}, 1.0) == {"type": "local"}
        exp = store.get_experiment("old")
        assert exp is not None
        assert [r.id for r in store.query_runs(RunQuery(experiment_id=exp.id)).records] == ["kept"]
        assert store.current_seq() == 3
    finally:
        store.close()
    again = open_store(store_uri)  # the upgrade happened once: nothing left to do
    assert again.get_run("kept") is not None
    again.close()


def test_text_with_a_nul_character_is_refused_on_every_backend(store: TrackingStore) -> None:
    """PostgreSQL text cannot hold NUL: the same ops are refused everywhere, nothing written."""
    store.write([_run("r")])
    seq = store.current_seq()
    for op in (
        SetTags("r", {"k": "v\x00"}),
        SetTags("r", {"k\x00": "v"}),
        AddProperties("r", {"p": "\x00"}),
        UpdateRun("r", description="a\x00b"),
        _run("n\x00"),
        _run("n", "exp\x00"),
        _run("n", tags={"t": "\x00"}),
        scalar_points("r", "m\x00", [1.0]),
    ):
        with pytest.raises(UserErrorException, match="NUL character"):
            store.write([SetTags("r", {"fine": "1"}), op])
    assert store.current_seq() == seq
    record = store.get_run("r")
    assert record is not None and dict(record.tags) == {}
    # Metric values are packed, not text columns: any string goes.
    store.write([AppendPoints("r", "s", "list", ["a\x00b"], np.zeros(1))])
    assert store.read_chunks("r")[0].values == ["a\x00b"]
