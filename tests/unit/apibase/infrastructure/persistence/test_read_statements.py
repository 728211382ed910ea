"""The statements built once render the SQL the per-request statements did, on every supported database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect

from apibase.application.pagination import SortField
from apibase.infrastructure.persistence.query_hints import NO_HINTS, QueryHints, table_select, use_index
from apibase.infrastructure.persistence.read_statements import LISTINGS, by_id, listing
from apibase.testing.suppliers import CarrierRow, Company, SupplierRow

pytestmark = pytest.mark.unit

SUPPLIERS: Table = SupplierRow.__table__  # type: ignore[assignment]
CARRIERS: Table = CarrierRow.__table__  # type: ignore[assignment]
DIALECTS: list[Dialect] = [sqlite.dialect(), postgresql.dialect(), mysql.dialect(), mysql.dialect(is_mariadb=True)]
HINTS = [NO_HINTS, QueryHints(columns=("id", "name", "country", "version", "created_at", "updated_at", "deleted_at"))]


def sql(statement: Select[tuple[object, ...]] | Select[int], dialect: Dialect) -> str:
    """The SQL, each placeholder written ``?`` whatever its name (the values are bound the same way)."""
    return re.sub(r"%\(\w+\)s|(?<![:\w]):\w+", "?", str(statement.compile(dialect=dialect)))


def conditions(table: Table, *, scoped: bool, include_deleted: bool) -> list[ColumnElement[bool]]:
    """What the repository built per request: the tenant's rows, the live ones unless deleted count."""
    built: list[ColumnElement[bool]] = [table.c.tenant_id == "acme"] if scoped else []
    if not include_deleted:
        built.append(table.c.deleted_at.is_(None))
    return built


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda dialect: dialect.name)
@pytest.mark.parametrize("hints", HINTS, ids=["all columns", "some columns"])
@pytest.mark.parametrize("include_deleted", [False, True])
@pytest.mark.parametrize(("table", "scoped"), [(SUPPLIERS, True), (CARRIERS, False)], ids=["scoped", "global"])
def test_by_id_renders_the_per_request_sql(
    dialect: Dialect, hints: QueryHints, include_deleted: bool, table: Table, scoped: bool
) -> None:
    built = by_id(table, hints, Company, scoped=scoped, include_deleted=include_deleted)
    expected = table_select(table, hints, Company).where(
        table.c.id == "x", *conditions(table, scoped=scoped, include_deleted=include_deleted)
    )
    assert sql(built, dialect) == sql(expected, dialect)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda dialect: dialect.name)
@pytest.mark.parametrize("keyset", [(SortField("id"),), (SortField("name", descending=True), SortField("id"))])
def test_a_listing_renders_the_per_request_page_and_count(dialect: Dialect, keyset: tuple[SortField, ...]) -> None:
    built = listing(SUPPLIERS, NO_HINTS, Company, keyset, scoped=True, include_deleted=False)
    where = conditions(SUPPLIERS, scoped=True, include_deleted=False)
    order = [
        SUPPLIERS.c[spec.name].desc().nulls_first() if spec.descending else SUPPLIERS.c[spec.name].asc().nulls_last()
        for spec in keyset
    ]
    page = table_select(SUPPLIERS, NO_HINTS, Company).where(*where).order_by(*order).offset(0).limit(51)
    count = select(func.count()).select_from(SUPPLIERS).where(*where)
    assert (sql(built.page, dialect), sql(built.count, dialect)) == (sql(page, dialect), sql(count, dialect))


def test_statements_are_built_once_per_table_hints_and_scope() -> None:
    hinted = QueryHints(indexes=(use_index("ix_sample_suppliers_tenant_id"),))
    first = by_id(SUPPLIERS, NO_HINTS, Company, scoped=True, include_deleted=False)
    assert by_id(SUPPLIERS, NO_HINTS, Company, scoped=True, include_deleted=False) is first
    assert by_id(SUPPLIERS, hinted, Company, scoped=True, include_deleted=False) is not first
    assert "USE INDEX" in sql(by_id(SUPPLIERS, hinted, Company, scoped=True, include_deleted=False), mysql.dialect())


def test_listings_stay_bounded_whatever_orders_clients_ask_for() -> None:
    """Clients choose the order: an unbounded cache would keep one statement per order ever asked."""
    assert listing.cache_info().maxsize == LISTINGS
