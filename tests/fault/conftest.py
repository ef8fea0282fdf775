"""Everything in tests/fault/ belongs to the fault suite (``pytest -m fault``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of this folder ``fault``."""
    for item in items:
        if "/tests/fault/" in str(item.fspath):
            item.add_marker(pytest.mark.fault)
