"""Query filters and sorts of a list endpoint, derived from the resource's allowlist.

One typed query parameter per allowed filter and operator (``price__gte``...), each carrying the field's own
constraints, so a filter value the column could not hold is a 422 at the edge; ``sort`` has a pattern naming
exactly the sortable fields, so the OpenAPI document tells clients what they may send.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency's annotations as objects.
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import NoneType, UnionType
from typing import Annotated, TypeAliasType, Union, get_args, get_origin

from fastapi import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    WithJsonSchema,
    WrapValidator,
    create_model,
)
from pydantic.json_schema import SkipJsonSchema

from apibase.domain.specification import Comparison, Operator, Specification, TrueSpecification
from apibase.interface.http.pattern_formats import describe_pattern

__all__ = ["field_types", "filter_dependency", "sort_pattern", "where_clause"]


def field_types(model: type[BaseModel], names: frozenset[str]) -> dict[str, object]:
    """The filter allowlist with each field's type and constraints (``Annotated``), read from a pydantic model.

    Taking the constraints along means a filter can never carry a value the column could not hold (an integer
    beyond 64 bits, a price with a hundred digits): such input is a 422 at the edge, not a driver error.
    """
    found: dict[str, object] = {}
    for name, info in model.model_fields.items():
        if name in names and info.annotation is not None:
            # Constraints only: strictness and custom validators are for JSON bodies, a query string is text.
            metadata = [item for item in info.metadata if not isinstance(item, _BODY_ONLY)]
            found[name] = Annotated[(info.annotation, *metadata)] if metadata else info.annotation
    return found


_BODY_ONLY = (Strict, BeforeValidator, AfterValidator, WrapValidator, PlainValidator)


_ORDERED = (int, float, Decimal, date, datetime)
_INT64 = Field(ge=-(2**63), le=2**63 - 1)
_SEARCH_TEXT = Annotated[str, Field(min_length=1, max_length=200)]


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_datetime(value: object) -> object:
    """Only ISO 8601 text is a date-time here; pydantic's lax mode would also take ``0.5`` as a timestamp."""
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


def _plain(annotation: object) -> object:
    """``X | None`` → ``X``: a filter parameter is always optional anyway; ``type X = ...`` aliases are unwrapped."""
    if isinstance(annotation, TypeAliasType):
        return _plain(annotation.__value__)
    if get_origin(annotation) in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not NoneType]
        if len(members) == 1:
            return _plain(members[0])
    return annotation


def _base(annotation: object) -> object:
    """The bare type under ``Annotated`` and ``| None``, to decide which operators make sense."""
    annotation = _plain(annotation)
    return _base(get_args(annotation)[0]) if get_origin(annotation) is Annotated else annotation


def _filter_parameters(filter_types: Mapping[str, object]) -> list[tuple[str, str, Operator, object]]:
    """(parameter name, field, operator, annotation) for every filter the allowlist allows."""
    found: list[tuple[str, str, Operator, object]] = []
    for name, annotation in sorted(filter_types.items()):
        kind, base = _plain(annotation), _base(annotation)
        if base is int and kind is int:  # unbounded: keep it within a 64-bit column
            kind = Annotated[kind, _INT64]
        elif base is datetime:
            kind = Annotated[kind, BeforeValidator(_iso_datetime)]
        found.append((name, name, Operator.EQ, kind))
        if isinstance(base, type) and issubclass(base, _ORDERED) and not issubclass(base, bool):
            found += [(f"{name}__gte", name, Operator.GE, kind), (f"{name}__lte", name, Operator.LE, kind)]
        if base is str:
            found.append((f"{name}__contains", name, Operator.CONTAINS, _SEARCH_TEXT))
    return found


def _documented(kind: object) -> object:
    """The annotation of a filter field: ``kind`` itself, which FastAPI inspects cheaply on every request.

    The default ``None`` needs no ``| None`` (defaults are not validated), and a query string never holds a null.
    A kind with its own ``WithJsonSchema`` keeps ``| SkipJsonSchema[None]`` around it, so its schema still carries
    the parameter's description, as a bare one would replace it.
    """
    return kind | SkipJsonSchema[None] if _replaces_schema(kind) else kind  # type: ignore[misc]


def _replaces_schema(annotation: object) -> bool:
    if isinstance(annotation, TypeAliasType):
        return _replaces_schema(annotation.__value__)
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return any(isinstance(item, WithJsonSchema) for item in arguments[1:]) or _replaces_schema(arguments[0])
    return origin in (Union, UnionType) and any(_replaces_schema(member) for member in arguments)


def sort_pattern(fields: frozenset[str]) -> str:
    """The regular expression of a valid ``sort`` value, so the OpenAPI document tells clients exactly."""
    names = "|".join(sorted(fields))
    expected = f"up to 10 comma-separated fields among {', '.join(sorted(fields))}, each with '-' before it to descend"
    return describe_pattern(rf"^(|-?({names})(,-?({names})){{0,9}})$", expected)


def filter_dependency(filter_types: Mapping[str, object]) -> Callable[..., Awaitable[Specification[object]]]:
    """A FastAPI dependency taking one typed query parameter per allowed filter, all in one query-parameter model.

    One model rather than ~30 separate parameters: FastAPI validates the filters a request sends in one
    pydantic-core call instead of resolving every declared parameter on its own (the OpenAPI document lists the
    same parameters either way).
    """
    parameters = _filter_parameters(filter_types)
    fields: dict[str, object] = {
        parameter: (_documented(kind), Field(default=None, description=f"{name} {operator.value}"))
        for parameter, name, operator, kind in parameters
    }
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "Filters", __config__=ConfigDict(protected_namespaces=()), **fields
    )
    plan = tuple((parameter, name, operator) for parameter, name, operator, _ in parameters)

    async def build(filters: Annotated[model, Query()]) -> Specification[object]:
        values = filters.__dict__
        spec: Specification[object] = TrueSpecification()
        for parameter, name, operator in plan:
            if (value := values[parameter]) is not None:
                spec = spec & Comparison(name, operator, value)
        return spec

    return build


def where_clause(spec: Specification[object]) -> Specification[object] | None:
    """``None`` for no filter at all, which the repositories treat as the cheapest query."""
    return None if isinstance(spec, TrueSpecification) else spec
