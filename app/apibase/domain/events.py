"""Domain events: immutable facts an aggregate records; handed to the outbox or bus after commit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DomainEvent"]


class DomainEvent(BaseModel):
    """Base of every event; bump ``schema_version`` in a subclass when its payload changes shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: ClassVar[int] = 1

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    aggregate_id: str

    @classmethod
    def event_type(cls) -> str:
        """A stable name for routing and storage: the class name unless a subclass overrides it."""
        return cls.__name__
