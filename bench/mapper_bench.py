"""Time ``GenericMapper.to_dto_list`` on 10,000 entities against the naive dump-and-revalidate loop.

Run with ``python bench/mapper_bench.py``; prints the best of 5 runs of each, side by side, and the ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

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


if __name__ == "__main__":
    main()
