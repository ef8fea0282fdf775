"""Validation and conversion of everything users pass to the logging calls.

Messages follow Azure ML SDK v1 where v1 had one (so search results for the old message
still help), and name the argument and the offending value where v1 did not. Deliberate
fixes of v1: numpy scalars become Python numbers, not strings; one-element lists stay lists.

Layer: tracking (what a run is made of; imports exceptions only).
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..exceptions import ArgumentTypeError, MetricTypeError, RunWidgetsWarning, UserErrorException

MAX_NAME_LENGTH = 255
MAX_KEY_LENGTH = 255
MAX_STRING_LENGTH = 1_000_000
MAX_TAG_VALUE_LENGTH = 65_536
MAX_TABLE_COLUMNS = 256
_INT64 = (-(2**63), 2**63 - 1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Matched with fullmatch: "$" would also accept a trailing newline ("exp\n").
_EXPERIMENT_NAME = re.compile(r"[a-zA-Z0-9][\w\-]{0,254}", re.ASCII)
_RUN_ID = re.compile(r"[A-Za-z0-9_][\w.\-]{0,255}", re.ASCII)

SCALAR_TYPES_TEXT = "int, float, bool, str and None (numpy scalars are accepted)"


def check_text(value: str, what: str) -> str:
    """Reject strings SQLite cannot store as UTF-8 (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UserErrorException(
            f"{what} contains characters that are not valid Unicode text ({exc.reason})."
        ) from None
    return value


def validate_name(
    name: Any, what: str = "Metric name", error: type[TypeError] = MetricTypeError
) -> str:
    """Check a metric or column name: a non-empty str of printable characters, ≤255 long.

    Leading or trailing spaces are kept as given, as v1 accepted them (Microsoft's own
    samples log ``"Hello from child run "``); unlike v1, ``get_metrics`` then works. A name
    of spaces only is refused.
    """
    if not isinstance(name, str):
        raise error(f"{what} must be a str, not {type(name).__name__}: {name!r:.80}")
    if not name:
        raise UserErrorException(f"{what} must not be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise UserErrorException(
            f"{what} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}: {name[:40]!r}..."
        )
    if not name.strip():
        raise UserErrorException(f"{what} {name!r} is made of only spaces.")
    if _CONTROL.search(name):
        raise UserErrorException(f"{what} {name!r} contains control characters.")
    return check_text(name, what)


def validate_experiment_name(name: Any) -> str:
    r"""Apply the v1 experiment-name rule: 1–255 chars, alphanumeric first, then ``\w``/``-``."""
    if not isinstance(name, str) or not _EXPERIMENT_NAME.fullmatch(name):
        raise UserErrorException(
            "Experiment name must be between 1 and 255 characters long. Its first character "
            "has to be alphanumeric, and the rest may contain hyphens and underscores. No "
            f"whitespace is allowed. Got {name!r:.80}."
        )
    return name


def validate_run_id(run_id: Any) -> str:
    """An explicit run id: 1–256 ASCII letters, digits, ``_``, ``-`` or ``.``.

    The id names the run's folder, so anything that could leave it (``/``, ``..``) or
    that some file systems refuse is rejected.
    """
    if not isinstance(run_id, str):
        raise ArgumentTypeError(f"run_id must be a str, not {type(run_id).__name__}.")
    if not _RUN_ID.fullmatch(run_id):
        raise UserErrorException(
            f"run_id {run_id!r:.80} is not valid: use 1–256 ASCII letters, digits, '_', '-' "
            "or '.', starting with a letter, a digit or '_'."
        )
    return run_id


def validate_description(description: Any) -> str:
    """A metric description: ``None`` or a str."""
    if description is None:
        return ""
    if not isinstance(description, str):
        raise MetricTypeError(f"description must be a str, not {type(description).__name__}.")
    return check_text(description, "description")


def validate_step(step: Any) -> int | None:
    """A step is ``None`` or an integer that fits in 64 bits (numpy integers included)."""
    if step is None:
        return None
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)):
        raise MetricTypeError(f"step must be an int, not {type(step).__name__}: {step!r:.80}")
    number = int(step)
    if not _INT64[0] <= number <= _INT64[1]:
        raise UserErrorException(f"step {number} does not fit in 64 bits.")
    return number


