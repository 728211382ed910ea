"""Time ``GenericMapper`` on 10,000 items against the plain way of doing the same.

``to_dto_list`` against the naive dump-and-revalidate loop, and ``to_entities`` on SQLAlchemy result rows (read
through their ``_mapping``) against validating the rows from their attributes in one call, as it did before.
Run with ``python bench/mapper_bench.py``; prints the best of 5 runs of each, side by side, and the ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, Numeric, String, Table, create_engine, insert, select
from sqlalchemy.engine import Row

from apibase.application.mapper import GenericMapper
from apibase.domain.entities import BaseEntity

COUNT = 10_000
REPEATS = 5


class Product(BaseEntity[int]):
    name: str
    sku: str
    price: Decimal
    stock: int
    tags: list[str] = Field(default_factory=list)


@dataclass
class ProductRow:
    id: int
    name: str
    sku: str
    price: Decimal
    stock: int
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class ProductOut(BaseModel):
    id: int
    name: str
    sku: str
    price: Decimal
    stock: int
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class LabelledProductOut(ProductOut):
    label: str


def best_of(fn: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    entities = [
        Product(
            id=i,
            name=f"product {i}",
            sku=f"SKU-{i:06d}",
            price=Decimal(i) / 100,
            stock=i % 50,
            tags=["new", "sale"],
            created_at=moment,
            updated_at=moment,
        )
        for i in range(COUNT)
    ]
    plain = GenericMapper(entity=Product, model=ProductRow, response=ProductOut)
    labelled = GenericMapper(
        entity=Product,
        model=ProductRow,
        response=LabelledProductOut,
        response_transforms={"label": lambda p: f"{p.name} ({p.sku})"},
    )
    assert plain.to_dto_list(entities) == [ProductOut.model_validate(e.model_dump()) for e in entities]

    cases = [
        (
            "no transforms",
            lambda: plain.to_dto_list(entities),
            lambda: [ProductOut.model_validate(e.model_dump()) for e in entities],
        ),
        (
            "1 transform",
            lambda: labelled.to_dto_list(entities),
            lambda: [
                LabelledProductOut.model_validate({**e.model_dump(), "label": f"{e.name} ({e.sku})"}) for e in entities
            ],
        ),
    ]
    print(f"{COUNT:,} entities, best of {REPEATS}")
    print(f"{'case':<16}{'to_dto_list':>14}{'naive loop':>14}{'speed-up':>10}")
    for name, mapped, naive in cases:
        mapped_time, naive_time = best_of(mapped), best_of(naive)
        print(f"{name:<16}{mapped_time * 1000:>11.1f} ms{naive_time * 1000:>11.1f} ms{naive_time / mapped_time:>9.1f}x")

    rows = result_rows(entities)
    by_attributes = TypeAdapter(list[Product])
    assert plain.to_entities(rows) == by_attributes.validate_python(rows, from_attributes=True)
    mapped_time = best_of(lambda: plain.to_entities(rows))
    attribute_time = best_of(lambda: by_attributes.validate_python(rows, from_attributes=True))
    print(f"\n{COUNT:,} SQLAlchemy rows (one extra column), best of {REPEATS}")
    print(f"{'case':<16}{'to_entities':>14}{'attributes':>14}{'speed-up':>10}")
    speed_up = attribute_time / mapped_time
    print(f"{'rows':<16}{mapped_time * 1000:>11.1f} ms{attribute_time * 1000:>11.1f} ms{speed_up:>9.1f}x")


def result_rows(entities: list[Product]) -> list[Row[tuple[object, ...]]]:
    """The entities as rows of an in-memory SQLite table with a tenant column, as a repository reads them."""
    table = Table(
        "products",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("tenant_id", String),
        Column("name", String),
        Column("sku", String),
        Column("price", Numeric(12, 2, asdecimal=True)),
        Column("stock", Integer),
        Column("tags", JSON),
        Column("created_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True)),
        Column("deleted_at", DateTime(timezone=True)),
    )
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(insert(table), [{**entity.model_dump(), "tenant_id": "t1"} for entity in entities])
        return list(connection.execute(select(table)).all())


if __name__ == "__main__":
    main()
