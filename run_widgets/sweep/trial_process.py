"""Entry point of a function trial that runs as a process of its own (on a cluster).

``python -m run_widgets.sweep.trial_process WORKSPACE CHILD_RUN_ID`` reads the trial's
parameters and the sweep's pickled function from the store and runs it (``trial``).
This module is the process's ``__main__`` only: nothing in the package imports it, so
``-m`` runs it without runpy's "found in sys.modules" warning in the trial's log, and a
Dask worker's job template (which imported the package) can run it in a forked child.
"""

from __future__ import annotations

import sys

from ..runtime import RUNTIME
from ..workspace import Workspace
from .space import display_name
from .trial import FUNCTION_FILE, run_trial

MODULE = __spec__.name if __spec__ is not None else "run_widgets.sweep.trial_process"


def main(argv: list[str]) -> int:
    """Run the trial ``argv = [WORKSPACE, CHILD_RUN_ID]``; the exit status."""
    if len(argv) != 2:
        print(f"usage: python -m {MODULE} WORKSPACE RUN_ID", file=sys.stderr)
        return 2
    workspace = Workspace.for_child_process(argv[0])
    record = workspace.store.get_run(argv[1])
    if record is None or record.parent_id is None:
        print(f"run {argv[1]} is not a sweep trial", file=sys.stderr)
        return 2
    definition = record.definition
    params = {display_name(k): v for k, v in dict(definition.get("parameters") or {}).items()}
    function_bytes = workspace.artifacts.read_bytes(record.parent_id, FUNCTION_FILE)
    try:
        status = run_trial(
            workspace.description(), record.id, params, function_bytes, definition.get("cwd")
        )
        print(f"trial {record.id}: {status}", flush=True)
    finally:
        RUNTIME.flusher.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
