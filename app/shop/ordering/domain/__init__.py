"""The ordering domain: orders, their lines and their life cycle from placement to shipping and return."""

from __future__ import annotations

from shop.ordering.domain.errors import (
    CurrencyMismatch,
    DuplicateOrderLine,
    EmptyOrder,
    InvalidCustomerEmail,
    InvalidOrderQuantity,
    InvalidOrderTransition,
    OrderAlreadyShipped,
    OrderErrorCode,
    OrderNotReturnable,
    OrderNotShippable,
    TooManyOrderLines,
)
from shop.ordering.domain.events import (
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderReturned,
    OrderShipped,
    SoldLine,
)
from shop.ordering.domain.line import MAX_LINE_QUANTITY, OrderLine
from shop.ordering.domain.order import (
    EMAIL_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_ORDER_LINES,
    MAX_REASON_LENGTH,
    Order,
    OrderId,
    check_line_count,
    normalise_email,
)
from shop.ordering.domain.status import OrderStatus

__all__ = [
    "EMAIL_PATTERN",
    "MAX_EMAIL_LENGTH",
    "MAX_LINE_QUANTITY",
    "MAX_ORDER_LINES",
    "MAX_REASON_LENGTH",
    "CurrencyMismatch",
    "DuplicateOrderLine",
    "EmptyOrder",
    "InvalidCustomerEmail",
    "InvalidOrderQuantity",
    "InvalidOrderTransition",
    "Order",
    "OrderAlreadyShipped",
    "OrderCancelled",
    "OrderErrorCode",
    "OrderId",
    "OrderLine",
    "OrderNotReturnable",
    "OrderNotShippable",
    "OrderPaid",
    "OrderPlaced",
    "OrderReturned",
    "OrderShipped",
    "OrderStatus",
    "SoldLine",
    "TooManyOrderLines",
    "check_line_count",
    "normalise_email",
]
