"""Fuzzing every logging call: each call raises TypeError/ValueError or stores correctly.

Never another exception, never a partial write. A small model of what must be stored is
kept alongside the run and compared with ``get_metrics()`` after each sequence of calls.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from foundation_helpers import all_files, store_state
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pg_support import BACKEND_PARAMS, drop_database, new_database

from run_widgets import Experiment, Run, Workspace
from run_widgets.exceptions import RunWidgetsWarning
from run_widgets.tracking.values import MAX_STRING_LENGTH

SETTINGS = settings(
    max_examples=int(os.environ.get("RW_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("RW_FUZZ_RANDOM", "") == "",
)

HUGE = "x" * (MAX_STRING_LENGTH + 1)

good_names = st.one_of(
    st.sampled_from(["a", "b", "loss", "m/x"]),  # repeats: series, fast path, conflicts
    st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
        min_size=1,
        max_size=12,
    ),
)
bad_names = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " a", "a ", "a\x00", "a\nb", "x" * 256, "\ud800"]),
    st.integers(-3, 3),
    st.none(),
    st.binary(max_size=3),
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` about four times in five (``one_of`` picks its branches unevenly)."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 4 else good)


names = _mostly(good_names, bad_names)
builtin_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "a\udfff", HUGE, "x" * MAX_STRING_LENGTH]),
)
numpy_scalars = st.one_of(
    st.floats(width=32).map(np.float32),
    st.floats().map(np.float64),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.integers(0, 2**64 - 1).map(np.uint64),
    st.booleans().map(np.bool_),
    st.text(max_size=4).map(np.str_),
    st.binary(max_size=4).map(np.bytes_),
    st.just(np.complex128(1 + 2j)),
    st.integers(-5, 5).map(lambda i: np.array(i)),
)
scalars = st.one_of(builtin_scalars, numpy_scalars)
containers = st.one_of(
    st.lists(scalars, max_size=4),
    st.lists(st.lists(scalars, max_size=2), max_size=2),
    st.tuples(scalars),
    st.dictionaries(st.text(max_size=3), scalars, max_size=3),
    st.binary(max_size=4),
    st.just(range(3)),
    st.lists(st.floats(), max_size=5).map(np.array),
    st.just(np.zeros((2, 2))),
    st.just(object()),
    st.just({1, 2}),
)
values = _mostly(scalars, containers)
columns = st.dictionaries(
    st.one_of(st.sampled_from(["x", "y"]), good_names, st.text(max_size=4), st.integers(0, 2)),
    _mostly(scalars, st.one_of(st.lists(scalars, max_size=3), containers)),
    max_size=3,
)
column_names = st.one_of(st.sampled_from(["x", "y"]), good_names)
rows = st.one_of(st.dictionaries(column_names, scalars, min_size=1, max_size=3), columns)
tables = st.one_of(
    st.integers(1, 3).flatmap(
        lambda n: st.dictionaries(
            column_names, st.lists(scalars, min_size=n, max_size=n), min_size=1, max_size=3
        )
    ),
    columns,
    values,
)
lists = st.one_of(st.lists(scalars, max_size=5), st.lists(st.floats(), max_size=5), values)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)
payloads = st.one_of(
    st.dictionaries(st.text(max_size=4), json_values, max_size=3),
    st.dictionaries(st.text(max_size=4), json_values, max_size=3).map(json.dumps),
    st.text(max_size=10),
    values,
)
steps = st.one_of(st.integers(-3, 10**19), st.floats(), st.none(), st.just(np.int32(4)))
calls = st.one_of(
    st.tuples(st.just("log"), names, values),
    st.tuples(st.just("log_step"), names, st.tuples(values, steps)),
    st.tuples(st.just("log_list"), names, lists),
    st.tuples(st.just("log_row"), names, rows),
    st.tuples(st.just("log_table"), names, tables),
    st.tuples(st.just("log_confusion_matrix"), names, payloads),
)


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def fuzz_experiment(request: pytest.FixtureRequest) -> Iterator[Experiment]:
    """One workspace for every example (function-scoped fixtures do not mix with given),
    on each store backend."""
    folder = Path(tempfile.mkdtemp(prefix="rw-fuzz-"))
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        uri = new_database(server)
        ws = Workspace(store=uri, artifacts=folder / "ws")
    else:
        ws = Workspace(folder / "ws")
    yield Experiment(ws, "fuzz")
    ws.close()
    if request.param == "postgresql":
        drop_database(server, uri)
    shutil.rmtree(folder, ignore_errors=True)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _native(value: Any) -> Any:
    """What a valid scalar must come back as."""
    if isinstance(value, (np.generic, np.ndarray)):
        return _native(value.item())
    return value


def _invoke(run: Run, call: str, name: Any, arg: Any) -> None:
    if call == "log":
        run.log(name, arg)
    elif call == "log_step":
        run.log(name, arg[0], step=arg[1])
    elif call == "log_list":
        run.log_list(name, arg)
    elif call == "log_row":
        run.log_row(name, **arg) if isinstance(arg, dict) and all(
            isinstance(k, str) for k in arg
        ) else run.log_row(name, x=arg)
    elif call == "log_table":
        run.log_table(name, arg)
    else:
        run.log_confusion_matrix(name, arg)


def _record(model: dict[str, Any], call: str, name: str, arg: Any) -> None:
    """Update the model after a successful call."""
    kinds = {
        "log": "scalar",
        "log_step": "scalar",
        "log_list": "list",
        "log_row": "row",
        "log_table": "table",
        "log_confusion_matrix": "artifact",
    }
    kind = kinds[call]
    entry = model.setdefault(name, {"kind": kind, "points": []})
    if {entry["kind"], kind} == {"row", "table"}:
        entry["kind"] = "table"
    if call == "log":
        entry["points"].append(("value", arg))
    elif call == "log_step":
        entry["points"].append(("value", arg[0]))
    elif call == "log_list":
        entry["points"].append(("list", arg))
    elif call in ("log_row", "log_table"):
        entry["points"].append(("columns", arg))
    else:
        entry["points"].append(("artifact", arg))


def _check_against_model(run: Run, model: dict[str, Any]) -> None:
    metrics = run.get_metrics()
    assert set(metrics) == set(model)
    for name, entry in model.items():
        got = metrics[name]
        kind = entry["kind"]
        if kind == "artifact":
            items = got if isinstance(got, list) else [got]
            assert len(items) == len(entry["points"])
            assert all(i.startswith("aml://artifactId/ExperimentRun/dcid.") for i in items)
        elif kind == "scalar":
            items = got if len(entry["points"]) > 1 else [got]
            assert len(items) == len(entry["points"])
            for stored, (_, logged) in zip(items, entry["points"], strict=True):
                native = _native(logged)
                if type(native) in (int, float, bool, str, type(None)):
                    assert _same(stored, native), (stored, logged)
                else:  # stored as repr, with a warning
                    assert isinstance(stored, str)
        elif kind == "list":
            logged = []
            for _, block in entry["points"]:  # ints become floats within one call only
                native = [_native(v) for v in block]
                promote = any(type(v) is float for v in native) and all(
                    type(v) in (int, float) for v in native
                )
                logged.extend(float(v) if promote else v for v in native)
            assert isinstance(got, list)
            assert len(got) == len(logged)
            for stored, value in zip(got, logged, strict=True):
                assert _same(stored, value), (stored, value)
        else:
            table = got
            assert isinstance(table, dict)
            lengths = {len(v) if isinstance(v, list) else 1 for v in table.values()}
            assert len(lengths) == 1  # equal-length columns


@SETTINGS
@given(st.lists(calls, min_size=1, max_size=6))
def test_every_logging_call(fuzz_experiment: Experiment, sequence: list[Any]) -> None:
    run = fuzz_experiment.start_logging(snapshot_directory=None, outputs=False)
    model: dict[str, Any] = {}
    try:
        for call, name, arg in sequence:
            before = store_state(run)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RunWidgetsWarning)
                try:
                    _invoke(run, call, name, arg)
                except (TypeError, ValueError):
                    event(f"{call}: rejected")
                    assert store_state(run) == before  # nothing half-written
                    continue
            event(f"{call}: stored")
            _record(model, call, name, arg)
            after = store_state(run)  # the flush inside must succeed
            assert after["metrics"].keys() >= before["metrics"].keys()
        _check_against_model(run, model)
    finally:
        run.complete()


file_names = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["..", "../x", "a/../../x", "..\\x", "/abs", "C:\\x", "a//b", "./a", "a/"]),
    st.lists(st.sampled_from(["a", "..", ".", "", "b", "\\"]), max_size=4).map("/".join),
)


@SETTINGS
@given(st.lists(st.tuples(file_names, st.binary(max_size=16)), min_size=1, max_size=4))
def test_upload_names(fuzz_experiment: Experiment, uploads: list[tuple[str, bytes]]) -> None:
    run = fuzz_experiment.start_logging(snapshot_directory=None, outputs=False)
    root = run.workspace.folder.parent  # the fuzz folder: the workspace and nothing else
    own = run.files_dir.relative_to(root).as_posix() + "/"

    def outside() -> set[str]:
        return {p for p in all_files(root) if not p.startswith(own) and "tracking.db" not in p}

    try:
        outside_before = outside()
        stored: dict[str, bytes] = {}
        for name, data in uploads:
            import io

            try:
                clean = run.upload_file(name, io.BytesIO(data))
            except (TypeError, ValueError):
                continue
            assert clean not in stored
            stored[clean] = data
        assert sorted(run.get_file_names()) == sorted(stored)
        for clean, data in stored.items():
            path = run.get_file_path(clean)
            assert path.resolve().is_relative_to(run.files_dir.resolve())
            assert path.read_bytes() == data
        assert outside() == outside_before
    finally:
        run.complete()
        shutil.rmtree(run.files_dir, ignore_errors=True)  # keeps the next walk small


@SETTINGS
@given(payloads)
def test_json_payloads(fuzz_experiment: Experiment, payload: Any) -> None:
    run = fuzz_experiment.start_logging(snapshot_directory=None, outputs=False)
    try:
        before = store_state(run)
        try:
            run.log_predictions("p", payload)
        except (TypeError, ValueError):
            assert store_state(run) == before
            return
        stored = run.get_metrics(populate=True)["p"]
        assert isinstance(stored, dict)
        json.dumps(stored, allow_nan=True)
    finally:
        run.complete()
