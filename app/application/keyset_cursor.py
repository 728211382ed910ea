"""Keyset cursors: the sort key of a page's last row, signed, and bound to the sort order it came from.

Shared by every repository so a cursor means the same thing on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from app.application.cursor import CursorCodec
from app.application.pagination import SortField
from app.core.errors import InvalidCursorError
from app.core.result import Err, Ok

__all__ = ["KeysetCursors", "keyset_of"]


def keyset_of(sort: Sequence[SortField], tiebreaker: str = "id") -> tuple[SortField, ...]:
    """The requested order plus a unique tiebreaker, so every row has exactly one position."""
    return (*sort, SortField(tiebreaker))


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

    def encode(self, values: Sequence[object], keyset: Sequence[SortField]) -> str:
        payload: JsonValue = to_jsonable_python(list(values))
        return self._codec.encode({"s": self._order(keyset), "v": payload})

    def decode(self, token: str, keyset: Sequence[SortField]) -> tuple[object, ...]:
        """The key values as Python types, so they compare like stored values; else ``InvalidCursorError``."""
        match self._codec.decode(token):
            case Err(error):
                raise error
            case Ok(payload):
                values = payload.get("v")
        if payload.get("s") != self._order(keyset) or not isinstance(values, list) or len(values) != len(keyset):
            raise InvalidCursorError("the cursor belongs to a different sort order")
        try:
            return tuple(self._coerce(spec.name, value) for spec, value in zip(keyset, values, strict=True))
        except (ValidationError, ValueError) as exc:
            raise InvalidCursorError("the cursor does not match this resource") from exc

    def _coerce(self, name: str, value: object) -> object:
        adapter = None if self._entity_type is None else _field_adapter(self._entity_type, name)
        return value if value is None or adapter is None else adapter.validate_python(value)
