"""What clients send and receive for products; v2 reshapes the response for the versioning example."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.core.types import JsonInt, json_integer
from app.domain.catalog.product import MAX_STOCK, CurrencyCode, Description, Price, ProductId, Sku

__all__ = ["MoneyOut", "ProductCreate", "ProductOut", "ProductOutV2", "ProductUpdate"]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    price: Price
    currency: CurrencyCode = "EUR"
    stock: JsonInt = Field(default=0, ge=0, le=MAX_STOCK)
    active: StrictBool = True


class ProductUpdate(BaseModel):
    """A partial edit: only the fields sent change. ``null`` clears ``description`` and nothing else."""

    model_config = ConfigDict(extra="forbid")

    # ``SkipJsonSchema[None]``: absent means "unchanged", but the schema must not invite an explicit null.
    # Constraints sit inside ``Annotated`` so they apply to the value, never to the null branch.
    sku: Sku | SkipJsonSchema[None] = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: Description | None = None
    price: Price | SkipJsonSchema[None] = None
    currency: CurrencyCode | SkipJsonSchema[None] = None
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK), BeforeValidator(json_integer)] | SkipJsonSchema[None] = None
    active: StrictBool | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> Self:
        cleared = sorted(name for name in self.model_fields_set - {"description"} if getattr(self, name) is None)
        if cleared:
            raise ValueError(f"these fields cannot be null: {', '.join(cleared)}")
        return self


class ProductOut(BaseModel):
    """The v1 representation: the stored product as it is."""

    id: ProductId
    sku: str
    name: str
    description: str | None
    price: Decimal
    currency: str
    stock: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class MoneyOut(BaseModel):
    amount: Decimal
    currency: str


class ProductOutV2(BaseModel):
    """The v2 representation: the price as one money object, no description, the version for ``If-Match``."""

    id: ProductId
    sku: str
    name: str
    price: MoneyOut
    stock: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_v1(cls, product: ProductOut) -> ProductOutV2:
        """Derived from v1, so both versions are served by one service and can never disagree."""
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            price=MoneyOut(amount=product.price, currency=product.currency),
            stock=product.stock,
            active=product.active,
            version=product.version,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )
