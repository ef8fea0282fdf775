"""Packing of metric point values into compact blobs, and back.

Homogeneous numeric series are stored as raw little-endian arrays (``f8``, ``i8``, ``b1``),
everything else (strings, ``None``, mixed types, row/table columns) as JSON. Decoding a
numeric blob is a ``numpy.frombuffer`` call, which is what makes history reads fast.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .entities import ArrayF8, ArrayI8

NUMERIC_DTYPES = {"f8": np.dtype("<f8"), "i8": np.dtype("<i8"), "b1": np.dtype("?")}
JSON = "json"


def encode_values(values: Any, table: bool = False) -> tuple[str, bytes]:
    """Return ``(dtype, blob)`` for a chunk's values.

    Args:
        values: a numpy array, a list of scalars, or for tables a ``{column: list}`` dict.
        table: True for row/table metrics, which are always stored as JSON columns.
    """
    if table:
        return JSON, _dumps(values)
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind == "f":
            return "f8", np.ascontiguousarray(values, dtype="<f8").tobytes()
        if kind in "iu":
            return "i8", np.ascontiguousarray(values, dtype="<i8").tobytes()
        if kind == "b":
            return "b1", np.ascontiguousarray(values, dtype="?").tobytes()
        return JSON, _dumps(values.tolist())
    return JSON, _dumps(list(values))


def decode_values(dtype: str, blob: bytes) -> Any:
    """Inverse of :func:`encode_values`: a read-only numpy array, a list, or a column dict."""
    np_dtype = NUMERIC_DTYPES.get(dtype)
    if np_dtype is not None:
        return np.frombuffer(blob, dtype=np_dtype)
    return json.loads(blob)


def encode_steps(steps: ArrayI8) -> bytes:
    """Pack step numbers as little-endian int64."""
    return np.ascontiguousarray(steps, dtype="<i8").tobytes()


def decode_steps(blob: bytes) -> ArrayI8:
    """Unpack step numbers."""
    return np.frombuffer(blob, dtype="<i8")


def encode_times(times: ArrayF8) -> bytes:
    """Pack timestamps (seconds since the epoch) as little-endian float64."""
    return np.ascontiguousarray(times, dtype="<f8").tobytes()


def decode_times(blob: bytes) -> ArrayF8:
    """Unpack timestamps."""
    return np.frombuffer(blob, dtype="<f8")


def dumps_json(value: Any) -> str:
    """Serialise a small value (last value, error dict, definition) for a TEXT column."""
    return json.dumps(value, allow_nan=True, default=repr)


def loads_json(text: str | None) -> Any:
    """Inverse of :func:`dumps_json`; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> bytes:
    # ensure_ascii keeps any str (even one with lone surrogates) round-trippable.
    return json.dumps(value, allow_nan=True).encode("ascii")
