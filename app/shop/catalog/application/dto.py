"""What clients send and receive for products.

v1 (deprecated, frozen) has a flat ``price`` and ``currency``; v2 takes and shows the price as one money object,
and shows every field it takes, so what a client GETs it can PUT back. Both versions run on one service: v2's
requests are translated to v1's (``to_v1``) and its responses derived from v1's (``from_v1``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from apibase.core.types import JsonInt, json_integer
from shop.catalog.application.money import MoneyIn, MoneyOut
from shop.catalog.domain.product import MAX_STOCK, CurrencyCode, Description, Price, ProductId, Sku

__all__ = [
    "MoneyOut",
    "ProductCreate",
    "ProductCreateV2",
    "ProductOut",
    "ProductOutV1",
    "ProductOutV2",
    "ProductUpdate",
    "ProductUpdateV2",
]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    price: Price
    currency: CurrencyCode = "EUR"
    stock: JsonInt = Field(default=0, ge=0, le=MAX_STOCK)
    active: StrictBool = True


class _PartialEdit(BaseModel):
    """Only the fields sent change; ``null`` clears ``description`` and nothing else."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> Self:
        cleared = sorted(name for name in self.model_fields_set - {"description"} if getattr(self, name) is None)
        if cleared:
            raise ValueError(f"these fields cannot be null: {', '.join(cleared)}")
        return self


class ProductUpdate(_PartialEdit):
    """A partial edit (v1): only the fields sent change. ``null`` clears ``description`` and nothing else."""

    # ``SkipJsonSchema[None]``: absent means "unchanged", but the schema must not invite an explicit null.
    # Constraints sit inside ``Annotated`` so they apply to the value, never to the null branch.
    sku: Sku | SkipJsonSchema[None] = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: Description | None = None
    price: Price | SkipJsonSchema[None] = None
    currency: CurrencyCode | SkipJsonSchema[None] = None
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK), BeforeValidator(json_integer)] | SkipJsonSchema[None] = None
    active: StrictBool | SkipJsonSchema[None] = None


class ProductOutV1(BaseModel):
    """The v1 representation (frozen): the stored product as v1 has always shown it."""

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


class ProductOut(ProductOutV1):
    """What the product service returns: v1's fields, and who created and last changed the product (v2 shows them,
    v1's frozen body leaves them out)."""

    created_by: str | None = None
    updated_by: str | None = None


class ProductCreateV2(BaseModel):
    """A new product (v2): the price is a money object, in the shape ``ProductOutV2`` shows it."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    price: MoneyIn
    stock: JsonInt = Field(default=0, ge=0, le=MAX_STOCK)
    active: StrictBool = True

    def to_v1(self) -> ProductCreate:
        """Already validated: constructed, not validated again (sanitising the description twice is not a no-op
        for every input)."""
        fields = self.model_dump(exclude={"price"})
        return ProductCreate.model_construct(**fields, price=self.price.amount, currency=self.price.currency)


class ProductUpdateV2(_PartialEdit):
    """A partial edit (v2): the price, when sent, is a whole money object (amount and currency together)."""

    sku: Sku | SkipJsonSchema[None] = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: Description | None = None
    price: MoneyIn | SkipJsonSchema[None] = None
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK), BeforeValidator(json_integer)] | SkipJsonSchema[None] = None
    active: StrictBool | SkipJsonSchema[None] = None

    def to_v1(self) -> ProductUpdate:
        """The same edit in v1's shape, with the same fields set (absent stays absent)."""
        fields = {name: getattr(self, name) for name in self.model_fields_set if name != "price"}
        if "price" in self.model_fields_set and self.price is not None:
            fields |= {"price": self.price.amount, "currency": self.price.currency}
        return ProductUpdate.model_construct(_fields_set=set(fields), **fields)


class ProductOutV2(BaseModel):
    """The v2 representation: the price as one money object, the version for ``If-Match``."""

    id: ProductId
    sku: str
    name: str
    description: str | None
    price: MoneyOut
    stock: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str | None = Field(description="The subject of the caller who created it (null: not known)")
    updated_by: str | None = Field(description="The subject of the caller who changed it last (null: not known)")

    @classmethod
    def from_v1(cls, product: ProductOut) -> ProductOutV2:
        """Derived from v1, so both versions are served by one service and can never disagree."""
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price=MoneyOut(amount=product.price, currency=product.currency),
            stock=product.stock,
            active=product.active,
            version=product.version,
            created_at=product.created_at,
            updated_at=product.updated_at,
            created_by=product.created_by,
            updated_by=product.updated_by,
        )
