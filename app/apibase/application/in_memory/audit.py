"""An in-process audit log: the test double of ``AuditLog`` (entries vanish with the process)."""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime

from apibase.application.ports.audit import AuditEntry

__all__ = ["InMemoryAuditLog"]


class InMemoryAuditLog:
    """``AuditLog`` over a list, ordered like the SQL adapter: newest ``occurred_at`` first, then highest id."""

    def __init__(self) -> None:
        self._entries: builtins.list[AuditEntry] = []

    def __len__(self) -> int:
        return len(self._entries)

    async def record(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    async def list(self, tenant: str, *, limit: int, before: uuid.UUID | None = None) -> builtins.list[AuditEntry]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        own = sorted((e for e in self._entries if e.tenant == tenant), key=_position, reverse=True)
        if before is not None:
            anchor = next((e for e in own if e.id == before), None)
            if anchor is None:
                return []
            own = [e for e in own if _position(e) < _position(anchor)]
        return own[:limit]


def _position(entry: AuditEntry) -> tuple[datetime, uuid.UUID]:
    return (entry.occurred_at, entry.id)
