"""The reference service's list and report queries on PostgreSQL with 100k rows: index scans, never a Seq Scan.

The statements are the ones the service sends: the product repository's keyset pages (first and next) and the sales
report, captured as they execute and then asked of ``EXPLAIN`` with the same parameters. The tables are the
models' (the migration tests prove models and migrations agree), seeded once per module in a scratch schema with
``INSERT ... SELECT generate_series`` (unlogged; keys and indexes built after the rows; the three tables side by
side) and analysed, so that the planner sees what a real table of that size shows it. A plan is checked by its
node types and index names, not by costs: costs move between versions, a sequential scan of 100k rows does not hide.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date

import pytest
import pytest_asyncio
from sqlalchemy import Table, event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex, ExecutableDDLElement

from apibase.application.cursor import CursorCodec
from apibase.application.pagination import SortField
from apibase.domain.specification import Specification, field
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.postgres import scratch_engine
from shop.catalog.domain.product import Product
from shop.catalog.infrastructure.repository import ProductRepository
from shop.catalog.infrastructure.tables import ProductRow
from shop.ordering.application.dto import SalesGrouping
from shop.ordering.application.messages import SalesReport
from shop.ordering.infrastructure.sales import SqlSalesReader
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TENANT = "plans"
ROWS = 100_000
CODEC = CursorCodec("query-plans-cursor-secret")
#: Lines reference orders: the referenced table is made unlogged after the one that references it.
TABLES: tuple[Table, ...] = (OrderLineRow.__table__, OrderRow.__table__, ProductRow.__table__)  # type: ignore[assignment]


def _scattered(number: str) -> str:
    """A multiplicative hash of ``number``: distinct for distinct numbers, in no order related to them."""
    return f"(({number})::bigint * 2654435761 % 4294967296)"


def _uuid(prefix: str, number: str) -> str:
    """A distinct UUID per ``number``, scattered like random ids are (cheaper than ``md5`` per row)."""
    scattered, ordered = f"lpad(to_hex({_scattered(number)}), 8, '0')", f"lpad(to_hex({number}), 12, '0')"
    return f"({scattered} || '-{prefix}-4000-8000-' || {ordered})::uuid"


_PRODUCT = f"1 + i * 7 % {ROWS}"
SEED = {
    # One product in 100 soft-deleted, one in 10 inactive, 1,000 prices; names in no order related to the ids.
    "products": f"""INSERT INTO products (id, tenant_id, sku, name, description, price, currency, stock, active,
        created_at, updated_at, deleted_at, version)
    SELECT {_uuid("0001", "i")}, '{TENANT}', 'SKU-' || i, 'Product ' || {_scattered("i")}, NULL, (i % 1000) / 10.0,
        'EUR', i % 50, i % 10 <> 0, timestamptz '2026-01-01' + i * interval '1 minute',
        timestamptz '2026-01-01' + i * interval '1 minute', CASE WHEN i % 100 = 0 THEN timestamptz '2026-06-01' END, 1
    FROM generate_series(1, {ROWS}) AS i""",  # noqa: S608 - module constants only
    # Three years of orders, one every ~16 minutes; half of them paid or shipped (the report's statuses).
    "orders": f"""INSERT INTO orders (id, tenant_id, customer_email, currency, status, total, paid_at, created_at,
        updated_at, version)
    SELECT {_uuid("0002", "i")}, '{TENANT}', 'c' || (i % 5000) || '@example.com', 'EUR',
        (ARRAY['placed', 'paid', 'shipped', 'cancelled'])[1 + i % 4], 9.90,
        CASE WHEN i % 4 IN (1, 2) THEN timestamptz '2024-01-01' + i * interval '945 seconds' END,
        timestamptz '2024-01-01' + i * interval '945 seconds', timestamptz '2024-01-01' + i * interval '945 seconds', 1
    FROM generate_series(1, {ROWS}) AS i""",  # noqa: S608 - module constants only
    "order_lines": f"""INSERT INTO order_lines (order_id, position, product_id, sku, unit_price, currency, quantity)
    SELECT {_uuid("0002", "i")}, 1, {_uuid("0001", _PRODUCT)}, 'SKU-' || ({_PRODUCT}), 9.90, 'EUR', 1 + i % 3
    FROM generate_series(1, {ROWS}) AS i""",  # noqa: S608 - module constants only
}

type Plan = dict[str, object]
type Read = Callable[[SQLAlchemyUnitOfWork], Awaitable[object]]


def _foreign_keys(kind: type[AddConstraint] | type[DropConstraint]) -> list[ExecutableDDLElement]:
    return [kind(key) for table in TABLES for key in table.foreign_key_constraints]


def _keys(table: Table, *, add: bool) -> list[ExecutableDDLElement]:
    """A table's primary key and indexes: built once after its rows, not updated row by row."""
    primary: ExecutableDDLElement = (AddConstraint if add else DropConstraint)(table.primary_key)
    return [primary, *((CreateIndex if add else DropIndex)(index) for index in table.indexes)]


