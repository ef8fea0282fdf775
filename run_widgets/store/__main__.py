r"""``python -m run_widgets.store``: copy a workspace between stores, checksum one, migrate one.

::

    python -m run_widgets.store copy --from ~/.run_widgets/default \
        --to postgresql://alice@db.example/tracking --to-artifacts /shared/run_widgets
    python -m run_widgets.store checksum --store postgresql://alice@db.example/tracking \
        --artifacts /shared/run_widgets
    python -m run_widgets.store migrate --store postgresql://owner@db.example/tracking

A store is a URI (``sqlite:///...``, ``postgresql://...``) or a workspace folder. The files
(run files, snapshots, model files) are in the workspace folder of a folder or SQLite
store; a server store needs ``--from-artifacts`` / ``--to-artifacts`` / ``--artifacts``
(or ``--no-files``). Give passwords the libpq ways (``PGPASSWORD``, ``~/.pgpass``): a URI
on a command line is visible to other users of the machine. Nothing printed ever holds a
password. Exit status: 0, 1 for a store error (one line), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..exceptions import RunWidgetsError
from .copy import BATCH_POINTS, copy_store
from .digest import store_digest
from .registry import open_store, redact, scheme_of, sqlite_path


def files_of(store: str, given: str | None, no_files: bool, option: str) -> Path | None:
    """The artifacts folder of ``store``: ``given``, else a folder store's own, else none.

    Raises:
        SystemExit: a server store without ``option`` (and without ``--no-files``).
    """
    if no_files:
        return None
    if given is not None:
        return Path(given).expanduser()
    scheme = scheme_of(store)
    if scheme is None:
        return Path(store).expanduser()
    if scheme == "sqlite":
        return sqlite_path(store).parent
    parser().error(f"{redact(store)} keeps its files elsewhere: give {option} DIR (or --no-files)")
    raise AssertionError("unreachable")


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m run_widgets.store``."""
    cli = argparse.ArgumentParser(
        prog="python -m run_widgets.store",
        description="Copy a workspace between stores (any backends), checksum or migrate one.",
    )
    commands = cli.add_subparsers(dest="command", required=True)
    copy = commands.add_parser(
        "copy",
        help="copy everything of one store (and its files) into another; again: brings it up to date",
    )
    copy.add_argument("--from", dest="source", required=True, help="the store copied from")
    copy.add_argument("--to", dest="target", required=True, help="the store copied to")
    copy.add_argument("--from-artifacts", help="the source's files (for a server store)")
    copy.add_argument("--to-artifacts", help="the target's files (for a server store)")
    copy.add_argument("--no-files", action="store_true", help="copy the records only")
    copy.add_argument(
        "--batch-points",
        type=int,
        default=BATCH_POINTS,
        help=f"metric points written in one transaction at most (default {BATCH_POINTS:,})",
    )
    checksum = commands.add_parser(
        "checksum", help="a checksum of everything a store holds, per section"
    )
    checksum.add_argument("--store", required=True)
    checksum.add_argument("--artifacts", help="its files (for a server store)")
    checksum.add_argument("--no-files", action="store_true", help="leave the files out")
    checksum.add_argument(
        "--roles", action="store_true", help="also hash which database role created each run"
    )
    migrate = commands.add_parser(
        "migrate", help="create or upgrade the store's schema (as its owner)"
    )
    migrate.add_argument("--store", required=True)
    return cli


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    try:
        if args.command == "copy":
            return _copy(args)
        if args.command == "checksum":
            files = files_of(args.store, args.artifacts, args.no_files, "--artifacts")
            store = open_store(args.store)
            try:
                print(store_digest(store, files, roles=args.roles))
            finally:
                store.close()
            return 0
        store = open_store(args.store)  # opening creates or migrates the schema
        try:
            print(f"{store.location}: schema up to date (opened as {store.access})")
        finally:
            store.close()
        return 0
    except (RunWidgetsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _copy(args: argparse.Namespace) -> int:
    source_files = files_of(args.source, args.from_artifacts, args.no_files, "--from-artifacts")
    target_files = files_of(args.target, args.to_artifacts, args.no_files, "--to-artifacts")
    source = open_store(args.source)
    try:
        target = open_store(args.target)
        try:
            report = copy_store(
                source,
                target,
                source_files,
                target_files,
                progress=lambda line: print(f"... {line}", file=sys.stderr, flush=True),
                batch_points=args.batch_points,
            )
        finally:
            target.close()
    finally:
        source.close()
    print(f"copied {source.location} -> {target.location}")
    print(report)
    return 0


def main() -> None:
    """Entry point of ``python -m run_widgets.store``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
