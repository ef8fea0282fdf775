"""Pages of runs answered by the store: filters, sort keys, windows, column discovery.

Every case runs against each SQL backend (SQLite, and a real PostgreSQL server) and
against the backend-neutral reference implementation (``query_runs_generic``), and both
must give the same page: that is the contract every backend is held to.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pg_support import BACKEND_PARAMS, new_database

from run_widgets.store import (
    AppendPoints,
    CreateRun,
    RunQuery,
    SetTags,
    SqliteStore,
    TrackingStore,
    UpdateRun,
    open_store,
)
from run_widgets.store.run_query import query_runs_generic, run_columns_generic

T0 = 1_700_000_000.0


def _scalar(run_id: str, name: str, values: list[float]) -> AppendPoints:
    return AppendPoints(
        run_id=run_id,
        name=name,
        kind="scalar",
        values=np.asarray(values, dtype=np.float64),
        times=np.full(len(values), T0),
    )


def _open(backend: str, request: pytest.FixtureRequest, folder: Path) -> TrackingStore:
    """An empty store of ``backend`` (PostgreSQL: a new database on the session's server)."""
    if backend == "postgresql":
        return open_store(new_database(request.getfixturevalue("pg_server")))
    return SqliteStore(folder / "tracking.db")


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackingStore]:
    store = _open(request.param, request, tmp_path_factory.mktemp("rq"))
    ops: list = []
    statuses = ["Completed", "Failed", "Running", "Completed", "Canceled", "Completed"]
    for i in range(12):
        run_id = f"run-{i:02d}"
        ops.append(
            CreateRun(
                run_id=run_id,
                experiment_name="exp",
                run_type="interactive",
                status="Running",
                display_name=None if i == 3 else f"Ridge {chr(65 + i % 4)}{i}",
                created_at=T0 + i * 10,
                tags={"alpha": str(10.0 ** (i % 5 - 2))} if i % 3 else {"note": "100%_odd"},
                definition={"arguments": ["--alpha", str(i % 5)]} if i % 2 else {},
            )
        )
        status = statuses[i % len(statuses)]
        if status != "Running":
            ops.append(UpdateRun(run_id=run_id, status=status, end_time=T0 + i * 10 + i + 1))
        if i != 5:
            ops.append(_scalar(run_id, "mse", [1.0, 0.5, 1.0 / (i + 1)]))
        if i % 2:
            ops.append(_scalar(run_id, "r2", [i * 0.05]))
        if i == 7:
            ops.append(
                AppendPoints(
                    run_id=run_id,
                    name="mse_text",
                    kind="scalar",
                    values=["high"],
                    times=np.array([T0]),
                )
            )
    ops.append(
        CreateRun(
            run_id="child-0",
            experiment_name="exp",
            run_type="interactive",
            status="Running",
            parent_id="run-00",
            created_at=T0 + 500,
        )
    )
    ops.append(_scalar("child-0", "mse", [0.001]))
    ops.append(
        CreateRun(
            run_id="other-0",
            experiment_name="other",
            run_type="interactive",
            status="Running",
            created_at=T0,
        )
    )
    ops.append(SetTags(run_id="run-04", tags={"alpha": "0.01", "Group": "B"}))
    store.write(ops)
    yield store
    store.close()


def _experiment(store: TrackingStore) -> int:
    record = store.get_experiment("exp")
    assert record is not None
    return record.id


def _both(store: TrackingStore, query: RunQuery) -> list[str]:
    page = store.query_runs(query)
    reference = query_runs_generic(store, query)
    ids = [r.id for r in page.records]
    assert ids == [r.id for r in reference.records], query
    assert page.total == reference.total
    assert dict(page.metrics) == dict(reference.metrics)
    assert dict(page.summaries) == dict(reference.summaries)
    return ids


SORTS = [
    "number",
    "display_name",
    "status",
    "start",
    "duration",
    "arguments",
    "tag:alpha",
    "tag:missing",
    "property:x",
    "metric:mse",
    "metric:r2",
    "metric:mse_text",
    "metric_min:mse",
    "metric_max:mse",
    "metric_min:r2",
    "metric_max:mse_text",
]


@pytest.mark.parametrize(("sort", "descending"), list(itertools.product(SORTS, [True, False])))
def test_every_sort_key_gives_the_reference_order(
    store: TrackingStore, sort: str, descending: bool
) -> None:
    query = RunQuery(
        experiment_id=_experiment(store),
        sort=sort,
        descending=descending,
        limit=50,
        now=T0 + 1000,
    )
    ids = _both(store, query)
    assert len(ids) == 12  # top-level runs of "exp" only
    assert "child-0" not in ids and "other-0" not in ids


def test_metric_sort_puts_runs_without_the_metric_last(store: TrackingStore) -> None:
    for descending in (True, False):
        query = RunQuery(
            experiment_id=_experiment(store), sort="metric:r2", descending=descending, limit=50
        )
        ids = _both(store, query)
        assert ids[-6:] == sorted(ids[-6:], reverse=descending)  # even runs: no r2
        assert all(int(i[-2:]) % 2 == 0 for i in ids[-6:])
    ids = _both(
        store,
        RunQuery(experiment_id=_experiment(store), sort="metric:mse", limit=3, descending=False),
    )
    assert ids == ["run-11", "run-10", "run-09"]  # mse = 1/(i+1): smallest first


