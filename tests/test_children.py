"""Child runs: child_run, create_children (every v1 error), get_children, parent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from run_widgets import Experiment, Run, UserErrorException
from run_widgets.exceptions import RunWidgetsWarning


@pytest.fixture
def parent(exp: Experiment) -> Iterator[Run]:
    """A running top-level run."""
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    yield run
    run.complete()


def test_child_run(parent: Run, exp: Experiment) -> None:
    child = parent.child_run("step-1")
    assert child.get_status() == "Running"
    assert child.display_name == "step-1"
    assert child.parent == parent
    assert parent.parent is None
    assert child.experiment == exp
    own = parent.child_run(run_id="explicit-child")
    assert own.id == "explicit-child"
    with pytest.raises(TypeError, match="name must be a str"):
        parent.child_run(5)  # type: ignore[arg-type]


def test_child_outputs_uploaded_on_complete(parent: Run) -> None:
    child = parent.child_run("c", outputs="child_out")
    (Path.cwd() / "child_out" / "x.txt").write_text("x", encoding="utf-8")
    child.complete()
    assert child.get_file_names() == ["child_out/x.txt"]


def test_create_children_count(parent: Run) -> None:
    children = parent.create_children(count=3)
    assert len(children) == 3
    assert len({c.id for c in children}) == 3
    assert [c.get_tags() for c in children] == [
        {"azureml.batch_child_number": "0"},
        {"azureml.batch_child_number": "1"},
        {"azureml.batch_child_number": "2"},
    ]
    assert {c.get_status() for c in children} == {"Running"}
    assert {c.parent.id for c in children if c.parent} == {parent.id}


def test_create_children_tag_values(parent: Run) -> None:
    children = parent.create_children(tag_key="alpha", tag_values=["0.1", "0.2"])
    assert [c.get_tags() for c in children] == [{"alpha": "0.1"}, {"alpha": "0.2"}]
    with pytest.warns(RunWidgetsWarning, match="Converting non-string"):
        more = parent.create_children(tag_key="beta", tag_values=[1])
    assert more[0].get_tags() == {"beta": "1"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Either count or tag_key and tag_values must be set"),
        ({"tag_values": ["a"]}, "tag_key must not be null when tag_values is set"),
        ({"tag_key": "k"}, "tag_values must not be null when tag_key is set"),
        (
            {"count": 2, "tag_key": "k", "tag_values": ["a"]},
            "count can not be set when tag_key and tag_values are set",
        ),
        ({"count": 101}, "create_children can not create more than 100 runs"),
        (
            {"tag_key": "k", "tag_values": [str(i) for i in range(101)]},
            "create_children can not create more than 100 runs",
        ),
    ],
)
def test_create_children_v1_errors(parent: Run, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UserErrorException) as info:
        parent.create_children(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert list(parent.get_children()) == []


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "3"])
def test_create_children_bad_count(parent: Run, count: object) -> None:
    with pytest.raises(UserErrorException, match="count must be a positive int"):
        parent.create_children(count=count)  # type: ignore[arg-type]
    assert list(parent.get_children()) == []


def test_create_children_exactly_100(parent: Run) -> None:
    children = parent.create_children(count=100)
    assert len(children) == 100
    assert len(list(parent.get_children())) == 100


def test_get_children_filters_and_order(parent: Run) -> None:
    first = parent.child_run("a")
    second = parent.child_run("b")
    second.tag("kind", "x")
    second.add_properties({"p": "1"})
    first.complete()
    grandchild = second.child_run("g")
    children = parent.get_children()
    assert iter(children) is children  # a generator, as v1
    assert [c.id for c in children] == [second.id, first.id]  # newest first
    assert {c.id for c in parent.get_children(recursive=True)} == {
        first.id,
        second.id,
        grandchild.id,
    }
    assert [c.id for c in parent.get_children(tags="kind")] == [second.id]
    assert [c.id for c in parent.get_children(tags={"kind": "x"})] == [second.id]
    assert [c.id for c in parent.get_children(properties={"p": "1"})] == [second.id]
    assert [c.id for c in parent.get_children(status="Completed")] == [first.id]
    assert [c.id for c in parent.get_children(type="scriptrun")] == []
    assert [c.id for c in parent.get_children(recursive=True, status="Running")] == [
        grandchild.id,
        second.id,
    ]
    assert grandchild.parent == second


def test_children_complete_with_their_own_lifecycle(parent: Run) -> None:
    child = parent.child_run()
    child.log("m", 1)
    child.fail("child broke")
    assert child.get_status() == "Failed"
    assert parent.get_status() == "Running"
    assert child.get_metrics() == {"m": 1}
