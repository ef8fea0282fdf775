"""Experiment: get-or-create, v1 name rule, listing and ``get_runs`` filters and order."""

from __future__ import annotations

import pytest

from run_widgets import Experiment, Run, UserErrorException, Workspace
from run_widgets.exceptions import ExperimentNotFoundError

V1_NAME_MESSAGE = (
    "Experiment name must be between 1 and 255 characters long. Its first character has to "
    "be alphanumeric, and the rest may contain hyphens and underscores. No whitespace is "
    "allowed."
)


def _start(exp: Experiment, **kwargs: object) -> Run:
    return exp.start_logging(snapshot_directory=None, outputs=False, **kwargs)


def test_get_or_create(ws: Workspace) -> None:
    first = Experiment(ws, "exp-1")
    again = Experiment(ws, "exp-1")
    assert first == again
    assert first.id == again.id
    assert [e.name for e in Experiment.list(ws)] == ["exp-1"]
    assert repr(first) == f"Experiment(Name: exp-1,\nWorkspace: {ws.name})"


@pytest.mark.parametrize(
    "name",
    ["a", "A1", "1abc", "a_b-c", "x" * 255, "Run_2024-01-01"],
)
def test_valid_names(ws: Workspace, name: str) -> None:
    assert Experiment(ws, name).name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-lead",
        "_lead",
        "has space",
        " lead",
        "trail ",
        "tab\tname",
        "new\nline",
        "x" * 256,
        "dot.name",
        "slash/name",
        "ümlaut",
        "a<img>",
        None,
        42,
    ],
)
def test_invalid_names_give_v1_message(ws: Workspace, name: object) -> None:
    with pytest.raises(UserErrorException) as info:
        Experiment(ws, name)  # type: ignore[arg-type]
    assert V1_NAME_MESSAGE in str(info.value)
    assert isinstance(info.value, ValueError)
    assert Experiment.list(ws) == []


def test_list_with_name_filter_and_get(ws: Workspace) -> None:
    Experiment(ws, "b")
    Experiment(ws, "a")
    assert [e.name for e in Experiment.list(ws)] == ["b", "a"]  # oldest first
    assert [e.name for e in Experiment.list(ws, experiment_name="a")] == ["a"]
    assert Experiment.list(ws, experiment_name="zzz") == []
    assert Experiment.get(ws, "a").name == "a"
    with pytest.raises(ExperimentNotFoundError, match="No experiment 'nope'"):
        Experiment.get(ws, "nope")
    assert [e.name for e in Experiment.list(ws)] == ["b", "a"]


def test_get_runs_newest_first_and_top_level_only(exp: Experiment) -> None:
    runs = [_start(exp) for _ in range(4)]
    child = runs[0].child_run("c")
    assert [r.id for r in exp.get_runs()] == [r.id for r in reversed(runs)]
    with_children = [r.id for r in exp.get_runs(include_children=True)]
    assert child.id in with_children
    assert with_children[0] == child.id  # newest
    assert len(with_children) == 5
    assert [r.number for r in exp.get_runs()] == [4, 3, 2, 1]
    assert [r.id for r in Run.list(exp)] == [r.id for r in reversed(runs)]


def test_get_runs_is_a_generator(exp: Experiment) -> None:
    _start(exp)
    runs = exp.get_runs()
    assert iter(runs) is runs


def test_get_runs_filters(exp: Experiment) -> None:
    plain = _start(exp)
    tagged = _start(exp, tags={"team": "a"})
    other = _start(exp, tags={"team": "b", "flag": None})
    tagged.add_properties({"kind": "baseline"})
    done = _start(exp)
    done.complete()

    def ids(**kwargs: object) -> set[str]:
        return {r.id for r in exp.get_runs(**kwargs)}  # type: ignore[arg-type]

    assert ids(tags="team") == {tagged.id, other.id}
    assert ids(tags={"team": "a"}) == {tagged.id}
    assert ids(tags={"team": "b", "flag": None}) == {other.id}
    assert ids(tags={"team": "c"}) == set()
    assert ids(tags="flag") == {other.id}
    assert ids(properties="kind") == {tagged.id}
    assert ids(properties={"kind": "baseline"}) == {tagged.id}
    assert ids(properties={"kind": "other"}) == set()
    assert ids(status="Completed") == {done.id}
    assert ids(status="Running") == {plain.id, tagged.id, other.id}
    assert ids(type="interactive") == {plain.id, tagged.id, other.id, done.id}
    assert ids(type="scriptrun") == set()


def test_get_runs_include_children_with_filters(exp: Experiment) -> None:
    parent = _start(exp)
    child = parent.child_run()
    child.tag("role", "child")
    assert {r.id for r in exp.get_runs(tags="role")} == set()
    assert {r.id for r in exp.get_runs(tags="role", include_children=True)} == {child.id}


def test_runs_of_other_experiments_are_not_listed(ws: Workspace) -> None:
    a = Experiment(ws, "a")
    b = Experiment(ws, "b")
    run_a = _start(a)
    _start(b)
    assert [r.id for r in a.get_runs()] == [run_a.id]


def test_experiment_needs_a_workspace() -> None:
    with pytest.raises(Exception, match="workspace must be a run_widgets Workspace"):
        Experiment("not a workspace", "x")  # type: ignore[arg-type]
