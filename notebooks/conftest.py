"""Settings for validating the notebooks with nbval (``pytest --nbval-lax notebooks``).

Notebook kernels inherit this environment: a throwaway default workspace (so the runs
they create never land in the real one) and a short demo run.
"""

import os
import tempfile

os.environ.setdefault("RUN_WIDGETS_HOME", tempfile.mkdtemp(prefix="rw-notebooks-"))
os.environ.setdefault("RUN_WIDGETS_DEMO_EPOCHS", "8")
os.environ.setdefault("RUN_WIDGETS_DEMO_DELAY", "0.2")
