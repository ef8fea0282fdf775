"""``run.wait_for_completion``: block until a run ends, optionally streaming its log.

Output format of v1 (``show_output=True``)::

    RunId: <id>
    Web View: <report path>

    Streaming logs/driver_log.txt
    =============================

    <only new lines, as the script prints them>

    Execution Summary
    =================
    RunId: <id>
    Web View: <report path>

    Error:                  (a Failed run with raise_on_error=False)
    <error JSON>

A Failed run raises ``ActivityFailedException`` ("Activity Failed:" and the error JSON) after
the summary (without the closing blank line); Ctrl-C stops the streaming (raising
``ExperimentExecutionException``), never the run.

Deliberate fixes: "Web View" is the report's path, not a ``file://`` URL (front-ends show
such a URL as a link that browsers refuse to open); when a live view in this kernel already
shows the run's log, only the lines written after the wait began are printed (the log is
not repeated below the view). v1 returned at ``Finalizing`` (before outputs were uploaded) unless
``wait_post_processing=True``; here it always waits for a terminal status.

The log tail (:class:`LogFollower`, :func:`choose_log`) is also what the views' trackers
read a run's log with. Live views in this kernel take part through the registry's
``wait_finished`` and ``log_shown`` hooks (``run_widgets.runtime.registry``).

Layer: tracking.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlparse

from ..exceptions import (
    ActivityFailedException,
    ExperimentExecutionException,
    FileNotFoundInRunError,
)
from ..runtime import REGISTRY

LOG_PRIORITY = ("logs/driver_log.txt", "logs/user_log.txt")
CONTROL_LOG = "logs/control_log.txt"  # the supervisor's own log: selectable, not followed
POLL_MIN_S = 0.25
POLL_MAX_S = 2.0
INTERRUPTED = (
    "The output streaming for the run interrupted.\nBut the run is still executing. "
    "\nCancel it with run.cancel() if you want it to stop."
)
NO_ERROR_RECORDED = "Detailed error not set on the Run. Please check the logs for details."
_sleep = time.sleep  # the one place this module waits (tests simulate Ctrl-C here)


def choose_log(names: list[str]) -> str | None:
    """The log to follow: the driver log of a submitted run, else the newest in ``logs/``."""
    for preferred in LOG_PRIORITY:
        if preferred in names:
            return preferred
    logs = sorted(
        n for n in names if n.startswith("logs/") and n.endswith(".txt") and n != CONTROL_LOG
    )
    return logs[-1] if logs else None


class LogFollower:
    """Reads a growing text file incrementally and yields complete new lines.

    The source is a local path, or a function returning the bytes from an offset on
    (e.g. a ``RunReader``'s ``read_file``; it raises ``FileNotFoundError`` or
    ``FileNotFoundInRunError`` while the file does not exist).
    """

    def __init__(self, source: Path | Callable[[int], bytes]) -> None:
        self.source = source
        self.offset = 0
        self._partial = b""

    def _read(self, offset: int) -> bytes:
        if callable(self.source):
            return self.source(offset)
        with open(self.source, "rb") as handle:
            handle.seek(offset)
            return handle.read()

    def skip_to_end(self) -> int:
        """Start after the complete lines written so far; returns how many were skipped."""
        try:
            data = self._read(0)
        except (FileNotFoundError, FileNotFoundInRunError):
            return 0
        end = data.rfind(b"\n") + 1
        self.offset = end
        return data.count(b"\n", 0, end)

    def read_lines(self, final: bool = False) -> list[str]:
        """New complete lines since the last call (and the unfinished one if ``final``)."""
        try:
            data = self._read(self.offset)
        except (FileNotFoundError, FileNotFoundInRunError):
            return []
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        if final and self._partial:
            lines.append(self._partial)
            self._partial = b""
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]


class Waitable(Protocol):
    """What waiting needs of a run (a ``Run``)."""

    @property
    def id(self) -> str:
        """The run id."""

    @property
    def workspace(self) -> Any:
        """The workspace holding the run (its ``store.location`` names the store)."""

    def get_status(self) -> str:
        """The current status."""

    def get_details(self) -> dict[str, Any]:
        """The run's details."""

    def get_portal_url(self) -> str:
        """The ``file://`` URL of the run's report."""

    def get_file_names(self) -> list[str]:
        """Names of the run's files."""

    def get_file_path(self, name: str) -> Path:
        """Local path of one of the run's files."""


