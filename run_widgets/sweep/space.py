"""Parameter expressions and samplers, with the Azure ML v1 HyperDrive names and meanings.

=====================  =========================================================
expression             draws
=====================  =========================================================
``choice(*options)``   one of the options (``choice(0.1, 0.2)`` or ``choice([...])``)
``uniform(lo, hi)``    a float uniformly in [lo, hi]
``loguniform(lo, hi)`` ``exp(uniform(lo, hi))``: as in v1, the bounds are *logarithms*
                       (``loguniform(-6, 0)`` gives values between e⁻⁶ and 1)
``quniform(lo, hi, q)`` ``round(uniform(lo, hi) / q) * q``
``randint(n)``         an integer in [0, n)
``normal(mu, sigma)``  a float from a normal distribution
``qloguniform(lo, hi, q)`` ``round(exp(uniform(lo, hi)) / q) * q``
``lognormal(mu, sigma)`` ``exp(normal(mu, sigma))``
``qnormal(mu, sigma, q)`` ``round(normal(mu, sigma) / q) * q``
``qlognormal(mu, sigma, q)`` ``round(exp(normal(mu, sigma)) / q) * q``
=====================  =========================================================

Keys of a parameter space are the script's argument names (``"--alpha"``); a key without
leading dashes is passed as ``--key``.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..exceptions import UserErrorException

MAX_GRID = 100_000
LOG_KINDS = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})
KINDS = frozenset({"choice", "uniform", "quniform", "randint", "normal", "qnormal"} | LOG_KINDS)


def _quantize(value: float, q: float) -> float:
    """``round(value / q) * q``, without the float noise of the product (0.30000000000000004)."""
    return round(round(value / q) * q, 12)


@dataclass(frozen=True)
class Expression:
    """A parameter expression: a distribution name and its arguments."""

    kind: str
    args: tuple[Any, ...]

    def sample(self, rng: random.Random) -> Any:
        """Draw one value."""
        if self.kind == "choice":
            return rng.choice(self.args)
        if self.kind == "uniform":
            return rng.uniform(*self.args)
        if self.kind == "loguniform":
            return math.exp(rng.uniform(*self.args))
        if self.kind == "quniform":
            low, high, q = self.args
            return _quantize(rng.uniform(low, high), q)
        if self.kind == "qloguniform":
            low, high, q = self.args
            return _quantize(math.exp(rng.uniform(low, high)), q)
        if self.kind == "randint":
            return rng.randrange(self.args[0])
        if self.kind == "normal":
            return rng.gauss(*self.args)
        if self.kind == "lognormal":
            return math.exp(rng.gauss(*self.args))
        if self.kind == "qnormal":
            mu, sigma, q = self.args
            return _quantize(rng.gauss(mu, sigma), q)
        if self.kind == "qlognormal":
            mu, sigma, q = self.args
            return _quantize(math.exp(rng.gauss(mu, sigma)), q)
        raise UserErrorException(f"Unknown parameter expression {self.kind!r}.")

    @property
    def log_scale(self) -> bool:
        """True for distributions best shown on a logarithmic axis."""
        return self.kind in LOG_KINDS

    def to_json(self) -> list[Any]:
        """v1's JSON form: ``["choice", [[0.1, 0.2]]]``, ``["uniform", [0, 1]]``..."""
        if self.kind == "choice":
            return ["choice", [list(self.args)]]
        return [self.kind, list(self.args)]

    @classmethod
    def from_json(cls, data: Any) -> Expression:
        """Inverse of :meth:`to_json`."""
        kind, args = data
        if kind not in KINDS:
            raise UserErrorException(f"Unknown parameter expression {kind!r}.")
        if kind == "choice":
            return cls("choice", tuple(args[0]))
        return cls(kind, tuple(args))


def _number(value: Any, what: str) -> float:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserErrorException(f"{what} must be a finite number, got {value!r}.")
    return float(value)


