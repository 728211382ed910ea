"""Subscriptions: how a module reacts to events, its own service's or another's, without importing their code.

A module lists ``Subscription``s in ``Features.subscriptions``. The handler gets the CloudEvent and parses its
``data`` with a model of its own (the producer's published language, not its classes). It runs inside a unit
of work (``current_unit_of_work()``), for the event's tenant, and the inbox records the event id in the same
transaction: a redelivered event is a no-op. The outcome follows Dapr's contract: the handler returning is
``SUCCESS``; raising ``DropEvent`` (or failing to parse the event) is ``DROP`` (dead-lettered, never retried);
any other exception is ``RETRY``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from cloudevents.core.base import BaseCloudEvent

__all__ = ["Delivery", "DropEvent", "Subscription", "SubscriptionHandler"]

type SubscriptionHandler = Callable[[BaseCloudEvent], Awaitable[None]]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$")


class Delivery(StrEnum):
    """What a delivery came to; the values are the statuses Dapr reads from a subscriber's answer."""

    SUCCESS = "SUCCESS"
    RETRY = "RETRY"
    DROP = "DROP"


class DropEvent(Exception):  # noqa: N818 - named for what the handler asks for, as Dapr's DROP status
    """Raised by a handler for an event that can never be handled (poison): it is dead-lettered, not retried."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One handler for one event type. ``name`` is stable: the inbox and the delivery route are keyed by it."""

    #: e.g. ``catalog.sales-on-order-placed``: lowercase words, dots and dashes (a URL path segment).
    name: str
    #: The CloudEvents ``type`` handled, e.g. ``apibase.OrderPlaced`` (``cloud_event_type(OrderPlaced)``).
    event_type: str
    handler: SubscriptionHandler
    #: The topic the events are published to; ``None``: this service's own (``Settings.events_topic``).
    topic: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"subscription name {self.name!r}: lowercase words separated by '.' or '-'")
        if not self.event_type:
            raise ValueError(f"subscription {self.name!r} needs the CloudEvents type it handles")
