"""``python -m run_widgets.mlflow export|import ...``: move runs between run_widgets and MLflow.

Examples::

    python -m run_widgets.mlflow export --workspace ./tracking --experiment ridge --tracking-uri http://127.0.0.1:5000
    python -m run_widgets.mlflow export --workspace ./tracking --run <run id> ...
    python -m run_widgets.mlflow import --workspace ./tracking --mlflow-experiment ridge --tracking-uri sqlite:///mlflow.db

It prints the report; the exit status is 0, or 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys

from ..experiment import Experiment
from ..workspace import Workspace
from ._client import safe_uri, tracking_uri
from .export import export_runs
from .importing import import_runs


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
                source = [workspace.get_run(run_id) for run_id in args.run]
            report = export_runs(source, uri, experiment_name=args.mlflow_experiment)  # type: ignore[arg-type]
            where = f"MLflow at {safe_uri(uri)}"
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
