"""The audit trail as a kernel module: every write is recorded by the audit middleware; this serves reading it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apibase.application.ports.audit import AuditLog
from apibase.domain.identity.permissions import AUDIT_READ, KERNEL_PERMISSIONS, Permission
from apibase.interface.http.audit import audit_router
from apibase.interface.http.security.authorization import require
from apibase.kernel import Kernel
from apibase.module import ALL_VERSIONS, Features, Migrations

__all__ = ["AuditModule"]


@dataclass(frozen=True)
class AuditModule:
    #: The API versions whose ``/audit`` serves the trail (a service may keep it off a deprecated version).
    versions: tuple[str, ...] = (ALL_VERSIONS,)
    name: str = "audit"
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {AUDIT_READ: KERNEL_PERMISSIONS[AUDIT_READ]}

    def build(self, kernel: Kernel) -> Features:
        async def audit_log() -> AuditLog:
            return kernel.security.audit_log

        router = audit_router(audit_log, [require(AUDIT_READ)])
        return Features(routers={version: [router] for version in self.versions})
