"""What describes a run: tags (mutable), properties (write-once), display name and description.

Layer: tracking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import ArgumentTypeError, UserErrorException
from ..store import AddProperties, RemoveTags, SetTags
from . import lifecycle
from . import values as _values
from .core import RunCore


class RunLabels:
    """Tags, properties, display name and description of one ``Run`` object's run.

    Args:
        core: the run's shared parts.
    """

    def __init__(self, core: RunCore) -> None:
        self._core = core

    def tag(self, key: str, value: Any = None) -> None:
        """Set one tag (tags are mutable); ``value`` defaults to ``None``."""
        key = _values.tag_key(key)
        self._core.write(SetTags(self._core.id, {key: _values.tag_value(value, key)}))

    def set_tags(self, tags: Mapping[str, Any] | Sequence[str] | str) -> None:
        """Set several tags from a dict (a str or list of keys sets them to ``None``)."""
        if isinstance(tags, str):
            tags = {tags: None}
        elif not isinstance(tags, Mapping):
            if not isinstance(tags, Sequence):
                raise ArgumentTypeError(f"tags must be a dict, not {type(tags).__name__}.")
            tags = dict.fromkeys(tags)
        clean = {_values.tag_key(k): _values.tag_value(v, str(k)) for k, v in tags.items()}
        if clean:
            self._core.write(SetTags(self._core.id, clean))

    def get_tags(self) -> dict[str, str | None]:
        """The run's tags, read from the store."""
        return dict(self._core.refresh(reap=False).tags)

    def remove_tags(self, tags: Sequence[str] | str) -> None:
        """Remove tags by key; unknown keys are ignored."""
        keys = (tags,) if isinstance(tags, str) else tuple(tags)
        for key in keys:
            _values.tag_key(key)
        self._core.write(RemoveTags(self._core.id, keys))

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Add write-once properties; changing an existing one raises ``UserErrorException``."""
        if not isinstance(properties, Mapping):
            raise ArgumentTypeError(f"properties must be a dict, not {type(properties).__name__}.")
        clean: dict[str, str] = {}
        for key, value in properties.items():
            text = _values.tag_value(value, str(key), "property")
            clean[_values.tag_key(key, "Property")] = "None" if text is None else text
        if clean:
            self._core.write(AddProperties(self._core.id, clean))

    def get_properties(self) -> dict[str, str]:
        """The run's properties, read from the store."""
        return dict(self._core.refresh(reap=False).properties)

    def set_display_name(self, value: str) -> None:
        """Rename the run (at most 256 characters)."""
        if not isinstance(value, str) or len(value) > 256:
            raise UserErrorException("display_name must be a str of at most 256 characters.")
        value = _values.check_text(value, "display_name")
        self._core.write(lifecycle.display_name_op(self._core.id, value))

    def set_description(self, value: str) -> None:
        """Describe the run (at most 5000 characters)."""
        if not isinstance(value, str) or len(value) > 5000:
            raise UserErrorException("description must be a str of at most 5000 characters.")
        value = _values.check_text(value, "description")
        self._core.write(lifecycle.description_op(self._core.id, value))
