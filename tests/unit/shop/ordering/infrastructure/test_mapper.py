"""The shipping address on SQLite: plaintext in the aggregate, only ciphertext in the column, bound to its order."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.core.errors import ValidationFailed
from apibase.domain.specification import field
from apibase.infrastructure.crypto import DecryptionFailed, EncryptionKey, FieldEncryptor, KeyRing
from apibase.infrastructure.crypto.key_ring_from_settings import development_encryptor
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.domain import ProductId
from shop.ordering.domain import Order, OrderLine
from shop.ordering.infrastructure import ORDER_FIELDS, OrderMapper, OrderRepository
from shop.ordering.infrastructure.mapper import ENCRYPTED_ORDER_FIELDS, SHIPPING_ADDRESS

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]

ADDRESS = "Ada Lovelace, 12 St James's Square, London SW1Y 4JH"
K1 = EncryptionKey("k1", bytes(range(32)))
K2 = EncryptionKey("k2", bytes(range(1, 33)))
ON_K1 = FieldEncryptor(KeyRing([K1]))
ON_K2 = FieldEncryptor(KeyRing([K1, K2], primary="k2"))


def make_order(address: str | None = ADDRESS) -> Order:
    line = OrderLine.of(product_id=ProductId.new(), sku="SKU-1", unit_price=Decimal("1.00"), currency="EUR", quantity=1)
    return Order.place(customer_email="ada@example.com", currency="EUR", lines=[line], shipping_address=address)


async def store(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, order: Order, encryptor: FieldEncryptor
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await OrderRepository(uow, cursor_codec=codec, encryptor=encryptor).add(order)
        await uow.commit()


async def load(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, order: Order, encryptor: FieldEncryptor
) -> Order | None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        return await OrderRepository(uow, cursor_codec=codec, encryptor=encryptor).get_by_id(order.id)


async def raw_address(session_factory: async_sessionmaker[AsyncSession], order: Order) -> str | None:
    """The column as stored, read with plain SQL past every mapper."""
    async with session_factory() as session:
        statement = text("SELECT shipping_address FROM orders WHERE id = :id")
        value: str | None = (await session.execute(statement, {"id": order.id.hex})).scalar_one()
        return value


async def overwrite_address(session_factory: async_sessionmaker[AsyncSession], order: Order, value: str) -> None:
    async with session_factory() as session, session.begin():
        statement = text("UPDATE orders SET shipping_address = :value WHERE id = :id")
        await session.execute(statement, {"value": value, "id": order.id.hex})


async def test_the_address_round_trips_and_the_column_holds_only_ciphertext(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order()
    await store(session_factory, codec, order, ON_K1)

    loaded = await load(session_factory, codec, order, ON_K1)
    stored = await raw_address(session_factory, order)

    assert loaded is not None
    assert loaded.shipping_address == ADDRESS
    assert stored is not None
    assert stored.startswith("v1.k1.")
    for word in ADDRESS.replace(",", "").split():
        if len(word) >= 5:  # shorter words turn up in random base64 by chance
            assert word not in stored.split(".", 2)[2]
    assert ON_K1.decrypt(stored, field=SHIPPING_ADDRESS, record_id=str(order.id)) == ADDRESS


async def test_no_address_stays_null(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> None:
    order = make_order(None)
    await store(session_factory, codec, order, ON_K1)

    loaded = await load(session_factory, codec, order, ON_K1)

    assert loaded is not None
    assert loaded.shipping_address is None
    assert await raw_address(session_factory, order) is None


async def test_without_an_encryptor_the_development_key_is_used(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order()
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await OrderRepository(uow, cursor_codec=codec).add(order)
        await uow.commit()

    stored = await raw_address(session_factory, order)

    assert stored is not None
    assert development_encryptor().decrypt(stored, field=SHIPPING_ADDRESS, record_id=str(order.id)) == ADDRESS


async def test_a_row_written_under_k1_stays_readable_after_k2_becomes_primary_and_a_save_moves_it(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order()
    await store(session_factory, codec, order, ON_K1)

    loaded = await load(session_factory, codec, order, ON_K2)
    assert loaded is not None
    assert loaded.shipping_address == ADDRESS
    assert (await raw_address(session_factory, order) or "").startswith("v1.k1.")

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        loaded.pay()
        await OrderRepository(uow, cursor_codec=codec, encryptor=ON_K2).save(loaded)
        await uow.commit()

    assert (await raw_address(session_factory, order) or "").startswith("v1.k2.")
    with pytest.raises(DecryptionFailed, match="not in the key ring"):
        await load(session_factory, codec, order, ON_K1)


async def test_a_tampered_ciphertext_fails_instead_of_showing_garbage(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order()
    await store(session_factory, codec, order, ON_K1)
    stored = await raw_address(session_factory, order)
    assert stored is not None
    flipped = "B" if stored[-2] == "A" else "A"
    await overwrite_address(session_factory, order, stored[:-2] + flipped + stored[-1])

    with pytest.raises(DecryptionFailed, match="fails authentication") as raised:
        await load(session_factory, codec, order, ON_K1)

    assert raised.value.status == 500
    assert raised.value.code.value == "crypto.decryption_failed"


async def test_a_ciphertext_copied_from_another_order_does_not_decrypt(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    victim, attacker = make_order(), make_order("Somewhere else")
    await store(session_factory, codec, victim, ON_K1)
    await store(session_factory, codec, attacker, ON_K1)

    await overwrite_address(session_factory, attacker, await raw_address(session_factory, victim) or "")

    with pytest.raises(DecryptionFailed):
        await load(session_factory, codec, attacker, ON_K1)


async def test_the_address_can_be_neither_filtered_nor_sorted(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    assert ORDER_FIELDS.isdisjoint(ENCRYPTED_ORDER_FIELDS)
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec, encryptor=ON_K1)
        with pytest.raises(ValidationFailed, match="allowed filter fields"):
            await repository.find(field(SHIPPING_ADDRESS).eq(ADDRESS))
        assert SHIPPING_ADDRESS not in repository.sortable_fields


def test_the_mapper_alone_encrypts_and_decrypts() -> None:
    order = make_order()
    mapper = OrderMapper(ON_K1)

    row = mapper.to_model(order)

    assert row.shipping_address is not None
    assert ADDRESS not in row.shipping_address
    assert mapper.encryptor is ON_K1
    assert OrderMapper(ON_K2).to_order(row, [SimpleNamespace(**line) for line in OrderMapper.line_rows(order)]) == order
