"""The ordering module's events as the catalog reads them: its own models of their JSON, never ordering's classes.

A tolerant reader: only the fields the sales counters use are declared, anything else is ignored, so the producer
may add fields freely. The lines arrived in schema version 2 of these events; an older event has none and
cannot be counted (``parse_order_event`` refuses it, and the handler drops it rather than retry it forever).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Final

from cloudevents.core.base import BaseCloudEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apibase.application.subscriptions import DropEvent

__all__ = [
    "FIRST_SCHEMA_WITH_LINES",
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "ORDER_RETURNED",
    "ORDER_SHIPPED",
    "OrderEvent",
    "OrderEventLine",
    "parse_order_event",
]

#: The CloudEvents types, as the kernel names a domain event (``apibase.`` + its ``event_type()``).
ORDER_PLACED: Final = "apibase.OrderPlaced"
ORDER_CANCELLED: Final = "apibase.OrderCancelled"
ORDER_SHIPPED: Final = "apibase.OrderShipped"
ORDER_RETURNED: Final = "apibase.OrderReturned"
FIRST_SCHEMA_WITH_LINES: Final = 2
_SCHEMA_VERSION = "schemaversion"


class OrderEventLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: uuid.UUID
    quantity: int = Field(gt=0)
    subtotal: Decimal = Field(allow_inf_nan=False)


class OrderEvent(BaseModel):
    """What every order event the counters handle says: which order, in which currency, which lines."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    aggregate_id: uuid.UUID
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[OrderEventLine, ...] = Field(min_length=1)


def parse_order_event(event: BaseCloudEvent) -> OrderEvent:
    """The event's data as an ``OrderEvent``; ``DropEvent`` when it can never be one (poison, or too old)."""
    version = _schema_version(event)
    if version is not None and version < FIRST_SCHEMA_WITH_LINES:
        raise DropEvent(f"{event.get_type()} schema version {version} carries no lines to count")
    data = event.get_data()
    try:
        if isinstance(data, str | bytes):  # binary content mode may hand the JSON over undecoded
            return OrderEvent.model_validate_json(data)
        return OrderEvent.model_validate(data)
    except ValidationError as exc:
        raise DropEvent(f"{event.get_type()} {event.get_id()} is not an order event the catalog reads") from exc


def _schema_version(event: BaseCloudEvent) -> int | None:
    """An integer in structured mode, a string in headers (binary mode); ``None`` when absent or garbled."""
    value = event.get_extension(_SCHEMA_VERSION)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