def test_summary_sorts_use_the_metric_headers_min_and_max(store: TrackingStore) -> None:
    # mse is 1.0, 0.5, then 1/(i+1): its minimum is 1/(i+1) from run-01 on, 0.5 for run-00.
    exp = _experiment(store)
    ids = _both(
        store, RunQuery(experiment_id=exp, sort="metric_min:mse", limit=3, descending=False)
    )
    assert ids == ["run-11", "run-10", "run-09"]
    ids = _both(store, RunQuery(experiment_id=exp, sort="metric_max:mse", limit=50))
    assert ids[-1] == "run-05"  # no mse at all: last, whatever the direction
    page = store.query_runs(RunQuery(experiment_id=exp, sort="number", limit=50))
    assert page.summaries["run-03"]["mse"] == (0.25, 0.25, 1.0)  # last, min, max
    assert page.summaries["run-07"]["mse_text"] == (None, None, None)  # not a number
    with pytest.raises(ValueError, match="metric_min:<name>"):
        RunQuery(sort="metric_mean:mse")
    full = RunQuery(experiment_id=exp, sort="metric_min:mse", limit=3)
    bare = RunQuery(experiment_id=exp, sort="metric_min:mse", limit=3, with_metrics=False)
    ids = [r.id for r in store.query_runs(full).records]
    for answer in (store.query_runs(bare), query_runs_generic(store, bare)):
        assert [r.id for r in answer.records] == ids  # sorted the same
        assert answer.metrics == {} and answer.summaries == {}  # the runs only


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"statuses": ("Failed",)}, {"run-01", "run-07"}),
        ({"statuses": ("active",)}, {"run-02", "run-08"}),
        ({"statuses": ("Failed", "Canceled")}, {"run-01", "run-07", "run-04", "run-10"}),
        ({"tag": "note"}, {"run-00", "run-03", "run-06", "run-09"}),
        ({"tag": "alpha=0.01"}, {"run-04", "run-05", "run-10"}),
        ({"text": "ridge a"}, {"run-00", "run-04", "run-08"}),
        ({"text": "%_"}, {"run-00", "run-03", "run-06", "run-09"}),
        ({"text": "7"}, {"run-06", "run-07"}),  # number 7, id run-07
        ({"text": "group"}, {"run-04"}),
        ({"text": "nothing like this"}, set()),
    ],
)
def test_filters(store: TrackingStore, filters: dict, expected: set[str]) -> None:
    query = RunQuery(experiment_id=_experiment(store), limit=50, **filters)
    assert set(_both(store, query)) == expected


def test_windows_scope_and_children(store: TrackingStore) -> None:
    exp = _experiment(store)
    pages = [
        _both(store, RunQuery(experiment_id=exp, limit=5, offset=offset)) for offset in (0, 5, 10)
    ]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert pages[0][0] == "run-11"  # newest number first by default
    assert _both(store, RunQuery(experiment_id=exp, offset=20)) == []
    assert store.query_runs(RunQuery(experiment_id=exp, offset=20)).total == 12
    with_children = _both(
        store,
        RunQuery(
            experiment_id=exp, include_children=True, limit=50, sort="metric:mse", descending=False
        ),
    )
    assert with_children[0] == "child-0"
    chosen = _both(store, RunQuery(run_ids=("run-03", "other-0", "run-05"), limit=50))
    assert set(chosen) == {"run-03", "other-0", "run-05"}


def test_page_metrics_hold_last_scalar_values(store: TrackingStore) -> None:
    page = store.query_runs(RunQuery(experiment_id=_experiment(store), run_ids=("run-07",)))
    assert page.metrics["run-07"] == {"mse": 0.125, "r2": pytest.approx(0.35), "mse_text": None}


def test_run_columns_count_keys_of_the_scope(store: TrackingStore) -> None:
    query = RunQuery(experiment_id=_experiment(store))
    columns = store.run_columns(query)
    assert columns == run_columns_generic(store, query)
    assert dict(columns.metrics) == {"mse": 11, "r2": 6, "mse_text": 1}
    assert dict(columns.tags) == {"alpha": 8, "note": 4, "Group": 1}


def test_bad_queries_name_the_problem() -> None:
    with pytest.raises(ValueError, match="sort runs by 'colour'"):
        RunQuery(sort="colour")
    with pytest.raises(ValueError, match="limit"):
        RunQuery(limit=0)
    with pytest.raises(ValueError, match="Sleeping"):
        RunQuery(statuses=("Sleeping",))


def test_a_page_of_many_runs_is_answered_in_sql(backend: str, store_uri: str) -> None:
    store = open_store(store_uri)
    assert type(store).query_runs is not TrackingStore.query_runs  # not the read-all fallback
    count = 3000 if backend == "sqlite" else 400  # creating runs costs more on a server
    ops: list = []
    for i in range(count):
        ops.append(
            CreateRun(
                run_id=f"r{i}",
                experiment_name="big",
                run_type="interactive",
                status="Completed",
                created_at=time.time(),
            )
        )
        ops.append(_scalar(f"r{i}", "loss", [float(i % 97)]))
    store.write(ops)
    exp = store.get_experiment("big")
    assert exp is not None
    page = store.query_runs(RunQuery(experiment_id=exp.id, sort="metric:loss", limit=10))
    assert page.total == count and len(page.records) == 10
    assert set(page.metrics) == {r.id for r in page.records}
    top = sorted((float(i % 97) for i in range(count)), reverse=True)[:10]
    assert [page.metrics[r.id]["loss"] for r in page.records] == top
    store.close()
