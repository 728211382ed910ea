"""Re-encryption of the orders' encrypted fields after a key rotation: every tenant, batch by batch.

An operator job, not a use case: it reads and writes the orders table directly, without the tenant scope of
``OrderRepository`` and including soft-deleted rows, so that no ciphertext is left on a key about to be retired.
Rows are walked in primary-key order and each batch commits in its own transaction, so a long run never holds
locks for long and an interrupted run is finished by running it again. Each UPDATE is guarded by the ciphertext
it read: a row the service rewrote meanwhile (always under the primary key) is left alone. The version and
timestamps do not change, because the value itself did not.
"""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.infrastructure.crypto.errors import DecryptionFailed
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.reencryption import DEFAULT_BATCH_SIZE, ReencryptionReport
from shop.ordering.infrastructure.mapper import ENCRYPTED_ORDER_FIELDS
from shop.ordering.infrastructure.tables import OrderRow

__all__ = ["reencrypt_orders"]

_ORDERS = cast("Table", OrderRow.__table__)


async def reencrypt_orders(
    session_factory: async_sessionmaker[AsyncSession],
    encryptor: FieldEncryptor,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ReencryptionReport:
    """Move every encrypted order field onto ``encryptor``'s primary key; a second run re-encrypts nothing.

    A value that cannot be decrypted stops the job with ``DecryptionFailed`` naming the order (batches before
    it stay committed): skipping it would let the operator retire a key that data still needs.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    scanned = reencrypted = 0
    for name in sorted(ENCRYPTED_ORDER_FIELDS):
        column = _ORDERS.c[name]
        after: uuid.UUID | None = None
        while True:
            rewritten = 0
            async with session_factory() as session, session.begin():
                rows = await _batch(session, column, after, batch_size)
                for order_id, token in rows:
                    new_token = _reencrypted(encryptor, name, order_id, token, committed=reencrypted)
                    if new_token is not None:
                        rewritten += await _rewrite(session, column, order_id, token, new_token)
            scanned, reencrypted = scanned + len(rows), reencrypted + rewritten
            if len(rows) < batch_size:
                break
            after = rows[-1][0]
    return ReencryptionReport(scanned=scanned, reencrypted=reencrypted)


async def _batch(
    session: AsyncSession, column: Column[str], after: uuid.UUID | None, size: int
) -> list[tuple[uuid.UUID, str]]:
    statement = select(_ORDERS.c.id, column).where(column.is_not(None)).order_by(_ORDERS.c.id).limit(size)
    if after is not None:
        statement = statement.where(_ORDERS.c.id > after)
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


def _reencrypted(
    encryptor: FieldEncryptor, name: str, order_id: uuid.UUID, token: str, *, committed: int
) -> str | None:
    """The token under the primary key, or None when it is already there."""
    try:
        if not encryptor.needs_reencryption(token):
            return None
        return encryptor.reencrypt(token, field=name, record_id=str(order_id))
    except DecryptionFailed as exc:
        raise DecryptionFailed(
            f"order {order_id}: {exc.detail}", extensions={"order_id": str(order_id), "reencrypted": committed}
        ) from None


async def _rewrite(session: AsyncSession, column: Column[str], order_id: uuid.UUID, old: str, new: str) -> int:
    statement = update(_ORDERS).where(_ORDERS.c.id == order_id, column == old).values({column.key: new})
    result = await session.execute(statement)
    return cast("int", result.rowcount)  # type: ignore[attr-defined]
