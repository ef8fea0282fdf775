"""Parameter expressions, samplers and argument merging of sweeps (no processes)."""

from __future__ import annotations

import json
import math
import random
import statistics

import numpy as np
import pytest

from run_widgets.exceptions import UserErrorException
from run_widgets.sweep import (
    GridParameterSampling,
    RandomParameterSampling,
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)
from run_widgets.sweep.executor import child_labels, child_run_id, merged_arguments
from run_widgets.sweep.space import (
    Expression,
    argument_name,
    display_name,
    hyperparameters_json,
    sampling_from_json,
)


def draws(expression: Expression, n: int = 2000, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [expression.sample(rng) for _ in range(n)]


# ------------------------------------------------------------------------- choice --
@pytest.mark.parametrize(
    ("made", "options"),
    [
        (lambda: choice(1, 2, 3), (1, 2, 3)),
        (lambda: choice([1, 2, 3]), (1, 2, 3)),
        (lambda: choice((0.1, 0.2)), (0.1, 0.2)),
        (lambda: choice(range(3)), (0, 1, 2)),
        (lambda: choice("relu", "tanh"), ("relu", "tanh")),
        (lambda: choice(["relu"]), ("relu",)),
        (lambda: choice(True, False), (True, False)),
        (lambda: choice(7), (7,)),
        (lambda: choice("abc"), ("abc",)),  # one string is one option, not three letters
    ],
)
def test_choice_forms(made, options) -> None:
    expression = made()
    assert expression.kind == "choice"
    assert expression.args == options
    assert set(draws(expression, 300)) == set(options)


def test_choice_of_numpy_values_gives_python_numbers() -> None:
    alphas = np.arange(0.0, 1.0, 0.05)
    for expression in (choice(alphas), choice(*alphas), choice(list(alphas))):
        assert len(expression.args) == 20
        assert all(type(a) is float for a in expression.args)
        assert list(expression.args) == alphas.tolist()
    ints = choice(np.arange(3))
    assert ints.args == (0, 1, 2) and all(type(i) is int for i in ints.args)
    json.dumps(ints.to_json())  # numpy ints would not serialise


@pytest.mark.parametrize(
    "args",
    [(), ([],), (None,), ([1, [2]],), (float("nan"),), (math.inf,), ({"a": 1},), (object(),)],
)
def test_choice_errors(args) -> None:
    with pytest.raises(UserErrorException, match="choice"):
        choice(*args)


# ------------------------------------------------------------------ distributions --
def test_uniform_bounds() -> None:
    values = draws(uniform(-2, 3))
    assert all(-2 <= v <= 3 for v in values)
    assert min(values) < -1.9 and max(values) > 2.9
    assert abs(statistics.mean(values) - 0.5) < 0.15


@pytest.mark.parametrize("make", [uniform, loguniform])
@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        (1, 1, "less than"),
        (2, 1, "less than"),
        (float("nan"), 1, "finite number"),
        (0, math.inf, "finite number"),
        ("0", 1, "finite number"),
        (True, 2, "finite number"),
        (None, 1, "finite number"),
    ],
)
def test_bounds_errors(make, low, high, message) -> None:
    with pytest.raises(UserErrorException, match=message) as info:
        make(low, high)
    assert make.__name__ in str(info.value)


def test_loguniform_has_v1_semantics_bounds_are_logarithms() -> None:
    """v1: loguniform(lo, hi) = exp(uniform(lo, hi)), not a draw between lo and hi."""
    expression = loguniform(-6, 0)
    values = draws(expression, 3000)
    assert all(math.exp(-6) <= v <= 1.0 for v in values)
    assert min(values) < 0.01  # would be impossible for a uniform draw in [-6, 0] ... or [0, 1]
    assert all(v > 0 for v in values)
    logs = [math.log(v) for v in values]
    assert abs(statistics.mean(logs) - (-3)) < 0.15  # the logarithm is uniform
    assert abs(sum(lg < -3 for lg in logs) / len(logs) - 0.5) < 0.05
    # Exactly exp of the uniform draw with the same generator state.
    assert expression.sample(random.Random(5)) == math.exp(random.Random(5).uniform(-6, 0))
    assert expression.log_scale and not uniform(0, 1).log_scale


def test_quniform_rounds_to_multiples_of_q() -> None:
    values = draws(quniform(0, 10, 2.5), 500)
    assert set(values) == {0.0, 2.5, 5.0, 7.5, 10.0}
    tenths = set(draws(quniform(0, 1, 0.1), 2000))
    assert tenths == {round(k / 10, 1) for k in range(11)}  # 0.3, not 0.30000000000000004
    assert 0.3 in tenths
    # round(uniform / q) * q: the ends get half the weight of the inner values.
    counts = [v for v in draws(quniform(0, 4, 1), 4000)]
    assert 0.08 < counts.count(0.0) / 4000 < 0.17
    assert 0.2 < counts.count(2.0) / 4000 < 0.3


