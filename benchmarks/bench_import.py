"""What every process that logs pays first: a fresh interpreter's ``import run_widgets``.

Each ScriptRunConfig child, sweep trial, pipeline step, Dask task and ``python -m
run_widgets...`` command starts a new interpreter and imports the package. Timed, in the
same run and alternating so that the machine's load hits both alike:

* the anchor: ``python -c "import json"`` (a bare interpreter start: site, encodings, the
  venv's ``.pth`` files, and one small stdlib module);
* ``python -c "import run_widgets"``, with a bytecode cache (as an installed package has)
  and without one (``PYTHONDONTWRITEBYTECODE=1`` in a source checkout: every module is
  compiled in every process, which is what this project's shared machine does);
* a script's start: ``from run_widgets import Run; Run.get_context().log(...)`` outside a
  job (the workspace under a temporary ``RUN_WIDGETS_HOME``), to the process's exit;
* with MLflow (its own interpreter, see README.md): ``python -c "import mlflow"``.

Wall time of each whole process, median of ``--repeats`` after one untimed warm-up round
(which writes the ``.pyc`` files into a temporary ``PYTHONPYCACHEPREFIX``). The ratio to
the anchor is the figure that holds on a loaded machine. The notes also list the heavy
libraries a fresh ``import run_widgets`` loaded (none is expected: pandas, pyarrow, fsspec,
tensorboardX... are imported where they are used). ``PYTHONPATH`` is passed on, so
``PYTHONPATH=<another checkout>`` (run from outside this one) measures another version.

Usage: ``.venv/bin/python benchmarks/bench_import.py [--quick] [--repeats N] [--mlflow no]``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Result,
    base_parser,
    finish,
    fmt_ms,
    median,
    mlflow_env,
    mlflow_python,
    progress,
    spread,
    want_mlflow,
)

ANCHOR = "import json"
IMPORT = "import run_widgets"
SCRIPT_START = "from run_widgets import Run\nRun.get_context().log('loss', 0.5)\n"
HEAVY = ("pandas", "pyarrow", "fsspec", "adlfs", "tensorboardX", "google.protobuf", "cloudpickle")
TARGET_RATIO = 15.0
"""With room for a loaded machine (12–19× measured at load 8–9); pandas alone (what one stray
import brings back) costs more than this whole budget."""
REPORT_HEAVY = (
    f"import sys, run_widgets\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
)


def wall_ms(python: str, code: str, env: dict[str, str]) -> float:
    """Wall time of ``python -c code`` from start to exit, in ms (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(
        [python, "-c", code],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return (time.perf_counter() - started) * 1000


def environments(folder: Path) -> dict[str, dict[str, str]]:
    """The children's environments: with a bytecode cache, and without one.

    ``cached``: ``.pyc`` files written on the warm-up round into ``folder`` (a
    ``PYTHONPYCACHEPREFIX``, so the source tree stays clean) and read afterwards, as an
    installed package's are. ``uncached``: ``PYTHONDONTWRITEBYTECODE=1`` in a checkout that
    has no ``__pycache__`` (an editable install on a machine that sets it): every module of
    the package is compiled from source in every process.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPYCACHE")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base["RUN_WIDGETS_HOME"] = str(folder / "home")
    cached = dict(base, PYTHONPYCACHEPREFIX=str(folder / "pycache"))
    uncached = dict(base, PYTHONDONTWRITEBYTECODE="1")
    return {"cached": cached, "uncached": uncached}


def measure(repeats: int, with_mlflow: bool) -> list[Result]:
    load_before = os.getloadavg()
    samples: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="rw-bench-import-") as tmp:
        env = environments(Path(tmp))
        ml_python = mlflow_python() if with_mlflow else None
        for round_ in range(repeats + 1):  # round 0 writes the .pyc files and warms the disk
            timed = {
                "anchor": wall_ms(sys.executable, ANCHOR, env["cached"]),
                "import": wall_ms(sys.executable, IMPORT, env["cached"]),
                "uncached": wall_ms(sys.executable, IMPORT, env["uncached"]),
                "script": wall_ms(sys.executable, SCRIPT_START, env["cached"]),
            }
            if ml_python is not None:
                timed["mlflow"] = wall_ms(ml_python, "import mlflow", mlflow_env())
            if round_:
                for key, value in timed.items():
                    samples[key].append(value)
        loaded = subprocess.run(
            [sys.executable, "-c", REPORT_HEAVY],
            env=env["cached"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    load = "load average (1 min) " + " → ".join(
        f"{x:.2f}" for x in (load_before[0], os.getloadavg()[0])
    )
    anchor, ours, uncached, script = (
        median(samples[k]) for k in ("anchor", "import", "uncached", "script")
    )
    mlflow = median(samples["mlflow"]) if samples["mlflow"] else None
    heavy = f"heavy libraries loaded: {', '.join(loaded) or 'none'}"
    return [
        Result(
            key="import_ratio",
            operation='fresh `python -c "import run_widgets"` ÷ `python -c "import json"`',
            unit="x",
            ours=ours / anchor,
            target=TARGET_RATIO,
            target_text=f"≤ {TARGET_RATIO:g}× a bare interpreter",
            higher_is_better=False,
            ours_detail=f"ratio of the medians of the next row; {heavy}; {load}",
            mlflow_cell="(see the next row)",
        ),
        Result(
            key="import_wall",
            operation='fresh `python -c "import run_widgets"` (MLflow: `import mlflow`)',
            unit="ms",
            ours=ours,
            mlflow=mlflow,
            higher_is_better=False,
            ours_detail=(
                f"{spread(samples['import'], fmt_ms)}; the anchor `import json`: "
                f"{fmt_ms(anchor)} ({spread(samples['anchor'], fmt_ms)})"
            ),
            mlflow_detail=spread(samples["mlflow"], fmt_ms) if samples["mlflow"] else "",
            samples=dict(samples),
        ),
        Result(
            key="import_uncached",
            operation="… with no bytecode cache (`PYTHONDONTWRITEBYTECODE=1`, a source checkout)",
            unit="ms",
            ours=uncached,
            higher_is_better=False,
            ours_detail=f"{spread(samples['uncached'], fmt_ms)}; {uncached / anchor:.1f}× the anchor",
            mlflow_cell="—",
        ),
        Result(
            key="import_script_start",
            operation="a script's start to exit: `Run.get_context().log(...)`, outside a job",
            unit="ms",
            ours=script,
            higher_is_better=False,
            ours_detail=f"{spread(samples['script'], fmt_ms)}; {script / anchor:.1f}× the anchor",
            mlflow_cell="—",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = base_parser(__doc__.splitlines()[0]).parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    with_mlflow = want_mlflow(args)
    progress(f"timing {repeats} fresh interpreters of each kind")
    results = measure(repeats, with_mlflow)
    finish(results, args, "Import time" + (" (--quick)" if args.quick else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
