"""Commands and queries: immutable requests that name the result type their handler returns.

The result type is a phantom parameter (``class CreateOrder(BaseCommand[OrderId])``) so that the bus can type
``dispatch``/``ask`` from the message alone, without the caller repeating it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Generic, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from apibase.core.context import current_correlation_id, current_principal, current_tenant
from apibase.domain.entities import utc_now

__all__ = ["BaseCommand", "BaseQuery", "Message"]

# Old-style type variable on purpose: the pydantic mypy plugin makes mypy infer PEP 695 parameters of a model
# as invariant, and a phantom result type must be covariant (``CreateOrder`` is a ``BaseCommand[object]``).
TResult_co = TypeVar("TResult_co", covariant=True)


class Message(BaseModel):
    """What commands and queries share, so that behaviours can serve both buses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def log_context(self) -> dict[str, str | None]:
        """Identifiers safe to log; field values are never included because they may carry secrets.

        The keys become ``LogRecord`` attributes, so an override must not reuse names such as ``message``.
        """
        return {"message_type": type(self).__name__}


class BaseCommand(Message, Generic[TResult_co]):  # noqa: UP046 - see TResult_co
    """A request to change state, carrying the metadata needed to trace and audit it.

    Nobody building a command sets the caller or the correlation id: ``CommandBus.dispatch`` fills them in from
    the request context (``with_context``), so every command carries them the same way.
    """

    command_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    timestamp: AwareDatetime = Field(default_factory=utc_now)
    correlation_id: str | None = None
    #: The caller's subject (``Principal.subject``); None for an anonymous caller or outside a request.
    user_id: str | None = None
    tenant_id: str | None = None

    #: How often the bus runs the command, each time in a fresh unit of work, while it loses a version race
    #: (``ConcurrencyConflict``); more than 1 only where re-running from a fresh read is always right (never
    #: for a command guarded by a version the client sent, which must answer the conflict).
    conflict_attempts: ClassVar[int] = 1
    #: True where a refusal changes state that must stick (a reused refresh token revokes its family, then is
    #: refused): the unit of work is committed on ``Err`` too.
    commit_on_err: ClassVar[bool] = False

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        """Aware times from other zones are accepted but stored in UTC, the one clock of the domain."""
        return value.astimezone(UTC)

    def log_context(self) -> dict[str, str | None]:
        return {
            **super().log_context(),
            "command_id": str(self.command_id),
            "correlation_id": self.correlation_id,
            "user_id": self.user_id,
            "tenant_id": self.tenant_id,
        }

    def with_context(self) -> Self:
        """This command with the flow's correlation id, the caller and its tenant from the request context, each
        only where the command has none (a value set on purpose, e.g. by a job replaying a command, is kept)."""
        caller = current_principal()
        context = {
            "correlation_id": current_correlation_id(),
            "user_id": None if caller is None else caller.subject,
            "tenant_id": current_tenant(),
        }
        missing = {name: value for name, value in context.items() if getattr(self, name) is None and value is not None}
        return self.model_copy(update=missing) if missing else self


class BaseQuery(Message, Generic[TResult_co]):  # noqa: UP046 - see TResult_co
    """A request to read state; it must not change anything (its unit of work is never committed)."""
