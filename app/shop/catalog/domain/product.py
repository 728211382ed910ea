"""The product aggregate: what the shop sells, at which price, and how many are in stock."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated

from pydantic import Field, WithJsonSchema

from apibase.core.types import Branded
from apibase.core.validators import SafeHtml
from apibase.domain.entities import AggregateRoot, AuditableEntity
from shop.catalog.domain.errors import InsufficientStock, InvalidStockQuantity, ProductInactive, StockLimitExceeded
from shop.catalog.domain.events import ProductActivated, ProductDeactivated, ProductOutOfStock, ProductPriceChanged

__all__ = [
    "CURRENCY_PATTERN",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_STOCK",
    "PRICE_PATTERN",
    "SKU_PATTERN",
    "CurrencyCode",
    "Description",
    "Price",
    "Product",
    "ProductId",
    "Sku",
]

SKU_PATTERN = r"^[A-Z0-9-]{3,32}$"
PRICE_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_STOCK = 1_000_000
MAX_DESCRIPTION_LENGTH = 2000

type Sku = Annotated[str, Field(pattern=SKU_PATTERN)]
#: Rich text shown on product pages: sanitised HTML, bounded after sanitising (escaping can lengthen it) so that
#: what is stored always fits the column.
type Description = Annotated[SafeHtml, Field(max_length=MAX_DESCRIPTION_LENGTH)]
#: ISO 4217 alphabetic code (shape only: the list of codes changes, the shape does not).
type CurrencyCode = Annotated[str, Field(pattern=CURRENCY_PATTERN)]
#: Non-negative, cents precision, at most ten integer digits (what NUMERIC(12, 2) stores). The JSON schema says
#: exactly that (a decimal string), so generated clients and fuzzers send only prices the service accepts.
type Price = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": PRICE_PATTERN},
                {"type": "number", "minimum": 0, "maximum": 9_999_999_999.99, "multipleOf": 0.01},
            ],
            "examples": ["9.99"],
        }
    ),
]

_REVISABLE = frozenset({"sku", "name", "description", "price", "currency", "stock", "active"})


class ProductId(Branded):
    __slots__ = ()


class Product(AggregateRoot[ProductId], AuditableEntity[ProductId]):
    """Field constraints keep every product valid; methods enforce the rules of selling and restocking."""

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    description: Description | None = None
    price: Price
    currency: CurrencyCode = "EUR"
    stock: int = Field(default=0, ge=0, le=MAX_STOCK)
    active: bool = True

    def change_price(self, price: Decimal, currency: str | None = None) -> None:
        """Reprice (optionally in another currency); records ``ProductPriceChanged`` when anything changed."""
        old_price, old_currency = self.price, self.currency
        if currency is not None:
            self.currency = currency
        self.price = price
        if (self.price, self.currency) != (old_price, old_currency):
            self.record_event(
                ProductPriceChanged(
                    aggregate_id=str(self.id),
                    sku=self.sku,
                    old_price=old_price,
                    old_currency=old_currency,
                    new_price=self.price,
                    new_currency=self.currency,
                )
            )

    def activate(self) -> None:
        if not self.active:
            self.active = True
            self.record_event(ProductActivated(aggregate_id=str(self.id), sku=self.sku))

    def deactivate(self) -> None:
        if self.active:
            self.active = False
            self.record_event(ProductDeactivated(aggregate_id=str(self.id), sku=self.sku))

    def withdraw_stock(self, quantity: int) -> None:
        """Take sold units out of stock; only active products with enough stock can be sold."""
        self._check_quantity(quantity)
        if not self.active:
            raise ProductInactive(f"product {self.sku} is not for sale", extensions={"sku": self.sku})
        if quantity > self.stock:
            raise InsufficientStock(
                f"only {self.stock} of product {self.sku} in stock, {quantity} requested",
                extensions={"sku": self.sku, "available": self.stock, "requested": quantity},
            )
        self.stock -= quantity
        if self.stock == 0:
            self.record_event(ProductOutOfStock(aggregate_id=str(self.id), sku=self.sku))

    def restock(self, quantity: int) -> None:
        """Put units back (a delivery, a cancelled order); also allowed while the product is inactive."""
        self._check_quantity(quantity)
        if self.stock + quantity > MAX_STOCK:
            raise StockLimitExceeded(
                f"product {self.sku} would hold {self.stock + quantity} units, more than {MAX_STOCK}",
                extensions={"sku": self.sku, "available": self.stock, "requested": quantity},
            )
        self.stock += quantity

    def revise(self, changes: Mapping[str, object]) -> None:
        """Apply a partial edit all-or-nothing, through the methods above so that their events are recorded.

        Every value is validated before anything changes; names outside the editable fields are a bug.
        """
        unknown = sorted(changes.keys() - _REVISABLE)
        if unknown:
            raise ValueError(f"these product fields cannot be revised: {unknown}")
        revised = type(self).model_validate({**self.model_dump(), **changes})
        self.change_price(revised.price, revised.currency)
        if revised.active:
            self.activate()
        else:
            self.deactivate()
        for name in changes.keys() - {"price", "currency", "active"}:
            setattr(self, name, getattr(revised, name))

    @staticmethod
    def _check_quantity(quantity: int) -> None:
        if quantity <= 0:
            raise InvalidStockQuantity(f"a stock movement must be at least 1 unit, got {quantity}")
