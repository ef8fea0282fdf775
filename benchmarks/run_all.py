"""Run every benchmark (run_widgets and MLflow, same machine, same run) and print one table.

Each script runs in its own process, one after the other, so they do not disturb each
other; MLflow runs inside them as a subprocess under its own interpreter (see README.md).
The combined table is printed as markdown and saved, with every sample, under
``benchmarks/results/`` (git-ignored).

Usage::

    .venv/bin/python benchmarks/run_all.py            # full run, MLflow required
    .venv/bin/python benchmarks/run_all.py --quick    # smoke run (MLflow if installed)

Exit status: 0 when every script ran (targets missed or not), 1 when one failed, and with
``--strict`` also 1 when a target was missed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    HERE,
    Result,
    base_parser,
    details_text,
    machine_text,
    markdown_table,
    mlflow_python,
    mlflow_template,
    mlflow_version,
    progress,
    want_mlflow,
)

SCRIPTS = (
    "bench_logging.py",
    "bench_concurrency.py",
    "bench_widget_poll.py",
    "bench_experiment_view.py",
    "bench_import.py",
)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("Run every benchmark and print one table.")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=HERE / "results",
        help="where the report (.md) and samples (.json) are saved",
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="run only these scripts (e.g. bench_logging)"
    )
    args = parser.parse_args(argv)
    with_mlflow = want_mlflow(args)
    if with_mlflow:
        mlflow_template()  # one migrated MLflow database for the tasks of every script
    version = mlflow_version() if with_mlflow else None
    machine = machine_text()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results: list[Result] = []
    failed: list[str] = []
    scripts = [
        s
        for s in SCRIPTS
        if args.only is None or s.removesuffix(".py") in args.only or s in args.only
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for script in scripts:
            out = Path(tmp) / f"{script}.json"
            command = [sys.executable, str(HERE / script), "--json", str(out)]
            command += ["--mlflow", "yes" if with_mlflow else "no"]
            if args.quick:
                command.append("--quick")
            if args.repeats is not None:
                command += ["--repeats", str(args.repeats)]
            progress(f"running {script}")
            start = time.perf_counter()
            proc = subprocess.run(command, stdout=subprocess.PIPE, text=True)
            progress(f"{script} took {time.perf_counter() - start:.0f} s")
            if proc.returncode != 0 or not out.exists():
                failed.append(script)
                print(proc.stdout)
                continue
            results += [Result.from_json(r) for r in json.loads(out.read_text())]

    mode = "quick smoke run (small counts: not representative)" if args.quick else "full run"
    if with_mlflow:
        where = "this venv" if mlflow_python() == sys.executable else mlflow_python()
        ml_text = f"MLflow {version} (sqlite:/// store in a temp dir, run by {where})"
    else:
        ml_text = "MLflow not measured (not installed, or --mlflow no)"
    lines = [
        f"# run_widgets benchmarks — {mode}",
        "",
        f"{started}; {machine}; {ml_text}.",
        "Figures are medians of several repeats (see the notes). MLflow gets fewer points where "
        "it is slow (~200 log_metric/s): both sides are compared in points/s (or ms), which do "
        "not depend on the point count for these operations. Ratio = how many times better "
        "run_widgets is.",
        "",
        markdown_table(results),
        "",
        "Notes (spread of the samples, point counts):",
        "",
        details_text(results),
    ]
    if failed:
        lines += ["", f"FAILED: {', '.join(failed)}"]
    report = "\n".join(lines)
    print(report)
    results_dir = args.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")
    (results_dir / f"{stamp}.md").write_text(report + "\n")
    payload = {
        "started": started,
        "machine": machine,
        "mlflow": version,
        "quick": args.quick,
        "results": [r.to_json() for r in results],
    }
    (results_dir / f"{stamp}.json").write_text(json.dumps(payload, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(payload, indent=1))
    if failed:
        return 1
    if args.strict and any(r.met is False for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
