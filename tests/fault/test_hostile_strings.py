"""Hostile strings through the public API, on both store backends (issue 24, item 3).

Every user-supplied string that reaches a query (experiment names, run ids, display names,
descriptions, tag and property keys and values, metric names and string values, filter
text, sort keys, model, environment, compute target, datastore and dataset names) is
fuzzed with quotes,
``%``/``_`` (LIKE wildcards), backslashes, SQL and driver placeholders (``?``, ``%s``,
``$1``), right-to-left and other format marks, case-folding oddities, very long strings,
lone surrogates (text that is not valid Unicode) and NUL. For each:

* a string the rules accept is stored and read back exactly (``==`` on ``str``);
* a string they refuse raises a validation error (``ValueError``/``TypeError``, the
  project's ``UserErrorException`` family) and writes nothing; no other error, ever;
* lookups and filters (``get_runs(tags=...)``, ``Model.list(name=...)``, the experiment
  table's text and tag filters) match literally: a wildcard matches only itself, a quote
  is a quote. The exact answer comes from a model of what the test stored; the text
  search, which folds case, is checked against bounds (what must match, what must not);
* sorting by a hostile tag, property or metric name (its last, smallest or largest
  value) gives the reference order (``query_runs_generic``: Python's code-point order);
* a chart's windowed read (``read_series_window``) finds a hostile metric name.
"""

from __future__ import annotations

import itertools
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from run_widgets import Dataset, Datastore, Environment, Experiment, Run, Workspace
from run_widgets.exceptions import DatasetNotFoundError, RunNotFoundError
from run_widgets.registry.models import Model
from run_widgets.store import RunQuery, TrackingStore
from run_widgets.store.run_query import MAX_TEXT_FILTER, query_runs_generic
from run_widgets.submit.compute import AmlCompute, ComputeTarget

