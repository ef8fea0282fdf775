"""Shared helpers of the benchmark scripts: results, medians, the MLflow worker, the table.

Every benchmark script measures run_widgets in its own process and the MLflow half in a
subprocess started with an interpreter that has MLflow (see :func:`mlflow_python`), with
the same parameters, so one command measures both on the same machine at the same time.
This module must not import run_widgets or MLflow: the MLflow worker does not import it
either, and ``run_all.py`` only formats what the scripts return.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MLFLOW_VENV = HERE / ".venv-mlflow"
MLFLOW_WORKER = HERE / "_mlflow_worker.py"
ENV_MLFLOW_PYTHON = "RUN_WIDGETS_BENCH_MLFLOW_PYTHON"
MLFLOW_TEMPLATE_VARIABLE = "RUN_WIDGETS_BENCH_MLFLOW_TEMPLATE"  # read by _mlflow_worker.py


# ------------------------------------------------------------------------- results --
@dataclasses.dataclass
class Result:
    """One row of the results table.

    ``ours`` and ``mlflow`` are numbers in ``unit`` (medians over the repeats), or
    ``None`` when not measured. ``target`` is compared with ``ours``: at least the target
    when ``higher_is_better``, at most otherwise. ``ratio`` is how many times better ours
    is (ours / MLflow for throughputs, MLflow / ours for times).
    """

    key: str
    operation: str
    unit: str
    ours: float | None
    mlflow: float | None = None
    target: float | None = None
    target_text: str = ""
    higher_is_better: bool = True
    ours_detail: str = ""
    mlflow_detail: str = ""
    met_override: bool | None = None
    mlflow_cell: str = ""
    samples: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.met_override is not None:
            return self.met_override
        if self.target is None or self.ours is None:
            return None
        if self.higher_is_better:
            return self.ours >= self.target
        return self.ours <= self.target

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.mlflow is None or self.ours <= 0 or self.mlflow <= 0:
            return None
        return self.ours / self.mlflow if self.higher_is_better else self.mlflow / self.ours

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["met"] = self.met
        data["ratio"] = self.ratio
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def median(samples: Sequence[float]) -> float:
    """Median of the samples (the figure reported; the machine is shared and noisy)."""
    return float(statistics.median(samples))


def spread(samples: Sequence[float], fmt: Callable[[float], str]) -> str:
    """``min …, max …, n=…`` text of samples (the median is reported separately)."""
    if len(samples) == 1:
        return f"n=1: {fmt(samples[0])}"
    return f"min {fmt(min(samples))}, max {fmt(max(samples))}, n={len(samples)}"


# ------------------------------------------------------------------------ formatting --
def fmt_rate(value: float | None) -> str:
    """``2.61 M points/s`` style text."""
    if value is None:
        return "—"
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M points/s"
    if value >= 1e4:
        return f"{value / 1e3:,.0f} k points/s"
    return f"{value:,.0f} points/s"


def fmt_ms(value: float | None) -> str:
    """Milliseconds with sensible precision."""
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def fmt_count(value: float | None) -> str:
    """An integer count."""
    return "—" if value is None else f"{int(value):,}"


def fmt_ratio(value: float | None) -> str:
    """``1,234×``."""
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}×"
    if value >= 1:
        return f"{value:,.1f}×"
    return f"{value:.2g}×"  # run_widgets is slower here


def fmt_value(unit: str, value: float | None) -> str:
    """Format ``value`` for its unit."""
    if unit == "points/s":
        return fmt_rate(value)
    if unit == "ms":
        return fmt_ms(value)
    if unit == "count":
        return fmt_count(value)
    if unit == "x":
        return "—" if value is None else f"{value:.2f}×"
    return "—" if value is None else f"{value:g} {unit}"


def markdown_table(results: Sequence[Result]) -> str:
    """The table: operation | run_widgets | MLflow | ratio | target | met?"""
    lines = [
        "| operation | run_widgets | MLflow | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        met = {True: "yes", False: "**NO**", None: "—"}[r.met]
        mlflow = r.mlflow_cell or fmt_value(r.unit, r.mlflow)
        lines.append(
            f"| {r.operation} | {fmt_value(r.unit, r.ours)} | {mlflow} | {fmt_ratio(r.ratio)} "
            f"| {r.target_text or '—'} | {met} |"
        )
    return "\n".join(lines)


def details_text(results: Sequence[Result]) -> str:
    """One line per row with the spread of the samples and notes."""
    lines = []
    for r in results:
        parts = [p for p in (r.ours_detail, r.mlflow_detail and f"MLflow: {r.mlflow_detail}") if p]
        if parts:
            lines.append(f"- {r.operation}: " + "; ".join(parts))
    return "\n".join(lines)


def machine_text() -> str:
    """Where the numbers come from."""
    cores = os.cpu_count()
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{cores} cores, load average at start {load}"
    )


# --------------------------------------------------------------------------- MLflow --
def mlflow_python() -> str | None:
    """An interpreter that can import MLflow, or ``None``.

    In order: ``$RUN_WIDGETS_BENCH_MLFLOW_PYTHON``; ``benchmarks/.venv-mlflow`` (made by
    ``setup_mlflow_venv.py`` with the ``bench`` extra, psycopg2 included; kept apart because
    MLflow's dependencies change the project venv: pyarrow switches pandas 3's default
    string storage); this interpreter if it has MLflow (the ``mlflow`` extra).
    """
    explicit = os.environ.get(ENV_MLFLOW_PYTHON)
    if explicit:
        return explicit
    candidate = MLFLOW_VENV / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    if importlib.util.find_spec("mlflow") is not None:
        return sys.executable
    return None


def mlflow_env() -> dict[str, str]:
    """Environment of MLflow subprocesses: no telemetry, no network, quiet logs."""
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.pop("MLFLOW_TRACKING_URI", None)  # each task uses its own sqlite:/// file
    env[MLFLOW_TEMPLATE_VARIABLE] = str(mlflow_template())
    return env


def mlflow_template() -> Path:
    """Where the MLflow tasks of this process and of its children (run_all's scripts) keep
    one migrated, empty sqlite database to copy (``_mlflow_worker._copy_of_template``)."""
    given = os.environ.get(MLFLOW_TEMPLATE_VARIABLE)
    if given:
        return Path(given)
    folder = tempfile.mkdtemp(prefix="rw-bench-mlflow-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "template.db"
    os.environ[MLFLOW_TEMPLATE_VARIABLE] = str(path)
    return path


def run_mlflow(task: str, params: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Run one task of ``_mlflow_worker.py`` under the MLflow interpreter; its JSON answer.

    Raises:
        RuntimeError: MLflow is not available, or the worker failed.
    """
    python = mlflow_python()
    if python is None:
        raise RuntimeError("MLflow is not installed (run benchmarks/setup_mlflow_venv.py)")
    proc = subprocess.run(
        [python, str(MLFLOW_WORKER), task, json.dumps(params)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=mlflow_env(),
        cwd=str(HERE),
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"MLflow worker {task} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
            f"\n{proc.stderr[-4000:]}"
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"MLflow worker {task} printed no result:\n{proc.stderr[-4000:]}")
    return dict(json.loads(lines[-1]))


def mlflow_version() -> str | None:
    """MLflow's version under :func:`mlflow_python`, or ``None``."""
    python = mlflow_python()
    if python is None:
        return None
    proc = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
        timeout=120,
        env=mlflow_env(),
    )
    return proc.stdout.strip() or None


# ---------------------------------------------------------------------------- CLI --
def base_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every benchmark script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small smoke run (seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per measurement")
    parser.add_argument(
        "--mlflow",
        choices=("auto", "yes", "no"),
        default="auto",
        help="measure MLflow too: auto = when installed (full runs require it unless 'no')",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    return parser


def want_mlflow(args: argparse.Namespace) -> bool:
    """Whether to run the MLflow half.

    ``auto`` runs it when MLflow is installed; a full (non ``--quick``) run without MLflow
    is an error, so a real run always includes it. ``--mlflow no`` skips it explicitly.
    """
    if args.mlflow == "no":
        return False
    available = mlflow_python() is not None
    if args.mlflow == "yes" or not args.quick:
        if not available:
            raise SystemExit(
                "MLflow is not installed: run `.venv/bin/python benchmarks/setup_mlflow_venv.py`"
                " (or pass --mlflow no to measure run_widgets only)."
            )
        return True
    return available


def finish(results: Sequence[Result], args: argparse.Namespace, title: str) -> None:
    """Print the table (and details), and write JSON if asked."""
    print(f"\n## {title}\n")
    print(markdown_table(results))
    details = details_text(results)
    if details:
        print("\n" + details)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_json() for r in results], indent=1))


def progress(message: str) -> None:
    """A progress line on stderr (stdout carries the table)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
