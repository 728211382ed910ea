"""The tenant-isolation contract: what tenant-scoped repositories promise, on any database.

Subclass it in a test module and provide a ``session_factory`` fixture over a database that has the service's
tables. Every test acts as tenant ``acme`` first and then as tenant ``globex``: globex must never see, count,
change or delete acme's rows, and the same business key (a product sku) may exist once per tenant.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.core.errors import EntityNotFound
from apibase.core.result import Err
from apibase.infrastructure.persistence.tenancy import TenantRequired, tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.application import DuplicateSkuError, ProductCreate, ProductUpdate
from shop.catalog.domain import Product
from shop.catalog.infrastructure import ProductRepository, build_product_service
from shop.ordering.application import GetOrder, OrderLineRequest, PlaceOrder
from shop.ordering.infrastructure import build_ordering

__all__ = ["TenantIsolationContract"]

CODEC = CursorCodec("tenant-isolation-cursor-secret")
MUG = ProductCreate(sku="MUG-001", name="Mug", price=Decimal("9.90"), stock=5)


async def _create(session_factory: async_sessionmaker[AsyncSession], tenant: str) -> Product:
    with tenant_scope(tenant):
        async with SQLAlchemyUnitOfWork(session_factory) as uow:
            product = await ProductRepository(uow, cursor_codec=CODEC).create(MUG)
            await uow.commit()
    return product


class TenantIsolationContract:
    async def test_another_tenant_cannot_read_or_count(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        product = await _create(session_factory, "acme")
        with tenant_scope("globex"):
            async with SQLAlchemyUnitOfWork(session_factory) as uow:
                repository = ProductRepository(uow, cursor_codec=CODEC)
                assert await repository.get_by_id(product.id) is None
                assert await repository.get_by_id(product.id, include_deleted=True) is None
                assert not await repository.exists(product.id)
                assert await repository.count() == 0
                assert (await repository.get_all()).items == []
                assert (await repository.get_page(limit=10)).items == []
        with tenant_scope("acme"):
            async with SQLAlchemyUnitOfWork(session_factory) as uow:
                assert await ProductRepository(uow, cursor_codec=CODEC).get_by_id(product.id) == product

    async def test_another_tenant_cannot_change_or_delete(
        self, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await _create(session_factory, "acme")
        with tenant_scope("globex"):
            async with SQLAlchemyUnitOfWork(session_factory) as uow:
                repository = ProductRepository(uow, cursor_codec=CODEC)
                with pytest.raises(EntityNotFound):
                    await repository.update(product.id, ProductUpdate(price=Decimal("0.01")))
                product.revise({"name": "Stolen"})
                with pytest.raises(EntityNotFound):
                    await repository.save(product)
                assert not await repository.delete(product.id)
                assert not await repository.delete(product.id, hard=True)
                await uow.commit()
        with tenant_scope("acme"):
            async with SQLAlchemyUnitOfWork(session_factory) as uow:
                stored = await ProductRepository(uow, cursor_codec=CODEC).get_by_id(product.id)
        assert stored is not None
        assert (stored.name, stored.price, stored.version) == ("Mug", Decimal("9.90"), 1)

    async def test_a_business_key_is_unique_per_tenant(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        await _create(session_factory, "acme")
        await _create(session_factory, "globex")  # the same sku in another tenant is no conflict
        with pytest.raises(DuplicateSkuError):
            await _create(session_factory, "acme")

    async def test_orders_cannot_use_or_see_another_tenants_products_or_orders(
        self, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await _create(session_factory, "acme")
        commands, queries = build_ordering(session_factory, cursor_codec=CODEC)
        line = (OrderLineRequest(product_id=product.id, quantity=1),)
        with tenant_scope("globex"):
            refused = await commands.dispatch(PlaceOrder(customer_email="eve@example.com", lines=line))
        assert isinstance(refused, Err)
        assert refused.error.code == "orders.unknown_product"
        with tenant_scope("acme"):
            placed = (await commands.dispatch(PlaceOrder(customer_email="ada@example.com", lines=line))).unwrap()

        with tenant_scope("globex"):
            hidden = await queries.ask(GetOrder(order_id=placed.id))
        assert isinstance(hidden, Err)
        assert hidden.error.status == 404

    async def test_no_bound_tenant_fails_closed(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        service = build_product_service(session_factory, cursor_codec=CODEC)
        outcome = await service.create(MUG)
        assert isinstance(outcome, Err)
        assert isinstance(outcome.error, TenantRequired)
