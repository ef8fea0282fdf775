"""The identity of this machine, as recorded in the owner rows of every store backend.

Liveness checks compare an owner's host with :func:`local_host`: on this host a pid check
decides, on another host only the heartbeat's age can. ``RUN_WIDGETS_HOST_ID`` overrides
the name, so one machine can stand in for two in tests of a shared (team) store.

Layer: runtime (the process's machinery; imports nothing of run_widgets).
"""

from __future__ import annotations

import os
import socket

ENV_HOST_ID = "RUN_WIDGETS_HOST_ID"


def local_host() -> str:
    """Name of this machine as recorded in owner rows (``$RUN_WIDGETS_HOST_ID`` if set)."""
    return os.environ.get(ENV_HOST_ID) or socket.gethostname()
