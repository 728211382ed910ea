"""Idempotency keys in the service's database, for deployments without Redis.

A claim is an INSERT on the primary key, so two workers racing for one key cannot both win: the loser gets a
unique violation and reads what the winner wrote. Each call runs in its own short transaction from the session
factory, never in the request's unit of work: the claim must be visible to other workers before the handler
runs, and must survive the handler's rollback. Expired rows are deleted in the claiming transaction, so an old
key can be claimed again. Database errors become ``IdempotencyUnavailable``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Final, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.ports.idempotency import (
    BeginOutcome,
    Claimed,
    IdempotencyUnavailable,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)
from apibase.core.errors import ConcurrencyConflict
from apibase.infrastructure.persistence.idempotency.tables import IdempotencyKeyRow

__all__ = ["SqlIdempotencyStore"]

_UNAVAILABLE_DETAIL: Final = "The idempotency store (database) cannot be reached; retry the request later."
# A lost race normally resolves in one round; more only if the winner releases or expires at that very moment.
_CLAIM_ATTEMPTS: Final = 3


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlIdempotencyStore:
    """``IdempotencyStore`` on the ``idempotency_keys`` table; ``clock`` is injectable so tests can expire rows."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome:
        claim = Claimed(key, fingerprint, secrets.token_hex(16))
        for _ in range(_CLAIM_ATTEMPTS):
            now = self._clock()
            if await self._insert_claim(claim, now + timedelta(seconds=lease_seconds), now):
                return claim
            async with self._transaction() as session:
                row = await session.get(IdempotencyKeyRow, key)
            if row is None or row.expires_at <= now:
                continue  # released or expired since the insert failed: claim again
            if row.fingerprint != fingerprint:
                return Mismatch()
            if row.status is None:
                return InProgress()
            headers = tuple((str(name), str(value)) for name, value in row.headers or ())
            return Replay(StoredResponse(row.status, headers, row.body))
        return InProgress()

    async def _insert_claim(self, claim: Claimed, expires_at: datetime, now: datetime) -> bool:
        """Replace an expired row and insert the claim; ``False`` when a live row holds the key."""
        expired = and_(IdempotencyKeyRow.key == claim.key, IdempotencyKeyRow.expires_at <= now)
        row = {"key": claim.key, "fingerprint": claim.fingerprint, "token": claim.token, "expires_at": expires_at}
        try:
            async with self._transaction() as session:
                await session.execute(delete(IdempotencyKeyRow).where(expired))
                await session.execute(insert(IdempotencyKeyRow).values(row))
        except IntegrityError:
            return False
        return True

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        async with self._transaction() as session:
            await session.execute(
                update(IdempotencyKeyRow)
                .where(self._owned_by(claim))
                .values(
                    status=response.status,
                    headers=[list(pair) for pair in response.headers],
                    body=response.body,
                    expires_at=self._clock() + timedelta(seconds=ttl_seconds),
                )
            )

    async def release(self, claim: Claimed) -> None:
        async with self._transaction() as session:
            await session.execute(delete(IdempotencyKeyRow).where(self._owned_by(claim)))

    async def purge_expired(self) -> int:
        """Delete every expired row (a periodic job keeps the table small); returns how many went."""
        async with self._transaction() as session:
            result = await session.execute(
                delete(IdempotencyKeyRow).where(IdempotencyKeyRow.expires_at <= self._clock())
            )
        return cast("CursorResult[tuple[()]]", result).rowcount

    @staticmethod
    def _owned_by(claim: Claimed) -> ColumnElement[bool]:
        """Still this claim's unfinished row: a late finisher never touches a newer claim or a kept response."""
        return and_(
            IdempotencyKeyRow.key == claim.key,
            IdempotencyKeyRow.token == claim.token,
            IdempotencyKeyRow.status.is_(None),
        )

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """One short transaction, committed on exit; integrity errors pass (a lost race), others mean 503."""
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except IntegrityError:
            raise
        except (SQLAlchemyError, OSError, ConcurrencyConflict) as error:  # the last: SQLite locked past its timeout
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error
