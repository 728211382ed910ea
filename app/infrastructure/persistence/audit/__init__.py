"""The audit trail on SQL: the ``audit_log`` table and the recorder that writes and pages it."""

from __future__ import annotations

from app.infrastructure.persistence.audit.recorder import SqlAuditLog
from app.infrastructure.persistence.audit.tables import AuditLogRow

__all__ = ["AuditLogRow", "SqlAuditLog"]
