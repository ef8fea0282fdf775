"""The logging calls of a run: ``log``, ``log_list``, ``log_row``, ``log_table``, ``log_image``...

And the JSON metrics (``log_confusion_matrix`` & co.).

Points go into the run's in-memory buffer (:class:`~run_widgets.tracking.buffer.RunBuffer`),
which the runtime's flusher thread writes to the store; files (images, JSON metrics) are
uploaded to the run's folder first and the metric point names them. ``run.log`` is the hot
path: about a microsecond per call for a float or int logged under a known name.

Layer: tracking.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import UserErrorException
from ..runtime import RUNTIME
from ..store.entities import AUTO_STEP, MetricKind
from ..store.rules import merge_metric_kinds
from . import artifact_metrics as artifacts
from . import values as _values
from .buffer import Series
from .core import RunCore

_now = time.time
_FLOAT64 = np.float64
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class RunLogger:
    """The logging calls of one ``Run`` object (``run.log`` and the others are these).

    Args:
        core: the run's shared parts (see :class:`~run_widgets.tracking.core.RunCore`).
    """

    def __init__(self, core: RunCore) -> None:
        self._core = core
        self._state = core.state
        self._scalars = core.state.buffer.scalars
        self._lock = core.state.buffer.lock

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a number or string under ``name``; logging a name again builds a series.

        Args:
            name: metric name (1–255 printable characters).
            value: int, float, bool, str, None or a numpy scalar; other objects are stored
                as their ``repr`` (as v1 did) with a warning.
            description: optional text shown with the metric.
            step: optional integer x position; by default the previous step + 1.

        Raises:
            UserErrorException: ``value`` is a list, range, array or generator (a
                ``MetricTypeError``, also a ``TypeError``: use log_list), or the run has
                ended (a ``RunStateError``).
        """
        series = self._scalars.get(name)
        if series is not None and not description:
            kind = type(value)
            vtype = series.vtype
            # The hot path, about a microsecond per call, for values that need no check
            # beyond their type: floats (numpy float64 is one), bools, ints within 64 bits
            # (str values take the slow path for their length and text checks).
            if (
                (kind is vtype and (kind is float or kind is bool))
                or (kind is _FLOAT64 and vtype is float)
                or (kind is int and vtype is int and _INT64_MIN <= value <= _INT64_MAX)
            ) and (step is None or (type(step) is int and _INT64_MIN < step <= _INT64_MAX)):
                with self._lock:
                    steps = series.steps
                    if step is None or steps is not None:
                        series.values.append(value)
                        series.times.append(_now())
                        if steps is not None:
                            steps.append(AUTO_STEP if step is None else step)
                        return
        self._log_checked(name, value, description, step)

    def _log_checked(self, name: Any, value: Any, description: Any, step: Any) -> None:
        self._core.check_open("run.log")
        name = _values.validate_name(name)
        value = _values.scalar(value, call="run.log", name=name, strict=False)
        series = self._series(name, "scalar", _values.validate_description(description))
        self._state.buffer.append_scalar(series, value, _values.validate_step(step), _now())

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Log a list of values (numbers or strings) under ``name``.

        Calling it again appends. A one-element list stays a list in ``get_metrics``.
        """
        self._core.check_open("run.log_list")
        name = _values.validate_name(name)
        block = _values.list_values(value, name=name)
        series = self._series(name, "list", _values.validate_description(description))
        self._state.buffer.append_block(series, block, _now())

    def log_row(self, /, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table metric; the keyword arguments are its columns.

        Args:
            name: the metric's name.
            description: free text kept with the metric.

        Example:
            >>> run.log_row("Y over X", x=1, y=0.4)  # doctest: +SKIP
        """
        self._core.check_open("run.log_row")
        name = _values.validate_name(name)
        columns = _values.row_values(kwargs, name=name)
        series = self._series(name, "row", _values.validate_description(description))
        self._state.buffer.append_block(series, columns, _now())

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        """Log a table: a dict of equal-length columns, e.g. ``{"x": [1, 2], "y": [3, 4]}``."""
        self._core.check_open("run.log_table")
        name = _values.validate_name(name)
        columns = _values.table_values(value, name=name)
        series = self._series(name, "table", _values.validate_description(description))
        self._state.buffer.append_block(series, columns, _now())

    def log_image(
        self, name: str, path: Any = None, plot: Any = None, description: str = ""
    ) -> None:
        """Log an image file (``path``) or a matplotlib plot (``plot``), not both."""
        self._core.check_open("run.log_image")
        name = _values.validate_name(name)
        if path is not None and plot is not None:
            raise UserErrorException(
                "Invalid parameters, path and plot were both provided, only one at a time is "
                "supported"
            )
        if path is None and plot is None:
            raise UserErrorException(
                "Invalid parameters, one of path and plot is required as input"
            )
        data, extension = (
            artifacts.image_from_path(path) if path is not None else artifacts.image_from_plot(plot)
        )
        if self._core.replaced_by_retry("log_image"):
            return
        self._log_file_metric(name, "image", artifacts.IMAGE_PREFIX, data, extension, description)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        """Log a confusion matrix (dict or JSON string), stored as a JSON file of the run."""
        self._log_json("log_confusion_matrix", name, value, description)

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        """Log an accuracy table (dict or JSON string), stored as a JSON file of the run."""
        self._log_json("log_accuracy_table", name, value, description)

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        """Log residuals (dict or JSON string), stored as a JSON file of the run."""
        self._log_json("log_residuals", name, value, description)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        """Log predictions (dict or JSON string), stored as a JSON file of the run."""
        self._log_json("log_predictions", name, value, description)

    def _log_json(self, call: str, name: str, value: Any, description: str) -> None:
        self._core.check_open(f"run.{call}")
        name = _values.validate_name(name)
        payload = artifacts.with_schema(call, _values.json_payload(value, call=f"run.{call}"))
        data = json.dumps(payload, allow_nan=True).encode("utf-8")
        # stacklevel 4: the warning points at the caller of log_confusion_matrix & co.
        if self._core.replaced_by_retry(call, stacklevel=4):
            return
        self._log_file_metric(name, "artifact", artifacts.JSON_PREFIX, data, ".json", description)

    def _log_file_metric(
        self,
        name: str,
        kind: MetricKind,
        prefix: str,
        data: bytes,
        extension: str,
        description: str,
    ) -> None:
        series = self._series(name, kind, _values.validate_description(description))
        file_name = self._next_artifact_name(prefix, name, extension)
        self._core.files.upload_bytes(file_name, data)
        self._state.buffer.append_scalar(series, file_name, None, _now())

    def _next_artifact_name(self, prefix: str, name: str, extension: str) -> str:
        """``<prefix>/<slug>_<n><ext>`` with ``n`` the first index not used yet."""
        stem = artifacts.artifact_name(prefix, name, "", "")
        folder = self._core.files.root / prefix
        index = len(list(folder.glob(f"{Path(stem).name}*"))) if folder.is_dir() else 0
        while True:
            candidate = artifacts.artifact_name(prefix, name, str(index), extension)
            if not self._core.files.exists(candidate):
                return candidate
            index += 1

    def _series(self, name: str, kind: MetricKind, description: str) -> Series:
        buffer = self._state.buffer
        table = buffer.scalars if kind == "scalar" else buffer.others
        series = table.get(name)
        if series is not None and series.kind == kind:
            return series
        if not self._state.kinds_loaded:
            for info in self._core.store.metric_infos([self._core.id]):
                buffer.kinds.setdefault(info.name, info.kind)
            self._state.kinds_loaded = True
        known = buffer.kinds.get(name)
        merged = kind if known is None else merge_metric_kinds(known, kind, name)
        with buffer.lock:
            buffer.kinds[name] = merged
            if series is None:
                other = buffer.others.get(name)
                if other is not None:  # a row series now also gets tables
                    other.kind = merged
                    series = other
                else:
                    series = Series(name, kind, description)
                    table[name] = series
            else:
                series.kind = merged
        RUNTIME.flusher.watch(self._core.store, buffer)
        return series
