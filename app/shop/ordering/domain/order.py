"""The order aggregate: its lines, its total and its life cycle, with every invariant checked in one place.

Following ADR 0002, a violated invariant or refused transition raises a ``DomainError`` carrying an ``orders.*``
code; handlers turn it into ``Err``. The pydantic constraints on the fields repeat the invariants as a safety net
for data loaded from storage, where a violation is corruption, not a client error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from apibase.core import validators
from apibase.core.types import Branded
from apibase.core.validators import Email
from apibase.domain.entities import AggregateRoot, utc_now
from shop.catalog.domain.product import CurrencyCode, ProductId
from shop.ordering.domain.errors import (
    CurrencyMismatch,
    DuplicateOrderLine,
    EmptyOrder,
    InvalidCustomerEmail,
    InvalidOrderTransition,
    OrderAlreadyShipped,
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
    sold_lines,
)
from shop.ordering.domain.line import OrderLine
from shop.ordering.domain.status import OrderStatus

__all__ = [
    "EMAIL_PATTERN",
    "MAX_EMAIL_LENGTH",
    "MAX_ORDER_LINES",
    "MAX_REASON_LENGTH",
    "MAX_SHIPPING_ADDRESS_LENGTH",
    "Order",
    "OrderId",
    "check_line_count",
    "normalise_email",
]

MAX_ORDER_LINES = 50
MAX_EMAIL_LENGTH = validators.MAX_EMAIL_LENGTH
MAX_REASON_LENGTH = 500
MAX_SHIPPING_ADDRESS_LENGTH = 500
#: A cheap shape check for request schemas (one @, a dot in the domain, no spaces); the aggregate applies the
#: full syntax check of ``apibase.core.validators.Email`` however it is built.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class OrderId(Branded):
    __slots__ = ()


def check_line_count(count: int) -> None:
    """An order has 1..MAX_ORDER_LINES lines; callers check this before doing work per line."""
    if count == 0:
        raise EmptyOrder("an order needs at least one line")
    if count > MAX_ORDER_LINES:
        raise TooManyOrderLines(
            f"an order has at most {MAX_ORDER_LINES} lines, got {count}",
            extensions={"max_lines": MAX_ORDER_LINES, "lines": count},
        )


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased, so that filtering orders by customer does not depend on how it was typed.

    The shared rule of ``apibase.core.validators``, reported as the domain error clients switch on.
    """
    try:
        return validators.normalise_email(email)
    except PydanticCustomError as exc:
        raise InvalidCustomerEmail(f"the customer email is not valid ({exc.message()})") from exc


