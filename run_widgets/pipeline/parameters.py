"""``PipelineParameter``: a value of a pipeline chosen when it is submitted (v1).

In a step's arguments a parameter stands as ``$AML_PARAMETER_<name>``; the pipeline driver
puts the submitted value there when the step starts. A parameter may hold a str, a number
or a bool, a ``DataPath`` (bound to a step with ``(param, DataPathComputeBinding())``), or
a ``Dataset`` (bound with ``DatasetConsumptionConfig(name, param)``).

Layer: pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..data.dataset import Dataset
from ..data.references import DataPath
from ..exceptions import ArgumentTypeError, UserErrorException
from ..workspace import Workspace

TOKEN_PREFIX = "$AML_PARAMETER_"  # noqa: S105 - a placeholder, not a secret
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


class PipelineParameter:
    """A named value of a pipeline, with a default (v1 ``PipelineParameter``).

    Args:
        name: the parameter's name (letters, digits, ``_``).
        default_value: its value unless the submission gives another: a str, int, float,
            bool, ``DataPath`` or ``Dataset``.
    """

    def __init__(self, name: str, default_value: Any) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise UserErrorException(
                f"PipelineParameter name {name!r} must start with a letter or '_' and hold "
                "only letters, digits and '_'."
            )
        check_value(name, default_value)
        self.name = name
        self.default_value = default_value

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


def check_value(name: str, value: Any) -> Any:
    """``value`` if a parameter can hold it, else an error naming the parameter."""
    if isinstance(value, (str, int, float, bool, DataPath, Dataset)):
        return value
    raise ArgumentTypeError(
        f"Pipeline parameter {name!r} must be a str, number, bool, DataPath or Dataset, not "
        f"{type(value).__name__}."
    )


def value_json(workspace: Workspace, name: str, value: Any) -> Any:
    """A parameter's value as recorded in a pipeline run (datasets saved, to get an id)."""
    check_value(name, value)
    if isinstance(value, DataPath):
        return {
            "kind": "datapath",
            "datastore": value.datastore.name,
            "path": value.path_on_datastore,
        }
    if isinstance(value, Dataset):
        return {
            "kind": "dataset",
            "dataset_id": value._save(workspace),
            "definition": value.definition,
        }
    return value


def resolved_values(
    workspace: Workspace,
    parameters: Mapping[str, PipelineParameter],
    given: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Every parameter's value for one submission (defaults unless ``given``), as JSON.

    Raises:
        UserErrorException: ``given`` names a parameter the pipeline does not have.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(parameters))
    if unknown:
        known = ", ".join(sorted(parameters)) or "none"
        raise UserErrorException(
            f"pipeline_parameters names {unknown}, which the pipeline does not have (it has: {known})."
        )
    return {
        name: value_json(workspace, name, given.get(name, parameter.default_value))
        for name, parameter in parameters.items()
    }


def substitute(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with every ``$AML_PARAMETER_<name>`` replaced by its scalar value."""
    if TOKEN_PREFIX not in text:
        return text
    for name in sorted(values, key=len, reverse=True):
        value = values[name]
        if not isinstance(value, dict):
            text = text.replace(f"{TOKEN_PREFIX}{name}", str(value))
    return text