async def _fill(engine: AsyncEngine, table: Table, seed: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(seed))
        for ddl in _keys(table, add=True):
            await connection.execute(ddl)
        await connection.execute(text(f"ANALYZE {table.name}"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """The three tables filled side by side (a connection each), then linked by their foreign key again."""
    async with scratch_engine(postgres_url, prefix="plans") as engine:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: ProductRow.metadata.create_all(sync, tables=list(TABLES)))
            for table in TABLES:
                await connection.execute(text(f"ALTER TABLE {table.name} SET UNLOGGED"))
            for ddl in [*_foreign_keys(DropConstraint), *(ddl for table in TABLES for ddl in _keys(table, add=False))]:
                await connection.execute(ddl)
        await asyncio.gather(*(_fill(engine, table, SEED[table.name]) for table in TABLES))
        async with engine.begin() as connection:
            for ddl in _foreign_keys(AddConstraint):
                await connection.execute(ddl)
        yield engine


@pytest.fixture(autouse=True)
def in_plans_tenant() -> Iterator[None]:
    with tenant_scope(TENANT):
        yield


async def plans_of(engine: AsyncEngine, read: Read, *, random_page_cost: float | None = None) -> list[Plan]:
    """Run ``read`` in a unit of work, then ``EXPLAIN`` every SELECT it sent, with the parameters it sent (and the
    planner's ``random_page_cost`` when given)."""
    sent: list[tuple[str, object]] = []

    def capture(*args: object) -> None:
        statement, parameters = args[2], args[3]
        if isinstance(statement, str) and statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with SQLAlchemyUnitOfWork(create_session_factory(engine)) as uow:
            await read(uow)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert sent, "the read sent no SELECT"
    plans: list[Plan] = []
    async with engine.connect() as connection:
        if random_page_cost is not None:
            await connection.execute(text(f"SET random_page_cost = {random_page_cost:f}"))
        for statement, parameters in sent:
            explained = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)  # type: ignore[arg-type]
            plans.append(explained.scalar_one()[0]["Plan"])
    return plans


def nodes(plan: Plan) -> Iterator[Plan]:
    yield plan
    children = plan.get("Plans", [])
    assert isinstance(children, list)
    for child in children:
        yield from nodes(child)


def assert_index_plans(plans: list[Plan], *indexes: str) -> None:
    """No sequential scan anywhere, and each expected index read by some node."""
    every = [node for plan in plans for node in nodes(plan)]
    scans = [
        f"{node['Node Type']} on {node.get('Relation Name')}" for node in every if "Seq Scan" in str(node["Node Type"])
    ]
    assert scans == [], plans
    used = {node.get("Index Name") for node in every}
    assert set(indexes) <= used, (indexes, used)


def product_pages(where: Specification[Product] | None, sort: list[SortField]) -> Read:
    """The v2 list: a first page of 50, then the page after it (the keyset condition), as the API asks them."""

    async def read(uow: SQLAlchemyUnitOfWork) -> None:
        products = ProductRepository(uow, cursor_codec=CODEC)
        first = await products.get_page(where=where, sort=sort, limit=50)
        assert len(first.items) == 50
        assert first.next_cursor is not None
        await products.get_page(cursor=first.next_cursor, limit=50)

    return read


@pytest.mark.parametrize(
    ("where", "sort", "index"),
    [
        (None, [], "ix_products_live_id"),
        (None, [SortField("name")], "ix_products_live_name"),
        (None, [SortField("price", descending=True)], "ix_products_live_price"),
        (field("active").eq(True), [SortField("price")], "ix_products_live_price"),
        (field("price").lt(5), [SortField("name", descending=True)], "ix_products_live_name"),
    ],
    ids=["by-id", "by-name", "by-price-descending", "active-by-price", "cheap-by-name-descending"],
)
async def test_product_list_pages_read_an_index_in_order(
    seeded: AsyncEngine, where: Specification[Product] | None, sort: list[SortField], index: str
) -> None:
    assert_index_plans(await plans_of(seeded, product_pages(where, sort)), index)


async def test_product_lookup_by_sku_reads_the_unique_index(seeded: AsyncEngine) -> None:
    async def read(uow: SQLAlchemyUnitOfWork) -> None:
        page = await ProductRepository(uow, cursor_codec=CODEC).get_page(where=field("sku").eq("SKU-77"), limit=50)
        assert len(page.items) == 1

    assert_index_plans(await plans_of(seeded, read), "ix_products_tenant_id_sku")


@pytest.mark.parametrize("grouping", list(SalesGrouping))
async def test_a_weekly_sales_report_reads_orders_by_payment_and_lines_by_order(
    seeded: AsyncEngine, grouping: SalesGrouping
) -> None:
    report = SalesReport(first_day=date(2025, 3, 3), last_day=date(2025, 3, 9), group_by=grouping)

    async def read(uow: SQLAlchemyUnitOfWork) -> None:
        assert await SqlSalesReader(uow).sales(report)

    expected = ["ix_orders_tenant_id_paid_at", "pk_order_lines"]
    if grouping is SalesGrouping.PRODUCT:
        expected.append("pk_products")
    assert_index_plans(await plans_of(seeded, read), *expected)


async def test_a_monthly_sales_report_reads_indexes_with_ssd_page_costs(seeded: AsyncEngine) -> None:
    """A month (~1,400 paid orders here) under the default ``random_page_cost`` of 4 (spinning disks) reads all
    100k lines into a hash join instead; with 1.1, the usual setting on SSDs, the plan stays on the indexes."""
    report = SalesReport(first_day=date(2025, 3, 1), last_day=date(2025, 3, 31), group_by=SalesGrouping.PRODUCT)

    async def read(uow: SQLAlchemyUnitOfWork) -> None:
        assert await SqlSalesReader(uow).sales(report)

    plans = await plans_of(seeded, read, random_page_cost=1.1)
    assert_index_plans(plans, "ix_orders_tenant_id_paid_at", "pk_order_lines", "pk_products")
