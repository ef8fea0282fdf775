"""Keep the demo's working copy of notebooks/ up to date without touching what git tracks.

``./scripts/demo`` opens JupyterLab on ``demo-notebooks/`` (git-ignored), a copy of the
notebooks and the scripts they submit, so that running, autosaving or editing them never
modifies a tracked file. Each start brings the copy up to date, file by file:

- a file missing from the copy (first start, or deleted by the user to get the project's
  version back) is copied;
- a file the project changed since it was copied is replaced when the user has not edited
  it (for a notebook: its cells' sources are as copied; running it and saving outputs is not
  an edit);
- a file the user edited is never overwritten: the project's new version is written beside
  it (``demo.ipynb`` -> ``demo.project.ipynb``) and a line says so.

What was copied is remembered in ``demo-notebooks/.copied.json`` (a hash of the project's
file and a fingerprint of the copy, per file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

MANIFEST = ".copied.json"
NOT_COPIED = {"conftest.py", "sanitize.cfg"}  # test settings of notebooks/, not for users
PROJECT_SUFFIX = ".project"


def tracked_files(source: Path) -> list[str]:
    """The files of ``source`` to copy, relative to it (what git tracks, where it can tell)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "."],
            cwd=source,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [
            path.relative_to(source).as_posix()
            for path in source.rglob("*")
            if path.is_file()
            and path.suffix in {".ipynb", ".py"}
            and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts)
        ]
    return sorted(name for name in names if name not in NOT_COPIED and (source / name).is_file())


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(path: Path) -> str:
    """What counts as the user's edit: a notebook's cells (type and source), else the bytes.

    Outputs, execution counts and metadata (widget state) change whenever a notebook is run
    and autosaved; they are not edits.
    """
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            sources = [[cell.get("cell_type"), "".join(cell.get("source", ""))] for cell in cells]
        except (ValueError, KeyError, TypeError):
            return file_hash(path)  # not a readable notebook: compare the bytes
        return hashlib.sha256(json.dumps(sources).encode()).hexdigest()
    return file_hash(path)


def project_copy_name(name: str) -> str:
    """Where the project's version goes beside a user's edited file."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        return name + PROJECT_SUFFIX
    return f"{stem}{PROJECT_SUFFIX}.{suffix}"


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copy2(source, partial)
    os.replace(partial, target)


def sync(source: Path, work: Path) -> list[str]:
    """Bring ``work`` up to date with ``source``; return one line per thing done."""
    work.mkdir(parents=True, exist_ok=True)
    manifest_path = work / MANIFEST
    try:
        manifest: dict[str, dict[str, str]] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    said: list[str] = []
    for name in tracked_files(source):
        original, copy = source / name, work / name
        wanted = file_hash(original)
        record = manifest.get(name)
        if not copy.exists():
            _copy(original, copy)
            said.append(f"copied {name}" if record is None else f"restored {name}")
        elif record is not None and record["source"] == wanted:
            continue
        elif record is not None and fingerprint(copy) == record["copy"]:
            _copy(original, copy)
            said.append(f"updated {name} (the project's version changed)")
        elif file_hash(copy) == wanted:
            pass  # the same as the project's: nothing to keep apart
        else:
            beside = project_copy_name(name)
            _copy(original, work / beside)
            said.append(
                f"kept your edited {name}; the project's new version is {beside}"
                f" (delete {name} and restart to take it instead)"
            )
            manifest[name] = {"source": wanted, "copy": record["copy"] if record else ""}
            continue
        manifest[name] = {"source": wanted, "copy": fingerprint(copy)}
    partial = manifest_path.with_name(MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    os.replace(partial, manifest_path)
    return said


def main(argv: list[str] | None = None) -> int:
    """``python scripts/demo_notebooks.py SOURCE WORK``: sync and print what changed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the tracked notebooks folder")
    parser.add_argument("work", type=Path, help="the working copy (git-ignored)")
    args = parser.parse_args(argv)
    first = not (args.work / MANIFEST).exists()
    said = sync(args.source, args.work)
    if first:
        print(
            f"{args.work.name}/: a working copy of {args.source.name}/ ({len(said)} files) for"
            " JupyterLab; git ignores it, your edits there stay yours"
        )
        return 0
    for line in said:
        print(f"{args.work.name}/: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
