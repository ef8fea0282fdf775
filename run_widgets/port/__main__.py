"""Command line of the porting tool: ``python -m run_widgets.port [-o DIR] PATH...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..exceptions import UserErrorException
from . import port_paths


def parser() -> argparse.ArgumentParser:
    """The command line's arguments (also rendered in the documentation's CLI reference)."""
    parser = argparse.ArgumentParser(
        prog="python -m run_widgets.port",
        description=(
            "Rewrite Azure ML SDK v1 imports in .ipynb and .py files to run_widgets, and list "
            "the cells and lines that use Azure-only APIs."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, scripts or folders")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the ported files under this folder instead of in place",
    )
    parser.add_argument(
        "--no-backup", action="store_true", help="in place, do not keep a .bak copy"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Port the given files and folders; print one report per file. Exit code 2 on bad input."""
    options = parser().parse_args(argv)
    try:
        reports = port_paths(options.paths, options.output, backup=not options.no_backup)
    except UserErrorException as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for report in reports:
        print(report.summary())
    cloud = sum(1 for r in reports if r.cloud_only)
    statements = sum(r.statements for r in reports)
    print(
        f"\n{len(reports)} file(s) ported, {statements} import statement(s) rewritten; "
        f"{cloud} use Azure-only APIs (listed above) that need Azure or a local replacement."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
