"""The Result type: expected failures as values, so callers must look at them.

Exceptions stay for bugs and infrastructure faults (see docs/adr/0002-results-and-exceptions.md); anything a
caller is expected to handle (not found, conflict, invalid input) travels as ``Err``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Never, cast

from pydantic import JsonValue, TypeAdapter
from pydantic_core import to_jsonable_python

__all__ = [
    "Err",
    "Ok",
    "Result",
    "UnwrapError",
    "collect_all_errors",
    "collect_results",
    "result_from_dict",
    "try_catch",
    "try_catch_async",
]


class UnwrapError(Exception):
    """Raised when a Result is unwrapped on the wrong side: a programming error, never an expected one."""


# Slots are declared by hand: ``slots=True`` rebuilds the class, which breaks ``Ok[int](1)`` on Python 3.12.1.
@dataclass(frozen=True)
class Ok[T]:
    """The success side of a Result."""

    __slots__ = ("value",)
    value: T

    def is_ok(self) -> Literal[True]:
        return True

    def is_err(self) -> Literal[False]:
        return False

    def map[U](self, fn: Callable[[T], U]) -> Ok[U]:
        return Ok(fn(self.value))

    def map_err(self, fn: Callable[[Never], object]) -> Ok[T]:
        return self

    def bind[U, F](self, fn: Callable[[T], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        return fn(self.value)

    def and_then[U, F](self, fn: Callable[[T], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        return fn(self.value)

    def or_else(self, fn: Callable[[Never], object]) -> Ok[T]:
        return self

    def unwrap(self) -> T:
        return self.value

    def unwrap_or[U](self, default: U) -> T | U:
        return self.value

    def unwrap_or_else(self, fn: Callable[[Never], object]) -> T:
        return self.value

    def unwrap_err(self) -> Never:
        raise UnwrapError(f"unwrap_err() called on Ok({self.value!r})")

    def match[R](self, *, ok: Callable[[T], R], err: Callable[[Never], R]) -> R:
        return ok(self.value)

    def to_dict(self) -> dict[str, JsonValue]:
        return {"ok": True, "value": cast("JsonValue", to_jsonable_python(self.value))}


@dataclass(frozen=True)
class Err[E]:
    """The failure side of a Result."""

    __slots__ = ("error",)
    error: E

    def is_ok(self) -> Literal[False]:
        return False

    def is_err(self) -> Literal[True]:
        return True

    def map(self, fn: Callable[[Never], object]) -> Err[E]:
        return self

    def map_err[F](self, fn: Callable[[E], F]) -> Err[F]:
        return Err(fn(self.error))

    def bind(self, fn: Callable[[Never], object]) -> Err[E]:
        return self

    def and_then(self, fn: Callable[[Never], object]) -> Err[E]:
        return self

    def or_else[U, F](self, fn: Callable[[E], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        return fn(self.error)

    def unwrap(self) -> Never:
        if isinstance(self.error, BaseException):
            raise UnwrapError(f"unwrap() called on Err({self.error!r})") from self.error
        raise UnwrapError(f"unwrap() called on Err({self.error!r})")

    def unwrap_or[U](self, default: U) -> U:
        return default

    def unwrap_or_else[U](self, fn: Callable[[E], U]) -> U:
        return fn(self.error)

    def unwrap_err(self) -> E:
        return self.error

    def match[R](self, *, ok: Callable[[Never], R], err: Callable[[E], R]) -> R:
        return err(self.error)

    def to_dict(self) -> dict[str, JsonValue]:
        error = self.error
        to_dict = getattr(error, "to_dict", None)
        if callable(to_dict):
            payload = to_dict()
        elif isinstance(error, BaseException):
            payload = {"error": type(error).__name__, "detail": str(error)}
        else:
            payload = to_jsonable_python(error)
        return {"ok": False, "error": cast("JsonValue", payload)}


type Result[T, E] = Ok[T] | Err[E]


def result_from_dict[T, E](
    data: Mapping[str, JsonValue],
    value_type: type[T] | object = object,
    error_type: type[E] | object = object,
) -> Result[T, E]:
    """Rebuild a Result written by ``to_dict``; types given are validated (pydantic models included)."""
    if data.get("ok") is True:
        return Ok(_rebuild(value_type, data.get("value")))
    if data.get("ok") is False:
        return Err(_rebuild(error_type, data.get("error")))
    raise ValueError("not a serialised Result: expected a mapping with 'ok': true or false")


def _rebuild[X](target: type[X] | object, payload: JsonValue) -> X:
    if target is object:
        return cast("X", payload)
    from_dict = getattr(target, "from_dict", None)
    if callable(from_dict):
        return cast("X", from_dict(payload))
    adapter: TypeAdapter[X] = TypeAdapter(cast("type[X]", target))
    return adapter.validate_python(payload)


def try_catch[**P, T, X: BaseException](
    *exceptions: type[X],
) -> Callable[[Callable[P, T]], Callable[P, Result[T, X]]]:
    """Decorate a function so that the named exception types come back as ``Err``; others still raise."""
    caught = exceptions or cast("tuple[type[X], ...]", (Exception,))

    def decorate(fn: Callable[P, T]) -> Callable[P, Result[T, X]]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Result[T, X]:
            try:
                return Ok(fn(*args, **kwargs))
            except caught as exc:
                return Err(exc)

        return wrapper

    return decorate


def try_catch_async[**P, T, X: BaseException](
    *exceptions: type[X],
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[Result[T, X]]]]:
    """The coroutine twin of :func:`try_catch`."""
    caught = exceptions or cast("tuple[type[X], ...]", (Exception,))

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[Result[T, X]]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Result[T, X]:
            try:
                return Ok(await fn(*args, **kwargs))
            except caught as exc:
                return Err(exc)

        return wrapper

    return decorate


def collect_results[T, E](results: Iterable[Result[T, E]]) -> Result[list[T], E]:
    """All values in order, or the first error (short-circuits the iterable)."""
    values: list[T] = []
    for result in results:
        match result:
            case Ok(value):
                values.append(value)
            case Err():
                return result
            case other:
                raise _not_a_result(other)
    return Ok(values)


def collect_all_errors[T, E](results: Iterable[Result[T, E]]) -> Result[list[T], list[E]]:
    """All values in order, or every error (for validation that reports everything at once)."""
    values: list[T] = []
    errors: list[E] = []
    for result in results:
        match result:
            case Ok(value):
                values.append(value)
            case Err(error):
                errors.append(error)
            case other:
                raise _not_a_result(other)
    return Err(errors) if errors else Ok(values)


def _not_a_result(item: object) -> TypeError:
    """Typed code cannot get here; dynamic callers (gather with return_exceptions) can, and must hear of it."""
    return TypeError(f"expected Ok or Err, got {type(item).__name__}")
