"""Idempotency keys on SQL: the idempotency_keys table and the store that claims keys in it."""

from __future__ import annotations

from apibase.infrastructure.persistence.idempotency.store import SqlIdempotencyStore
from apibase.infrastructure.persistence.idempotency.tables import IdempotencyKeyRow

__all__ = ["IdempotencyKeyRow", "SqlIdempotencyStore"]
