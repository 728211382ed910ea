"""The kernel's own modules, on in every service: identity, audit, idempotency and events (see ``kernel_modules``)."""

from __future__ import annotations

from collections.abc import Sequence

from apibase.module import ALL_VERSIONS, Module
from apibase.modules.audit import AuditModule
from apibase.modules.events import EventsModule
from apibase.modules.idempotency import IdempotencyModule
from apibase.modules.identity import IdentityModule

__all__ = ["AuditModule", "EventsModule", "IdempotencyModule", "IdentityModule", "kernel_modules"]


def kernel_modules(*, audit_versions: Sequence[str] = (ALL_VERSIONS,)) -> list[Module]:
    """The kernel modules in start-up order; ``audit_versions``: the API versions that serve the audit trail."""
    return [IdentityModule(), AuditModule(versions=tuple(audit_versions)), IdempotencyModule(), EventsModule()]
