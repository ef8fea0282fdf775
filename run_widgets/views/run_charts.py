"""What RunDetails' charts offer, decided without widgets: x-axis choices, page size.

``widgets.details`` asks these and draws the answer; the tests call them directly.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from .mapping import STEP, lockstep_partners
from .tracker import RunTracker

PAGE_SIZE = 12


def line_x_options(tracker: RunTracker, name: str, current: str) -> list[str]:
    """The x axes of metric ``name``'s line: step, its lockstep partners, the current one.

    The current choice stays offered while it is still a numeric series: two metrics
    logged in lockstep (mse and alpha) are briefly one point apart when a flush falls
    between their two ``log`` calls, and the user's choice must survive that.
    """
    options = [STEP, *lockstep_partners(tracker.infos(), name)]
    if current not in options and tracker.views().get(current) == "line":
        options.append(current)
    return options


def charts_per_page(settings: Mapping[str, Any]) -> int:
    """``widget_settings["charts_per_page"]``, checked (default ``PAGE_SIZE``).

    Raises:
        TypeError, ValueError: not a whole number of at least 1.
    """
    value = settings.get("charts_per_page", PAGE_SIZE)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"widget_settings['charts_per_page'] must be an int, not {value!r}.")
    if value < 1:
        raise ValueError(f"widget_settings['charts_per_page'] must be at least 1, got {value}.")
    return int(value)