def _bounds(kind: str, low: Any, high: Any) -> tuple[float, float]:
    low_f, high_f = _number(low, f"{kind}: min_value"), _number(high, f"{kind}: max_value")
    if not low_f < high_f:
        raise UserErrorException(f"{kind}: min_value ({low}) must be less than max_value ({high}).")
    return low_f, high_f


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (``np.float64(0.1)`` → ``0.1``)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def choice(*options: Any) -> Expression:
    """One of ``options``: ``choice(1, 2, 3)``, ``choice([1, 2, 3])``, ``choice(range(3))``.

    A single list, tuple, range or numpy array holds the options
    (``choice(np.arange(0.0, 1.0, 0.05))``); numpy numbers become Python numbers.
    """
    if len(options) == 1 and not isinstance(options[0], (str, bytes)):
        single = options[0]
        if isinstance(single, (list, tuple, range)) or (
            type(single).__module__.startswith(("numpy", "pandas")) and hasattr(single, "__len__")
        ):
            options = tuple(single)
    options = tuple(_plain(option) for option in options)
    if not options:
        raise UserErrorException("choice needs at least one option.")
    for option in options:
        if not isinstance(option, (str, int, float, bool)) or (
            isinstance(option, float) and not math.isfinite(option)
        ):
            raise UserErrorException(
                f"choice options must be numbers, strings or booleans, got {option!r}."
            )
    return Expression("choice", tuple(options))


def uniform(min_value: float, max_value: float) -> Expression:
    """A float uniformly distributed between ``min_value`` and ``max_value``."""
    return Expression("uniform", _bounds("uniform", min_value, max_value))


def loguniform(min_value: float, max_value: float) -> Expression:
    """``exp(uniform(min_value, max_value))``: the logarithm is uniform (v1 semantics)."""
    return Expression("loguniform", _bounds("loguniform", min_value, max_value))


def quniform(min_value: float, max_value: float, q: float) -> Expression:
    """``round(uniform(min_value, max_value) / q) * q``."""
    low, high = _bounds("quniform", min_value, max_value)
    return Expression("quniform", (low, high, _step("quniform", q)))


def randint(upper: int) -> Expression:
    """An integer in ``[0, upper)``."""
    upper = _plain(upper)
    if isinstance(upper, bool) or not isinstance(upper, int) or upper < 1:
        raise UserErrorException(f"randint: upper must be a positive int, got {upper!r}.")
    return Expression("randint", (upper,))


def _normal_args(kind: str, mu: Any, sigma: Any) -> tuple[float, float]:
    mean = _number(mu, f"{kind}: mu")
    deviation = _number(sigma, f"{kind}: sigma")
    if deviation <= 0:
        raise UserErrorException(f"{kind}: sigma must be positive, got {sigma}.")
    return mean, deviation


def _step(kind: str, q: Any) -> float:
    step = _number(q, f"{kind}: q")
    if step <= 0:
        raise UserErrorException(f"{kind}: q must be positive, got {q}.")
    return step


def normal(mu: float, sigma: float) -> Expression:
    """A float from a normal distribution."""
    return Expression("normal", _normal_args("normal", mu, sigma))


def qloguniform(min_value: float, max_value: float, q: float) -> Expression:
    """``round(exp(uniform(min_value, max_value)) / q) * q`` (bounds are logarithms, as v1)."""
    low, high = _bounds("qloguniform", min_value, max_value)
    return Expression("qloguniform", (low, high, _step("qloguniform", q)))


def lognormal(mu: float, sigma: float) -> Expression:
    """``exp(normal(mu, sigma))``."""
    return Expression("lognormal", _normal_args("lognormal", mu, sigma))


def qnormal(mu: float, sigma: float, q: float) -> Expression:
    """``round(normal(mu, sigma) / q) * q``."""
    return Expression("qnormal", (*_normal_args("qnormal", mu, sigma), _step("qnormal", q)))


def qlognormal(mu: float, sigma: float, q: float) -> Expression:
    """``round(exp(normal(mu, sigma)) / q) * q``."""
    return Expression(
        "qlognormal", (*_normal_args("qlognormal", mu, sigma), _step("qlognormal", q))
    )


def _space(parameter_space: Any, sampler: str) -> dict[str, Expression]:
    if not isinstance(parameter_space, Mapping) or not parameter_space:
        raise UserErrorException(
            f"{sampler} needs a non-empty dict of parameter name → expression, e.g. "
            "{'--alpha': choice(0.1, 0.2)}."
        )
    space: dict[str, Expression] = {}
    for name, expression in parameter_space.items():
        if not isinstance(name, str) or not name.strip("-") or name != name.strip():
            raise UserErrorException(f"Parameter names must be argument names, got {name!r}.")
        if not isinstance(expression, Expression):
            raise UserErrorException(
                f"Parameter {name!r} must be a parameter expression such as choice(...) or "
                f"uniform(...), got {expression!r}."
            )
        space[name] = expression
    return space


