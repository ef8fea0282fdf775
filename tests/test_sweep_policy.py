"""Early-termination policies (pure decisions) and HyperDriveConfig validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from run_widgets import ScriptRunConfig
from run_widgets.exceptions import UserErrorException
from run_widgets.sweep import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    TruncationSelectionPolicy,
    choice,
    loguniform,
    uniform,
)
from run_widgets.sweep.policy import policy_from_json

MIN, MAX = "MINIMIZE", "MAXIMIZE"


def judge(policy, goal: str, histories: dict[str, list[float]], run_id: str) -> bool:
    return policy.should_terminate(goal, histories, run_id)


# ------------------------------------------------------------------------- bandit --
def test_bandit_slack_factor_maximize_is_v1_ratio() -> None:
    """v1 docs: best 0.8, slack_factor 0.2 → runs below 0.8 / 1.2 = 0.667 stop."""
    policy = BanditPolicy(slack_factor=0.2)
    assert policy.limit(0.8, MAX) == pytest.approx(0.8 / 1.2)
    histories = {"best": [0.8], "ok": [0.67], "bad": [0.66]}
    assert not judge(policy, MAX, histories, "best")
    assert not judge(policy, MAX, histories, "ok")
    assert judge(policy, MAX, histories, "bad")


def test_bandit_slack_factor_minimize() -> None:
    policy = BanditPolicy(slack_factor=0.2)
    histories = {"best": [1.0], "ok": [1.19], "bad": [1.21]}
    assert not judge(policy, MIN, histories, "best")
    assert not judge(policy, MIN, histories, "ok")
    assert judge(policy, MIN, histories, "bad")
    # A negative best (e.g. a log-likelihood to minimise) still allows a slack *above* it.
    negative = {"best": [-10.0], "ok": [-8.5], "bad": [-7.5]}
    assert not judge(policy, MIN, negative, "ok")
    assert judge(policy, MIN, negative, "bad")


def test_bandit_slack_amount_both_goals() -> None:
    policy = BanditPolicy(slack_amount=0.5)
    low = {"best": [2.0], "ok": [2.4], "bad": [2.6]}
    assert not judge(policy, MIN, low, "ok")
    assert judge(policy, MIN, low, "bad")
    high = {"best": [2.0], "ok": [1.6], "bad": [1.4]}
    assert not judge(policy, MAX, high, "ok")
    assert judge(policy, MAX, high, "bad")


def test_bandit_compares_at_the_same_interval_with_running_bests() -> None:
    policy = BanditPolicy(slack_amount=0.1)
    histories = {
        "fast": [1.0, 0.5, 0.1],  # reached 0.1 only at its third report
        "slow": [1.05, 0.58],
    }
    # At interval 2 the reference is the best reached by interval 2 (0.5), not 0.1.
    assert not policy.should_terminate(MIN, histories, "slow", point=2)
    assert policy.should_terminate(MIN, {**histories, "slow": [1.05, 0.65]}, "slow", point=2)
    # A run's own best so far counts: an early good value keeps it alive.
    assert not policy.should_terminate(MIN, {**histories, "slow": [0.55, 3.0]}, "slow", point=2)
    # Non-numeric (nan) reports are ignored.
    nan = float("nan")
    assert not policy.should_terminate(MIN, {"a": [nan], "b": [1.0]}, "a", point=1)


def test_bandit_delay_and_interval() -> None:
    policy = BanditPolicy(evaluation_interval=2, slack_amount=0.0, delay_evaluation=5)
    assert [n for n in range(1, 13) if policy.due(n)] == [6, 8, 10, 12]
    every = BanditPolicy(slack_amount=0.0, delay_evaluation=3)
    assert [n for n in range(1, 7) if every.due(n)] == [3, 4, 5, 6]  # v1: from delay on
    assert [n for n in range(1, 4) if BanditPolicy(slack_amount=0.0).due(n)] == [1, 2, 3]
    assert list(policy.points(11)) == [10, 8, 6]  # latest first
    assert list(policy.points(5)) == []
    histories = {"good": [0.0] * 12, "bad": [9.0] * 12}
    for n in range(1, 13):
        view = {k: v[:n] for k, v in histories.items()}
        # Without a point: judged at the latest evaluation point reached (none before 6).
        assert judge(policy, MIN, view, "bad") == (n >= 6)


def test_a_run_ahead_of_the_others_is_judged_where_they_are() -> None:
    """A bad run that logs faster is compared at the latest point the others reached."""
    policy = BanditPolicy(slack_amount=0.5, delay_evaluation=2)
    histories = {"bad": [5.0] * 9, "good": [1.0, 1.0]}
    assert judge(policy, MIN, histories, "bad")
    assert not judge(policy, MIN, {"bad": [5.0] * 9, "good": [1.0]}, "bad")  # before delay
    median = MedianStoppingPolicy()
    three = {"bad": [5.0] * 9, "a": [1.0] * 3, "b": [1.2] * 4}
    assert median.should_terminate(MIN, three, "bad")
    assert not median.should_terminate(MIN, {"bad": [5.0] * 9, "a": [1.0] * 3}, "bad")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of slack_factor or slack_amount"),
        ({"slack_factor": 0.1, "slack_amount": 0.1}, "exactly one"),
        ({"slack_factor": -0.1}, "slack_factor must be a non-negative"),
        ({"slack_amount": "1"}, "slack_amount must be a non-negative"),
        ({"slack_amount": float("nan")}, "slack_amount"),
        ({"slack_factor": 0.1, "evaluation_interval": 0}, "evaluation_interval"),
        ({"slack_factor": 0.1, "delay_evaluation": -1}, "delay_evaluation"),
        ({"slack_factor": 0.1, "delay_evaluation": True}, "delay_evaluation"),
        ({"slack_factor": 0.1, "evaluation_interval": 1.5}, "evaluation_interval"),
    ],
)
def test_bandit_errors(kwargs, message) -> None:
    with pytest.raises(UserErrorException, match=message):
        BanditPolicy(**kwargs)


# ----------------------------------------------------------------- median stopping --
def test_median_stopping() -> None:
    policy = MedianStoppingPolicy()
    assert policy.delay_evaluation == 0  # v1 default
    histories = {
        "a": [1.0, 0.8, 0.6],
        "b": [1.1, 0.9, 0.7],
        "c": [0.9, 0.7, 0.5],
        "bad": [3.0, 2.9, 2.8],
    }
    assert policy.should_terminate(MIN, histories, "bad")
    for good in "abc":
        assert not policy.should_terminate(MIN, histories, good)
    flipped = {k: [-v for v in values] for k, values in histories.items()}
    assert policy.should_terminate(MAX, flipped, "bad")
    assert not policy.should_terminate(MAX, flipped, "a")
    # Needs two other runs that reached the interval.
    assert not policy.should_terminate(MIN, {"a": [1.0], "bad": [9.0]}, "bad")
    fewer = {"a": [1.0], "b": [1.0, 1.0], "bad": [9, 9]}
    assert not policy.should_terminate(MIN, fewer, "bad", point=2)
    assert policy.should_terminate(MIN, fewer, "bad")  # judged at 1, where a and b are
    delayed = MedianStoppingPolicy(evaluation_interval=1, delay_evaluation=4)
    assert not delayed.should_terminate(MIN, histories, "bad")
    assert delayed.should_terminate(MIN, {k: v + v[-1:] for k, v in histories.items()}, "bad")


def test_median_stopping_uses_best_value_against_running_averages() -> None:
    # "late" had a bad start but its best value beats the median of the averages.
    histories = {"a": [1.0, 1.0], "b": [1.2, 1.2], "c": [1.1, 1.1], "late": [5.0, 0.9]}
    assert not MedianStoppingPolicy().should_terminate(MIN, histories, "late")


def test_truncation_selection() -> None:
    histories = {"a": [1.0], "b": [2.0], "c": [3.0], "d": [4.0]}
    quarter = TruncationSelectionPolicy(25)
    assert [r for r in histories if quarter.should_terminate(MIN, histories, r)] == ["d"]
    assert [r for r in histories if quarter.should_terminate(MAX, histories, r)] == ["a"]
    half = TruncationSelectionPolicy(50)
    assert [r for r in histories if half.should_terminate(MIN, histories, r)] == ["c", "d"]
    assert not any(
        TruncationSelectionPolicy(20).should_terminate(MIN, histories, r) for r in "abcd"
    )
    excluding = TruncationSelectionPolicy(25, exclude_finished_jobs=True)
    assert not excluding.should_terminate(MIN, histories, "d", point=1, finished={"a"})
    for bad in (0, 100, 12.5, True):
        with pytest.raises(UserErrorException, match="truncation_percentage"):
            TruncationSelectionPolicy(bad)


def test_no_termination_and_json_round_trip() -> None:
    histories = {"good": [0.0] * 5, "bad": [100.0] * 5}
    assert not NoTerminationPolicy().should_terminate(MIN, histories, "bad")
    for policy in (
        NoTerminationPolicy(),
        BanditPolicy(evaluation_interval=2, slack_factor=0.1, delay_evaluation=3),
        BanditPolicy(slack_amount=0.5),
        MedianStoppingPolicy(evaluation_interval=3, delay_evaluation=2),
        TruncationSelectionPolicy(30, 2, 1, exclude_finished_jobs=True),
    ):
        data = json.loads(json.dumps(policy.to_json()))
        again = policy_from_json(data)
        assert type(again) is type(policy) and again.to_json() == policy.to_json()
    assert isinstance(policy_from_json(None), NoTerminationPolicy)
    with pytest.raises(UserErrorException, match="Unknown early-termination policy"):
        policy_from_json({"name": "Hyperband"})
    assert "slack_factor=0.1" in repr(BanditPolicy(slack_factor=0.1))


# ------------------------------------------------------------------------- config --
@pytest.fixture
def script_config(tmp_path: Path) -> ScriptRunConfig:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('hi')\n")
    return ScriptRunConfig(source_directory=tmp_path / "src", script="train.py")


GRID = GridParameterSampling({"--alpha": choice(0.1, 0.2, 0.3)})


def base(**changes):
    kwargs = {
        "hyperparameter_sampling": GRID,
        "primary_metric_name": "mse",
        "primary_metric_goal": PrimaryMetricGoal.MINIMIZE,
        "max_total_runs": 3,
        "max_concurrent_runs": 2,
        "function": lambda params, run: None,
    }
    kwargs.update(changes)
    return kwargs


def test_config_the_issue_example(script_config: ScriptRunConfig) -> None:
    sampling = GridParameterSampling({"--alpha": choice(*[i / 20 for i in range(20)])})
    config = HyperDriveConfig(
        run_config=script_config,
        hyperparameter_sampling=sampling,
        primary_metric_name="mse",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_total_runs=20,
        max_concurrent_runs=4,
        policy=None,
    )
    assert config.kind == "script"
    assert isinstance(config.policy, NoTerminationPolicy)
    settings = json.loads(json.dumps(config.sweep_settings()))
    assert settings["primary_metric"] == {"name": "mse", "goal": "MINIMIZE"}
    assert settings["max_total_runs"] == 20 and settings["max_concurrent_runs"] == 4
    assert settings["sampling"]["name"] == "GRID"
    assert settings["policy"]["name"] == "NoTermination"
    assert "max_total_runs=20" in repr(config)


def test_config_defaults_and_normalisation() -> None:
    config = HyperDriveConfig(
        **base(max_total_runs=None, max_concurrent_runs=None, primary_metric_goal="maximize")
    )
    assert config.primary_metric_goal is PrimaryMetricGoal.MAXIMIZE
    assert config.max_total_runs == 3  # a grid's size
    assert 1 <= config.max_concurrent_runs <= 3
    assert HyperDriveConfig(**base(max_total_runs=50)).max_total_runs == 3  # capped to the grid
    random = RandomParameterSampling({"--alpha": loguniform(-6, 0), "--l1": uniform(0, 1)})
    config = HyperDriveConfig(**base(hyperparameter_sampling=random, max_total_runs=50))
    assert config.max_total_runs == 50 and config.kind == "function"
    assert config.sweep_settings()["log_scale_parameters"] == ["--alpha"]
    policy = BanditPolicy(slack_factor=0.1)
    assert HyperDriveConfig(**base(policy=policy)).sweep_settings()["policy"]["name"] == "Bandit"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"function": None}, "exactly one of run_config"),
        ({"function": 3}, "function must be callable"),
        ({"run_config": "train.py"}, "exactly one of run_config"),
        ({"run_config": "train.py", "function": None}, "run_config must be a ScriptRunConfig"),
        ({"hyperparameter_sampling": None}, "hyperparameter_sampling"),
        ({"hyperparameter_sampling": {"--alpha": choice(1)}}, "hyperparameter_sampling"),
        ({"primary_metric_name": ""}, "primary_metric_name"),
        ({"primary_metric_name": None}, "primary_metric_name"),
        ({"primary_metric_goal": None}, "primary_metric_goal"),
        ({"primary_metric_goal": "down"}, "primary_metric_goal"),
        ({"max_total_runs": 0}, "max_total_runs must be a positive int"),
        ({"max_total_runs": 2.5}, "max_total_runs"),
        ({"max_total_runs": True}, "max_total_runs"),
        ({"max_concurrent_runs": 0}, "max_concurrent_runs must be a positive int"),
        ({"max_duration_minutes": 0}, "max_duration_minutes"),
        ({"max_duration_minutes": "10"}, "max_duration_minutes"),
        ({"policy": "bandit"}, "policy must be"),
        ({"estimator": object()}, "estimator=...\\) is not supported"),
        ({"pipeline": object()}, "pipeline"),
        ({"resume_from": "HD_1"}, "resume_from"),
        ({"custom_run_id": ""}, "custom_run_id"),
    ],
)
def test_config_errors(changes, message) -> None:
    with pytest.raises(UserErrorException, match=message):
        HyperDriveConfig(**base(**changes))


def test_config_random_needs_max_total_runs() -> None:
    random = RandomParameterSampling({"--alpha": uniform(0, 1)})
    with pytest.raises(UserErrorException, match="max_total_runs is required"):
        HyperDriveConfig(**base(hyperparameter_sampling=random, max_total_runs=None))


def test_config_unknown_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max_concurent_runs"):
        HyperDriveConfig(**base(max_concurent_runs=2))
    HyperDriveConfig(**base(debug_flag=True))  # a v1 argument, accepted and ignored
