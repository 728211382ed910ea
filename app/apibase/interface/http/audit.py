"""``GET /audit``: the caller's tenant's audit trail, newest first, in keyset pages.

The tenant is always the authenticated principal's own: there is no parameter to ask for another one. Who may
read the trail at all is the composition root's call, passed in as dependencies (a permission check).

Public API: ``audit_router(log_provider, require_permission_dependency) -> APIRouter``, ``AuditEntryOut``,
``AuditLogProvider``.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query, Request, params
from pydantic import BaseModel, ConfigDict

from apibase.application.pagination import CursorPaginatedResponse
from apibase.application.ports.audit import AuditEntry, AuditLog
from apibase.core.errors import UnauthorizedError
from apibase.interface.http.middleware.request_logging import caller_of
from apibase.interface.http.responses import response_meta

__all__ = ["AuditEntryOut", "AuditLogProvider", "audit_router"]

#: A zero-argument callable (sync or async) returning the audit log, used as a FastAPI dependency.
type AuditLogProvider = Callable[[], AuditLog] | Callable[[], Awaitable[AuditLog]]


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    occurred_at: datetime
    actor: str
    actor_method: str | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: int
    request_id: str | None
    client_ip: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> Self:
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at,
            actor=entry.actor,
            actor_method=None if entry.actor_method is None else entry.actor_method.value,
            action=entry.action,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            outcome=entry.outcome,
            request_id=entry.request_id,
            client_ip=entry.client_ip,
        )


def audit_router(
    log_provider: AuditLogProvider,
    require_permission_dependency: Sequence[params.Depends],
) -> APIRouter:
    """The audit endpoint behind ``require_permission_dependency`` (e.g. ``[Depends(require("audit:read"))]``)."""
    router = APIRouter(tags=["audit"], dependencies=list(require_permission_dependency))

    @router.get("/audit")
    async def list_audit_entries(
        request: Request,
        log: Annotated[AuditLog, Depends(log_provider)],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[uuid.UUID | None, Query(description="next_cursor of the previous page")] = None,
    ) -> CursorPaginatedResponse[AuditEntryOut]:
        caller, _ = caller_of(request.scope)
        if caller is None:
            raise UnauthorizedError("the audit trail is only shown to an authenticated caller")
        entries = await log.list(caller.tenant, limit=limit + 1, before=cursor)
        page = entries[:limit]
        next_cursor = str(page[-1].id) if len(entries) > limit else None
        return CursorPaginatedResponse[AuditEntryOut](
            items=[AuditEntryOut.of(entry) for entry in page],
            limit=limit,
            next_cursor=next_cursor,
            meta=response_meta(),
        )

    return router
