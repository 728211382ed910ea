"""Facts the product aggregate records: what pricing, storefront and purchasing want to hear about."""

from __future__ import annotations

from decimal import Decimal

from apibase.domain.events import DomainEvent

__all__ = ["ProductActivated", "ProductDeactivated", "ProductOutOfStock", "ProductPriceChanged"]


class ProductPriceChanged(DomainEvent):
    sku: str
    old_price: Decimal
    old_currency: str
    new_price: Decimal
    new_currency: str


class ProductActivated(DomainEvent):
    sku: str


class ProductDeactivated(DomainEvent):
    sku: str


class ProductOutOfStock(DomainEvent):
    """The last unit was sold: purchasing may want to reorder."""

    sku: str
