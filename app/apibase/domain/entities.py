"""Entity building blocks: identity, UTC timestamps, soft delete, auditing, versions and aggregates."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import UTC, datetime
from typing import Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from apibase.domain.events import DomainEvent

__all__ = ["AggregateRoot", "AuditableEntity", "BaseEntity", "Identifiable", "VersionedEntity", "utc_now"]


def utc_now() -> datetime:
    """The one clock of the domain: timezone-aware UTC, never naive local time."""
    return datetime.now(UTC)


class Identifiable(Protocol):
    """What generic adapters need of an entity; read-only members keep it covariant in the id type."""

    @property
    def id(self) -> Hashable: ...

    @property
    def deleted_at(self) -> datetime | None: ...

    def touch(self, at: datetime | None = None) -> None: ...

    def soft_delete(self, at: datetime | None = None) -> None: ...

    def model_copy(self, *, update: Mapping[str, object] | None = None, deep: bool = False) -> Self: ...


class BaseEntity[ID](BaseModel):
    """An object with identity: two entities are equal when their types and ids are, whatever else differs."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid", from_attributes=True)

    id: ID
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def touch(self, at: datetime | None = None) -> None:
        """Record a change; repositories call this on update."""
        self.updated_at = at or utc_now()

    def soft_delete(self, at: datetime | None = None) -> None:
        moment = at or utc_now()
        self.deleted_at = moment
        self.updated_at = moment

    def restore(self) -> None:
        self.deleted_at = None
        self.touch()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, BaseEntity) and other.id == self.id

    def __hash__(self) -> int:
        return hash((type(self), self.id))


class AuditableEntity[ID](BaseEntity[ID]):
    """Remembers who created and who last changed it: the caller's subject, stamped by the repository on the create
    and update it is given an ``actor`` for (``None``: no identified caller)."""

    created_by: str | None = None
    updated_by: str | None = None

    def record_creator(self, actor: str | None) -> None:
        """A new entity was created by ``actor``, which is therefore also the last to change it."""
        self.created_by = actor
        self.updated_by = actor

    def record_editor(self, actor: str | None) -> None:
        self.updated_by = actor


class VersionedEntity[ID](BaseEntity[ID]):
    """Carries a version for optimistic locking: a write based on an older version is refused."""

    version: int = Field(default=1, ge=1)


class AggregateRoot[ID](VersionedEntity[ID]):
    """Consistency boundary that records domain events and hands each out exactly once."""

    _events: list[DomainEvent] = PrivateAttr(default_factory=list)

    def record_event(self, event: DomainEvent) -> None:
        # Copy-on-write: ``model_copy()`` shares private attributes, and a copy must not leak its events.
        self._events = [*self._events, event]

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)

    def pull_events(self) -> list[DomainEvent]:
        """Return the recorded events and forget them, so a second pull yields nothing."""
        events, self._events = self._events, []
        return events