class Order(AggregateRoot[OrderId]):
    #: Checked on every construction and assignment, not only by ``place``: a direct ``Order(...)``, a stored row
    #: or ``order.customer_email = ...`` cannot hold an address the placing rules would refuse.
    customer_email: Email
    currency: CurrencyCode
    lines: tuple[OrderLine, ...] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    status: OrderStatus = OrderStatus.PLACED
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    returned_at: datetime | None = None
    return_reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    #: Free-text personal data: stored encrypted and never filtered, sorted or put into events or logs.
    shipping_address: str | None = Field(default=None, min_length=1, max_length=MAX_SHIPPING_ADDRESS_LENGTH)

    @model_validator(mode="after")
    def _lines_are_consistent(self) -> Self:
        if any(line.currency != self.currency for line in self.lines):
            raise ValueError("every line must be in the order's currency")
        if len({line.product_id for line in self.lines}) != len(self.lines):
            raise ValueError("each product appears on one line only")
        return self

    @classmethod
    def place(
        cls,
        *,
        customer_email: str,
        currency: str,
        lines: Sequence[OrderLine],
        shipping_address: str | None = None,
        order_id: OrderId | None = None,
    ) -> Order:
        """The one way to start an order: checks every invariant, then records ``OrderPlaced``."""
        check_line_count(len(lines))
        email = normalise_email(customer_email)
        foreign = sorted({line.currency for line in lines} - {currency})
        if foreign:
            raise CurrencyMismatch(
                f"an order is paid in one currency ({currency}); lines are also priced in {', '.join(foreign)}",
                extensions={"currency": currency, "other_currencies": list(foreign)},
            )
        seen: set[ProductId] = set()
        for line in lines:
            if line.product_id in seen:
                raise DuplicateOrderLine(
                    f"product {line.sku} appears on more than one line; order it once with the total quantity",
                    extensions={"sku": line.sku},
                )
            seen.add(line.product_id)
        order = cls(
            id=order_id or OrderId.new(),
            customer_email=email,
            currency=currency,
            lines=tuple(lines),
            shipping_address=shipping_address,
        )
        order.record_event(
            OrderPlaced(
                aggregate_id=str(order.id),
                customer_email=email,
                currency=currency,
                total=order.total,
                line_count=len(lines),
                lines=sold_lines(order.lines),
            )
        )
        return order

    @property
    def total(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))

    def pay(self) -> None:
        """Record the payment; only a placed order can be paid, and only once."""
        if self.status is not OrderStatus.PLACED:
            raise self._refused("pay")
        self.status, self.paid_at = OrderStatus.PAID, utc_now()
        self.record_event(OrderPaid(aggregate_id=str(self.id), currency=self.currency, total=self.total))

    def ship(self) -> None:
        """Hand over to the carrier; only a paid order ships (never an unpaid or a cancelled one)."""
        if self.status in (OrderStatus.PLACED, OrderStatus.CANCELLED):
            raise OrderNotShippable(
                f"order {self.id} is {self.status.value}: only paid orders can be shipped",
                extensions={"status": self.status.value},
            )
        if self.status is not OrderStatus.PAID:
            raise self._refused("ship")
        self.status, self.shipped_at = OrderStatus.SHIPPED, utc_now()
        self.record_event(
            OrderShipped(
                aggregate_id=str(self.id), currency=self.currency, total=self.total, lines=sold_lines(self.lines)
            )
        )

    def cancel(self, reason: str) -> None:
        """Cancel before shipping (paid orders too: the caller refunds); the caller puts the stock back."""
        if self.status is OrderStatus.SHIPPED:
            raise OrderAlreadyShipped(
                f"order {self.id} has shipped and can no longer be cancelled; return it instead "
                "(the return action takes a reason and puts the stock back)",
                extensions={"status": self.status.value, "alternative": "return"},
            )
        if self.status.is_final:
            raise self._refused("cancel")
        previous = self.status
        self.cancellation_reason = reason
        self.status, self.cancelled_at = OrderStatus.CANCELLED, utc_now()
        self.record_event(
            OrderCancelled(
                aggregate_id=str(self.id),
                reason=reason,
                previous_status=previous,
                currency=self.currency,
                total=self.total,
                lines=sold_lines(self.lines),
            )
        )

    def accept_return(self, reason: str) -> None:
        """Take a shipped order back (the caller refunds and puts the stock back); records ``OrderReturned``."""
        if self.status in (OrderStatus.PLACED, OrderStatus.PAID):
            raise OrderNotReturnable(
                f"order {self.id} is {self.status.value} and has not shipped: cancel it instead",
                extensions={"status": self.status.value, "alternative": "cancel"},
            )
        if self.status is not OrderStatus.SHIPPED:
            raise self._refused("return")
        self.return_reason = reason
        self.status, self.returned_at = OrderStatus.RETURNED, utc_now()
        self.record_event(
            OrderReturned(
                aggregate_id=str(self.id),
                reason=reason,
                currency=self.currency,
                total=self.total,
                lines=sold_lines(self.lines),
            )
        )

    def _refused(self, action: str) -> InvalidOrderTransition:
        return InvalidOrderTransition(
            f"cannot {action} order {self.id}: it is {self.status.value}",
            extensions={"status": self.status.value, "action": action},
        )
