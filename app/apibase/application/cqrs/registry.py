"""One handler per message type, the message type read from the handler's own declaration.

Wiring mistakes (no handler, two handlers, a handler whose message type cannot be read) are programming
errors: they raise at registration or dispatch instead of travelling as ``Err``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Never, cast, get_args, get_origin, get_type_hints

from apibase.application.cqrs.messages import Message
from apibase.core.errors import AnyAppError
from apibase.core.result import Result

__all__ = [
    "DuplicateHandlerError",
    "HandlerFunction",
    "HandlerNotFoundError",
    "HandlerRegistry",
    "HandlerRegistryError",
    "HandlerTypeError",
    "message_type_of_function",
    "message_type_of_handler",
]

type HandlerFunction[M, R] = Callable[[M], Awaitable[Result[R, AnyAppError]]]


class HandlerRegistryError(Exception):
    """Base of the wiring errors, so a composition root can catch them in one place."""


class HandlerNotFoundError(HandlerRegistryError, LookupError):
    """A message was sent that nothing handles."""


class DuplicateHandlerError(HandlerRegistryError, ValueError):
    """A second handler was registered for a message type: dispatch would be ambiguous."""


class HandlerTypeError(HandlerRegistryError, TypeError):
    """The message type could not be read from a handler, or it is not a message this bus carries."""


def message_type_of_handler(handler: object, generic_base: type) -> type:
    """The first type argument ``handler``'s class gives ``generic_base`` (e.g. ``CommandHandler[X, R]``).

    Intermediate generic classes are followed: ``class Base[C](CommandHandler[C, int])`` then
    ``class Concrete(Base[X])`` resolves to ``X``.
    """
    cls = type(handler)
    arguments = _arguments_for(cls, generic_base, {})
    if arguments is None:
        raise HandlerTypeError(f"{cls.__qualname__} does not subclass {generic_base.__qualname__}[...]")
    message_type = arguments[0] if arguments else None
    if not isinstance(message_type, type):
        raise HandlerTypeError(
            f"cannot read the message type of {cls.__qualname__}: declare it with a concrete class, "
            f"e.g. class {cls.__qualname__}({generic_base.__qualname__}[MyMessage, MyResult])"
        )
    return message_type


def _arguments_for(cls: type, generic_base: type, substitutions: Mapping[object, object]) -> tuple[object, ...] | None:
    """Walk ``__orig_bases__`` depth-first, substituting type variables bound by subclasses on the way."""
    for base in cls.__dict__.get("__orig_bases__", cls.__bases__):
        origin = get_origin(base) or base
        arguments = tuple(substitutions.get(arg, arg) for arg in get_args(base))
        if origin is generic_base:
            return arguments
        if issubclass(origin, generic_base):
            # A real (not virtual) subclass reaches generic_base through its own bases, so this settles it.
            parameters: tuple[object, ...] = getattr(origin, "__parameters__", ())
            return _arguments_for(origin, generic_base, dict(zip(parameters, arguments, strict=False)))
    return None


def message_type_of_function(fn: Callable[..., object]) -> type:
    """The annotated type of ``fn``'s first parameter, for handlers written as plain coroutine functions."""
    name = getattr(fn, "__qualname__", repr(fn))
    if not inspect.iscoroutinefunction(fn):
        raise HandlerTypeError(f"handler {name} must be an async function")
    parameters = list(inspect.signature(fn).parameters.values())
    if not parameters:
        raise HandlerTypeError(f"handler {name} must take the message as its first parameter")
    try:
        hints = get_type_hints(fn)
    except NameError as exc:
        raise HandlerTypeError(
            f"cannot resolve the annotations of handler {name} ({exc}); define the message class at module level"
        ) from exc
    message_type = hints.get(parameters[0].name)
    if not isinstance(message_type, type):
        raise HandlerTypeError(f"annotate the first parameter of handler {name} with a message class")
    return message_type


class HandlerRegistry[M: Message]:
    """Handlers by exact message type; only subclasses of ``message_base`` are accepted."""

    def __init__(self, message_base: type[M]) -> None:
        self._message_base = message_base
        self._handlers: dict[type[M], HandlerFunction[M, object]] = {}

    def add(self, message_type: type, handler: HandlerFunction[Never, object]) -> None:
        """Pair ``message_type`` with the handler declared for it (the callers read one from the other)."""
        if not issubclass(message_type, self._message_base):
            raise HandlerTypeError(
                f"{message_type.__qualname__} is not a {self._message_base.__qualname__}; register it on the other bus"
            )
        if message_type in self._handlers:
            raise DuplicateHandlerError(f"{message_type.__qualname__} already has a handler")
        self._handlers[message_type] = cast("HandlerFunction[M, object]", handler)

    def get(self, message_type: type[M]) -> HandlerFunction[M, object]:
        try:
            return self._handlers[message_type]
        except KeyError:
            raise HandlerNotFoundError(
                f"no handler registered for {message_type.__qualname__}; register one on the bus at startup"
            ) from None

    def __contains__(self, message_type: object) -> bool:
        return message_type in self._handlers

    def message_types(self) -> frozenset[type[M]]:
        """What this registry can dispatch, e.g. for a startup check that every message is wired."""
        return frozenset(self._handlers)
