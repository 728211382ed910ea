"""The audit trail on SQL: the ``audit_log`` table and the recorder that writes and pages it."""

from __future__ import annotations

from apibase.infrastructure.persistence.audit.recorder import SqlAuditLog
from apibase.infrastructure.persistence.audit.tables import AuditLogRow

__all__ = ["AuditLogRow", "SqlAuditLog"]