def log_shown_elsewhere(run: Waitable) -> bool:
    """True if a registered ``log_shown`` hook says a live view shows this run's log.

    Hooks are called with (store location, run id); the widget layer adds one, so that
    streaming starts at the log's end instead of its top.
    """
    location = run.workspace.store.location
    return any(hook(location, run.id) for hook in REGISTRY.log_shown.all())


def wait_for_completion(
    run: Waitable,
    show_output: bool = False,
    wait_post_processing: bool = False,
    raise_on_error: bool = True,
    out: TextIO | None = None,
) -> dict[str, Any]:
    """Wait until the run ends; with ``show_output`` stream its log as it grows.

    Registered ``wait_finished`` hooks are then called with (store location, run id): the
    widget layer adds one that gives live views of the run their final refresh at once.

    Args:
        show_output: print the run's log while waiting (only the lines written after a
            view of the run started, if one is displayed in this kernel).
        wait_post_processing: accepted for v1 code; the final status already comes
            after the outputs are stored.
        raise_on_error: raise if the run Failed.
        out: where to print (default: ``sys.stdout``).

    Returns:
        The ``get_details()`` dictionary.

    Raises:
        ActivityFailedException: the run Failed and ``raise_on_error`` is True.
    """
    stream = out or sys.stdout
    try:
        if show_output:
            _stream(run, stream)
        else:
            _poll_until_done(run)
    except KeyboardInterrupt:
        raise ExperimentExecutionException(INTERRUPTED) from None
    for hook in REGISTRY.wait_finished.all():
        hook(run.workspace.store.location, run.id)
    details = run.get_details()
    if details["status"] == "Failed":
        error = details.get("error")
        message = json.dumps(error, indent=4) if error else NO_ERROR_RECORDED
        if raise_on_error:
            raise ActivityFailedException("Activity Failed:\n" + message, details)
        if show_output:
            print(f"\nError:\n{message}", file=stream)
    if show_output:
        print(file=stream, flush=True)
    return details


def _poll_until_done(run: Waitable) -> None:
    delay = POLL_MIN_S
    while not _terminal(run.get_status()):
        _sleep(delay)
        delay = min(POLL_MAX_S, delay * 1.5)


def _stream(run: Waitable, stream: TextIO) -> None:
    """Print the header, new log lines until the run ends, and the summary (v1 layout).

    The blank line that closes the output is printed by the caller, after an error.
    """
    from urllib.request import url2pathname  # urllib.request loads http, ssl, email

    url = url2pathname(urlparse(run.get_portal_url()).path)
    print(f"RunId: {run.id}\nWeb View: {url}", file=stream, flush=True)
    skip_existing = log_shown_elsewhere(run)
    follower: LogFollower | None = None
    current: str | None = None
    delay = POLL_MIN_S
    while True:
        done = _terminal(run.get_status())
        chosen = choose_log(run.get_file_names())
        if chosen is not None and chosen != current:
            current = chosen
            follower = LogFollower(run.get_file_path(chosen))
            header = f"Streaming {chosen}"
            print(f"\n{header}\n{'=' * len(header)}\n", file=stream, flush=True)
            if skip_existing:
                skipped = follower.skip_to_end()
                if skipped:
                    print(
                        f"({skipped} earlier lines are in the run's view above)",
                        file=stream,
                        flush=True,
                    )
        if follower is not None:
            lines = follower.read_lines(final=done)
            if lines:
                print("\n".join(lines), file=stream, flush=True)
                delay = POLL_MIN_S
        if done:
            break
        _sleep(delay)
        delay = min(POLL_MAX_S, delay * 1.5)
    print(
        f"\nExecution Summary\n=================\nRunId: {run.id}\nWeb View: {url}",
        file=stream,
        flush=True,
    )


def _terminal(status: str) -> bool:
    return status in ("Completed", "Failed", "Canceled")