def scalar(value: Any, *, call: str, name: str, strict: bool) -> Any:
    """Convert one metric value to a storable Python scalar.

    Args:
        value: what the user passed.
        call: the API call, for messages (``"run.log"``).
        name: the metric name, for messages.
        strict: True inside lists, rows and tables, where only scalar types are accepted;
            False for ``run.log``, which stores other objects as their ``repr`` (as v1 did).
    """
    kind = type(value)
    if kind is float or kind is int or kind is bool or kind is str or value is None:
        return _checked_builtin(value, call=call, name=name)
    if _is_zero_dim(value):
        item = value.item()
        if not _is_zero_dim(item):
            # numpy bytes_, complex, datetime64... give non-scalar Python objects: check
            # them like any other value instead of storing what cannot be stored.
            return scalar(item, call=call, name=name, strict=strict)
        value = item
    if isinstance(value, (bool, int, float, str)):  # subclasses (IntEnum, str subclasses...)
        for base in (bool, int, float, str):
            if isinstance(value, base):
                return _checked_builtin(base(value), call=call, name=name)
    if isinstance(value, numbers.Real):  # Decimal is not Real; Fraction is
        try:
            return float(value)
        except (OverflowError, ValueError, TypeError):
            raise UserErrorException(
                f"{call}: the number logged as {name!r} cannot be converted to a float."
            ) from None
    if _is_sequence_like(value):
        if not strict:
            raise MetricTypeError(
                f"run.log does not support {type(value).__name__} type. Use run.log_list "
                f"instead (metric {name!r})."
            )
        raise MetricTypeError(
            f"{call}: {name!r} contains a {type(value).__name__}; values must be scalars "
            f"({SCALAR_TYPES_TEXT})."
        )
    if strict:
        raise MetricTypeError(
            f"Value of type {type(value)} is not supported in {call} ({name!r}); supported "
            f"types are {SCALAR_TYPES_TEXT}."
        )
    text = repr(value)
    warnings.warn(
        f"run.log stored {type(value).__name__} value of {name!r} as its repr string; "
        "use log_row/log_table for structured values.",
        RunWidgetsWarning,
        stacklevel=4,
    )
    return _checked_builtin(text, call=call, name=name)


def _is_zero_dim(value: Any) -> bool:
    """A numpy scalar, or a 0-d array or tensor with ``.item()``."""
    return isinstance(value, np.generic) or (
        getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None))
    )


def _is_sequence_like(value: Any) -> bool:
    if isinstance(value, (list, range, np.ndarray)):
        return True
    if inspect.isgenerator(value) or inspect.isgeneratorfunction(value):
        return True
    ndim = getattr(value, "ndim", 0)
    return isinstance(ndim, int) and ndim >= 1  # pandas Series, tensors, ...


def _checked_builtin(value: Any, *, call: str, name: str) -> Any:
    if type(value) is int and not _INT64[0] <= value <= _INT64[1]:
        raise UserErrorException(
            f"{call}: the int {value} logged as {name!r} does not fit in 64 bits; log it as "
            "a float or a str."
        )
    if type(value) is str:
        if len(value) > MAX_STRING_LENGTH:
            raise UserErrorException(
                f"{call}: the string logged as {name!r} is {len(value)} characters long; the "
                f"limit is {MAX_STRING_LENGTH}. Upload long text as a file with upload_file."
            )
        check_text(value, f"The value of {name!r}")
    return value


def list_values(values: Any, *, name: str) -> np.ndarray | list[Any]:
    """Validate a ``log_list`` value: a non-empty 1-D sequence of scalars.

    Numeric numpy arrays pass through without a Python-level loop. If any element is a
    float, ints are promoted to float (as v1 did).
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise MetricTypeError(
            f"run.log_list needs a list of values for {name!r}, not a {type(values).__name__}."
            + (" Use run.log_table for a dict of columns." if isinstance(values, Mapping) else "")
        )
    if isinstance(values, np.ndarray) or hasattr(values, "to_numpy"):
        array = np.asarray(values)
        if array.ndim != 1:
            raise UserErrorException(
                f"run.log_list needs a 1-D sequence for {name!r}; got shape {array.shape}."
            )
        if array.dtype.kind in "fiub":
            if array.size == 0:
                raise UserErrorException(f"run.log_list needs at least one value for {name!r}.")
            if array.dtype.kind == "u" and array.size and array.max() > _INT64[1]:
                return array.astype(np.float64)
            return array
        values = array.tolist()
    items = [scalar(v, call="run.log_list", name=name, strict=True) for v in values]
    if not items:
        raise UserErrorException(f"run.log_list needs at least one value for {name!r}.")
    types = {type(v) for v in items}
    if types <= {int, float} and float in types:
        return np.asarray(items, dtype=np.float64)
    if types == {float}:
        return np.asarray(items, dtype=np.float64)
    if types == {int}:
        return np.asarray(items, dtype=np.int64)
    if types == {bool}:
        return np.asarray(items, dtype=bool)
    return items


def row_values(row: Mapping[str, Any], *, name: str) -> dict[str, list[Any]]:
    """Validate one ``log_row`` call's keyword arguments into single-row columns."""
    if not row:
        raise UserErrorException(f"run.log_row needs at least one column for {name!r}.")
    if len(row) > MAX_TABLE_COLUMNS:
        raise UserErrorException(
            f"run.log_row: {name!r} has {len(row)} columns; the limit is {MAX_TABLE_COLUMNS}."
        )
    columns: dict[str, list[Any]] = {}
    for column, value in row.items():
        validate_name(column, "Column name")
        if isinstance(value, (list, tuple, np.ndarray, range)):
            raise MetricTypeError(
                f"Rows cannot contain list values, column {column} contains a list."
            )
        columns[column] = [scalar(value, call="run.log_row", name=f"{name}.{column}", strict=True)]
    return columns


