"""Every logging call with good values and with each kind of bad input.

A bad call raises a TypeError/ValueError (our exceptions subclass them) with the v1
message where v1 had one, and leaves nothing behind: no metric, no chunk, no file.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from foundation_helpers import store_state

from run_widgets import Experiment, Run, UserErrorException
from run_widgets.exceptions import MetricTypeError, RunWidgetsWarning
from run_widgets.tracking.values import MAX_NAME_LENGTH, MAX_STRING_LENGTH

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def run(exp: Experiment) -> Iterator[Run]:
    """A running interactive run, completed after the test if still open."""
    started = exp.start_logging(snapshot_directory=None, outputs=False)
    yield started
    started.complete()


def _assert_rejected(
    run: Run, call: Callable[[], Any], kind: type[BaseException], match: str
) -> None:
    """``call`` raises ``kind`` matching ``match`` and changes nothing in the store."""
    before = store_state(run)
    with pytest.raises(kind, match=match) as info:
        call()
    assert isinstance(info.value, (TypeError, ValueError))
    assert store_state(run) == before


# --------------------------------------------------------------------------- log ----
def test_log_scalars_of_each_type(run: Run) -> None:
    run.log("f", 0.5)
    run.log("i", 7)
    run.log("b", True)
    run.log("s", "hello")
    run.log("n", None)
    metrics = run.get_metrics()
    assert metrics == {"f": 0.5, "i": 7, "b": True, "s": "hello", "n": None}
    assert type(metrics["i"]) is int
    assert type(metrics["b"]) is bool


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [
        (np.int64(3), 3, int),
        (np.int8(-4), -4, int),
        (np.uint32(5), 5, int),
        (np.float32(1.5), 1.5, float),
        (np.float64(2.25), 2.25, float),
        (np.bool_(True), True, bool),
        (np.str_("txt"), "txt", str),
    ],
)
def test_numpy_scalars_are_stored_as_numbers(
    run: Run, value: Any, expected: Any, kind: type
) -> None:
    run.log("v", value)
    stored = run.get_metrics()["v"]
    assert stored == expected
    assert type(stored) is kind


def test_nan_and_inf_are_stored(run: Run) -> None:
    run.log("nan", float("nan"))
    run.log("inf", float("inf"))
    run.log("ninf", -math.inf)
    run.log("series", 1.0)
    run.log("series", float("nan"))
    metrics = run.get_metrics()
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf
    assert metrics["ninf"] == -math.inf
    assert metrics["series"][0] == 1.0 and math.isnan(metrics["series"][1])


def test_other_objects_are_stored_as_repr_with_a_warning(run: Run) -> None:
    with pytest.warns(RunWidgetsWarning, match="repr"):
        run.log("d", {"k": 1})
    with pytest.warns(RunWidgetsWarning):
        run.log("t", (1, 2))
    assert run.get_metrics() == {"d": "{'k': 1}", "t": "(1, 2)"}


def _gen() -> Iterator[int]:
    yield 1


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ([1, 2], "list"),
        (range(3), "range"),
        (_gen(), "generator"),
        (_gen, "function"),
        (np.array([1.0, 2.0]), "ndarray"),
    ],
    ids=["list", "range", "generator", "generator-function", "ndarray"],
)
def test_log_of_sequences_says_use_log_list(run: Run, value: Any, type_name: str) -> None:
    run.log("ok", 1)
    _assert_rejected(
        run,
        lambda: run.log("x", value),
        MetricTypeError,
        "does not support .* type. Use run.log_list instead",
    )
    with pytest.raises(MetricTypeError) as info:
        run.log("x", value)
    if type_name != "function":
        assert f"run.log does not support {type_name} type. Use run.log_list instead" in str(
            info.value
        )


def test_log_of_list_after_a_good_value_of_same_name(run: Run) -> None:
    run.log("x", 1)
    _assert_rejected(run, lambda: run.log("x", [1]), MetricTypeError, "Use run.log_list")
    assert run.get_metrics() == {"x": 1}


def test_huge_string_is_refused(run: Run) -> None:
    huge = "x" * (MAX_STRING_LENGTH + 1)
    _assert_rejected(run, lambda: run.log("s", huge), UserErrorException, "limit")
    run.log("s", "short")
    # the same name is now on the fast path: the limit must still hold
    _assert_rejected(run, lambda: run.log("s", huge), UserErrorException, "limit")
    assert run.get_metrics() == {"s": "short"}


def test_string_at_the_limit_is_kept(run: Run) -> None:
    text = "y" * MAX_STRING_LENGTH
    run.log("s", text)
    assert run.get_metrics()["s"] == text


def test_int_beyond_64_bits_is_refused_also_on_fast_path(run: Run) -> None:
    _assert_rejected(run, lambda: run.log("i", 2**64), UserErrorException, "64 bits")
    run.log("i", 1)
    _assert_rejected(run, lambda: run.log("i", 2**63), UserErrorException, "64 bits")
    _assert_rejected(run, lambda: run.log("i", -(2**63) - 1), UserErrorException, "64 bits")
    run.log("i", 2**63 - 1)
    run.log("i", -(2**63))
    assert run.get_metrics() == {"i": [1, 2**63 - 1, -(2**63)]}


def test_invalid_unicode_is_refused_also_on_fast_path(run: Run) -> None:
    run.log("s", "fine")
    _assert_rejected(run, lambda: run.log("s", "bad\ud800"), UserErrorException, "Unicode")
    assert run.get_metrics() == {"s": "fine"}


@pytest.mark.parametrize(
    ("name", "kind", "match"),
    [
        ("", UserErrorException, "must not be empty"),
        ("   ", UserErrorException, "only spaces"),
        ("tab\tin", UserErrorException, "control characters"),
        ("nl\n", UserErrorException, "whitespace|control"),
        ("nul\x00", UserErrorException, "control characters"),
        ("n" * (MAX_NAME_LENGTH + 1), UserErrorException, "limit is 255"),
        (None, MetricTypeError, "must be a str, not NoneType"),
        (3, MetricTypeError, "must be a str, not int"),
        (b"bytes", MetricTypeError, "must be a str, not bytes"),
        ("sur\udc00", UserErrorException, "not valid Unicode"),
    ],
    ids=[
        "empty",
        "blank",
        "tab",
        "newline",
        "nul",
        "too-long",
        "none",
        "int",
        "bytes",
        "surrogate",
    ],
)
def test_bad_metric_names(run: Run, name: Any, kind: type[BaseException], match: str) -> None:
    for call in (
        lambda: run.log(name, 1),
        lambda: run.log_list(name, [1]),
        lambda: run.log_row(name, x=1),
        lambda: run.log_table(name, {"x": [1]}),
        lambda: run.log_confusion_matrix(name, {"a": 1}),
    ):
        _assert_rejected(run, call, kind, match)


def test_name_at_length_limit_is_fine(run: Run) -> None:
    run.log("n" * MAX_NAME_LENGTH, 1)
    assert run.get_metrics() == {"n" * MAX_NAME_LENGTH: 1}


def test_unicode_names_are_fine(run: Run) -> None:
    run.log("genauigkeit (ä) – δ", 0.1)
    run.log("a/b", 0.2)
    assert run.get_metrics() == {"genauigkeit (ä) – δ": 0.1, "a/b": 0.2}


def test_description_must_be_str(run: Run) -> None:
    _assert_rejected(
        run, lambda: run.log("x", 1, description=5), MetricTypeError, "description must be a str"
    )
    run.log("x", 1, description="the x")
    assert run.get_metrics() == {"x": 1}


# -------------------------------------------------------------------------- steps ----
def test_steps_explicit_auto_and_mixed(run: Run) -> None:
    run.log("auto", 1.0)
    run.log("auto", 2.0)
    run.log("explicit", 1.0, step=10)
    run.log("explicit", 2.0, step=20)
    run.log("mixed", 1.0)
    run.log("mixed", 2.0, step=5)
    run.log("mixed", 3.0)
    run.flush()
    run.log("mixed", 4.0)  # after a flush, auto continues from the stored last step
    assert list(run.get_metric_history("auto").steps) == [0, 1]
    assert list(run.get_metric_history("explicit").steps) == [10, 20]
    assert list(run.get_metric_history("mixed").steps) == [0, 5, 6, 7]
    assert run.get_metrics()["mixed"] == [1.0, 2.0, 3.0, 4.0]


def test_numpy_int_step_is_accepted(run: Run) -> None:
    run.log("a", 1, step=np.int32(3))
    assert list(run.get_metric_history("a").steps) == [3]


@pytest.mark.parametrize(
    ("step", "kind"),
    [
        (1.5, MetricTypeError),
        ("3", MetricTypeError),
        (True, MetricTypeError),
        (2**64, UserErrorException),
    ],
)
def test_bad_steps(run: Run, step: Any, kind: type[BaseException]) -> None:
    _assert_rejected(run, lambda: run.log("a", 1, step=step), kind, "step")


# ----------------------------------------------------------------------- log_list ----
def test_log_list_values(run: Run) -> None:
    run.log_list("ints", [1, 2, 3])
    run.log_list("mixed", [1, 2.5])
    run.log_list("one", [0.7])
    run.log_list("strs", ["a", "b"])
    run.log_list("arr", np.arange(3))
    run.log_list("gen", (x * 2 for x in range(3)))
    run.log_list("twice", [1, 2])
    run.log_list("twice", [3])
    run.log_list("np_scalars", [np.float32(0.5), np.int64(2)])
    metrics = run.get_metrics()
    assert metrics["ints"] == [1, 2, 3]
    assert metrics["mixed"] == [1.0, 2.5]
    assert all(type(v) is float for v in metrics["mixed"])
    assert metrics["one"] == [0.7]  # deliberate fix: stays a list
    assert metrics["strs"] == ["a", "b"]
    assert metrics["arr"] == [0, 1, 2]
    assert metrics["gen"] == [0, 2, 4]
    assert metrics["twice"] == [1, 2, 3]
    assert metrics["np_scalars"] == [0.5, 2.0]


@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        ([], UserErrorException, "at least one value"),
        (np.array([]), UserErrorException, "at least one value"),
        ([[1, 2]], MetricTypeError, "contains a list"),
        ([1, [2]], MetricTypeError, "contains a list"),
        ({"a": 1}, MetricTypeError, "Use run.log_table"),
        ("abc", MetricTypeError, "needs a list"),
        (5, MetricTypeError, "needs a list"),
        (None, MetricTypeError, "needs a list"),
        (np.zeros((2, 2)), UserErrorException, "1-D"),
        ([{"a": 1}], MetricTypeError, "not supported"),
        ([1, 2**70], UserErrorException, "64 bits"),
        (["x" * (MAX_STRING_LENGTH + 1)], UserErrorException, "limit"),
    ],
    ids=[
        "empty",
        "empty-array",
        "nested",
        "nested-late",
        "dict",
        "str",
        "int",
        "none",
        "2d",
        "list-of-dict",
        "big-int",
        "huge-str",
    ],
)
def test_log_list_bad_values(run: Run, value: Any, kind: type[BaseException], match: str) -> None:
    run.log_list("ok", [1])
    _assert_rejected(run, lambda: run.log_list("l", value), kind, match)
    _assert_rejected(run, lambda: run.log_list("ok", value), kind, match)


# ------------------------------------------------------------------------ log_row ----
def test_log_row_once_and_many(run: Run) -> None:
    run.log_row("once", x=1, y=0.4)
    for i in range(3):
        run.log_row("many", x=i, y=i / 10)
    metrics = run.get_metrics()
    assert metrics["once"] == {"x": 1, "y": 0.4}
    assert metrics["many"] == {"x": [0, 1, 2], "y": [0.0, 0.1, 0.2]}


def test_log_row_with_new_column_fills_missing_with_none(run: Run) -> None:
    run.log_row("r", x=1)
    run.log_row("r", x=2, y=3)
    assert run.get_metrics()["r"] == {"x": [1, 2], "y": [None, 3]}


def test_log_row_description_positional(run: Run) -> None:
    run.log_row("r", "a row", x=1)
    assert run.get_metrics()["r"] == {"x": 1}


@pytest.mark.parametrize(
    ("kwargs", "kind", "match"),
    [
        (
            {"x": [1, 2]},
            MetricTypeError,
            "Rows cannot contain list values, column x contains a list.",
        ),
        ({"x": 1, "y": (1,)}, MetricTypeError, "column y contains a list"),
        ({"x": np.array([1])}, MetricTypeError, "column x contains a list"),
        ({"x": {"a": 1}}, MetricTypeError, "Value of type <class 'dict'> is not supported"),
        ({}, UserErrorException, "at least one column"),
        ({"x": 2**70}, UserErrorException, "64 bits"),
    ],
    ids=["list", "tuple", "ndarray", "dict", "empty", "big-int"],
)
def test_log_row_bad_values(
    run: Run, kwargs: dict[str, Any], kind: type[BaseException], match: str
) -> None:
    _assert_rejected(run, lambda: run.log_row("r", **kwargs), kind, match)


def test_log_row_bad_column_name(run: Run) -> None:
    _assert_rejected(
        run, lambda: run.log_row("r", **{"bad\n": 1}), UserErrorException, "Column name"
    )


# ---------------------------------------------------------------------- log_table ----
def test_log_table_values(run: Run) -> None:
    run.log_table("t", {"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    run.log_table("single", {"x": [1], "y": ["a"]})
    run.log_table("scalars", {"x": 1, "y": "a"})
    run.log_table("arr", {"x": np.arange(2), "y": np.array([0.5, 1.5])})
    metrics = run.get_metrics()
    assert metrics["t"] == {"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]}
    assert metrics["single"] == {"x": [1], "y": ["a"]}  # deliberate fix: no collapse
    assert metrics["scalars"] == {"x": [1], "y": ["a"]}
    assert metrics["arr"] == {"x": [0, 1], "y": [0.5, 1.5]}


def test_log_table_twice_appends_rows(run: Run) -> None:
    run.log_table("t", {"x": [1], "y": [2]})
    run.log_table("t", {"x": [3], "y": [4]})
    assert run.get_metrics()["t"] == {"x": [1, 3], "y": [2, 4]}


def test_log_row_then_log_table_mix(run: Run) -> None:
    run.log_row("t", x=1, y=2)
    run.log_table("t", {"x": [3, 5], "y": [4, 6]})
    assert run.get_metrics()["t"] == {"x": [1, 3, 5], "y": [2, 4, 6]}


def test_log_table_unequal_columns_exact_v1_message(run: Run) -> None:
    _assert_rejected(
        run,
        lambda: run.log_table("t", {"x": [1, 2], "y": [1]}),
        UserErrorException,
        "^Columns must have the same length, column x had length 2, however, column y had "
        "length 1.$",
    )


@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        ([1, 2], MetricTypeError, "needs a dict of columns"),
        ("x", MetricTypeError, "needs a dict of columns"),
        (None, MetricTypeError, "needs a dict of columns"),
        ({}, UserErrorException, "at least one column"),
        ({"x": []}, UserErrorException, "empty"),
        ({"x": {"a": 1}}, MetricTypeError, "is a dict"),
        ({"x": [[1]]}, MetricTypeError, "contains a list"),
        ({1: [1]}, MetricTypeError, "Column name must be a str"),
        ({"x": [1, 2**70]}, UserErrorException, "64 bits"),
    ],
    ids=[
        "list",
        "str",
        "none",
        "empty",
        "empty-column",
        "dict-column",
        "nested",
        "int-key",
        "big-int",
    ],
)
def test_log_table_bad_values(run: Run, value: Any, kind: type[BaseException], match: str) -> None:
    _assert_rejected(run, lambda: run.log_table("t", value), kind, match)


# ---------------------------------------------------------------------- log_image ----
def test_log_image_path(run: Run, tmp_path: Path) -> None:
    image = tmp_path / "pic.png"
    image.write_bytes(PNG_1x1)
    run.log_image("pic", path=image)
    value = run.get_metrics()["pic"]
    assert value.startswith(f"aml://artifactId/ExperimentRun/dcid.{run.id}/")
    stored_name = value.split(f"dcid.{run.id}/", 1)[1]
    assert stored_name in run.get_file_names()
    assert run.get_file_path(stored_name).read_bytes() == PNG_1x1
    populated = run.get_metrics(populate=True)["pic"]
    assert populated == PNG_1x1


def test_log_image_real_matplotlib_figure(run: Run) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    run.log_image("fig", plot=figure)
    run.log_image("pyplot", plot=plt)
    plt.close(figure)
    data = run.get_metrics(populate=True)
    assert data["fig"][:8] == b"\x89PNG\r\n\x1a\n"
    assert data["pyplot"][:8] == b"\x89PNG\r\n\x1a\n"
    assert len(run.get_file_names()) == 2


def test_log_image_errors(run: Run, tmp_path: Path) -> None:
    image = tmp_path / "pic.png"
    image.write_bytes(PNG_1x1)
    text = tmp_path / "notes.txt"
    text.write_text("not an image", encoding="utf-8")
    _assert_rejected(
        run,
        lambda: run.log_image("i", path=image, plot=object()),
        UserErrorException,
        "^Invalid parameters, path and plot were both provided, only one at a time is supported$",
    )
    _assert_rejected(
        run,
        lambda: run.log_image("i"),
        UserErrorException,
        "^Invalid parameters, one of path and plot is required as input$",
    )
    _assert_rejected(
        run,
        lambda: run.log_image("i", path=text),
        UserErrorException,
        r"Argument \[.*\] is malformed",
    )
    _assert_rejected(
        run,
        lambda: run.log_image("i", path=tmp_path / "missing.png"),
        UserErrorException,
        "is malformed",
    )
    _assert_rejected(
        run,
        lambda: run.log_image("i", plot="not a plot"),
        MetricTypeError,
        r"Argument \[plot\] is of invalid type. Expected type: \[matplotlib.pyplot\]",
    )
    _assert_rejected(run, lambda: run.log_image("i", path=5), MetricTypeError, "path")


def test_log_image_with_failing_savefig_leaves_nothing(run: Run) -> None:
    class Broken:
        def savefig(self, *args: Any, **kwargs: Any) -> None:
            raise ValueError("cannot render")

    _assert_rejected(run, lambda: run.log_image("i", plot=Broken()), ValueError, "cannot render")
    run.log("i", 1)  # the name was not taken by the failed call
    assert run.get_metrics() == {"i": 1}


# --------------------------------------------------------------------- JSON calls ----
JSON_CALLS = ["log_confusion_matrix", "log_accuracy_table", "log_residuals", "log_predictions"]


@pytest.mark.parametrize("call", JSON_CALLS)
def test_json_artifact_calls(run: Run, call: str) -> None:
    getattr(run, call)("as_dict", {"data": {"a": [1, 2]}, "schema_type": "x"})
    getattr(run, call)("as_str", json.dumps({"a": 1}))
    metrics = run.get_metrics()
    for name in ("as_dict", "as_str"):
        assert metrics[name].startswith(f"aml://artifactId/ExperimentRun/dcid.{run.id}/")
    populated = run.get_metrics(populate=True)
    assert populated["as_dict"] == {"data": {"a": [1, 2]}, "schema_type": "x"}
    assert populated["as_str"]["data"] == {"a": 1}
    assert populated["as_str"]["schema_version"] == "1.0.0"


@pytest.mark.parametrize("call", JSON_CALLS)
@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        ("{not json", UserErrorException, "Invalid JSON provided"),
        ("[1, 2]", MetricTypeError, "needs a dict"),
        (5, MetricTypeError, "needs a dict"),
        ({"a": object()}, UserErrorException, "cannot be stored as JSON"),
    ],
    ids=["bad-json", "json-list", "int", "unserialisable"],
)
def test_json_artifact_bad_values(
    run: Run, call: str, value: Any, kind: type[BaseException], match: str
) -> None:
    _assert_rejected(run, lambda: getattr(run, call)("cm", value), kind, match)


def test_json_numpy_values(run: Run) -> None:
    run.log_confusion_matrix("cm", {"m": np.eye(2), "n": np.int64(3)})
    assert run.get_metrics(populate=True)["cm"]["data"] == {"m": [[1.0, 0.0], [0.0, 1.0]], "n": 3}


# ----------------------------------------------------------------- kind conflicts ----
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("log", "log_list"),
        ("log_list", "log"),
        ("log", "log_row"),
        ("log_table", "log"),
        ("log", "log_confusion_matrix"),
        ("log_list", "log_table"),
    ],
)
def test_kind_conflicts_are_clear_errors(run: Run, first: str, second: str) -> None:
    calls: dict[str, Callable[[], None]] = {
        "log": lambda: run.log("m", 1),
        "log_list": lambda: run.log_list("m", [1]),
        "log_row": lambda: run.log_row("m", x=1),
        "log_table": lambda: run.log_table("m", {"x": [1]}),
        "log_confusion_matrix": lambda: run.log_confusion_matrix("m", {"a": 1}),
    }
    calls[first]()
    _assert_rejected(run, calls[second], UserErrorException, "cannot also be logged with")


def test_kind_conflict_against_a_stored_metric_from_another_handle(
    exp: Experiment, run: Run
) -> None:
    run.log("m", 1)
    run.flush()
    other = Run(exp, run.id)
    with pytest.raises(UserErrorException, match=r"was logged with run\.log"):
        other.log_list("m", [1])
    assert run.get_metrics() == {"m": 1}


# ------------------------------------------------------------------------ streams ----
def test_values_logged_from_many_handles_interleave_in_order(exp: Experiment, run: Run) -> None:
    other = Run(exp, run.id)
    run.log("a", 1)
    other.log("a", 2)
    run.log("a", 3)
    assert run.get_metrics() == {"a": [1, 2, 3]}


def test_bytes_stream_is_not_a_metric(run: Run) -> None:
    with pytest.warns(RunWidgetsWarning):
        run.log("b", io.BytesIO(b"x"))
    assert run.get_metrics()["b"].startswith("<_io.BytesIO")


def test_conflict_found_at_flush_drops_only_that_metric(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    from run_widgets.store import AppendPoints, open_store

    run.log("other", 1)  # this process now knows the run's metric kinds
    outside = open_store(run.workspace.store.uri)  # "another process"
    outside.write(
        [AppendPoints(run.id, "m", "list", np.array([7, 8]), np.full(2, time.time()), None, "")]
    )
    outside.close()
    run.log("m", 1.0)
    run.log("keep", 2)
    with pytest.raises(UserErrorException, match="cannot also be logged"):
        run.flush()
    assert "dropped 1 point(s) of metric 'm'" in capsys.readouterr().err
    run.log("keep", 3)
    run.flush()  # not blocked by the dropped points
    assert run.get_metrics() == {"other": 1, "m": [7, 8], "keep": [2, 3]}


@pytest.mark.parametrize(
    "value",
    [np.bytes_(b"ab"), np.complex128(1 + 2j), np.datetime64("2020-01-01")],
    ids=["bytes_", "complex", "datetime64"],
)
def test_numpy_scalars_without_a_number_are_handled(run: Run, value: Any) -> None:
    with pytest.warns(RunWidgetsWarning):
        run.log("v", value)
    assert run.get_metrics()["v"] == repr(value.item())
    _assert_rejected(run, lambda: run.log_list("l", [value]), MetricTypeError, "not supported")
    run.log("after", 1)
    assert run.get_metrics()["after"] == 1  # nothing poisoned the buffer
