"""``python -m run_widgets.port PATH...``: port Azure ML SDK v1 notebooks and scripts.

Rewrites the v1 imports of ``.ipynb`` and ``.py`` files to run_widgets (in place, keeping
a ``.bak`` copy, or into an output folder) — ``azureml.core``, ``azureml.widgets``,
``azureml.train.hyperdrive``, ``azureml.pipeline.core``, ``azureml.pipeline.steps``,
``azureml.data``, ``azureml.tensorboard`` … whatever names run_widgets has — and lists per
file the cells and lines that use Azure-only APIs (webservices and deployment, AutoML,
schedules and steps on Azure compute, Azure sign-in and REST calls, other datastore kinds,
Docker) that no import change can make local. It counts import statements, not lines.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import UserErrorException
from .cloud import Finding, find, imported_cloud_names
from .rewrite import imports_azureml_core, rewrite_source

BACKUP_SUFFIX = ".bak"
SKIPPED_FOLDERS = frozenset({".ipynb_checkpoints", ".git", "__pycache__", ".venv", "node_modules"})


@dataclass
class Location:
    """Where something is in a file.

    ``cell`` is the 0-based index in the notebook's cells (None for a .py file), ``line``
    the 1-based line within it; printed 1-based, as "cell 3 line 2".
    """

    cell: int | None
    line: int

    def __str__(self) -> str:
        if self.cell is None:
            return f"line {self.line}"
        return f"cell {self.cell + 1} line {self.line}"


@dataclass
class FileReport:
    """What porting one file did and found.

    Attributes:
        path: the file read.
        written: the file written (the same path in place, or under the output folder);
            None when nothing needed to change and nothing was written.
        backup: the copy of the original, when rewritten in place.
        rewritten: where imports were rewritten (every line of each rewritten statement).
        statements: how many import statements were rewritten (one per statement, however
            many lines it spans).
        cloud_only: the Azure-only uses left as they were.
    """

    path: Path
    written: Path | None = None
    backup: Path | None = None
    rewritten: list[Location] = field(default_factory=list)
    statements: int = 0
    cloud_only: list[tuple[Location, Finding]] = field(default_factory=list)

    def summary(self) -> str:
        """The lines printed for this file."""
        head = f"{self.path}: "
        if self.statements:
            head += f"{self.statements} import statement(s) rewritten"
            if self.written is not None and self.written != self.path:
                head += f" -> {self.written}"
            if self.backup is not None:
                head += f" (original kept as {self.backup.name})"
        else:
            head += "no v1 imports to rewrite"
        lines = [head]
        if self.cloud_only:
            lines.append("  uses Azure-only APIs that stay as they are:")
            for location, finding in self.cloud_only:
                lines.append(f"    {location} [{finding.category}]: {finding.text}")
        else:
            lines.append("  no Azure-only APIs found")
        return "\n".join(lines)


def port_file(path: Path, output: Path | None = None, backup: bool = True) -> FileReport:
    """Port one ``.ipynb`` or ``.py`` file: to ``output`` (a file path) or in place."""
    if path.suffix == ".ipynb":
        return _port_notebook(path, output, backup)
    if path.suffix == ".py":
        return _port_script(path, output, backup)
    raise UserErrorException(f"{path} is neither a .ipynb notebook nor a .py script.")


def port_paths(
    paths: list[Path], output_dir: Path | None = None, backup: bool = True
) -> list[FileReport]:
    """Port files and every ``.ipynb``/``.py`` under folders; one report per file."""
    reports = []
    for given in paths:
        if not given.exists():
            raise UserErrorException(f"{given} does not exist.")
        base = given if given.is_dir() else given.parent
        for path in _files(given):
            target = output_dir / path.relative_to(base) if output_dir is not None else None
            reports.append(port_file(path, target, backup))
    return reports


def _files(given: Path) -> Iterator[Path]:
    if given.is_file():
        yield given
        return
    for folder, folders, names in os.walk(given):
        folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
        for name in sorted(names):
            if name.endswith((".ipynb", ".py")):
                yield Path(folder) / name


def _port_script(path: Path, output: Path | None, backup: bool) -> FileReport:
    source = _read(path)
    rewrite = rewrite_source(source)
    report = FileReport(
        path,
        rewritten=[Location(None, n) for n in rewrite.changed_lines],
        statements=rewrite.statements,
    )
    imported = imported_cloud_names([source])
    report.cloud_only = [(Location(None, f.line), f) for f in find(rewrite.text, imported)]
    _write(report, output, backup, rewrite.text if rewrite.text != source else None)
    return report


def _port_notebook(path: Path, output: Path | None, backup: bool) -> FileReport:
    text = _read(path)
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError):
        raise UserErrorException(
            f"{path} is not a Jupyter notebook (no cells in its JSON)."
        ) from None
    report = FileReport(path)
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    sources = [_cell_text(cell) for _, cell in code]
    imported = imported_cloud_names(sources)
    qualified = any(imports_azureml_core(source) for source in sources)
    changed = False
    for (index, cell), source in zip(code, sources, strict=True):
        rewrite = rewrite_source(source, qualified)
        if rewrite.text != source:
            changed = True
            _set_cell_text(cell, rewrite.text)
        report.rewritten.extend(Location(index, n) for n in rewrite.changed_lines)
        report.statements += rewrite.statements
        report.cloud_only.extend((Location(index, f.line), f) for f in find(rewrite.text, imported))
    new_text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n" if changed else None
    _write(report, output, backup, new_text)
    return report


def _cell_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _set_cell_text(cell: dict[str, Any], text: str) -> None:
    if isinstance(cell.get("source"), list):
        cell["source"] = text.splitlines(keepends=True)
    else:
        cell["source"] = text


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserErrorException(f"Cannot read {path}: {error}") from None


def _write(report: FileReport, output: Path | None, backup: bool, new_text: str | None) -> None:
    path = report.path
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        if new_text is None:
            shutil.copyfile(path, output)
        else:
            output.write_text(new_text, encoding="utf-8")
        report.written = output
        return
    if new_text is None:
        return
    if backup:
        report.backup = path.with_name(path.name + BACKUP_SUFFIX)
        shutil.copyfile(path, report.backup)
    temporary = path.with_name(f".{path.name}.port-tmp")
    temporary.write_text(new_text, encoding="utf-8")
    os.replace(temporary, path)
    report.written = path
