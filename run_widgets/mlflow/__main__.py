"""``python -m run_widgets.mlflow export|import|mirror ...``: move runs between run_widgets and MLflow.

Examples::

    python -m run_widgets.mlflow export --workspace ./tracking --experiment ridge --tracking-uri http://127.0.0.1:5000
    python -m run_widgets.mlflow export --workspace ./tracking --run <run id> ...
    python -m run_widgets.mlflow import --workspace ./tracking --mlflow-experiment ridge --tracking-uri sqlite:///mlflow.db
    python -m run_widgets.mlflow mirror --workspace ./tracking --run <run id> --tracking-uri http://127.0.0.1:5000

``mirror`` copies a run while it logs (a submitted job, from a shell) and returns when the
copy is complete. It prints the report; the exit status is 0, 2 for bad arguments, 130
when a mirror is interrupted (Ctrl-C) before its copy is complete.
"""

from __future__ import annotations

import argparse
import sys

from ..experiment import Experiment
from ..run import Run
from ..workspace import Workspace
from ._client import safe_uri, tracking_uri
from .export import export_runs
from .importing import import_runs
from .live import DEFAULT_INTERVAL_S, mirror_run


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    main = argparse.ArgumentParser(
        prog="python -m run_widgets.mlflow", description=__doc__.splitlines()[0]
    )
    commands = main.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="run_widgets runs → MLflow")
    export.add_argument("--workspace", required=True, help="run_widgets workspace folder")
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("--experiment", help="export this experiment's runs")
    what.add_argument("--run", action="append", help="export this run (repeatable)")
    export.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's)")
    export.add_argument("--mlflow-experiment", help="MLflow experiment to write to")
    imp = commands.add_parser("import", help="MLflow experiment → run_widgets")
    imp.add_argument("--workspace", required=True, help="run_widgets workspace folder")
    imp.add_argument("--mlflow-experiment", required=True, help="MLflow experiment name or id")
    imp.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's)")
    mirror = commands.add_parser("mirror", help="a run_widgets run → MLflow, while it logs")
    mirror.add_argument("--workspace", required=True, help="run_widgets workspace folder")
    mirror.add_argument("--run", required=True, help="the run to mirror (with its children)")
    mirror.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's)")
    mirror.add_argument("--mlflow-experiment", help="MLflow experiment to write to")
    mirror.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between reads"
    )
    return main


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    workspace = Workspace(args.workspace)
    try:
        uri = tracking_uri(args.tracking_uri)
        if args.command == "export":
            if args.experiment:
                source: object = Experiment(workspace, args.experiment)
            else:
                source = [Run.get(workspace, run_id) for run_id in args.run]
            report = export_runs(source, uri, experiment_name=args.mlflow_experiment)  # type: ignore[arg-type]
            where = f"MLflow at {safe_uri(uri)}"
        elif args.command == "mirror":
            live = mirror_run(
                Run.get(workspace, args.run), uri, args.mlflow_experiment, args.interval
            )
            print(f"mirror → MLflow at {safe_uri(uri)} (Ctrl-C stops)", flush=True)
            try:
                shown = None
                while not live.wait(1.0):
                    if live.error != shown and live.error is not None:
                        print(f"MLflow failed ({live.error}); retrying", file=sys.stderr)
                    shown = live.error
            except KeyboardInterrupt:
                live.stop()
                print(f"stopped: the copy is not complete ({live!r}); export completes it.")
                return 130
            report, where = live.report, f"MLflow at {safe_uri(uri)}"
        else:
            report = import_runs(workspace, args.mlflow_experiment, uri)
            where = f"workspace {workspace.folder}"
    except (ValueError, TypeError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        workspace.close()
    print(f"{args.command} → {where}")
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
