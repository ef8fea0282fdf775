"""Tags (mutable, str→str with conversion warnings) and write-once properties."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from foundation_helpers import store_state

from run_widgets import Experiment, Run, UserErrorException
from run_widgets.exceptions import ArgumentTypeError, RunWidgetsWarning


@pytest.fixture
def run(exp: Experiment) -> Iterator[Run]:
    """A running interactive run."""
    started = exp.start_logging(snapshot_directory=None, outputs=False)
    yield started
    started.complete()


def test_tag_set_overwrite_and_default_none(run: Run) -> None:
    run.tag("a", "1")
    run.tag("a", "2")
    run.tag("DeploymentCandidate")
    assert run.get_tags() == {"a": "2", "DeploymentCandidate": None}
    assert run.tags == {"a": "2", "DeploymentCandidate": None}


def test_non_str_tag_is_converted_with_warning(run: Run) -> None:
    with pytest.warns(RunWidgetsWarning, match="Converting non-string tag"):
        run.tag("alpha", 0.1)
    with pytest.warns(RunWidgetsWarning, match="Converting non-string tag"):
        run.set_tags({"n": 3, "ok": "yes"})
    assert run.get_tags() == {"alpha": "0.1", "n": "3", "ok": "yes"}


def test_set_tags_forms(run: Run) -> None:
    run.set_tags({"x": "1"})
    run.set_tags("flag")
    run.set_tags(["k1", "k2"])
    assert run.get_tags() == {"x": "1", "flag": None, "k1": None, "k2": None}
    with pytest.raises(ArgumentTypeError, match="tags must be a dict"):
        run.set_tags(5)  # type: ignore[arg-type]


def test_remove_tags(run: Run) -> None:
    run.set_tags({"a": "1", "b": "2", "c": "3"})
    run.remove_tags(["a", "missing"])
    run.remove_tags("b")
    assert run.get_tags() == {"c": "3"}


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("", UserErrorException),
        ("bad ", UserErrorException),
        (3, ArgumentTypeError),
        ("x" * 256, UserErrorException),
    ],
)
def test_bad_tag_keys(run: Run, key: object, kind: type[BaseException]) -> None:
    before = store_state(run)
    with pytest.raises(kind):
        run.tag(key, "v")  # type: ignore[arg-type]
    with pytest.raises(kind):
        run.set_tags({"good": "v", key: "v"})  # type: ignore[dict-item]
    with pytest.raises(kind):
        run.remove_tags([key])  # type: ignore[list-item]
    assert store_state(run) == before


def test_tags_can_be_set_on_a_finished_run(exp: Experiment) -> None:
    run = exp.start_logging(snapshot_directory=None, outputs=False)
    run.complete()
    run.tag("reviewed", "yes")
    assert Run(exp, run.id).get_tags() == {"reviewed": "yes"}


def test_properties_write_once(run: Run) -> None:
    run.add_properties({"a": "1", "b": "2"})
    run.add_properties({"a": "1"})  # same value: fine
    run.add_properties({})  # nothing
    with pytest.raises(UserErrorException, match="write-once"):
        run.add_properties({"c": "3", "a": "changed", "d": "4"})
    assert run.get_properties() == {"a": "1", "b": "2"}  # nothing of the batch applied
    assert run.properties == {"a": "1", "b": "2"}


def test_property_conversion(run: Run) -> None:
    with pytest.warns(RunWidgetsWarning, match="Converting non-string property"):
        run.add_properties({"n": 5})
    assert run.get_properties() == {"n": "5"}
    with pytest.raises(UserErrorException, match="write-once"), pytest.warns(RunWidgetsWarning):
        run.add_properties({"n": 6})


def test_add_properties_needs_a_dict(run: Run) -> None:
    with pytest.raises(ArgumentTypeError, match="properties must be a dict"):
        run.add_properties(["a"])  # type: ignore[arg-type]


def test_bad_property_key_applies_nothing(run: Run) -> None:
    with pytest.raises(UserErrorException):
        run.add_properties({"fine": "1", " bad": "2"})
    assert run.get_properties() == {}


def test_properties_visible_from_another_handle(exp: Experiment, run: Run) -> None:
    run.add_properties({"k": "v"})
    assert Run(exp, run.id).properties == {"k": "v"}


def test_huge_tag_value_is_refused(run: Run) -> None:
    with pytest.raises(UserErrorException, match="limit"):
        run.tag("big", "x" * 70_000)
    assert run.get_tags() == {}
