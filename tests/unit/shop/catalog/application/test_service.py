"""ProductService on SQLite: CRUD as Results, a taken sku as catalog.duplicate_sku, events after commit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apibase.application.in_memory import InMemoryEventPublisher
from apibase.application.pagination import SortField
from apibase.core.errors import ConcurrencyConflict, NotFoundError, ValidationFailed
from apibase.core.result import Err, Ok
from apibase.domain.specification import field
from shop.catalog.application import DuplicateSkuError, ProductCreate, ProductOut, ProductService, ProductUpdate
from shop.catalog.domain import CatalogErrorCode, ProductDeactivated, ProductId, ProductPriceChanged

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]


async def create(service: ProductService, sku: str, price: str = "10.00", **extra: object) -> ProductOut:
    data = ProductCreate.model_validate({"sku": sku, "name": sku.title(), "price": price, **extra})
    return (await service.create(data)).unwrap()


async def test_create_and_get(service: ProductService) -> None:
    created = await create(service, "MUG-001", "9.90", stock=4, description="500 ml")

    assert (await service.get(created.id)).unwrap() == created
    assert (created.price, created.stock, created.version, created.description) == (Decimal("9.90"), 4, 1, "500 ml")


async def test_the_actor_is_recorded_as_creator_and_as_last_editor(service: ProductService) -> None:
    data = ProductCreate(sku="MUG-001", name="Mug", price=Decimal("9.90"))

    created = (await service.create(data, actor="alice")).unwrap()
    edited = (await service.update(created.id, ProductUpdate(stock=3), actor="bob")).unwrap()

    assert (created.created_by, created.updated_by) == ("alice", "alice")
    assert (edited.created_by, edited.updated_by) == ("alice", "bob")
    assert (await service.get(created.id)).unwrap() == edited
    assert (
        await service.create(ProductCreate(sku="TEA-002", name="Tea", price=Decimal(1)))
    ).unwrap().created_by is None


async def test_a_taken_sku_is_a_409_with_the_catalog_code(service: ProductService) -> None:
    await create(service, "MUG-001")

    result = await service.create(ProductCreate(sku="MUG-001", name="Other", price=Decimal(1)))

    assert isinstance(result, Err)
    assert isinstance(result.error, DuplicateSkuError)
    assert (result.error.status, result.error.code) == (409, CatalogErrorCode.DUPLICATE_SKU)
    assert result.error.to_problem_detail().code == "catalog.duplicate_sku"
    assert (await service.list()).unwrap().total == 1


async def test_renaming_to_a_taken_sku_is_refused(service: ProductService) -> None:
    await create(service, "MUG-001")
    tea = await create(service, "TEA-002")

    result = await service.update(tea.id, ProductUpdate(sku="MUG-001"))

    assert isinstance(result, Err)
    assert isinstance(result.error, DuplicateSkuError)
    assert (await service.get(tea.id)).unwrap() == tea


async def test_a_price_change_publishes_an_event_after_commit(
    service: ProductService, publisher: InMemoryEventPublisher
) -> None:
    mug = await create(service, "MUG-001", "9.90")

    updated = (await service.update(mug.id, ProductUpdate(price=Decimal("12.00"), active=False))).unwrap()

    assert (updated.price, updated.active, updated.version) == (Decimal("12.00"), False, 2)
    assert [type(event) for event in publisher.published] == [ProductPriceChanged, ProductDeactivated]


async def test_an_update_that_changes_nothing_publishes_nothing(
    service: ProductService, publisher: InMemoryEventPublisher
) -> None:
    mug = await create(service, "MUG-001", "9.90")

    (await service.update(mug.id, ProductUpdate(price=Decimal("9.90"), name="Mug"))).unwrap()

    assert publisher.published == []


async def test_a_stale_version_is_a_conflict(service: ProductService) -> None:
    mug = await create(service, "MUG-001")
    (await service.update(mug.id, ProductUpdate(stock=3), expected_version=1)).unwrap()

    result = await service.update(mug.id, ProductUpdate(stock=4), expected_version=1)

    assert isinstance(result, Err)
    assert isinstance(result.error, ConcurrencyConflict)
    assert result.error.extensions == {"current_version": 2}


async def test_updating_a_missing_product_is_not_found(service: ProductService) -> None:
    result = await service.update(ProductId.new(), ProductUpdate(stock=1))

    assert isinstance(result, Err)
    assert result.error.status == 404


async def test_list_with_filters_and_sorting(service: ProductService) -> None:
    for sku, price in [("MUG-001", "9.90"), ("TEA-002", "3.50"), ("CUP-003", "5.00")]:
        await create(service, sku, price)

    page = (
        await service.list(where=field("price").gt(Decimal(4)), sort=[SortField("price", descending=True)])
    ).unwrap()

    assert [item.sku for item in page.items] == ["MUG-001", "CUP-003"]


async def test_an_unknown_filter_is_an_err(service: ProductService) -> None:
    result = await service.list(where=field("cost").gt(1))

    assert isinstance(result, Err)
    assert isinstance(result.error, ValidationFailed)


async def test_delete_is_soft_and_the_product_disappears(service: ProductService) -> None:
    mug = await create(service, "MUG-001")

    assert await service.delete(mug.id) == Ok(None)
    result = await service.get(mug.id)
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
