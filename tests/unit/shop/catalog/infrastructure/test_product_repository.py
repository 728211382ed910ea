"""ProductRepository on SQLite: exact round trips, allowlisted filters and sorts, a unique sku on every write."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryUnitOfWork
from apibase.application.pagination import SortField
from apibase.core.errors import ConcurrencyConflict, EntityNotFound, ValidationFailed
from apibase.domain.specification import field
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.application import DuplicateSkuError, ProductCreate, ProductUpdate
from shop.catalog.domain import Product, ProductId, ProductPriceChanged
from shop.catalog.infrastructure import ProductMapper, ProductRepository, product_repository_factory

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]

CATALOG = [
    ("MUG-001", "Mug", "9.90", 10, True),
    ("TEA-002", "Green tea", "3.50", 0, True),
    ("CUP-003", "Cup", "5.00", 7, False),
    ("POT-004", "Teapot", "24.00", 2, True),
]


def new(sku: str, name: str = "Thing", price: str = "1.00", stock: int = 1, active: bool = True) -> ProductCreate:
    return ProductCreate(sku=sku, name=name, price=Decimal(price), stock=stock, active=active)


@pytest.fixture
async def seeded(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> list[Product]:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        products = await ProductRepository(uow, cursor_codec=codec).create_many([new(*row) for row in CATALOG])
        await uow.commit()
    return products


async def read[T](session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, query: str, **kw: object) -> T:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        return await getattr(ProductRepository(uow, cursor_codec=codec), query)(**kw)


async def test_round_trip_is_exact(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        loaded = await ProductRepository(uow, cursor_codec=codec).get_by_id(seeded[0].id)

    assert loaded is not None
    assert loaded.model_dump() == seeded[0].model_dump()
    assert isinstance(loaded.id, ProductId)
    assert loaded.price == Decimal("9.90")
    assert loaded.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("where", "skus"),
    [
        (field("price").gt(Decimal(5)), {"MUG-001", "POT-004"}),
        (field("active").eq(False), {"CUP-003"}),
        (field("stock").eq(0) | field("name").contains("pot"), {"TEA-002", "POT-004"}),
        (field("sku").is_in(["MUG-001", "CUP-003"]), {"MUG-001", "CUP-003"}),
        (field("name").starts_with("Green") & field("active").eq(True), {"TEA-002"}),
    ],
)
async def test_filters(
    session_factory: async_sessionmaker[AsyncSession],
    codec: CursorCodec,
    seeded: list[Product],
    where: object,
    skus: set[str],
) -> None:
    found = await read(session_factory, codec, "find", where=where)

    assert {product.sku for product in found} == skus


@pytest.mark.parametrize(
    ("sort", "skus"),
    [
        ((SortField("price", descending=True),), ["POT-004", "MUG-001", "CUP-003", "TEA-002"]),
        ((SortField("name"),), ["CUP-003", "TEA-002", "MUG-001", "POT-004"]),
        ((SortField("active"), SortField("stock", descending=True)), ["CUP-003", "MUG-001", "POT-004", "TEA-002"]),
    ],
)
async def test_sorts(
    session_factory: async_sessionmaker[AsyncSession],
    codec: CursorCodec,
    seeded: list[Product],
    sort: tuple[SortField, ...],
    skus: list[str],
) -> None:
    page = await read(session_factory, codec, "get_all", sort=sort)

    assert [product.sku for product in page.items] == skus


async def test_keyset_pages_by_price(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    sort = (SortField("price"),)
    seen: list[str] = []
    cursor = None
    while True:
        page = await read(session_factory, codec, "get_page", sort=sort, cursor=cursor, limit=3)
        seen += [product.sku for product in page.items]
        if (cursor := page.next_cursor) is None:
            break

    assert seen == ["TEA-002", "CUP-003", "MUG-001", "POT-004"]


@pytest.mark.parametrize("where", [field("description").eq("x"), field("version").gt(1)])
async def test_fields_outside_the_allowlist_are_refused(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, where: object
) -> None:
    with pytest.raises(ValidationFailed):
        await read(session_factory, codec, "find", where=where)


async def test_a_taken_sku_is_refused_on_add_create_many_and_save(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = ProductRepository(uow, cursor_codec=codec)
        with pytest.raises(DuplicateSkuError) as on_create:
            await repository.create(new("MUG-001"))
        with pytest.raises(DuplicateSkuError) as on_many:
            await repository.create_many([new("NEW-001"), new("NEW-001")])
        tea = await repository.get_by_id(seeded[1].id)
        assert tea is not None
        tea.sku = "MUG-001"
        with pytest.raises(DuplicateSkuError):
            await repository.save(tea)
        assert tea.version == 1
        # the savepoints kept the transaction usable
        await repository.create(new("NEW-002"))
        await uow.commit()

    assert on_create.value.extensions == {"skus": ["MUG-001"]}
    assert on_many.value.extensions == {"skus": ["NEW-001", "NEW-001"]}
    assert await read(session_factory, codec, "count") == 5


async def test_a_create_that_opens_the_transaction_needs_no_savepoint(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    statements: list[str] = []
    engine = session_factory.kw["bind"].sync_engine

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.split(maxsplit=1)[0])

    event.listen(engine, "before_cursor_execute", record)
    try:
        async with SQLAlchemyUnitOfWork(session_factory) as uow:
            repository = ProductRepository(uow, cursor_codec=codec)
            await repository.create(new("NEW-010"))
            with pytest.raises(DuplicateSkuError):  # now the transaction holds the first insert: a savepoint
                await repository.create(new("MUG-001"))
            await uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)

    # the first INSERT opened the transaction (its BEGIN goes past the cursor events); ROLLBACK to the savepoint
    assert statements == ["INSERT", "SAVEPOINT", "INSERT", "ROLLBACK"]
    assert await read(session_factory, codec, "count") == 5  # the first insert was kept


async def test_the_first_page_reads_an_index_in_order_instead_of_sorting_every_row(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    pages: list[tuple[str, object]] = []
    engine = session_factory.kw["bind"].sync_engine

    def record(conn: object, cursor: object, statement: str, parameters: object, *args: object) -> None:
        if "ORDER BY" in statement:
            pages.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        await read(session_factory, codec, "get_all", limit=2)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    ((statement, parameters),) = pages
    async with session_factory() as session:
        connection = await session.connection()
        plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()  # type: ignore[arg-type]

    details = " | ".join(str(row[-1]) for row in plan)
    assert "ix_products_live_id" in details
    assert "TEMP B-TREE" not in details


async def test_update_goes_through_the_aggregate(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        updated = await ProductRepository(uow, cursor_codec=codec).update(
            seeded[0].id, ProductUpdate(price=Decimal("11.00")), expected_version=1
        )
        await uow.commit()
        events = uow.collect_events()

    assert (updated.price, updated.version) == (Decimal("11.00"), 2)
    assert [type(event) for event in events] == [ProductPriceChanged]


async def test_update_refusals(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, seeded: list[Product]
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = ProductRepository(uow, cursor_codec=codec)
        with pytest.raises(EntityNotFound):
            await repository.update(ProductId.new(), ProductUpdate(stock=1))
        with pytest.raises(ConcurrencyConflict):
            await repository.update(seeded[0].id, ProductUpdate(stock=1), expected_version=2)
        with pytest.raises(ValidationFailed) as invalid:
            await repository.update(seeded[0].id, ProductUpdate.model_construct(name="", _fields_set={"name"}))

    assert invalid.value.extensions["errors"][0]["loc"] == ["name"]


def test_the_factory_needs_a_sql_unit_of_work(codec: CursorCodec) -> None:
    with pytest.raises(TypeError, match="SQLAlchemyUnitOfWork"):
        product_repository_factory(codec)(InMemoryUnitOfWork())


def test_the_mapper_maps_every_field_by_name() -> None:
    mapper = ProductMapper()
    product = Product(id=ProductId.new(), sku="MUG-001", name="Mug", price=Decimal("1.00"))

    row = mapper.to_model(product)

    assert (row.sku, row.price, row.currency, row.stock, row.active) == ("MUG-001", Decimal("1.00"), "EUR", 0, True)
    assert mapper.to_response(product).id == product.id
