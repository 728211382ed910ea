"""Pages, sorting and the response envelopes every list and single-item endpoint returns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field

from apibase.core.errors import FieldError, ValidationFailed

__all__ = [
    "ApiResponse",
    "CountStrategy",
    "CursorPage",
    "CursorPaginatedResponse",
    "Page",
    "PaginatedResponse",
    "ResponseMeta",
    "SortField",
    "parse_sort",
]

_SORT_TOKEN = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_]*$")


class CountStrategy(StrEnum):
    """How a list page learns its total: exact (COUNT), estimated (planner statistics) or not at all."""

    EXACT = "exact"
    ESTIMATED = "estimated"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SortField:
    name: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.name}" if self.descending else self.name


def parse_sort(text: str | None, allowed: frozenset[str]) -> tuple[SortField, ...]:
    """Parse ``"-price,name"`` against an allowlist; anything else is a 422, never passed to a query."""
    if not text:
        return ()
    fields: list[SortField] = []
    errors: list[FieldError] = []
    for token in (part.strip() for part in text.split(",")):
        name = token.removeprefix("-")
        if not _SORT_TOKEN.match(token) or name not in allowed:
            errors.append(FieldError(loc=("sort",), message=f"cannot sort by {token!r}", type="sort.unknown_field"))
            continue
        fields.append(SortField(name, descending=token.startswith("-")))
    if errors:
        raise ValidationFailed.from_field_errors(errors, f"sortable fields are: {', '.join(sorted(allowed))}")
    return tuple(fields)


@dataclass(frozen=True)
class Page[T]:
    """One offset page; ``total`` is None when the caller chose ``CountStrategy.NONE``."""

    items: list[T]
    offset: int
    limit: int
    total: int | None = None
    has_next: bool = False


@dataclass(frozen=True)
class CursorPage[T, CursorT]:
    """One keyset page; ``next_cursor`` is opaque to clients and tamper-evident (see ``CursorCodec``)."""

    items: list[T]
    limit: int
    next_cursor: CursorT | None = None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


class ResponseMeta(BaseModel):
    """Metadata on every envelope: which request produced it and when (UTC)."""

    model_config = ConfigDict(frozen=True)

    request_id: str | None = None
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ApiResponse[T](BaseModel):
    """The envelope for a single resource."""

    data: T
    meta: ResponseMeta = Field(default_factory=ResponseMeta)


class PaginatedResponse[T](BaseModel):
    """The envelope for an offset page, with navigation fields computed from offset, limit and total."""

    items: list[T]
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)
    total: int | None = Field(default=None, ge=0)
    meta: ResponseMeta = Field(default_factory=ResponseMeta)
    more: bool = Field(default=False, exclude=True, description="set when the total is unknown")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_next(self) -> bool:
        return self.more if self.total is None else self.offset + len(self.items) < self.total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_pages(self) -> int | None:
        return None if self.total is None else -(-self.total // self.limit)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_next else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.has_previous else None

    @classmethod
    def from_page[E](cls, page: Page[E], items: list[T], meta: ResponseMeta | None = None) -> PaginatedResponse[T]:
        """Wrap a repository page whose items were already mapped to response models."""
        return cls(
            items=items,
            offset=page.offset,
            limit=page.limit,
            total=page.total,
            more=page.has_next,
            meta=meta or ResponseMeta(),
        )


class CursorPaginatedResponse[T](BaseModel):
    """The envelope for a keyset page: pass ``next_cursor`` back as ``cursor`` (alone) to get the next one."""

    items: list[T]
    limit: int = Field(ge=1)
    next_cursor: str | None = None
    meta: ResponseMeta = Field(default_factory=ResponseMeta)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @classmethod
    def from_page[E](
        cls, page: CursorPage[E, str], items: list[T], meta: ResponseMeta | None = None
    ) -> CursorPaginatedResponse[T]:
        return cls(items=items, limit=page.limit, next_cursor=page.next_cursor, meta=meta or ResponseMeta())