SETTINGS = settings(
    max_examples=int(os.environ.get("RW_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # one workspace per test, shared by its examples
    ],
    derandomize=os.environ.get("RW_FUZZ_RANDOM", "") == "",
)

VALIDATION = (ValueError, TypeError)
"""What a refused string may raise: the ``UserErrorException`` family is both."""

SPECIALS = [
    "'", "''", '"', "`", "%", "_", "\\", "\\\\", "\\%", "\\_", "%_%", "a%", "_a",
    "'; DROP TABLE runs; --", '" OR 1=1 --', "') OR ('1'='1", "?", "??", "%s", "%(x)s",
    "$1", ":name", "{}", "{0}", "\u200f", "\u200e", "\u202e", "\u2066", "\u061c", "\ufeff",
    "\u00e9", "e\u0301", "\u00df", "SS", "\u0130", "\u0131", "\u03a3", "\u03c2", "\ufb00",
    "\U0001f642", "\t", "\n", "\r\n", "\u2028", "\x85", "\x7f", "\x1b[31m", "\x00",
    "\ud800", "\udcff", " ", "  ", "*", "[a-z]", "^", "$", "|", ".", "/", "..", "<b>",
    "=", "==", ":",
]  # fmt: skip
pieces = st.one_of(st.sampled_from(SPECIALS), st.text(max_size=3))
hostile = st.one_of(
    st.lists(pieces, min_size=1, max_size=5).map("".join),
    st.sampled_from(SPECIALS),
    # a name that validates, then something that must not slip past the validation
    st.builds(
        "".join,
        st.tuples(st.sampled_from(["a", "Abc-1", "m.v", "x_y"]), st.sampled_from(SPECIALS)),
    ),
    st.builds(
        lambda piece, n: piece * n,
        st.sampled_from(["%", "x", "\u200f", "\u00e9", "'"]),
        st.sampled_from([255, 256, 5000, 65_536, 65_537]),
    ),
)

CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


def has_surrogate(text: str) -> bool:
    """A lone surrogate: not valid Unicode text, no UTF-8 encoding."""
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def storable(text: str, limit: int) -> bool:
    """Text a store keeps (a tag value, a description...): no NUL, valid Unicode, short enough."""
    return "\x00" not in text and not has_surrogate(text) and len(text) <= limit


def good_key(text: str) -> bool:
    """A tag/property key: a name (printable, not blank) without surrounding whitespace."""
    return good_metric_name(text) and text == text.strip()


def good_metric_name(text: str) -> bool:
    """A metric name: 1-255 characters, not only spaces, no control characters."""
    return (
        0 < len(text) <= 255
        and bool(text.strip())
        and not CONTROL & set(text)
        and not has_surrogate(text)
    )


def expect(ok: bool, call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(...)``: it must succeed when ``ok``, else raise a validation error."""
    if ok:
        return call(*args, **kwargs)
    with pytest.raises(VALIDATION):
        call(*args, **kwargs)
    return None


_names = itertools.count()


def fresh(prefix: str) -> str:
    """A new, harmless name (experiments and runs of one example)."""
    return f"{prefix}{next(_names)}"


# ------------------------------------------------------------------------------ runs --
@SETTINGS
@given(
    display_name=hostile,
    description=hostile,
    key=hostile,
    value=hostile,
    property_key=hostile,
    property_value=hostile,
    metric=hostile,
    text_value=hostile,
)
def test_run_labels_and_metric_names_round_trip_and_filter_literally(
    ws: Workspace,
    display_name: str,
    description: str,
    key: str,
    value: str,
    property_key: str,
    property_value: str,
    metric: str,
    text_value: str,
) -> None:
    exp = Experiment(ws, "hostile-labels")
    model = _model_of(exp)
    run = exp.start_logging(snapshot_directory=None)
    tags: dict[str, str | None] = {}
    properties: dict[str, str] = {}
    expect(storable(display_name, 256), setattr, run, "display_name", display_name)
    expect(storable(description, 5000), setattr, run, "description", description)
    tag_ok = good_key(key) and storable(value, 65_536)
    expect(tag_ok, run.tag, key, value)
    if tag_ok:
        tags[key] = value
    if good_key(property_key) and storable(property_value, 65_536):
        run.add_properties({property_key: property_value})
        properties[property_key] = property_value
    else:
        expect(False, run.add_properties, {property_key: property_value})
    metrics: dict[str, Any] = {}
    expect(good_metric_name(metric), run.log, metric, 1.5)
    if good_metric_name(metric):
        metrics[metric] = 1.5
    if not has_surrogate(text_value) and len(text_value) <= 1_000_000:
        run.log("text", text_value)  # a string value is packed, not a text column: NUL is fine
        metrics["text"] = text_value
    run.complete()

    again = Run(exp, run.id)  # read back through a new object
    assert again.get_tags() == tags
    assert again.get_properties() == properties
    assert again.get_metrics() == metrics
    if good_metric_name(metric):  # a chart's windowed read finds the series by its name
        window = exp.workspace.store.read_series_window(run.id, metric)
        assert window.y.tolist() == [1.5] and window.exact
    details = again.get_details()
    if storable(display_name, 256):
        assert again.display_name == display_name
    if storable(description, 5000):
        assert again.description == description
    assert details["runId"] == run.id

    model[run.id] = (tags, properties)
    _check_label_filters(exp, model, key, value, property_key, property_value)


def _model_of(exp: Experiment) -> dict[str, tuple[dict[str, str | None], dict[str, str]]]:
    """What the test stored in ``exp`` so far (kept on the workspace object between examples)."""
    models: dict[str, Any] = exp.workspace.__dict__.setdefault("_hostile_model", {})
    return models.setdefault(exp.name, {})  # type: ignore[no-any-return]


def _check_label_filters(
    exp: Experiment,
    model: dict[str, tuple[dict[str, str | None], dict[str, str]]],
    key: str,
    value: str,
    property_key: str,
    property_value: str,
) -> None:
    """``get_runs`` filters give exactly the runs the model says, for the example's strings."""

    def ids(**filters: Any) -> set[str]:
        return {r.id for r in exp.get_runs(**filters)}

    def found(**filters: Any) -> set[str] | None:
        try:
            return ids(**filters)
        except VALIDATION:
            return None  # a lookup of unstorable text may be refused; it can match nothing

    for wanted_key, wanted_value, which in (
        (key, value, 0),
        (property_key, property_value, 1),
    ):
        argument = "tags" if which == 0 else "properties"
        has_key = {r for r, labels in model.items() if wanted_key in labels[which]}
        has_pair = {r for r in has_key if model[r][which][wanted_key] == wanted_value}
        by_key = found(**{argument: wanted_key})
        assert by_key == has_key or (by_key is None and not has_key)
        by_pair = found(**{argument: {wanted_key: wanted_value}})
        assert by_pair == has_pair or (by_pair is None and not has_pair)


# ------------------------------------------------------- the experiment table's query --
@SETTINGS
@given(
    labels=st.lists(st.tuples(hostile, hostile, hostile), min_size=3, max_size=3),
    needle=hostile,
    sort_name=hostile,
    descending=st.booleans(),
)
def test_text_filter_tag_filter_and_sorts_match_literally(
    ws: Workspace,
    labels: list[tuple[str, str, str]],
    needle: str,
    sort_name: str,
    descending: bool,
) -> None:
    """Three runs with hostile display names and tags (keys ``sort_name`` and their own)."""
    exp = Experiment(ws, fresh("hostile-query"))
    for number, (display_name, key, value) in enumerate(labels):
        run = exp.start_logging(snapshot_directory=None)
        if storable(display_name, 256):
            run.display_name = display_name
        tags = {}
        if good_key(key) and storable(value, 65_536):
            tags[key] = value
        sort_value = value[:1000] + str(number % 2)  # ties and order both exercised
        if good_key(sort_name) and storable(sort_value, 65_536):
            tags[sort_name] = sort_value
        if tags:
            run.set_tags(tags)
        if good_key(sort_name):
            run.add_properties({sort_name: value[:10] if storable(value, 10) else "v"})
        if good_metric_name(sort_name):
            run.log(sort_name, float(number % 2))
        run.complete()
    store = ws.store

    # The text search: a case-insensitive substring, never a pattern.
    query = _query(exp, text=needle)
    if query is not None:
        _check_text_search(store, query, needle)

    # The tag filter "key" / "key=value": equality, as the reference implementation.
    for tag in (needle, f"{sort_name}={needle}", f"{labels[0][1]}={labels[0][2]}"):
        query = _query(exp, tag=tag)
        if query is not None:
            _check_same_runs(store, query)

    # Sorts by a hostile tag, property or metric name (last, min, max): the reference order.
    for prefix in ("tag:", "property:", "metric:", "metric_min:", "metric_max:"):
        query = _query(exp, sort=prefix + sort_name, descending=descending)
        if query is not None:
            assert _page(store, query) == _reference(store, query)
    query = _query(exp, sort="display_name", descending=descending)
    assert query is not None
    assert _page(store, query) == _reference(store, query)


def _query(exp: Experiment, **fields: Any) -> RunQuery | None:
    """The query, or ``None`` if it refuses the text (a validation error, nothing else)."""
    try:
        return RunQuery(experiment_id=exp.id, limit=50, **fields)
    except VALIDATION:
        text = "".join(str(v) for v in fields.values())
        sort = str(fields.get("sort", "x:y"))
        assert (
            "\x00" in text
            or has_surrogate(text)
            or len(str(fields.get("text", ""))) > MAX_TEXT_FILTER
            or not sort.split(":", 1)[1]
        ), fields
        return None


def _page(store: TrackingStore, query: RunQuery) -> list[str]:
    return [r.id for r in store.query_runs(query).records]


def _reference(store: TrackingStore, query: RunQuery) -> list[str]:
    return [r.id for r in query_runs_generic(store, query).records]


def _check_same_runs(store: TrackingStore, query: RunQuery) -> None:
    assert sorted(_page(store, query)) == sorted(_reference(store, query))


def _folds(text: str) -> set[str]:
    """Every case-folded form a database may compare (Python's full folding, PostgreSQL's
    and SQLite's per-character lower/upper)."""
    return {
        text.casefold(),
        text.lower(),
        text.upper(),
        "".join(c.lower() for c in text),
        "".join(c.upper() for c in text),
        "".join(c.lower() if c.isascii() else c for c in text),
        unicodedata.normalize("NFC", text).casefold(),
    }


def _check_text_search(store: TrackingStore, query: RunQuery, needle: str) -> None:
    got = set(_page(store, query))
    text = needle.strip()
    for record in store.find_runs(experiment_id=query.experiment_id):
        haystacks = [record.display_name or "", record.id, *record.tags]
        haystacks += [v for v in record.tags.values() if v is not None]
        literal = any(text in h for h in haystacks) or str(record.number) == text
        possible = literal or any(
            f in g for h in haystacks for g in _folds(h) for f in _folds(text)
        )
        if literal:
            assert record.id in got, (needle, haystacks)
        if not possible:
            assert record.id not in got, (needle, haystacks)


# ------------------------------------------------------------------------ experiments --
@SETTINGS
@given(name=hostile)
@example(name="exp\n")  # "$" in a validating regex accepted a trailing newline
@example(name="a%_b")
def test_experiment_names_and_run_ids(ws: Workspace, name: str) -> None:
    import re

    valid = re.fullmatch(r"[a-zA-Z0-9][\w\-]{0,254}", name, re.ASCII) is not None
    exp = expect(valid, Experiment, ws, name)
    if exp is not None:
        assert exp.name == name
        assert name in ws.experiments and ws.experiments[name].name == name
        assert [e.name for e in Experiment.list(ws, experiment_name=name)] == [name]
    else:
        assert name not in ws.experiments
    # A hostile run id: refused when it could not name the run's folder, else used as is.
    valid_id = re.fullmatch(r"[A-Za-z0-9_][\w.\-]{0,255}", name, re.ASCII) is not None
    target = Experiment(ws, "hostile-ids")
    before = {r.id for r in target.get_runs()}
    run = expect(valid_id and name not in before, target.start_logging, run_id=name,
                 snapshot_directory=None)  # fmt: skip
    if run is not None:
        run.complete()
        assert Run(target, name).id == name
        assert ws.get_run(name).id == name
    else:
        assert {r.id for r in target.get_runs()} == before
        if name not in before:
            with pytest.raises((RunNotFoundError, *VALIDATION)):
                Run(target, name)


# ------------------------------------------------------------------------- registries --
@SETTINGS
@given(name=hostile, key=hostile, value=hostile, description=hostile)
@example(name="model\n", key="k", value="v", description="")
@example(name="%" * 256, key="k", value="v", description="")  # too long for an index
def test_model_environment_and_compute_names_are_literal(
    ws: Workspace, tmp_path: Path, name: str, key: str, value: str, description: str
) -> None:
    import re

    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"weights")
    valid_model = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}", name) is not None
    labels_ok = bool(key.strip())
    versions = len(Model.list(ws, name=name)) if valid_model else 0
    registered = expect(
        valid_model and labels_ok,
        Model.register,
        ws,
        model_file,
        name,
        tags={key: value},
        properties={key: value},
        description=description,
    )
    if registered is not None:
        found = Model(ws, name=name)
        assert (found.name, found.version) == (name, versions + 1)
        assert found.tags == {key: value} and found.properties == {key: value}
        assert found.description == description
        assert {m.name for m in Model.list(ws, name=name)} == {name}
        assert name in ws.models
    elif not valid_model:
        assert name not in ws.models

    valid_environment = bool(name) and storable(name, 255) and not name.startswith("AzureML")
    environment = expect(valid_environment, lambda: Environment(name).register(ws))
    if environment is not None:
        assert Environment.get(ws, name).name == name
        assert name in Environment.list(ws)
    elif name and not name.startswith("AzureML"):
        with pytest.raises(VALIDATION):
            Environment.get(ws, name)

    valid_target = re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{1,31}", name) is not None
    valid_target = valid_target and name.lower() != "local"
    config = AmlCompute.provisioning_configuration(max_nodes=1)
    target = expect(valid_target, ComputeTarget.create, ws, name, config)
    if target is not None:
        assert ComputeTarget(ws, name).name == name
        assert name in ws.compute_targets
    else:
        assert name not in ws.compute_targets


