"""``run_widgets.compare(runs, metric)``: one metric of many runs as a tidy DataFrame.

For users who draw their own plots.

One row per point: ``run_id``, ``number``, ``display_name``, ``status``, ``step``,
``index`` (the point's position), ``value``, ``time`` (UTC timestamp) and
``relative_time`` (seconds since the run started). Only the metric's chunks are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import UserErrorException
from ..experiment import Experiment
from ..run import Run
from ..runtime import RUNTIME
from .mapping import as_float

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    "run_id", "number", "display_name", "status", "step", "index", "value", "time",
    "relative_time",
]  # fmt: skip


def _runs(runs: Any) -> list[Run]:
    if isinstance(runs, Experiment):
        return list(runs.get_runs())
    if isinstance(runs, Run):
        return [runs]
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Iterable):
        raise TypeError(
            "compare needs an Experiment, a list of Runs or experiment.get_runs(), "
            f"not {type(runs).__name__}."
        )
    found = list(runs)
    bad = sorted({type(r).__name__ for r in found if not isinstance(r, Run)})
    if bad:
        raise TypeError(f"compare needs Runs; got {', '.join(bad)}.")
    return found


def compare(runs: Any, metric: str) -> pd.DataFrame:
    """The points of ``metric`` in each of ``runs`` as one tidy DataFrame.

    Args:
        runs: an ``Experiment`` (its top-level runs), a list of ``Run``s or
            ``experiment.get_runs(...)``.
        metric: the metric's name; runs without it add no rows. Only numeric points
            (``run.log`` / ``log_list``) are returned; text points become NaN.

    Returns:
        A DataFrame with one row per point: ``run_id``, ``number``, ``display_name``,
        ``status``, ``step``, ``index``, ``value``, ``time``, ``relative_time``.

    Raises:
        TypeError: ``runs`` is not one of the above, or ``metric`` is not a string.
        UserErrorException: ``metric`` is empty.
    """
    import pandas as pd

    if not isinstance(metric, str):
        raise TypeError(f"metric must be a metric name (str), not {type(metric).__name__}.")
    if not metric:
        raise UserErrorException("metric must not be empty.")
    RUNTIME.flusher.flush()  # what this process logged is what it reads
    frames = []
    for run in _runs(runs):
        record = run.workspace.store.get_run(run.id)
        if record is None:
            continue
        chunks = run.workspace.store.read_chunks(run.id, names=[metric])
        chunks = [c for c in chunks if c.kind in ("scalar", "list")]
        if not chunks:
            continue
        count = 0
        steps, times, values = [], [], []
        for chunk in chunks:
            fresh = chunk.since(count)
            if fresh is None:
                continue
            count += fresh.n
            steps.append(fresh.steps)
            times.append(fresh.times)
            values.append(as_float(fresh.values))
        step = np.concatenate(steps)
        when = np.concatenate(times)
        start = record.start_time if record.start_time is not None else record.created_at
        frames.append(
            pd.DataFrame(
                {
                    "run_id": record.id,
                    "number": record.number,
                    "display_name": record.display_name,
                    "status": record.status,
                    "step": step,
                    "index": np.arange(len(step)),
                    "value": np.concatenate(values),
                    "time": pd.to_datetime(when, unit="s", utc=True),
                    "relative_time": when - start,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=COLUMNS)  # type: ignore[no-any-return]
    return pd.concat(frames, ignore_index=True)[COLUMNS]  # type: ignore[no-any-return]
