"""Rewrite the Azure ML v1 imports of one piece of Python source.

``from azureml.core import Workspace, Dataset`` becomes ``from run_widgets import
Workspace`` plus ``from azureml.core import Dataset`` (kept: run_widgets has no Dataset);
``import azureml.core`` becomes ``import run_widgets`` and ``azureml.core.VERSION``
``run_widgets.VERSION`` (in a notebook, in every cell once one cell imports
``azureml.core``: the kernel shares its names between cells). What run_widgets offers is read from ``run_widgets.__all__``, so
the rewriting follows the package as it grows.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass, field

import run_widgets

SUPPORTED = frozenset(run_widgets.__all__)
TARGET = "run_widgets"
_MAGIC = re.compile(r"^\s*[%!]")
# azureml.core.VERSION, azureml.data.__version__, azureml.pipeline.core.Pipeline...: the
# last component is the name (the dotted modules before it are v1's)
_QUALIFIED = re.compile(r"\bazureml(?:\.[a-z_][a-z0-9_]*)*\.([A-Za-z_]\w*)\b")


@dataclass
class Rewrite:
    """The result of rewriting one source text.

    Attributes:
        text: the new source.
        changed_lines: 1-based line numbers (in the new text) of rewritten imports.
        statements: how many import statements were rewritten (a wrapped import spans
            several lines but counts once).
        kept: ``(line, module, name)`` for each v1 name left importing from azureml.
    """

    text: str
    changed_lines: list[int] = field(default_factory=list)
    statements: int = 0
    kept: list[tuple[int, str, str]] = field(default_factory=list)


def parse(source: str) -> ast.Module | None:
    """The syntax tree of ``source`` with IPython magics blanked; None if not Python."""
    masked = "\n".join("pass" if _MAGIC.match(line) else line for line in source.split("\n"))
    try:
        return ast.parse(masked)
    except SyntaxError:
        return None


def rewrite_source(source: str, qualified: bool = False) -> Rewrite:
    """Rewrite the azureml imports of ``source`` (left untouched if it does not parse).

    A cell indented as a whole parses as IPython runs it: without the common indentation.
    With ``qualified``, ``azureml.<module>.<Name>`` references become ``run_widgets.<Name>``
    even where ``source`` itself does not import ``azureml.core`` (another cell of the
    notebook did, see :func:`imports_azureml_core`).
    """
    tree = parse(source)
    if tree is None:
        indent = _common_indent(source)
        if not indent:
            return Rewrite(source)
        inner = rewrite_source(textwrap.dedent(source), qualified)
        text = "\n".join(indent + line if line.strip() else line for line in inner.text.split("\n"))
        return Rewrite(text, inner.changed_lines, inner.statements, inner.kept)
    lines = source.split("\n")
    edits: list[tuple[int, int, int, int, str, list[tuple[str, str]]]] = []
    aliased_core = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "azureml":
            if node.level:
                continue
            replacement, kept = _from_import(node, _indent_of(lines, node))
            if replacement is not None:
                edits.append((*_span(lines, node), replacement, kept))
        elif isinstance(node, ast.Import) and any(
            alias.name == "azureml.core" for alias in node.names
        ):
            if len(node.names) != 1:
                continue
            alias = node.names[0]
            text = f"import {TARGET}" + (f" as {alias.asname}" if alias.asname else "")
            aliased_core = aliased_core or alias.asname is None
            edits.append((*_span(lines, node), text, []))
    if not edits and not (aliased_core or qualified):
        return Rewrite(source)
    text = _apply(lines, edits)
    if aliased_core or qualified:
        text = _replace_qualified(text)
    return _located(text, edits)


def imports_azureml_core(source: str) -> bool:
    """Whether ``source`` runs ``import azureml.core`` (without ``as``).

    Code after it may then name ``azureml.core.<Name>`` and ``azureml.<module>.<Name>``.
    """
    tree = parse(source)
    if tree is None:
        indent = _common_indent(source)
        tree = parse(textwrap.dedent(source)) if indent else None
        if tree is None:
            return False
    return any(
        isinstance(node, ast.Import)
        and any(a.name == "azureml.core" and a.asname is None for a in node.names)
        for node in ast.walk(tree)
    )


def _common_indent(source: str) -> str:
    lines = [line for line in source.split("\n") if line.strip()]
    indents = [line[: len(line) - len(line.lstrip())] for line in lines]
    if not indents:
        return ""
    common = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(common):
            common = common[:-1]
    return common


def _from_import(node: ast.ImportFrom, indent: str) -> tuple[str | None, list[tuple[str, str]]]:
    module = node.module or ""
    ours = [a for a in node.names if a.name in SUPPORTED]
    theirs = [a for a in node.names if a.name not in SUPPORTED]
    if not ours:
        return None, []
    statements = [_statement(TARGET, ours)]
    if theirs:
        statements.append(_statement(module, theirs))
    return f"\n{indent}".join(statements), [(module, a.name) for a in theirs]


def _statement(module: str, aliases: list[ast.alias]) -> str:
    names = [a.name + (f" as {a.asname}" if a.asname else "") for a in aliases]
    single = f"from {module} import {', '.join(names)}"
    if len(single) <= 88:
        return single
    body = "".join(f"    {name},\n" for name in names)
    return f"from {module} import (\n{body})"


def _indent_of(lines: list[str], node: ast.stmt) -> str:
    line = lines[node.lineno - 1]
    return line[: len(line) - len(line.lstrip())]


def _span(lines: list[str], node: ast.stmt) -> tuple[int, int, int, int]:
    """(first line, first column, last line, end column), columns in characters."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    start = _characters(lines[node.lineno - 1], node.col_offset)
    end = _characters(lines[node.end_lineno - 1], node.end_col_offset)
    return node.lineno, start, node.end_lineno, end


def _characters(line: str, byte_offset: int) -> int:
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def _apply(
    lines: list[str], edits: list[tuple[int, int, int, int, str, list[tuple[str, str]]]]
) -> str:
    result = list(lines)
    for first, start, last, end, text, _ in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        before = result[first - 1][:start]
        after = result[last - 1][end:]
        result[first - 1 : last] = (before + text + after).split("\n")
    return "\n".join(result)


def _located(
    text: str, edits: list[tuple[int, int, int, int, str, list[tuple[str, str]]]]
) -> Rewrite:
    """Line numbers of the rewritten statements in the new text."""
    rewrite = Rewrite(text, statements=len(edits))
    shift = 0
    for first, _, last, _, new, kept in sorted(edits, key=lambda e: (e[0], e[1])):
        line = first + shift
        new_lines = new.count("\n") + 1
        rewrite.changed_lines.extend(range(line, line + new_lines))
        for module, name in kept:
            rewrite.kept.append((line + new_lines - 1, module, name))
        shift += new_lines - (last - first + 1)
    rewrite.changed_lines = sorted(set(rewrite.changed_lines))
    return rewrite


def _replace_qualified(text: str) -> str:
    """``azureml.<module>.<Name>`` → ``run_widgets.<Name>`` in code (not comments or strings)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _QUALIFIED.sub(lambda m: _qualified(m), text)
    lines = text.split("\n")
    for token in reversed(tokens):
        if token.type != tokenize.NAME or token.string != "azureml":
            continue
        row, col = token.start
        line = lines[row - 1]
        match = _QUALIFIED.match(line, col)
        if match and match.group(1) in SUPPORTED:
            lines[row - 1] = line[:col] + f"{TARGET}.{match.group(1)}" + line[match.end() :]
    return "\n".join(lines)


def _qualified(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"{TARGET}.{name}" if name in SUPPORTED else match.group(0)
