"""Public docstrings are complete and in one style (Google), and each public name is in the docs.

The rule (pydoclint's convention, applied to the public surface only: the names in
``run_widgets.__all__`` and ``run_widgets.mlflow.__all__``, their public methods, inherited
ones included, and properties):

* every public name has a docstring;
* a docstring is a summary line, or a summary plus Google sections (``Args:``,
  ``Returns:``, ``Raises:``, ``Attributes:``…; never numpy underlines or reST ``:param:``);
* a docstring with sections documents *every* public parameter in ``Args:`` (a class: in
  its own docstring, ``Args:`` or ``Attributes:`` for a dataclass's fields) and nothing
  that is not a parameter, and has ``Returns:`` (or ``Yields:``) when the function returns
  something. A one-line summary is enough for an obvious call (``run.get_status()``).

ruff's pydocstyle rules (google convention) check the formatting of every docstring.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import run_widgets
import run_widgets.mlflow

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = {"run_widgets": run_widgets, "run_widgets.mlflow": run_widgets.mlflow}
SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
GOOGLE_SECTIONS = {
    "Args", "Returns", "Yields", "Raises", "Attributes", "Example", "Examples", "Note",
    "Notes", "Warning", "Warnings", "See Also", "Todo",
}  # fmt: skip
FOREIGN_STYLE = re.compile(r"^\s*(:param |:returns?:|:rtype:|-{3,}\s*$)", re.M)
ENTRY = re.compile(r"^\s*\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(\([^)]*\))?\s*:")


def sections(doc: str) -> dict[str, list[str]]:
    """A cleaned docstring's Google sections (name -> body lines); the summary is left out."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in doc.splitlines():
        match = SECTION.match(line)
        if match and not line.startswith(" "):
            current = match.group(1)
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def entries(lines: list[str]) -> list[str]:
    """The names an ``Args:``/``Attributes:`` section documents (its first-level entries)."""
    names: list[str] = []
    indent: int | None = None
    for line in lines:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        if depth == indent and (match := ENTRY.match(line)):
            names.append(match.group(1))
    return names


def public_parameters(function: Callable[..., Any]) -> list[str]:
    """Parameters a user passes: not self/cls, not ``_private`` ones, not ``*args/**kwargs``."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and not p.name.startswith("_") and p.kind not in skip
    ]


def returns_a_value(function: Callable[..., Any]) -> bool:
    """Whether the function is annotated to return something other than None."""
    try:
        annotation = inspect.signature(function).return_annotation
    except (TypeError, ValueError):
        return False
    return annotation not in (inspect.Signature.empty, None, "None")


def public_callables() -> Iterator[tuple[str, Any, Callable[..., Any] | None, str | None]]:
    """(qualified name, object, function whose parameters the docstring covers, docstring)."""
    for module_name, module in PUBLIC_MODULES.items():
        for name in module.__all__:
            obj = getattr(module, name)
            qualified = f"{module_name}.{name}"
            if inspect.isfunction(obj):
                yield qualified, obj, obj, obj.__doc__
            elif inspect.isclass(obj):
                init = None if issubclass(obj, BaseException) else obj.__dict__.get("__init__")
                yield qualified, obj, init, obj.__doc__
                yield from _members(qualified, obj)


def _members(qualified: str, cls: type) -> Iterator[tuple[str, Any, Any, str | None]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("run_widgets"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(member, property):
                yield f"{qualified}.{name}", member, None, member.__doc__
                continue
            if (
                hasattr(type(member), "__get__")
                and not isinstance(member, classmethod | staticmethod)
                and not inspect.isfunction(member)
            ):
                # A descriptor of Run's façade: a method delegated to one of the run's parts
                # (it resolves to that part's function) or a record field (a property).
                member = getattr(cls, name)
                if not inspect.isfunction(member):
                    yield f"{qualified}.{name}", member, None, member.__doc__
                    continue
            function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
            if inspect.isfunction(function):
                # The instance (or class) is the first parameter, whatever its name: a
                # function shared as a method may call it ``run`` or ``part``.
                bound = function if isinstance(member, staticmethod) else partial(function, None)
                yield f"{qualified}.{name}", function, bound, function.__doc__


def problems_of(
    qualified: str, obj: Any, function: Callable[..., Any] | None, doc: str | None
) -> list[str]:
    """What is wrong with one public name's docstring (empty when nothing is)."""
    if not doc or not doc.strip():
        return [f"{qualified}: no docstring"]
    doc = inspect.cleandoc(doc)
    if FOREIGN_STYLE.search(doc):
        return [f"{qualified}: not Google style (reST fields or numpy underlines)"]
    found = sections(doc)
    unknown = sorted(set(found) - GOOGLE_SECTIONS)
    if unknown:
        return [f"{qualified}: unknown section(s) {unknown} (Google names: Args, Returns, …)"]
    if not found or function is None:
        return []
    problems = []
    params = public_parameters(function)
    documented = entries(found.get("Args", []))
    if inspect.isclass(obj):
        documented += entries(found.get("Attributes", []))
    missing = [p for p in params if p not in documented]
    extra = [n for n in entries(found.get("Args", [])) if n not in params]
    if missing:
        problems.append(f"{qualified}: Args does not document {missing}")
    if extra:
        problems.append(f"{qualified}: Args documents {extra}, which it does not take")
    returns = "Returns" in found or "Yields" in found
    if not inspect.isclass(obj) and returns_a_value(function) and not returns:
        problems.append(f"{qualified}: no Returns section")
    return problems


def test_public_docstrings_are_complete_and_google_style() -> None:
    problems = [p for item in public_callables() for p in problems_of(*item)]
    assert not problems, "\n".join(problems)


def test_the_rule_catches_what_it_should() -> None:
    def incomplete(alpha: int, beta: int = 2) -> int:
        """Add.

        Args:
            alpha: the first.
            gamma: not a parameter.
        """
        return alpha + beta

    def summary_only(alpha: int) -> int:
        """The double of ``alpha``."""
        return 2 * alpha

    def numpy_style(alpha: int) -> None:
        """Nothing.

        Parameters
        ----------
        alpha : int
        """

    found = problems_of("incomplete", incomplete, incomplete, incomplete.__doc__)
    assert found == [
        "incomplete: Args does not document ['beta']",
        "incomplete: Args documents ['gamma'], which it does not take",
        "incomplete: no Returns section",
    ]
    assert problems_of("s", summary_only, summary_only, summary_only.__doc__) == []
    assert "not Google style" in problems_of("n", numpy_style, numpy_style, numpy_style.__doc__)[0]
    assert problems_of("none", incomplete, incomplete, None) == ["none: no docstring"]


REFERENCE = re.compile(r"^\.\. auto(?:class|function|exception|data)::\s*(\S+)", re.M)


@pytest.mark.parametrize("module_name", sorted(PUBLIC_MODULES))
def test_every_public_name_has_a_reference_entry(module_name: str) -> None:
    text = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    documented = set(REFERENCE.findall(text)) | set(
        re.findall(r"^\.\. py:data:: (\S+)", text, re.M)
    )
    module = PUBLIC_MODULES[module_name]
    short = module_name == "run_widgets"  # documented under ``.. currentmodule:: run_widgets``
    missing = [
        name
        for name in module.__all__
        if name not in documented
        and f"{module_name}.{name}" not in documented
        and not (not short and name in documented)
    ]
    assert not missing, f"{module_name}: no entry in docs/reference/ for {missing}"