def table_values(table: Any, *, name: str) -> dict[str, list[Any]]:
    """Validate a ``log_table`` value: a dict of equal-length columns (or scalars)."""
    if not isinstance(table, Mapping):
        raise MetricTypeError(
            f"run.log_table needs a dict of columns for {name!r}, not a "
            f"{type(table).__name__}, e.g. {{'x': [1, 2], 'y': [0.5, 0.7]}}."
        )
    if not table:
        raise UserErrorException(f"run.log_table needs at least one column for {name!r}.")
    if len(table) > MAX_TABLE_COLUMNS:
        raise UserErrorException(
            f"run.log_table: {name!r} has {len(table)} columns; the limit is {MAX_TABLE_COLUMNS}."
        )
    columns: dict[str, list[Any]] = {}
    for column, raw in table.items():
        validate_name(column, "Column name")
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
            cells = [raw]
        elif isinstance(raw, Mapping):
            raise MetricTypeError(
                f"run.log_table: column {column} of {name!r} is a dict; columns must be lists."
            )
        else:
            cells = list(np.asarray(raw).tolist() if isinstance(raw, np.ndarray) else raw)
        columns[column] = [
            scalar(v, call="run.log_table", name=f"{name}.{column}", strict=True) for v in cells
        ]
    lengths = [(column, len(cells)) for column, cells in columns.items()]
    first_column, first_length = lengths[0]
    for column, length in lengths[1:]:
        if length != first_length:
            raise UserErrorException(
                f"Columns must have the same length, column {first_column} had length "
                f"{first_length}, however, column {column} had length {length}."
            )
    if first_length == 0:
        raise UserErrorException(f"run.log_table: the columns of {name!r} are empty.")
    return columns


def json_payload(value: Any, *, call: str) -> dict[str, Any]:
    """Parse the value of ``log_confusion_matrix`` and friends: a dict or a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise UserErrorException(f"Invalid JSON provided to {call}: {exc}") from None
    if not isinstance(value, Mapping):
        raise MetricTypeError(
            f"{call} needs a dict or a JSON string of a dict, not {type(value).__name__}."
        )
    try:
        text = json.dumps(value, allow_nan=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise UserErrorException(f"{call}: the value cannot be stored as JSON ({exc}).") from None
    result: dict[str, Any] = json.loads(text)
    return result


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def tag_value(value: Any, key: str, what: str = "tag") -> str | None:
    """Convert a tag or property value to ``str`` (``None`` allowed for tags), as v1 did."""
    if value is None or isinstance(value, str):
        text = value
    else:
        warnings.warn(
            f"Converting non-string {what} {key!r} value {value!r:.40} to string.",
            RunWidgetsWarning,
            stacklevel=4,
        )
        text = str(value)
    if text is not None:
        if len(text) > MAX_TAG_VALUE_LENGTH:
            raise UserErrorException(
                f"The value of {what} {key!r} is {len(text)} characters long; the limit is "
                f"{MAX_TAG_VALUE_LENGTH}."
            )
        check_text(text, f"The value of {what} {key!r}")
    return text


def tag_key(key: Any, what: str = "Tag") -> str:
    """Validate a tag or property key.

    Unlike metric names, keys may not have surrounding spaces: ``get_runs(tags=...)``
    matches them exactly.
    """
    name = validate_name(key, f"{what} key", ArgumentTypeError)
    if name != name.strip():
        raise UserErrorException(f"{what} key {name!r} has leading or trailing whitespace.")
    return name


def is_finite_number(value: Any) -> bool:
    """True for int/float values (not bool) that are finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
