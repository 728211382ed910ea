"""Type aliases (PEP 695) and refined types that work both for the type checker and as pydantic fields."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Never, Self

from annotated_types import Gt, MinLen
from pydantic import BeforeValidator, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from apibase.core.errors import ValidationFailed
from apibase.core.result import Err, Ok, Result

__all__ = [
    "AsyncResult",
    "Branded",
    "Filter",
    "Handler",
    "JsonInt",
    "Lazy",
    "NonEmpty",
    "NonEmptyStr",
    "Positive",
    "Validated",
    "Validator",
    "json_integer",
]

type AsyncResult[T, E] = Awaitable[Result[T, E]]
type Handler[TIn, TOut] = Callable[[TIn], Awaitable[TOut]]
type Validator[T] = Callable[[T], Result[T, ValidationFailed]]
type Filter[T] = Callable[[T], bool]


def json_integer(value: object) -> object:
    """JSON Schema's integer: ``3`` and ``3.0``, never ``true`` or ``"3"`` (pydantic's lax int takes both)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected an integer")  # noqa: TRY004 - pydantic turns ValueError into a field error
    return value


# A plain alias, not a ``type`` statement: pydantic must see through it when constraints are added around it.
JsonInt = Annotated[int, BeforeValidator(json_integer)]
type NonEmpty[T] = Annotated[list[T], MinLen(1)]
type NonEmptyStr = Annotated[str, MinLen(1)]
type Positive[N: (int, float, Decimal)] = Annotated[N, Gt(0)]


class Branded(uuid.UUID):
    """A UUID with a name: ``class UserId(Branded)`` is not assignable to ``OrderId`` for the type checker.

    Subclasses validate from UUIDs or strings and serialise as strings when used as pydantic fields.
    """

    __slots__ = ()

    @classmethod
    def new(cls) -> Self:
        return cls(int=uuid.uuid4().int)

    @classmethod
    def parse(cls, value: str | uuid.UUID) -> Self:
        if type(value) is cls:  # immutable: an entity's id copied into its DTO needs no new object
            return value
        return cls(int=(value if isinstance(value, uuid.UUID) else uuid.UUID(value)).int)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[object], handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls.parse,
            core_schema.uuid_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )


class Lazy[T]:
    """A value computed on first use and then kept; as a pydantic field it holds the validated value."""

    __slots__ = ("_factory", "_value")

    _MISSING = object()

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | object = Lazy._MISSING

    @classmethod
    def of(cls, value: T) -> Lazy[T]:
        lazy: Lazy[T] = cls(lambda: value)
        lazy._value = value
        return lazy

    @property
    def is_evaluated(self) -> bool:
        return self._value is not Lazy._MISSING

    def get(self) -> T:
        if self._value is Lazy._MISSING:
            self._value = self._factory()
        return self._value  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lazy) and self.get() == other.get()

    def __hash__(self) -> int:
        return hash(self.get())

    def __repr__(self) -> str:
        return f"Lazy({self._value!r})" if self.is_evaluated else "Lazy(<pending>)"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[object], handler: GetCoreSchemaHandler) -> CoreSchema:
        return _wrapper_schema(cls, source, handler, wrap=Lazy.of, unwrap=Lazy.get)


class Validated[T]:
    """Proof that a value passed a validator: only :meth:`check` (or pydantic validation) makes one."""

    __slots__ = ("value",)

    def __init__(self, value: T, *, _token: object = None) -> None:
        if _token is not _PROOF:
            raise TypeError("use Validated.check(value, validator) to make a Validated value")
        self.value = value

    @classmethod
    def check(cls, value: T, *validators: Validator[T]) -> Result[Validated[T], ValidationFailed]:
        for validator in validators:
            match validator(value):
                case Ok(checked):
                    value = checked
                case Err() as failure:
                    return failure
                case other:
                    raise TypeError(f"a validator must return Ok or Err, got {type(other).__name__}")
        return Ok(cls(value, _token=_PROOF))

    @classmethod
    def _trusted(cls, value: T) -> Validated[T]:
        """Wrap a value pydantic has already validated against the field's inner type."""
        return cls(value, _token=_PROOF)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Validated) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Validated({self.value!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[object], handler: GetCoreSchemaHandler) -> CoreSchema:
        return _wrapper_schema(cls, source, handler, wrap=cls._trusted, unwrap=lambda v: v.value)


_PROOF = object()


def _wrapper_schema[W](
    wrapper: type[W],
    source: type[object],
    handler: GetCoreSchemaHandler,
    *,
    wrap: Callable[[Never], W],
    unwrap: Callable[[W], object],
) -> CoreSchema:
    """Validate the inner type argument, wrap it, and serialise back to the inner value."""
    args = getattr(source, "__args__", ())
    inner = handler.generate_schema(args[0]) if args else core_schema.any_schema()
    from_inner = core_schema.no_info_after_validator_function(wrap, inner)
    return core_schema.json_or_python_schema(
        json_schema=from_inner,
        python_schema=core_schema.union_schema([core_schema.is_instance_schema(wrapper), from_inner]),
        serialization=core_schema.plain_serializer_function_ser_schema(unwrap, return_schema=inner),
    )
