"""The process of a driver that runs a parent run to its end (a sweep, a pipeline).

``python -m run_widgets.sweep.driver WORKSPACE RUN_ID`` and its pipeline twin share this
entry point: argument check, a traceback on a crash, a failure written through
``lifecycle`` when the driver raises or is stopped, and the flusher drained on the way out.
Each line of the control log (the process's stdout) is timestamped by :func:`log`.
"""

from __future__ import annotations

import faulthandler
import sys
import time
from collections.abc import Callable

from ..runtime import RUNTIME
from ..runtime.exit_hooks import Terminated
from ..tracking import lifecycle
from ..workspace import Workspace


def log(message: str) -> None:
    """A line in the driver's control log (this process's stdout)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def driver_main(
    argv: list[str],
    module: str,
    build: Callable[[Workspace, str], Callable[[], None]],
    stopped_message: str,
    error_code: str,
) -> int:
    """Build the driver from ``argv`` (``WORKSPACE RUN_ID``) and run it; the exit code.

    ``build(workspace, run_id)`` returns the call that drives the run to its end. A drive
    that raises, or is stopped by SIGTERM (``stopped_message``), marks the run Failed with
    ``error_code`` and re-raises.
    """
    if len(argv) != 2:
        print(f"usage: python -m {module} WORKSPACE RUN_ID", file=sys.stderr)
        return 2
    faulthandler.enable()  # a crash leaves its traceback in the control log
    workspace = Workspace.for_child_process(argv[0])
    run_id = argv[1]
    drive = build(workspace, run_id)
    try:
        drive()
    except BaseException as problem:
        log(f"driver error: {problem!r}")
        message = stopped_message if isinstance(problem, Terminated) else repr(problem)
        lifecycle.mark_failed(workspace.store, run_id, message, error_code)
        raise
    finally:
        RUNTIME.flusher.flush()
    return 0
