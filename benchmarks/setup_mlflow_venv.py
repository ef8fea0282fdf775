"""Create ``benchmarks/.venv-mlflow`` with the ``bench`` extra's MLflow, for the comparison.

MLflow is kept out of the project venv on purpose: its dependencies (pyarrow among ~50
others) change that venv's behaviour, e.g. pandas 3 switches its default string storage
to pyarrow when pyarrow is importable, which changes dtype reprs in tests and notebooks.
The benchmarks run the MLflow half under this venv's interpreter, as a subprocess, with
the same parameters. The requirement (``mlflow>=...``) is read from the ``bench`` extra in
pyproject.toml, so there is one place to change it.

Usage: ``.venv/bin/python benchmarks/setup_mlflow_venv.py [--recreate]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-mlflow"


def bench_requirements() -> list[str]:
    """The ``bench`` optional dependencies of the project."""
    data = tomllib.loads((HERE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["optional-dependencies"]["bench"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recreate", action="store_true", help="delete and rebuild the venv")
    args = parser.parse_args(argv)
    if args.recreate and VENV.exists():
        shutil.rmtree(VENV)
    base = getattr(sys, "_base_executable", None) or sys.executable
    if not (VENV / "bin" / "python").exists():
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    python = str(VENV / "bin" / "python")
    requirements = bench_requirements()
    print(f"installing {requirements} into {VENV}", flush=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", *requirements], check=True)
    version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"MLflow {version} ready: {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