@pytest.mark.parametrize("q", [0, -1, float("nan"), "1"])
def test_quniform_bad_q(q) -> None:
    with pytest.raises(UserErrorException, match="quniform: q"):
        quniform(0, 1, q)


def test_randint_range() -> None:
    values = draws(randint(5), 500)
    assert set(values) == {0, 1, 2, 3, 4}
    assert all(type(v) is int for v in values)
    assert draws(randint(1), 20) == [0] * 20
    assert randint(np.int64(3)).args == (3,)


@pytest.mark.parametrize("upper", [0, -1, 2.5, True, "3", None])
def test_randint_errors(upper) -> None:
    with pytest.raises(UserErrorException, match="randint"):
        randint(upper)


def test_normal_and_its_variants() -> None:
    values = draws(normal(10, 2), 4000)
    assert abs(statistics.mean(values) - 10) < 0.2
    assert abs(statistics.stdev(values) - 2) < 0.2
    with pytest.raises(UserErrorException, match="sigma must be positive"):
        normal(0, 0)
    with pytest.raises(UserErrorException, match="normal: mu"):
        normal(math.nan, 1)
    assert all(v > 0 for v in draws(lognormal(0, 1), 200))
    assert abs(statistics.median(draws(lognormal(0, 1), 3000)) - 1.0) < 0.1
    assert all(v % 5 == 0 for v in draws(qnormal(50, 20, 5), 300))
    assert all(v % 2 == 0 for v in draws(qlognormal(3, 1, 2), 300))
    q_log = draws(qloguniform(0, 3, 1), 300)
    assert set(q_log) <= {float(k) for k in range(1, 21)}
    assert qloguniform(0, 3, 1).log_scale and lognormal(0, 1).log_scale


def test_expression_json_round_trip() -> None:
    for expression in (
        choice(1, "a", 2.5),
        uniform(0, 1),
        loguniform(-3, 0),
        quniform(0, 1, 0.25),
        randint(4),
        normal(0, 1),
        qloguniform(0, 2, 1),
    ):
        data = json.loads(json.dumps(expression.to_json()))
        assert Expression.from_json(data) == expression
    assert choice(0.1, 0.2).to_json() == ["choice", [[0.1, 0.2]]]  # v1's form
    with pytest.raises(UserErrorException, match="Unknown parameter expression"):
        Expression.from_json(["beta", [1, 2]])


# ---------------------------------------------------------------------------- grid --
def test_grid_all_combinations_in_order() -> None:
    grid = GridParameterSampling({"--a": choice(1, 2), "--b": choice("x", "y", "z")})
    assert grid.size == 6
    assert list(grid.samples(100)) == [
        {"--a": 1, "--b": "x"},
        {"--a": 1, "--b": "y"},
        {"--a": 1, "--b": "z"},
        {"--a": 2, "--b": "x"},
        {"--a": 2, "--b": "y"},
        {"--a": 2, "--b": "z"},
    ]
    assert list(grid.samples(4)) == list(grid.samples(100))[:4]  # the max_total cap
    assert grid.to_json() == {
        "name": "GRID",
        "parameter_space": {"--a": ["choice", [[1, 2]]], "--b": ["choice", [["x", "y", "z"]]]},
    }
    rebuilt = sampling_from_json(json.loads(json.dumps(grid.to_json())))
    assert list(rebuilt.samples(100)) == list(grid.samples(100))


@pytest.mark.parametrize("expression", [uniform(0, 1), loguniform(-2, 0), randint(3), normal(0, 1)])
def test_grid_accepts_only_choice(expression) -> None:
    with pytest.raises(UserErrorException) as info:
        GridParameterSampling({"--alpha": choice(0.1, 0.2), "--beta": expression})
    message = str(info.value)
    assert "GridParameterSampling supports only choice" in message
    assert "'--beta'" in message and f"{expression.kind}(...)" in message
    assert "RandomParameterSampling" in message


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "non-empty dict"),
        (None, "non-empty dict"),
        ([("--a", choice(1))], "non-empty dict"),
        ({"--a": [1, 2]}, "must be a parameter expression"),
        ({"--a": 0.5}, "must be a parameter expression"),
        ({"--": choice(1)}, "argument names"),
        ({" a": choice(1)}, "argument names"),
        ({3: choice(1)}, "argument names"),
    ],
)
def test_space_errors(space, message) -> None:
    for sampler in (GridParameterSampling, RandomParameterSampling):
        with pytest.raises(UserErrorException, match=message):
            sampler(space)


