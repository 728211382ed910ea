"""Specifications compiled to SQL agree with in-memory evaluation, operator by operator, NULLs included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import Settings
from apibase.domain.specification import Comparison, Operator, Predicate, Specification, TrueSpecification, field
from apibase.infrastructure.persistence.database import create_engine
from apibase.infrastructure.persistence.specification_sql import compile_specification
from apibase.testing.sql import WidgetRow, widget_metadata
from apibase.testing.widgets import Widget, WidgetCreate, new_widget

pytestmark = pytest.mark.unit

WIDGETS = [
    new_widget(WidgetCreate(name="apple", price=Decimal("1.00"), quantity=5, category="fruit")),
    new_widget(WidgetCreate(name="bread", price=Decimal("2.50"), quantity=0, category=None)),
    new_widget(WidgetCreate(name="100%_cotton", price=Decimal("9.99"), quantity=3, category="cloth")),
]
TABLE = WidgetRow.__table__


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'spec.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(widget_metadata.create_all)
        rows = [{c.key: getattr(w, c.key) for c in TABLE.columns} for w in WIDGETS]
        await connection.execute(TABLE.insert(), rows)
    yield engine
    await engine.dispose()


CASES: list[Specification[Widget]] = [
    field("name").ne("apple"),
    field("category").ne("fruit"),
    field("category").eq(None),
    field("category").ne(None),
    field("price").le(Decimal("2.50")),
    field("price").ge(Decimal("2.50")),
    field("quantity").lt(3),
    field("category").not_in(["fruit"]),
    field("category").is_null(expected=False),
    field("name").contains("%_"),
    field("name").starts_with("100%"),
    ~field("category").eq("fruit"),
    ~(field("quantity").gt(0) | field("category").is_in(["cloth"])),
    TrueSpecification(),
]


@pytest.mark.parametrize("spec", CASES, ids=str)
async def test_sql_agrees_with_memory(engine: AsyncEngine, spec: Specification[Widget]) -> None:
    expected = sorted(w.name for w in WIDGETS if spec.is_satisfied_by(w))
    statement = select(TABLE.c.name).where(compile_specification(spec, lambda name: TABLE.c[name]))
    async with engine.connect() as connection:
        found = sorted((await connection.execute(statement)).scalars())
    assert found == expected


def test_python_predicates_and_bad_in_values_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot run in SQL"):
        compile_specification(Predicate("cheap", lambda w: True), lambda name: TABLE.c[name])
    with pytest.raises(TypeError, match="collection"):
        compile_specification(field("name").eq("x") & _in_with("abc"), lambda name: TABLE.c[name])


def _in_with(value: object) -> Specification[object]:
    return Comparison("name", Operator.IN, value)
