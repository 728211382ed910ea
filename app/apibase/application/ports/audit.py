"""The audit trail port: who did what to which resource, with what outcome; kept durably per tenant.

Entries are written by the HTTP edge for every mutating request, refused ones included (a 401/403 is often the
most interesting line), and read back newest first for the caller's own tenant only.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from apibase.core.principal import AuthMethod

__all__ = ["ANONYMOUS", "AuditEntry", "AuditLog"]

#: The actor of a request nobody authenticated.
ANONYMOUS: Final = "anonymous"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One attempted change. ``action`` is ``"<METHOD> <route template>"`` (the raw path if nothing matched)."""

    id: uuid.UUID
    occurred_at: datetime
    actor: str
    actor_method: AuthMethod | None
    tenant: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: int
    request_id: str | None
    client_ip: str | None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """Store ``entry`` durably; raises if it could not be stored."""
        ...

    async def list(self, tenant: str, *, limit: int, before: uuid.UUID | None = None) -> builtins.list[AuditEntry]:
        """Up to ``limit`` entries of ``tenant``, newest first, older than the entry ``before`` if given.

        Pass the last id of a page as ``before`` to get the next; an id unknown in ``tenant`` gives an empty list.
        """
        ...
