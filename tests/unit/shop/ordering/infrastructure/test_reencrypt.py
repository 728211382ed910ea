"""The re-encryption job on SQLite: every tenant, batch by batch, idempotent, stopping on a broken value."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.infrastructure.crypto import DecryptionFailed, EncryptionKey, FieldEncryptor, KeyRing
from apibase.infrastructure.crypto.reencryption import ReencryptionReport
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.domain import ProductId
from shop.ordering.domain import Order, OrderLine
from shop.ordering.infrastructure import OrderRepository
from shop.ordering.infrastructure.reencrypt import reencrypt_orders

pytestmark = pytest.mark.unit

K1 = EncryptionKey("k1", bytes(range(32)))
K2 = EncryptionKey("k2", bytes(range(1, 33)))
ON_K1 = FieldEncryptor(KeyRing([K1]))
ON_K2 = FieldEncryptor(KeyRing([K1, K2], primary="k2"))


def make_order(address: str | None) -> Order:
    line = OrderLine.of(product_id=ProductId.new(), sku="SKU-1", unit_price=Decimal("1.00"), currency="EUR", quantity=1)
    return Order.place(customer_email="ada@example.com", currency="EUR", lines=[line], shipping_address=address)


async def store(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, tenant: str, *orders: Order
) -> None:
    with tenant_scope(tenant):
        async with SQLAlchemyUnitOfWork(session_factory) as uow:
            repository = OrderRepository(uow, cursor_codec=codec, encryptor=ON_K1)
            for order in orders:
                await repository.add(order)
            await uow.commit()


async def stored(session_factory: async_sessionmaker[AsyncSession]) -> dict[str, tuple[str | None, int]]:
    """Every order's raw address token and version, by order id hex, across tenants."""
    async with session_factory() as session:
        rows = (await session.execute(text("SELECT id, shipping_address, version FROM orders"))).all()
    return {row[0]: (row[1], row[2]) for row in rows}


@contextmanager
def count_commits(engine: AsyncEngine) -> Iterator[list[object]]:
    commits: list[object] = []

    def record(connection: object) -> None:
        commits.append(connection)

    event.listen(engine.sync_engine, "commit", record)
    try:
        yield commits
    finally:
        event.remove(engine.sync_engine, "commit", record)


@pytest.fixture
async def orders(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> list[Order]:
    """Five addresses on k1 in two tenants (one order soft-deleted), plus one order without an address."""
    acme = [make_order(f"{number} Acme Road") for number in range(3)]
    globex = [make_order(f"{number} Globex Lane") for number in range(2)]
    await store(session_factory, codec, "acme", *acme, make_order(None))
    await store(session_factory, codec, "globex", *globex)
    with tenant_scope("globex"):
        async with SQLAlchemyUnitOfWork(session_factory) as uow:
            await OrderRepository(uow, cursor_codec=codec, encryptor=ON_K1).delete(globex[0].id)
            await uow.commit()
    return acme + globex


async def test_every_tenant_moves_to_the_primary_key_in_batches_and_a_second_run_does_nothing(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, orders: list[Order]
) -> None:
    before = await stored(session_factory)

    with count_commits(engine) as commits:
        first = await reencrypt_orders(session_factory, ON_K2, batch_size=2)
    second = await reencrypt_orders(session_factory, ON_K2, batch_size=2)

    assert first == ReencryptionReport(scanned=5, reencrypted=5)
    assert len(commits) == 3  # 2 + 2 + 1 rows, each batch its own transaction
    assert second == ReencryptionReport(scanned=5, reencrypted=0)
    after = await stored(session_factory)
    for order in orders:
        token, version = after[order.id.hex]
        assert token is not None
        assert token.startswith("v1.k2.")
        assert version == before[order.id.hex][1]  # the value did not change, so neither does the version
        assert ON_K2.decrypt(token, field="shipping_address", record_id=str(order.id)) == order.shipping_address
    assert [token for token, _ in after.values() if token is None] == [None]  # the order without an address


async def test_reading_through_the_repository_after_the_job(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, orders: list[Order]
) -> None:
    await reencrypt_orders(session_factory, ON_K2)
    only_k2 = FieldEncryptor(KeyRing([K2]))

    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(session_factory) as uow:
            loaded = await OrderRepository(uow, cursor_codec=codec, encryptor=only_k2).get_by_id(orders[0].id)

    assert loaded is not None
    assert loaded.shipping_address == "0 Acme Road"


async def test_a_broken_value_stops_the_job_naming_the_order_and_keeps_earlier_batches(
    session_factory: async_sessionmaker[AsyncSession], orders: list[Order]
) -> None:
    ids = sorted(order.id.hex for order in orders)
    async with session_factory() as session, session.begin():
        statement = text("UPDATE orders SET shipping_address = 'v1.k1.garbage' WHERE id = :id")
        await session.execute(statement, {"id": ids[2]})

    with pytest.raises(DecryptionFailed, match="malformed") as raised:
        await reencrypt_orders(session_factory, ON_K2, batch_size=2)

    after = await stored(session_factory)
    broken = next(order for order in orders if order.id.hex == ids[2])
    assert str(broken.id) in raised.value.detail
    assert raised.value.extensions == {"order_id": str(broken.id), "reencrypted": 2}
    assert [(after[order_id][0] or "")[:6] for order_id in ids] == ["v1.k2.", "v1.k2.", "v1.k1.", "v1.k1.", "v1.k1."]


async def test_the_batch_size_must_be_positive(session_factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        await reencrypt_orders(session_factory, ON_K2, batch_size=0)


async def test_an_empty_table_needs_one_batch(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    with count_commits(engine) as commits:
        report = await reencrypt_orders(session_factory, ON_K2)

    assert report == ReencryptionReport(scanned=0, reencrypted=0)
    assert len(commits) == 1