class ParameterSampling:
    """Base of the samplers: a parameter space and how to draw from it."""

    name = "base"

    def __init__(self, parameter_space: Mapping[str, Expression]) -> None:
        self.parameter_space = _space(parameter_space, type(self).__name__)

    def samples(self, max_total: int) -> Iterator[dict[str, Any]]:
        """Up to ``max_total`` parameter sets."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """A description stored with the sweep (v1 ``generator_config``)."""
        return {
            "name": self.name,
            "parameter_space": {k: e.to_json() for k, e in self.parameter_space.items()},
        }

    def log_scaled(self) -> list[str]:
        """Parameters drawn on a log scale (their axes are logarithmic in the view)."""
        return [name for name, e in self.parameter_space.items() if e.log_scale]


class GridParameterSampling(ParameterSampling):
    """Every combination of the ``choice`` values, in order; ``choice`` only."""

    name = "GRID"

    def __init__(self, parameter_space: Mapping[str, Expression]) -> None:
        super().__init__(parameter_space)
        for name, expression in self.parameter_space.items():
            if expression.kind != "choice":
                raise UserErrorException(
                    f"GridParameterSampling supports only choice(...); parameter {name!r} is "
                    f"{expression.kind}(...). Use RandomParameterSampling for distributions."
                )
        size = math.prod(len(e.args) for e in self.parameter_space.values())
        if size > MAX_GRID:
            raise UserErrorException(f"The grid has {size} combinations; the limit is {MAX_GRID}.")

    def samples(self, max_total: int) -> Iterator[dict[str, Any]]:
        """Combinations in grid order, at most ``max_total``."""
        names = list(self.parameter_space)
        grid = itertools.product(*(self.parameter_space[n].args for n in names))
        for values in itertools.islice(grid, max_total):
            yield dict(zip(names, values, strict=True))

    @property
    def size(self) -> int:
        """Number of combinations."""
        return math.prod(len(e.args) for e in self.parameter_space.values())


class RandomParameterSampling(ParameterSampling):
    """Independent random draws; reproducible with ``seed`` (or v1's ``{"rndseed": n}``)."""

    name = "RANDOM"

    def __init__(
        self,
        parameter_space: Mapping[str, Expression],
        properties: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(parameter_space)
        if properties is not None and not isinstance(properties, Mapping):
            raise UserErrorException(
                f"properties must be a dict such as {{'rndseed': 42}}, got {properties!r}."
            )
        if seed is None and properties and "rndseed" in properties:
            seed = properties["rndseed"]
        seed = _plain(seed)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise UserErrorException(
                f"seed (or properties['rndseed']) must be an int, got {seed!r}."
            )
        self.seed = seed

    def samples(self, max_total: int) -> Iterator[dict[str, Any]]:
        """``max_total`` draws (the same ones for the same seed)."""
        rng = random.Random(self.seed)  # noqa: S311 - sampling, not cryptography
        for _ in range(max_total):
            yield {name: e.sample(rng) for name, e in self.parameter_space.items()}

    def to_json(self) -> dict[str, Any]:
        """Includes the seed."""
        return {**super().to_json(), "seed": self.seed}


def sampling_from_json(data: Mapping[str, Any]) -> ParameterSampling:
    """Rebuild a sampler from :meth:`ParameterSampling.to_json`."""
    space = {k: Expression.from_json(v) for k, v in data["parameter_space"].items()}
    if data["name"] == "GRID":
        return GridParameterSampling(space)
    return RandomParameterSampling(space, seed=data.get("seed"))


def argument_name(parameter: str) -> str:
    """The command-line flag of a parameter: ``--alpha`` stays, ``alpha`` becomes ``--alpha``."""
    return parameter if parameter.startswith("-") else f"--{parameter}"


def display_name(parameter: str) -> str:
    """A parameter name without its dashes (``--alpha`` → ``alpha``)."""
    return parameter.lstrip("-")


def hyperparameters_json(params: Mapping[str, Any]) -> str:
    """The ``hyperparameters`` property of a child run (v1 stores it as JSON)."""
    return json.dumps({display_name(k): v for k, v in params.items()}, sort_keys=False)
