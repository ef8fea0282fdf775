"""How ``Run`` hands its methods to its parts: :class:`delegate` and :class:`record_field`.

``Run`` is a façade: ``log = delegate("_logger", RunLogger.log)`` in its class body makes
``run.log`` the ``log`` method of the run object's :class:`~.logger.RunLogger` (held in
``run._logger``), with that method's signature (for type checkers, through ``ParamSpec``)
and docstring (for ``help()`` and the API reference). The first lookup on an object keeps
the part's bound method in the object's ``__dict__``, so later calls cost what a direct call
of the part's method costs: ``run.log`` in a training loop pays no forwarding.

A subclass may override a delegated method with an ordinary one and call ``super()``.

``id = record_field(lambda r: r.id, "The run id.")`` is a read-only property computed from
the run's record as last read (``run._core.record``), typed by what the function returns.

Layer: tracking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ..store import RunRecord

Part = TypeVar("Part")
P = ParamSpec("P")
R = TypeVar("R")


class delegate(Generic[Part, P, R]):  # noqa: N801 - used like a decorator, named like one
    """A method of the façade that is the method ``method`` of the part in ``attribute``.

    Args:
        attribute: the façade's attribute holding the part.
        method: the part's method (``RunLogger.log``).
    """

    def __init__(self, attribute: str, method: Callable[Concatenate[Part, P], R]) -> None:
        self.attribute = attribute
        self.method = method
        self.name = getattr(method, "__name__", "")
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Callable[Concatenate[Part, P], R]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> Callable[P, R]: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self.method  # the class attribute: the part's function, for help() and docs
        bound = self.method.__get__(getattr(instance, self.attribute))
        if _resolves_to(type(instance), self.name, self):
            instance.__dict__[self.name] = bound  # later lookups find it first
        return bound


class record_field(Generic[R]):  # noqa: N801 - used like ``property``, named like it
    """A read-only property of the façade: ``read(record)`` of its run's record as last read.

    Args:
        read: computes the value from the record.
        doc: the property's docstring.
    """

    def __init__(self, read: Callable[[RunRecord], R], doc: str) -> None:
        self.read = read
        self.name = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, instance: object, value: object) -> None:
        raise AttributeError(
            f"property {self.name!r} of {type(instance).__name__!r} object has no setter"
        )

    @overload
    def __get__(self, instance: None, owner: type) -> record_field[R]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> R: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        return self.read(instance._core.record)  # type: ignore[attr-defined]


def _resolves_to(cls: type, name: str, descriptor: object) -> bool:
    """True if ``cls.<name>`` is ``descriptor`` (not a subclass's override of it)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name] is descriptor
    return False