def test_grid_too_large() -> None:
    with pytest.raises(UserErrorException, match="limit"):
        GridParameterSampling({f"--p{i}": choice(*range(10)) for i in range(6)})


# -------------------------------------------------------------------------- random --
SPACE = {
    "--alpha": loguniform(-6, 0),
    "--l1": uniform(0, 1),
    "--depth": randint(10),
    "--act": choice("relu", "tanh"),
}


def test_random_same_seed_same_samples() -> None:
    first = list(RandomParameterSampling(SPACE, seed=42).samples(30))
    again = list(RandomParameterSampling(SPACE, seed=42).samples(30))
    v1_style = list(RandomParameterSampling(SPACE, properties={"rndseed": 42}).samples(30))
    assert first == again == v1_style
    assert len(first) == 30 and set(first[0]) == set(SPACE)
    assert list(RandomParameterSampling(SPACE, seed=42).samples(10)) == first[:10]
    # The driver rebuilds the sampler from the stored JSON: same draws.
    stored = json.loads(json.dumps(RandomParameterSampling(SPACE, seed=42).to_json()))
    assert stored["seed"] == 42
    assert list(sampling_from_json(stored).samples(30)) == first


def test_random_different_seeds_differ() -> None:
    a = list(RandomParameterSampling(SPACE, seed=1).samples(10))
    b = list(RandomParameterSampling(SPACE, seed=2).samples(10))
    assert a != b
    assert [x["--alpha"] for x in a] != [x["--alpha"] for x in b]
    # Without a seed two samplers (almost surely) differ too.
    c = list(RandomParameterSampling(SPACE).samples(10))
    d = list(RandomParameterSampling(SPACE).samples(10))
    assert c != d


def test_random_values_respect_each_expression() -> None:
    for params in RandomParameterSampling(SPACE, seed=3).samples(200):
        assert math.exp(-6) <= params["--alpha"] <= 1
        assert 0 <= params["--l1"] <= 1
        assert params["--depth"] in range(10)
        assert params["--act"] in ("relu", "tanh")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": 1.5},
        {"seed": "1"},
        {"seed": True},
        {"properties": {"rndseed": "x"}},
        {"properties": 3},
    ],
)
def test_random_seed_errors(kwargs) -> None:
    with pytest.raises(UserErrorException, match=r"seed|properties"):
        RandomParameterSampling(SPACE, **kwargs)


def test_random_numpy_seed() -> None:
    assert RandomParameterSampling(SPACE, seed=np.int64(4)).seed == 4


# ---------------------------------------------------------------- argument merging --
def test_argument_and_display_names() -> None:
    assert argument_name("--alpha") == "--alpha"
    assert argument_name("alpha") == "--alpha"
    assert argument_name("-a") == "-a"
    assert display_name("--alpha") == "alpha"
    assert display_name("alpha") == "alpha"


def test_merged_arguments() -> None:
    assert merged_arguments([], {"--alpha": 0.35}) == ["--alpha", "0.35"]
    assert merged_arguments(["--data", "d.csv"], {"alpha": 0.35, "--k": 3}) == [
        "--data",
        "d.csv",
        "--alpha",
        "0.35",
        "--k",
        "3",
    ]
    # A value given in the ScriptRunConfig is replaced, not repeated.
    assert merged_arguments(["--alpha", "1", "--data", "d.csv"], {"--alpha": 0.5}) == [
        "--data",
        "d.csv",
        "--alpha",
        "0.5",
    ]
    assert merged_arguments(["--alpha=1", "--alphabet", "x"], {"--alpha": 0.5}) == [
        "--alphabet",
        "x",
        "--alpha",
        "0.5",
    ]
    assert merged_arguments(["--n", 3], {"--alpha": 0.15000000000000002}) == [
        "--n",
        "3",
        "--alpha",
        "0.15000000000000002",  # repr round-trips: the script gets the exact float
    ]


def test_child_labels_and_ids() -> None:
    tags, properties = child_labels({"--alpha": 0.25, "act": "relu"})
    assert tags == {"alpha": "0.25", "act": "relu"}
    assert json.loads(properties["hyperparameters"]) == {"alpha": 0.25, "act": "relu"}
    assert hyperparameters_json({"--alpha": 0.1}) == '{"alpha": 0.1}'
    assert child_run_id("HD_abc", 7) == "HD_abc_7"
