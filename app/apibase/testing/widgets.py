"""A small sample aggregate the repository contract runs against, so every backend is tested the same way."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from apibase.domain.entities import AggregateRoot, AuditableEntity
from apibase.domain.events import DomainEvent

__all__ = [
    "GEAR",
    "WIDGET_FIELDS",
    "Widget",
    "WidgetCreate",
    "WidgetOut",
    "WidgetRenamed",
    "WidgetUpdate",
    "new_widget",
]

WIDGET_FIELDS = frozenset({"id", "name", "price", "quantity", "category", "created_at", "updated_at"})
#: A valid create body, as JSON sends it.
GEAR = {"name": "gear", "price": "9.99", "quantity": 1}


class WidgetRenamed(DomainEvent):
    old_name: str
    new_name: str


class Widget(AggregateRoot[uuid.UUID], AuditableEntity[uuid.UUID]):
    name: str = Field(min_length=1, max_length=100)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    quantity: int = Field(ge=0, le=1_000_000)
    category: str | None = Field(default=None, max_length=50)

    def rename(self, new_name: str) -> None:
        old_name, self.name = self.name, new_name
        self.record_event(WidgetRenamed(aggregate_id=str(self.id), old_name=old_name, new_name=new_name))


class WidgetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    quantity: int = Field(default=0, ge=0, le=1_000_000)
    category: str | None = Field(default=None, max_length=50)


class WidgetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    quantity: int | None = Field(default=None, ge=0, le=1_000_000)
    category: str | None = Field(default=None, max_length=50)


class WidgetOut(WidgetCreate):
    """What a widget's HTTP endpoints answer: the create fields plus the stored ones a client reads back."""

    id: uuid.UUID
    version: int
    created_at: datetime


def new_widget(data: WidgetCreate) -> Widget:
    """The widget factory: a fresh id and the DTO's fields."""
    return Widget(id=uuid.uuid4(), **data.model_dump())
