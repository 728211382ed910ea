"""Idempotency keys as a kernel module: the middleware replays retried writes; this purges the expired keys.

Expired rows already count as absent (a new claim replaces them); purging keeps the table the size of one TTL
window. Redis expires its keys itself, so the task runs only when keys live in the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from apibase.domain.identity.permissions import Permission
from apibase.kernel import Kernel
from apibase.module import BackgroundTask, Features, Migrations

__all__ = ["PURGE_INTERVAL_SECONDS", "IdempotencyModule", "purge_forever"]

#: How often expired keys are deleted; the TTL (a day by default) makes an hour's lag irrelevant.
PURGE_INTERVAL_SECONDS: Final = 3600.0

_logger = logging.getLogger(__name__)


class _Purgeable(Protocol):
    async def purge_expired(self) -> int: ...


async def purge_forever(store: _Purgeable, interval_seconds: float = PURGE_INTERVAL_SECONDS) -> None:
    while True:
        purged = await store.purge_expired()
        if purged:
            _logger.info("purged expired idempotency keys", extra={"count": purged})
        await asyncio.sleep(interval_seconds)


@dataclass(frozen=True)
class IdempotencyModule:
    name: str = "idempotency"
    #: Its table belongs to the kernel's own migration branch (``apibase``).
    migrations: Migrations | None = None
    interval_seconds: float = PURGE_INTERVAL_SECONDS

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        store = kernel.security.sql_idempotency
        if store is None or not kernel.settings.idempotency.enabled:
            return Features()
        return Features(
            background_tasks=[BackgroundTask("idempotency-purge", lambda: purge_forever(store, self.interval_seconds))]
        )
