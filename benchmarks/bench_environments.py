"""Isolated environments: build with uv vs the venv + pip anchor, and a cached reuse.

Measures, for one small pure-Python package (pyjokes), the wall time of
``ensure_environment`` building a fresh environment (uv's download cache warm, as after
the first build on a machine), of reusing the cached one, and of the anchor doing the same
job without uv: ``python -m venv`` + ``pip install``. Medians of ``--repeats`` runs.

Usage::

    .venv/bin/python benchmarks/bench_environments.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_widgets.submit.envbuild import EnvironmentSpec, ensure_environment

PACKAGE = "pyjokes==0.8.3"


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    builds, reuses, anchors = [], [], []
    for index in range(repeats + 1):  # the first round only warms the download caches
        with tempfile.TemporaryDirectory() as folder:
            spec = EnvironmentSpec(f"bench-{index}", (PACKAGE,))
            log = io.StringIO()
            root = Path(folder)
            build = _timed(lambda s=spec, r=root, o=log: ensure_environment(s, r, o))
            reuse = _timed(lambda s=spec, r=root, o=log: ensure_environment(s, r, o))
            venv = root / "venv"
            anchor = _timed(
                lambda venv=venv: (
                    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True),
                    subprocess.run(
                        [str(venv / "bin" / "pip"), "install", "-q", PACKAGE],
                        check=True,
                        capture_output=True,
                    ),
                )
            )
        if index:
            builds.append(build)
            reuses.append(reuse)
            anchors.append(anchor)
    build, reuse, anchor = (statistics.median(v) for v in (builds, reuses, anchors))
    print(f"| build an environment with {PACKAGE} (uv) | {build:.2f} s |")
    print(
        f"| same with python -m venv + pip install (anchor) | {anchor:.2f} s ({anchor / build:.1f}x slower) |"
    )
    print(f"| reuse the cached environment | {reuse * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
