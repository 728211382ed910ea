"""Commands and queries: immutable requests that name the result type their handler returns.

The result type is a phantom parameter (``class CreateOrder(BaseCommand[OrderId])``) so that the bus can type
``dispatch``/``ask`` from the message alone, without the caller repeating it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

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
    """A request to change state, carrying the metadata needed to trace and audit it."""

    command_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    timestamp: AwareDatetime = Field(default_factory=utc_now)
    correlation_id: str | None = None
    user_id: str | None = None

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
        }


class BaseQuery(Message, Generic[TResult_co]):  # noqa: UP046 - see TResult_co
    """A request to read state; it may be cached, so it carries no per-request metadata.

    Set ``cache_ttl_seconds`` on a subclass to let ``CachingBehaviour`` keep its Ok results that long;
    ``None`` (the default) or a non-positive value means "never cached". A query whose result depends on the
    caller must carry the caller (e.g. a ``user_id`` field) so that the cache key tells callers apart.
    """

    cache_ttl_seconds: ClassVar[float | None] = None

    def cache_key(self) -> str:
        """A stable key: the qualified class name plus a digest of the fields (values never appear in it)."""
        cls = type(self)
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()
        return f"query:{cls.__module__}.{cls.__qualname__}:{digest}"
