"""The process's machinery: what one Python process shares across every run it touches.

Modules, one job each:

* ``process``: :data:`RUNTIME`, the process-wide state (open stores, flusher, exit hooks, run table, context slot);
* ``registry``: :data:`REGISTRY`, every extension point (run types, executors, compute types, view kinds...);
* ``flusher``: the background thread that makes logged points durable and sends heartbeats;
* ``exit_hooks``: what happens to open runs at exit, on an uncaught exception, on SIGTERM;
* ``host``: this machine's name in owner rows;
* ``liveness``: judging whether a run's owner process is still there (it judges; it writes nothing);
* ``attempts``: which attempt of a retried run a process executes;
* ``context``: the environment side of ``Run.get_context()`` (is this process a submitted job?).

Layer: runtime, above ``store`` and below ``tracking``: it imports only the store and
exceptions; what it needs from higher layers it gets through :data:`REGISTRY`.
"""

from .process import RUNTIME
from .registry import REGISTRY

__all__ = ["REGISTRY", "RUNTIME"]
