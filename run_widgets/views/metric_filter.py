"""The filter box over metric names: a regular expression (Python ``re`` syntax).

``loss`` keeps every name containing "loss" (as before: a plain word is a pattern that
matches itself); ``^val_`` the validation metrics; ``loss|acc`` both. Matching ignores case
and searches anywhere in the name. An invalid pattern filters nothing and is reported as
text for the view to show beside the box; it is never raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricFilter:
    """The result of reading a pattern: the compiled expression, or why it is invalid."""

    pattern: str
    regex: re.Pattern[str] | None
    error: str = ""

    def keeps(self, name: str) -> bool:
        """True if ``name`` passes (everything passes an empty or invalid pattern)."""
        return self.regex is None or self.regex.search(name) is not None

    def apply(self, names: Iterable[str]) -> list[str]:
        """The names that pass, in their order."""
        return [name for name in names if self.keeps(name)]


def metric_filter(pattern: str) -> MetricFilter:
    """Read ``pattern``; an invalid one gives ``error`` (e.g. "invalid pattern: ...")."""
    text = pattern.strip()
    if not text:
        return MetricFilter(pattern, None)
    try:
        return MetricFilter(pattern, re.compile(text, re.IGNORECASE))
    except re.error as error:
        return MetricFilter(pattern, None, f"invalid pattern {text!r}: {error}")
