"""The ordering domain's error codes and the errors its invariants and state machine raise.

Malformed orders are 422 (``InvariantViolation``): the request can never succeed as sent. Refused state changes
are 409 (``BusinessRuleViolation``): the request is well formed but conflicts with the order's current state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.error_codes import error_codes
from apibase.core.errors import BusinessRuleViolation, InvariantViolation

__all__ = [
    "CurrencyMismatch",
    "DuplicateOrderLine",
    "EmptyOrder",
    "InvalidCustomerEmail",
    "InvalidOrderQuantity",
    "InvalidOrderTransition",
    "OrderAlreadyShipped",
    "OrderErrorCode",
    "OrderNotReturnable",
    "OrderNotShippable",
    "TooManyOrderLines",
]


@error_codes("orders")
class OrderErrorCode(StrEnum):
    EMPTY = "orders.empty"
    INVALID_QUANTITY = "orders.invalid_quantity"
    TOO_MANY_LINES = "orders.too_many_lines"
    DUPLICATE_LINE = "orders.duplicate_line"
    CURRENCY_MISMATCH = "orders.currency_mismatch"
    INVALID_EMAIL = "orders.invalid_email"
    UNKNOWN_PRODUCT = "orders.unknown_product"
    ALREADY_SHIPPED = "orders.already_shipped"
    NOT_SHIPPABLE = "orders.not_shippable"
    NOT_RETURNABLE = "orders.not_returnable"
    INVALID_TRANSITION = "orders.invalid_transition"


class EmptyOrder(InvariantViolation):
    title = "Empty order"
    default_code: ClassVar[StrEnum] = OrderErrorCode.EMPTY


class InvalidOrderQuantity(InvariantViolation):
    title = "Invalid quantity"
    default_code: ClassVar[StrEnum] = OrderErrorCode.INVALID_QUANTITY


class TooManyOrderLines(InvariantViolation):
    title = "Too many order lines"
    default_code: ClassVar[StrEnum] = OrderErrorCode.TOO_MANY_LINES


class DuplicateOrderLine(InvariantViolation):
    title = "Duplicate order line"
    default_code: ClassVar[StrEnum] = OrderErrorCode.DUPLICATE_LINE


class CurrencyMismatch(BusinessRuleViolation):
    """The products' prices are in different currencies: well formed, but in conflict with the catalog."""

    title = "Currency mismatch"
    default_code: ClassVar[StrEnum] = OrderErrorCode.CURRENCY_MISMATCH


class InvalidCustomerEmail(InvariantViolation):
    title = "Invalid customer email"
    default_code: ClassVar[StrEnum] = OrderErrorCode.INVALID_EMAIL


class OrderAlreadyShipped(BusinessRuleViolation):
    title = "Order already shipped"
    default_code: ClassVar[StrEnum] = OrderErrorCode.ALREADY_SHIPPED


class OrderNotShippable(BusinessRuleViolation):
    title = "Order not shippable"
    default_code: ClassVar[StrEnum] = OrderErrorCode.NOT_SHIPPABLE


class OrderNotReturnable(BusinessRuleViolation):
    """Only a shipped order comes back; one that has not shipped is cancelled instead."""

    title = "Order not returnable"
    default_code: ClassVar[StrEnum] = OrderErrorCode.NOT_RETURNABLE


class InvalidOrderTransition(BusinessRuleViolation):
    title = "Invalid order transition"
    default_code: ClassVar[StrEnum] = OrderErrorCode.INVALID_TRANSITION
