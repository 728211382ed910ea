"""Shared adapters of the ``IdempotencyStore`` port; the SQL one lives in ``persistence.idempotency``."""

from __future__ import annotations

from apibase.infrastructure.idempotency.redis_store import RedisIdempotencyStore

__all__ = ["RedisIdempotencyStore"]
