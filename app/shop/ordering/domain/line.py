"""An order line: a snapshot of what was bought, at the price and under the sku of the moment of sale."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from apibase.domain.value_objects import BaseValueObject
from shop.catalog.domain.product import CurrencyCode, Price, ProductId, Sku
from shop.ordering.domain.errors import InvalidOrderQuantity

__all__ = ["MAX_LINE_QUANTITY", "OrderLine"]

MAX_LINE_QUANTITY = 1000


class OrderLine(BaseValueObject):
    """Immutable: a later price change of the product never rewrites what a customer agreed to pay."""

    product_id: ProductId
    sku: Sku
    unit_price: Price
    currency: CurrencyCode
    quantity: int = Field(gt=0, le=MAX_LINE_QUANTITY)

    @classmethod
    def of(cls, *, product_id: ProductId, sku: str, unit_price: Decimal, currency: str, quantity: int) -> OrderLine:
        """Build a line, reporting a bad quantity as the domain error clients can switch on."""
        if not 0 < quantity <= MAX_LINE_QUANTITY:
            raise InvalidOrderQuantity(
                f"quantity of {sku} must be between 1 and {MAX_LINE_QUANTITY}, got {quantity}",
                extensions={"sku": sku, "quantity": quantity},
            )
        return cls(product_id=product_id, sku=sku, unit_price=unit_price, currency=currency, quantity=quantity)

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity
