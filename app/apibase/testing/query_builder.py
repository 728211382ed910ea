"""The QueryBuilder scenarios, written once and run on every database (SQLite and PostgreSQL).

Subclass :class:`QueryBuilderContract` in a test module and provide an ``engine`` fixture whose database has
``query_metadata``'s tables created and empty::

    class TestSqliteQueryBuilder(QueryBuilderContract):
        @pytest.fixture
        async def engine(self, tmp_path: Path) -> AsyncIterator[AsyncEngine]: ...

The tables (countries, customers, orders) live in their own metadata, so they never leak into migrations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Float, ForeignKey, MetaData, String, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.application.pagination import SortField
from apibase.core.errors import ValidationFailed
from apibase.domain.specification import field
from apibase.infrastructure.persistence.column_types import ExactDecimal, UTCDateTime
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.query_builder import (
    AggregateQuery,
    AggregateRow,
    Avg,
    Count,
    Max,
    Min,
    QueryBuilder,
    Sum,
    ascending,
    descending,
)
from apibase.infrastructure.persistence.sql_dates import utc_date

__all__ = ["CountryRow", "CustomerRow", "OrderRow", "QueryBuilderContract", "query_metadata", "seed_rows"]

DELETED_AT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
INJECTION = "x' OR '1'='1'; DROP TABLE qb_orders; --"


class _QueryBase(DeclarativeBase):
    metadata = MetaData()


query_metadata = _QueryBase.metadata


class CountryRow(_QueryBase):
    """No soft-delete column: queries on it must not invent one."""

    __tablename__ = "qb_countries"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class CustomerRow(_QueryBase):
    __tablename__ = "qb_customers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(ForeignKey("qb_countries.code"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrderRow(_QueryBase):
    __tablename__ = "qb_orders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("qb_customers.id"))
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))
    quantity: Mapped[int]
    weight: Mapped[float] = mapped_column(Float())
    note: Mapped[str | None] = mapped_column(String(50))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def seed_rows() -> list[_QueryBase]:
    """Live orders 1-5 (4 has no customer, 5's customer is soft-deleted); order 6 is soft-deleted."""
    return [
        CountryRow(code="GB", name="United Kingdom"),
        CountryRow(code="US", name="United States"),
        CountryRow(code="FR", name="France"),
        CustomerRow(id=1, name="Ada", country="GB"),
        CustomerRow(id=2, name="Bob", country="US"),
        CustomerRow(id=3, name="Cy", country=None, deleted_at=DELETED_AT),
        CustomerRow(id=4, name="Dee", country="FR"),
        _order(1, 1, "paid", "10.00", 1, 0.5, "100% cotton"),
        _order(2, 1, "paid", "20.50", 2, 1.5, None),
        _order(3, 2, "pending", "5.25", 3, 2.0, "a_b"),
        _order(4, None, "pending", "7.00", 4, 4.0, "axb"),
        _order(5, 3, "cancelled", "1.10", 1, 2.0, "plain cotton"),
        _order(6, 2, "paid", "99.99", 5, 8.0, "gone", deleted=True),
    ]


def _order(
    order_id: int,
    customer_id: int | None,
    status: str,
    amount: str,
    quantity: int,
    weight: float,
    note: str | None,
    *,
    deleted: bool = False,
) -> OrderRow:
    return OrderRow(
        id=order_id,
        customer_id=customer_id,
        status=status,
        amount=Decimal(amount),
        quantity=quantity,
        weight=weight,
        note=note,
        deleted_at=DELETED_AT if deleted else None,
    )


def _ids(rows: Sequence[OrderRow]) -> list[int]:
    return [row.id for row in rows]


ORDERS = QueryBuilder(OrderRow)
BY_ID = ORDERS.order_by(OrderRow.id)


class QueryBuilderContract:
    """What QueryBuilder promises on a real database; subclasses only provide the ``engine`` fixture."""

    @pytest.fixture
    async def session(self, engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
        factory = create_session_factory(engine)
        async with factory() as seeding:
            seeding.add_all(seed_rows())
            await seeding.commit()
        async with factory() as session:
            yield session

    # -- where: specifications ---------------------------------------------------------------------------
    async def test_equality_specification(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.where(field("status").eq("paid")).all(session)) == [1, 2]

    async def test_and_or_not_specifications(self, session: AsyncSession) -> None:
        either = (field("status").eq("paid") & field("amount").gt(Decimal(15))) | field("quantity").ge(4)
        assert _ids(await BY_ID.where(either).all(session)) == [2, 4]
        assert _ids(await BY_ID.where(~field("status").eq("paid")).all(session)) == [3, 4, 5]
        # NOT of an unknown (NULL) comparison is true, as in memory: the NULL note matches.
        assert _ids(await BY_ID.where(~field("note").eq("a_b")).all(session)) == [1, 2, 4, 5]

    async def test_several_conditions_are_anded(self, session: AsyncSession) -> None:
        query = BY_ID.where(field("status").eq("pending"), field("quantity").lt(4)).where(field("amount").ge(5))
        assert _ids(await query.all(session)) == [3]

    async def test_in_and_not_in(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.where(field("status").is_in(["pending", "cancelled"])).all(session)) == [3, 4, 5]
        # NOT IN also matches NULL, as ``None not in (1,)`` does in Python.
        assert _ids(await BY_ID.where(field("customer_id").not_in([1])).all(session)) == [3, 4, 5]

    async def test_contains_and_starts_with_escape_wildcards(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.where(field("note").contains("%")).all(session)) == [1]
        assert _ids(await BY_ID.where(field("note").contains("_")).all(session)) == [3]
        assert _ids(await BY_ID.where(field("note").starts_with("100%")).all(session)) == [1]
        assert _ids(await BY_ID.where(field("note").contains("cotton")).all(session)) == [1, 5]

    async def test_is_null(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.where(field("note").is_null()).all(session)) == [2]
        assert _ids(await BY_ID.where(field("note").is_null(False)).all(session)) == [1, 3, 4, 5]

    async def test_raw_expressions_mix_with_specifications(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.where(OrderRow.amount > Decimal("6.00")).all(session)) == [1, 2, 4]
        mixed = BY_ID.where(OrderRow.quantity >= 2, field("status").eq("pending"))
        assert _ids(await mixed.all(session)) == [3, 4]

    async def test_unknown_or_disallowed_fields_are_validation_errors(self, session: AsyncSession) -> None:
        with pytest.raises(ValidationFailed) as unknown:
            ORDERS.where(field("nope").eq(1))
        assert unknown.value.extensions["errors"] == [
            {"loc": ["filter", "nope"], "message": "cannot filter by 'nope'", "type": "filter.unknown_field"}
        ]
        guarded = QueryBuilder(OrderRow, filterable={"status"}, sortable={"amount"})
        with pytest.raises(ValidationFailed, match="allowed filter fields: status"):
            guarded.where(field("status").eq("paid") & field("quantity").eq(1))
        with pytest.raises(ValidationFailed, match="allowed sort fields: amount"):
            guarded.order_by(SortField("status"))
        with pytest.raises(ValidationFailed):
            ORDERS.order_by(SortField("nope"))
        with pytest.raises(ValidationFailed):  # a joined table's fields exist only once it is joined
            ORDERS.where(field("qb_customers.name").eq("Ada"))
        allowed = guarded.where(field("status").eq("paid")).order_by(SortField("amount", descending=True))
        assert _ids(await allowed.all(session)) == [2, 1]

    # -- sorting -------------------------------------------------------------------------------------------
    async def test_sorting_puts_nulls_last_ascending_and_first_descending(self, session: AsyncSession) -> None:
        up = await ORDERS.order_by(SortField("note"), SortField("id")).all(session)
        assert [row.note for row in up] == ["100% cotton", "a_b", "axb", "plain cotton", None]
        down = await ORDERS.order_by(SortField("note", descending=True)).all(session)
        assert [row.note for row in down] == [None, "plain cotton", "axb", "a_b", "100% cotton"]

    async def test_sorting_by_several_keys_and_expressions(self, session: AsyncSession) -> None:
        by_fields = ORDERS.order_by(SortField("status"), SortField("amount", descending=True))
        assert _ids(await by_fields.all(session)) == [5, 2, 1, 4, 3]
        by_helpers = ORDERS.order_by(descending(OrderRow.customer_id), ascending(OrderRow.id))
        assert _ids(await by_helpers.all(session)) == [4, 5, 3, 1, 2]
        plain = ORDERS.order_by(OrderRow.customer_id, OrderRow.id)  # plain expressions: ascending, NULLs last
        assert _ids(await plain.all(session)) == [1, 2, 3, 5, 4]
        explicit = ORDERS.order_by(OrderRow.quantity.desc(), OrderRow.id.asc())  # the caller's order is kept
        assert _ids(await explicit.all(session)) == [4, 3, 2, 1, 5]

    # -- pagination ----------------------------------------------------------------------------------------
    @pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, -5), (0, 10_001)])
    def test_pagination_bounds_are_validated(self, offset: int, limit: int) -> None:
        with pytest.raises(ValidationFailed, match="offset must be >= 0"):
            ORDERS.paginate(offset, limit)

    async def test_pagination_windows_rows_and_count_ignores_the_window(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.paginate(0, 10_000).all(session)) == [1, 2, 3, 4, 5]
        page = BY_ID.paginate(1, 2)
        assert _ids(await page.all(session)) == [2, 3]
        assert _ids(await BY_ID.paginate(4, 2).all(session)) == [5]
        assert await page.count_rows(session) == 5
        first = await page.first(session)
        assert first is not None
        assert first.id == 2
        assert await BY_ID.where(field("status").eq("nope")).first(session) is None

    # -- joins ---------------------------------------------------------------------------------------------
    async def test_inner_join_keeps_orders_with_a_live_customer(self, session: AsyncSession) -> None:
        joined = BY_ID.join(CustomerRow)
        assert _ids(await joined.all(session)) == [1, 2, 3]
        assert await joined.count_rows(session) == 3
        # include_deleted reaches joined tables too: the soft-deleted customer and order come back.
        assert _ids(await joined.include_deleted().all(session)) == [1, 2, 3, 5, 6]

    async def test_outer_join_keeps_every_order(self, session: AsyncSession) -> None:
        joined = BY_ID.join(CustomerRow, outer=True)
        rows = await joined.select(OrderRow.id, CustomerRow.name.label("customer")).all(session)
        assert rows == [
            {"id": 1, "customer": "Ada"},
            {"id": 2, "customer": "Ada"},
            {"id": 3, "customer": "Bob"},
            {"id": 4, "customer": None},
            {"id": 5, "customer": None},  # the customer is soft-deleted, so it is not joined
        ]

    async def test_one_join_can_keep_its_soft_deleted_rows(self, session: AsyncSession) -> None:
        kept = BY_ID.join(CustomerRow, outer=True, include_deleted=True)
        rows = await kept.select(OrderRow.id, CustomerRow.name.label("customer")).all(session)
        # Cy is soft-deleted but joined; order 6 (itself soft-deleted) stays hidden: the flag is the join's only.
        assert [row["customer"] for row in rows] == ["Ada", "Ada", "Bob", None, "Cy"]
        assert _ids(await BY_ID.join(CustomerRow, include_deleted=True).all(session)) == [1, 2, 3, 5]

    async def test_filtering_and_sorting_on_joined_tables(self, session: AsyncSession) -> None:
        joined = BY_ID.join(CustomerRow)
        assert _ids(await joined.where(field("qb_customers.name").eq("Ada")).all(session)) == [1, 2]
        assert _ids(await joined.where(CustomerRow.country == "US").all(session)) == [3]
        named = ORDERS.join(CustomerRow, name="customer", outer=True).join(CountryRow, outer=True, name="land")
        by_country = named.where(field("land.name").starts_with("United")).order_by(
            SortField("customer.name", descending=True), SortField("id")
        )
        assert _ids(await by_country.all(session)) == [3, 1, 2]
        guarded = QueryBuilder(OrderRow, filterable={"customer.name"}).join(CustomerRow, name="customer")
        assert _ids(await guarded.where(field("customer.name").eq("Bob")).all(session)) == [3]
        with pytest.raises(ValidationFailed):
            guarded.where(field("customer.country").eq("US"))

    async def test_joins_on_tables_aliases_and_explicit_conditions(self, session: AsyncSession) -> None:
        buyer = CustomerRow.__table__.alias("buyer")
        aliased = BY_ID.join(buyer, OrderRow.customer_id == buyer.c.id).where(field("buyer.country").eq("GB"))
        assert _ids(await aliased.all(session)) == [1, 2]
        with pytest.raises(ValueError, match="already in the query"):
            BY_ID.join(CustomerRow).join(CustomerRow)

    async def test_tables_without_soft_delete_are_not_filtered(self, session: AsyncSession) -> None:
        countries = QueryBuilder(CountryRow).order_by(SortField("code"))
        assert [row.code for row in await countries.all(session)] == ["FR", "GB", "US"]
        customers = QueryBuilder(CustomerRow).join(CountryRow).order_by(SortField("id"))
        assert [row.name for row in await customers.all(session)] == ["Ada", "Bob", "Dee"]

    # -- soft delete ---------------------------------------------------------------------------------------
    async def test_soft_deleted_rows_are_hidden_unless_included(self, session: AsyncSession) -> None:
        assert _ids(await BY_ID.all(session)) == [1, 2, 3, 4, 5]
        assert _ids(await BY_ID.include_deleted().all(session)) == [1, 2, 3, 4, 5, 6]
        assert _ids(await BY_ID.include_deleted().include_deleted(False).all(session)) == [1, 2, 3, 4, 5]
        assert await ORDERS.include_deleted().count_rows(session) == 6
        assert await ORDERS.count_rows(session) == 5

    # -- projections ---------------------------------------------------------------------------------------
    async def test_projections_return_dicts_by_column_name(self, session: AsyncSession) -> None:
        projected = BY_ID.where(field("status").eq("paid")).select(OrderRow.id, OrderRow.amount, OrderRow.note)
        assert await projected.all(session) == [
            {"id": 1, "amount": Decimal("10.00"), "note": "100% cotton"},
            {"id": 2, "amount": Decimal("20.50"), "note": None},
        ]
        assert await projected.first(session) == {"id": 1, "amount": Decimal("10.00"), "note": "100% cotton"}
        assert await projected.where(field("id").eq(99)).first(session) is None
        assert await projected.count_rows(session) == 2
        labelled = BY_ID.join(CustomerRow).select(OrderRow.id, CustomerRow.id, func.upper(CustomerRow.name))
        assert (await labelled.all(session))[0] == {"id": 1, "id_1": 1, "upper": "ADA"}
        with pytest.raises(ValueError, match="at least one column"):
            ORDERS.select()

    # -- aggregates ----------------------------------------------------------------------------------------
    async def test_each_aggregate_without_grouping(self, session: AsyncSession) -> None:
        row = await ORDERS.aggregate(
            n=Count(),
            notes=Count(OrderRow.note),
            statuses=Count(OrderRow.status, distinct=True),
            total=Sum(OrderRow.amount),
            mean=Avg(OrderRow.amount),
            low=Min(OrderRow.amount),
            high=Max(OrderRow.amount),
            units=Sum(OrderRow.quantity),
            mean_units=Avg(OrderRow.quantity),
            mean_weight=Avg(OrderRow.weight),
        ).one(session)
        assert row.group == {}
        assert row.values == {
            "n": 5,
            "notes": 4,
            "statuses": 3,
            "total": Decimal("43.85"),
            "mean": Decimal("8.77"),
            "low": Decimal("1.10"),
            "high": Decimal("20.50"),
            "units": 11,
            "mean_units": Decimal("2.2"),
            "mean_weight": 2.0,
        }
        assert all(isinstance(row[name], Decimal) for name in ("total", "mean", "low", "high", "mean_units"))
        assert isinstance(row["mean_weight"], float)

    async def test_aggregate_shortcut_methods(self, session: AsyncSession) -> None:
        assert await ORDERS.count().value(session) == 5
        assert await ORDERS.count(OrderRow.customer_id, distinct=True).value(session) == 3
        assert await ORDERS.sum(OrderRow.amount).value(session) == Decimal("43.85")
        assert await ORDERS.avg(OrderRow.amount).value(session) == Decimal("8.77")
        assert await ORDERS.min(OrderRow.note).value(session) == "100% cotton"
        assert await ORDERS.max(OrderRow.amount).value(session) == Decimal("20.50")
        pending = ORDERS.where(field("status").eq("pending"))
        assert await pending.avg(OrderRow.amount).value(session) == Decimal("6.125")
        assert await pending.include_deleted().count().value(session) == 2
        assert await ORDERS.include_deleted().sum(OrderRow.amount).value(session) == Decimal("143.84")

    async def test_aggregates_over_no_rows(self, session: AsyncSession) -> None:
        nothing = ORDERS.where(field("status").eq("nope")).count().sum(OrderRow.amount).avg(OrderRow.amount)
        row = await nothing.min(OrderRow.amount).max(OrderRow.amount).one(session)
        assert row.values == {"count": 0, "sum": None, "avg": None, "min": None, "max": None}

    async def test_aggregates_per_group(self, session: AsyncSession) -> None:
        grouped = ORDERS.group_by(OrderRow.status).count().sum(OrderRow.amount).avg(OrderRow.amount)
        rows = await grouped.min(OrderRow.amount).max(OrderRow.amount).all(session)
        amounts = ("count", "sum", "avg", "min", "max")
        assert [row.group for row in rows] == [{"status": "cancelled"}, {"status": "paid"}, {"status": "pending"}]
        assert [tuple(row[name] for name in amounts) for row in rows] == [
            (1, Decimal("1.10"), Decimal("1.1"), Decimal("1.10"), Decimal("1.10")),
            (2, Decimal("30.50"), Decimal("15.25"), Decimal("10.00"), Decimal("20.50")),
            (2, Decimal("12.25"), Decimal("6.125"), Decimal("5.25"), Decimal("7.00")),
        ]
        assert rows[0] == AggregateRow(
            {"status": "cancelled"}, dict(zip(amounts, [1, *[Decimal("1.10")] * 4], strict=True))
        )
        assert rows[1]["status"] == "paid"
        assert rows[1]["sum"] == Decimal("30.50")
        assert await grouped.count_rows(session) == 3
        first = await grouped.first(session)
        assert first is not None
        assert first.group == {"status": "cancelled"}

    async def test_grouping_by_a_joined_column_and_several_columns(self, session: AsyncSession) -> None:
        per_customer = ORDERS.join(CustomerRow, outer=True).group_by(CustomerRow.name.label("customer")).count()
        rows = await per_customer.sum(OrderRow.quantity, name="units").all(session)
        assert [(row["customer"], row["count"], row["units"]) for row in rows] == [
            ("Ada", 2, 3),
            ("Bob", 1, 3),
            (None, 2, 5),  # NULL groups sort last
        ]
        pairs = ORDERS.group_by(OrderRow.status).group_by(OrderRow.quantity).count()
        assert [(*row.group.values(), row["count"]) for row in await pairs.all(session)] == [
            ("cancelled", 1, 1),
            ("paid", 1, 1),
            ("paid", 2, 1),
            ("pending", 3, 1),
            ("pending", 4, 1),
        ]
        distinct_statuses = ORDERS.group_by(OrderRow.status)  # groups without aggregates: the distinct keys
        assert [row.group["status"] for row in await distinct_statuses.all(session)] == ["cancelled", "paid", "pending"]

    async def test_sorting_paging_and_filtering_groups(self, session: AsyncSession) -> None:
        grouped = ORDERS.group_by(OrderRow.status).count().sum(OrderRow.amount).avg(OrderRow.quantity, name="mean")

        async def statuses(query: AggregateQuery) -> list[object]:
            return [row["status"] for row in await query.all(session)]

        def by(name: str) -> AggregateQuery:
            return grouped.order_by(SortField(name, descending=True))

        assert await statuses(by("sum")) == ["paid", "pending", "cancelled"]
        assert await statuses(by("mean")) == ["pending", "paid", "cancelled"]  # AVG orders by the SQL AVG
        assert await statuses(by("status")) == ["pending", "paid", "cancelled"]
        assert await statuses(grouped.order_by(SortField("count"), SortField("status"))) == [
            "cancelled",
            "paid",
            "pending",
        ]
        assert await statuses(grouped.having(func.count() > 1)) == ["paid", "pending"]
        assert await grouped.having(func.count() > 1).count_rows(session) == 2
        assert await statuses(grouped.paginate(1, 1)) == ["paid"]
        with pytest.raises(ValidationFailed):
            grouped.order_by(SortField("nope"))

    async def test_aggregates_ignore_the_entity_order_and_page(self, session: AsyncSession) -> None:
        page = BY_ID.order_by(SortField("amount")).paginate(0, 1)
        assert _ids(await page.all(session)) == [1]
        assert await page.count().value(session) == 5
        assert await page.group_by(OrderRow.status).count_rows(session) == 3

    async def test_misused_aggregates_fail_loudly(self, session: AsyncSession) -> None:
        with pytest.raises(ValueError, match="already used"):
            ORDERS.count().count()
        with pytest.raises(ValueError, match="at least one named aggregate"):
            ORDERS.aggregate()
        with pytest.raises(ValueError, match="at least one column"):
            ORDERS.group_by()
        with pytest.raises(ValueError, match="ungrouped"):
            await ORDERS.group_by(OrderRow.status).count().one(session)
        with pytest.raises(ValueError, match="exactly one aggregate"):
            await ORDERS.count().sum(OrderRow.amount).value(session)
        with pytest.raises(LookupError):
            await ORDERS.count().having(func.count() > 100).one(session)

    # -- calendar days -------------------------------------------------------------------------------------
    async def test_utc_date_is_the_utc_day_whatever_the_session_time_zone(self, session: AsyncSession) -> None:
        if session.get_bind().dialect.name == "postgresql":  # 03:04 UTC is the evening before in New York
            await session.execute(text("SET TIME ZONE 'America/New_York'"))
        days = (
            ORDERS.include_deleted()
            .where(OrderRow.deleted_at.is_not(None))
            .group_by(utc_date(OrderRow.deleted_at).label("day"))
        )
        assert [(row.group["day"], row["count"]) for row in await days.count().all(session)] == [(DELETED_AT.date(), 1)]

    # -- immutability --------------------------------------------------------------------------------------
    async def test_derived_queries_leave_the_base_untouched(self, session: AsyncSession) -> None:
        base = BY_ID.where(field("status").is_in(["paid", "pending"]))
        before = str(base.build())
        cheap = base.where(OrderRow.amount < Decimal(8))
        joined = base.join(CustomerRow).paginate(0, 1)
        totals = base.group_by(OrderRow.status).sum(OrderRow.amount)
        everything = base.include_deleted()
        assert str(base.build()) == before
        assert _ids(await base.all(session)) == [1, 2, 3, 4]
        assert _ids(await cheap.all(session)) == [3, 4]
        assert _ids(await joined.all(session)) == [1]
        assert [row["sum"] for row in await totals.all(session)] == [Decimal("30.50"), Decimal("12.25")]
        assert _ids(await everything.all(session)) == [1, 2, 3, 4, 6]
        assert _ids(await base.all(session)) == [1, 2, 3, 4]

    # -- parameters, never inlined values ------------------------------------------------------------------
    async def test_built_sql_binds_every_user_value(self, session: AsyncSession) -> None:
        query = BY_ID.where(field("note").eq(INJECTION), field("note").contains("5%_"), OrderRow.quantity > 3)
        statement = query.paginate(7, 3).build()
        compiled = statement.compile(dialect=session.get_bind().dialect)  # this database's own SQL
        sql = str(compiled)
        assert "DROP" not in sql
        assert "5%" not in sql
        bound = [value for value in compiled.params.values() if value in {INJECTION, "5/%/_", 3, 7}]
        assert bound == [INJECTION, "5/%/_", 3, 3, 7]
        assert await query.all(session) == []
        assert await BY_ID.where(field("status").eq(INJECTION)).all(session) == []
        assert await session.scalar(select(func.count()).select_from(OrderRow)) == 6  # the table is still there
