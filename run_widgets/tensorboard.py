"""``export_to_tensorboard`` and ``Tensorboard``: runs' metrics in TensorBoard.

The v1 counterparts are ``azureml.tensorboard.export.export_to_tensorboard`` and
``azureml.tensorboard.Tensorboard`` (a local TensorBoard process on the runs' event files,
started and stopped from the notebook; see :class:`Tensorboard`).

Each run gets its own folder ``<logdir>/<run id>/`` holding one event file written with
tensorboardX, so ``tensorboard --logdir <logdir>`` shows one line per run. Every numeric
point becomes a scalar with the step it was logged at (v1 numbered points itself, across
all metrics of a run, and needed TensorFlow); row and table metrics export one scalar per
column, tagged ``<metric>.<column>``; strings, images and other non-numeric values are
skipped, as in v1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import MetricTypeError, UserErrorException
from .experiment import Experiment
from .run import Run

if TYPE_CHECKING:
    from tensorboardX import SummaryWriter


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
    runs = _runs_of(run_data)
    if recursive:
        runs = _with_descendants(runs)
    root = Path(os.fspath(logsdir))
    root.mkdir(parents=True, exist_ok=True)
    for run in runs:
        frame = run.get_metrics_dataframe()
        writer = _summary_writer(root / run.id)
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


def _summary_writer(logdir: Path) -> SummaryWriter:
    """A TensorBoard event-file writer into ``logdir`` (tensorboardX, imported only here)."""
    from tensorboardX import SummaryWriter

    return SummaryWriter(logdir=str(logdir))


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


class Tensorboard:
    """A local TensorBoard on runs' event files (v1 ``azureml.tensorboard.Tensorboard``).

    ``start()`` lays out one folder per run under ``local_root`` — the run's own
    TensorBoard event files (any ``*tfevents*`` file among its files, e.g. written by a
    script to ``logs/``) and its logged metrics exported as event files (see
    :func:`export_to_tensorboard`) — starts ``tensorboard`` on it (a process bound to
    127.0.0.1) and returns its URL. While it runs, new points and new event files of the
    runs are added every ``refresh_seconds``, as v1 streamed them. ``stop()`` ends it.

    Args:
        runs: the runs to show.
        local_root: the folder laid out for TensorBoard (default: a new temporary one).
        port: the port (v1's default 6006; 0 picks a free one).
        refresh_seconds: how often new points and files are added while it runs.
    """

    def __init__(
        self,
        runs: Iterable[Run],
        local_root: str | os.PathLike[str] | None = None,
        port: int = 6006,
        refresh_seconds: float = 2.0,
        _rehydrate_runs: bool = True,
    ) -> None:
        self.runs = _runs_of(list(runs) if not isinstance(runs, Run) else runs)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise UserErrorException(f"port must be an int between 0 and 65535, not {port!r}.")
        self.local_root = Path(local_root) if local_root is not None else None
        self.port = port
        self.refresh_seconds = float(refresh_seconds)
        self.url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._writers: dict[str, SummaryWriter] = {}
        self._written: dict[tuple[str, str], int] = {}
        self._copied: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, start_browser: bool = False) -> str:
        """Lay out the runs' event files, start TensorBoard, and return its URL.

        Args:
            start_browser: also open the URL in a web browser (v1).

        Returns:
            The URL, e.g. ``http://localhost:6006/``.

        Raises:
            UserErrorException: the port is in use, or TensorBoard is not installed or did
                not start (the message holds the end of its output).
        """
        if self._process is not None:
            return str(self.url)
        if self.local_root is None:
            self.local_root = Path(tempfile.mkdtemp(prefix="tensorboard-"))
        self.local_root.mkdir(parents=True, exist_ok=True)
        self.sync()
        port = self.port or _free_port()
        if not _port_free(port):
            raise UserErrorException(
                f"Port {port} is in use: give another, e.g. Tensorboard(runs, port=0) for a free one."
            )
        log = self.local_root / ".tensorboard.log"
        with open(log, "wb") as output:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tensorboard.main",
                    "--logdir",
                    str(self.local_root),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--reload_interval",
                    "1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_until_serving(self._process, port, log)
        except BaseException:
            self.stop()
            raise
        self.url = f"http://localhost:{port}/"
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._refresh, name="run-widgets-tensorboard", daemon=True
        )
        self._thread.start()
        if start_browser:
            import webbrowser  # stdlib, but slow to import; only this needs it

            webbrowser.open(self.url)
        return self.url

    def sync(self) -> None:
        """Add the runs' new event files and new metric points under ``local_root``."""
        assert self.local_root is not None

        with self._lock:
            for run in self.runs:
                folder = self.local_root / run.id
                self._copy_event_files(run, folder)
                frame = run.get_metrics_dataframe()
                writer = self._writers.get(run.id)
                for name, group in frame.groupby("name", sort=False):
                    done = self._written.get((run.id, str(name)), 0)
                    fresh = group.iloc[done:]
                    for step, value, when in zip(
                        fresh["step"], fresh["value"], fresh["time"], strict=True
                    ):
                        number = _number(value)
                        if number is None:
                            continue
                        if writer is None:
                            writer = _summary_writer(folder / "run_widgets_metrics")
                            self._writers[run.id] = writer
                        writer.add_scalar(str(name), number, int(step), walltime=when.timestamp())
                    self._written[(run.id, str(name))] = len(group)
                if writer is not None:
                    writer.flush()

    def _copy_event_files(self, run: Run, folder: Path) -> None:
        for name in run.get_file_names():
            if "tfevents" not in name.rsplit("/", 1)[-1]:
                continue
            size = Path(run.get_file_path(name)).stat().st_size
            if self._copied.get((run.id, name)) == size:
                continue
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run.get_file_path(name), target)
            self._copied[(run.id, name)] = size

    def _refresh(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            with contextlib.suppress(Exception):  # a run being written: the next round reads it
                self.sync()

    def stop(self) -> None:
        """Stop TensorBoard (and the refreshing); the laid-out files stay in ``local_root``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with self._lock:
            for writer in self._writers.values():
                writer.close()
            self._writers.clear()
        self.url = None

    def __repr__(self) -> str:
        return f"Tensorboard(runs={[r.id for r in self.runs]!r}, url={self.url!r})"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_free(port: int) -> bool:
    """Whether nothing listens on ``port``.

    Connections left in TIME_WAIT by a TensorBoard that just stopped do not count
    (TensorBoard's server binds with SO_REUSEADDR as well).
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until_serving(
    process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 120.0
) -> None:
    """Return once TensorBoard answers on ``port``; raise if it exits or never answers."""
    import urllib.request  # loads http.client, ssl and email: only when TensorBoard starts

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise UserErrorException(
                f"TensorBoard exited with code {process.returncode} before serving "
                f"(pip install tensorboard?). Its output:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise UserErrorException(f"TensorBoard did not answer on port {port} within {timeout:.0f} s.")
