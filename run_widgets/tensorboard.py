"""``export_to_tensorboard``: runs' metrics as TensorBoard event files.

The v1 counterpart is ``azureml.tensorboard.export.export_to_tensorboard``.

Each run gets its own folder ``<logdir>/<run id>/`` holding one event file written with
tensorboardX, so ``tensorboard --logdir <logdir>`` shows one line per run. Every numeric
point becomes a scalar with the step it was logged at (v1 numbered points itself, across
all metrics of a run, and needed TensorFlow); row and table metrics export one scalar per
column, tagged ``<metric>.<column>``; strings, images and other non-numeric values are
skipped, as in v1.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .exceptions import MetricTypeError, UserErrorException
from .experiment import Experiment
from .run import Run


def export_to_tensorboard(
    run_data: Run | Experiment | Iterable[Run],
    logsdir: str | os.PathLike[str],
    logger: Any = None,
    recursive: bool = True,
) -> None:
    """Write the metrics of runs as TensorBoard event files under ``logsdir``.

    Args:
        run_data: a run, a list of runs, or an experiment (all its runs).
        logsdir: the folder to write into (created if missing).
        logger: an optional ``logging.Logger`` told what was written.
        recursive: also export every descendant of the given runs (v1's default).
    """
    from tensorboardX import SummaryWriter

    runs = _runs_of(run_data)
    if recursive:
        runs = _with_descendants(runs)
    root = Path(os.fspath(logsdir))
    root.mkdir(parents=True, exist_ok=True)
    for run in runs:
        frame = run.get_metrics_dataframe()
        writer = SummaryWriter(logdir=str(root / run.id))
        written = 0
        try:
            for name, step, value, time in zip(
                frame["name"], frame["step"], frame["value"], frame["time"], strict=True
            ):
                number = _number(value)
                if number is None:
                    continue
                writer.add_scalar(str(name), number, int(step), walltime=time.timestamp())
                written += 1
        finally:
            writer.close()
        if logger is not None:
            logger.info("exported %d points of run %s to %s", written, run.id, root / run.id)


def _runs_of(run_data: Any) -> list[Run]:
    if isinstance(run_data, Run):
        return [run_data]
    if isinstance(run_data, Experiment):
        return list(run_data.get_runs())
    if isinstance(run_data, (str, bytes)) or not isinstance(run_data, Iterable):
        raise MetricTypeError(
            f"run_data must be a Run, a list of runs or an Experiment, not "
            f"{type(run_data).__name__}."
        )
    runs = list(run_data)
    if not runs:
        raise UserErrorException("export failed: run_data cannot be empty list")
    for item in runs:
        if not isinstance(item, Run):
            raise MetricTypeError(f"run_data holds a {type(item).__name__}, not a Run.")
    return runs


def _with_descendants(runs: list[Run]) -> list[Run]:
    seen = {run.id for run in runs}
    result = list(runs)
    for run in runs:
        for child in run.get_children(recursive=True):
            if child.id not in seen:
                seen.add(child.id)
                result.append(child)
    return result


def _number(value: Any) -> float | None:
    """The value as a float, or None for what TensorBoard cannot chart (strings, images)."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