# ---------------------------------------------------------------------- data assets --
DATASTORE_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,254}"
"""What a datastore name may be (it becomes a job's environment variable)."""


@SETTINGS
@given(name=hostile, description=hostile, key=hostile, value=hostile)
@example(name="%" * 256, description="d", key="k", value="v")  # too long for an index
@example(name="t\x00", description="d", key="k", value="v")
@example(name="t", description="d\x00", key="k\x00", value="\ud800")
def test_datastore_and_dataset_names_are_literal(
    ws: Workspace, tmp_path: Path, name: str, description: str, key: str, value: str
) -> None:
    """Datastore names are identifiers or refused; any storable dataset name is kept and
    found literally (a wildcard only matches itself), with its description and tags."""
    import re

    from run_widgets.data.datastore import BUILT_IN

    valid_datastore = re.fullmatch(DATASTORE_NAME, name) is not None and name not in BUILT_IN
    registered = expect(
        valid_datastore,
        Datastore.register_azure_blob_container,
        ws,
        name,
        "container",
        "account",
        sas_token="sv=x",
        skip_validation=True,
        overwrite=True,
    )
    if registered is not None:
        assert Datastore.get(ws, name).name == name and name in ws.datastores
        assert {r.name for r in ws.store.list_datastores()} >= {name}
    elif name not in BUILT_IN:
        assert name not in ws.datastores
        with pytest.raises(VALIDATION):  # DatastoreNotFoundError, or a name no store keeps
            Datastore.get(ws, name)

    builtin = Datastore.get(ws, "workspaceblobstore")
    if not (Path(ws.folder) / "datastores" / "workspaceblobstore" / "t" / "t.csv").exists():
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        (data / "t.csv").write_text("a\n1\n", encoding="utf-8")
        builtin.upload(str(data), "t", overwrite=True, show_progress=False)
    table = Dataset.Tabular.from_delimited_files(builtin.path("t/t.csv"))
    valid_name = bool(name.strip()) and storable(name, 255)
    before = ws.store.get_dataset(name) if valid_name else None
    # The same definition and content registered again is the version there (nothing new
    # is written, so its description is not looked at).
    valid_dataset = valid_name and (before is not None or storable(description, 1 << 30))
    dataset = expect(
        valid_dataset, table.register, ws, name, description=description, tags={key: value}
    )
    if dataset is not None:
        found = Dataset.get_by_name(ws, name)
        assert (found.name, found.id) == (name, dataset.id)
        if before is None:  # new: this example's labels (else the same version is returned)
            assert (found.version, found.description) == (1, description)
            assert found.tags == {key: value}
        else:
            assert found.version == before.version
        assert {r.name for r in ws.store.list_datasets(name=name)} == {name}
        assert name in ws.datasets
    elif before is None and storable(name, 1 << 30):
        with pytest.raises(DatasetNotFoundError):
            Dataset.get_by_name(ws, name)
    for pattern in ("%", "_", "*", name.replace("%", "x") + "%"):
        if pattern != name and storable(pattern, 1 << 30) and pattern not in ws.datasets:
            assert ws.store.list_datasets(name=pattern) == []
            assert ws.store.get_dataset(pattern) is None
