"""Keyset cursors: the position after a page's last row, and the listing it belongs to, signed.

A cursor is self-contained: it carries the sort order and the filter of the listing it continues, so the next page
is just ``cursor=...`` (with any page size). A caller that repeats the sort or the filter must repeat them exactly;
asking for another order or another filter with a cursor is refused (``InvalidCursorError``), because a position
in one listing means nothing in another: start a new listing without the cursor instead.

Shared by every repository so a cursor means the same thing on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from apibase.application.cursor import CursorCodec
from apibase.application.pagination import SortField
from apibase.application.specification_json import specification_from_json, specification_to_json
from apibase.core.errors import InvalidCursorError
from apibase.core.result import Err, Ok
from apibase.domain.specification import Operator, Specification

__all__ = ["KeysetCursors", "KeysetPosition", "keyset_of"]

_OTHER_LISTING: Final = (
    "the cursor continues a listing with another {what}; send the cursor alone (it carries its sort and filters),"
    " or leave it out to start a new listing"
)
_FOREIGN: Final = "the cursor does not match this resource"
_TEXT_OPERATORS: Final = frozenset({Operator.CONTAINS, Operator.STARTS_WITH})
_LIST_OPERATORS: Final = frozenset({Operator.IN, Operator.NOT_IN})


def keyset_of(sort: Sequence[SortField], tiebreaker: str = "id") -> tuple[SortField, ...]:
    """The requested order plus a unique tiebreaker, so every row has exactly one position."""
    return (*sort, SortField(tiebreaker))


@dataclass(frozen=True)
class KeysetPosition[T]:
    """Where a cursor resumes: the listing's order and filter, and the sort key of the last row it returned."""

    sort: tuple[SortField, ...]
    where: Specification[T] | None
    after: tuple[object, ...]


@cache
def _field_adapter(entity_type: type[BaseModel], name: str) -> TypeAdapter[object] | None:
    """Built once per entity field: repositories are created per unit of work, adapters are not cheap."""
    info = entity_type.model_fields.get(name)
    if info is None or info.annotation is None:
        return None
    adapter: TypeAdapter[object] = TypeAdapter(info.annotation)
    return adapter


class KeysetCursors:
    def __init__(self, codec: CursorCodec, entity_type: type[object]) -> None:
        self._codec = codec
        self._entity_type = entity_type if issubclass(entity_type, BaseModel) else None

    @staticmethod
    def _order(keyset: Sequence[SortField]) -> str:
        return ",".join(map(str, keyset))

    def encode[T](
        self, values: Sequence[object], keyset: Sequence[SortField], where: Specification[T] | None = None
    ) -> str:
        """The cursor after the row whose sort key is ``values``, in the listing ordered by ``keyset``."""
        payload: dict[str, JsonValue] = {"s": self._order(keyset), "v": to_jsonable_python(list(values))}
        if where is not None:
            payload["w"] = specification_to_json(where)
        return self._codec.encode(payload)

    def resume[T](
        self, token: str, *, sort: Sequence[SortField] = (), where: Specification[T] | None = None
    ) -> KeysetPosition[T]:
        """Where ``token`` resumes; ``sort`` and ``where``, when given, must be the cursor's own."""
        match self._codec.decode(token):
            case Err(error):
                raise error
            case Ok(payload):
                order, values, carried = payload.get("s"), payload.get("v"), payload.get("w")
        if not isinstance(order, str) or not isinstance(values, list):
            raise InvalidCursorError(_FOREIGN)
        if sort and self._order(keyset_of(sort)) != order:
            raise InvalidCursorError(_OTHER_LISTING.format(what="sort order"))
        if where is not None and specification_to_json(where) != carried:
            raise InvalidCursorError(_OTHER_LISTING.format(what="filter"))
        keyset = tuple(SortField(token.removeprefix("-"), token.startswith("-")) for token in order.split(","))
        if len(values) != len(keyset):
            raise InvalidCursorError(_FOREIGN)
        try:
            after = tuple(self._coerce(spec.name, value) for spec, value in zip(keyset, values, strict=True))
            resumed = None if carried is None else specification_from_json(carried, self._filter_value)
        except (ValidationError, ValueError) as exc:
            raise InvalidCursorError(_FOREIGN) from exc
        # A rule about ``object`` (field comparisons) applies to any entity type: Specification is contravariant.
        return KeysetPosition[T](sort=keyset[:-1], where=resumed, after=after)

    def _filter_value(self, path: str, operator: Operator, value: JsonValue) -> object:
        if operator in _TEXT_OPERATORS or operator is Operator.IS_NULL:
            return value
        if operator in _LIST_OPERATORS and isinstance(value, list):
            return tuple(self._coerce(path, item) for item in value)  # as field(...).is_in builds it
        return self._coerce(path, value)

    def _coerce(self, name: str, value: object) -> object:
        adapter = None if self._entity_type is None else _field_adapter(self._entity_type, name)
        return value if value is None or adapter is None else adapter.validate_python(value)
