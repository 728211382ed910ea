"""Properties of orders: the total is always the sum of the lines, and no sequence of steps breaks an order."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from apibase.core.errors import DomainError
from shop.catalog.domain import ProductId
from shop.ordering.domain import MAX_LINE_QUANTITY, MAX_ORDER_LINES, Order, OrderLine, OrderStatus
from shop.ordering.domain.events import OrderCancelled, OrderPaid, OrderShipped

pytestmark = pytest.mark.unit

_prices = st.integers(min_value=0, max_value=999_999_999_999).map(lambda cents: Decimal(cents).scaleb(-2))
_quantities = st.integers(min_value=1, max_value=MAX_LINE_QUANTITY)
_skus = st.from_regex(r"[A-Z0-9-]{3,32}", fullmatch=True)


@st.composite
def order_lines(draw: st.DrawFn, currency: str = "EUR") -> list[OrderLine]:
    count = draw(st.integers(min_value=1, max_value=MAX_ORDER_LINES))
    product_ids = draw(st.lists(st.uuids(version=4), min_size=count, max_size=count, unique=True))
    return [
        OrderLine.of(
            product_id=ProductId.parse(product_id),
            sku=draw(_skus),
            unit_price=draw(_prices),
            currency=currency,
            quantity=draw(_quantities),
        )
        for product_id in product_ids
    ]


@settings(deadline=None)  # up to 50 validated lines per example: timing varies too much on shared CI runners
@given(lines=order_lines())
def test_total_is_the_sum_of_unit_price_times_quantity(lines: list[OrderLine]) -> None:
    order = Order.place(customer_email="ada@example.com", currency="EUR", lines=lines)

    expected = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    assert order.total == expected
    assert order.total.as_tuple().exponent == -2  # exact cents, never a float artefact
    assert order.pending_events[0].total == expected  # type: ignore[attr-defined]


_RANK = {OrderStatus.PLACED: 0, OrderStatus.PAID: 1, OrderStatus.SHIPPED: 2, OrderStatus.CANCELLED: 3}
_EVENT = {"pay": OrderPaid, "ship": OrderShipped, "cancel": OrderCancelled}


class OrderLifecycle(RuleBasedStateMachine):
    """Random sequences of pay/ship/cancel: refused steps change nothing, accepted ones move forward."""

    def __init__(self) -> None:
        super().__init__()
        self.order = Order.place(
            customer_email="ada@example.com",
            currency="EUR",
            lines=[
                OrderLine.of(
                    product_id=ProductId.new(), sku="MUG-001", unit_price=Decimal("3.20"), currency="EUR", quantity=2
                )
            ],
        )
        self.order.pull_events()
        self.history = [self.order.status]

    def _attempt(self, action: str, reason: str = "") -> None:
        before = self.order.model_dump()
        refused: DomainError[StrEnum] | None = None
        try:
            if action == "cancel":
                self.order.cancel(reason)
            else:
                getattr(self.order, action)()
        except DomainError as error:
            refused = error
        if refused is not None:
            assert refused.status == 409
            assert self.order.model_dump() == before
            assert self.order.pending_events == ()
        else:
            (event,) = self.order.pull_events()
            assert isinstance(event, _EVENT[action])
            assert self.order.status is not self.history[-1]
            self.history.append(self.order.status)

    @rule()
    def pay(self) -> None:
        self._attempt("pay")

    @rule()
    def ship(self) -> None:
        self._attempt("ship")

    @rule(reason=st.text(min_size=1, max_size=40))
    def cancel(self, reason: str) -> None:
        self._attempt("cancel", reason)

    @invariant()
    def only_forward(self) -> None:
        ranks = [_RANK[status] for status in self.history]
        assert ranks == sorted(ranks)
        assert all(not status.is_final for status in self.history[:-1])
        assert OrderStatus.SHIPPED not in self.history or OrderStatus.CANCELLED not in self.history

    @invariant()
    def timestamps_match_the_status(self) -> None:
        order = self.order
        stamps = (order.paid_at is not None, order.shipped_at is not None, order.cancelled_at is not None)
        match order.status:
            case OrderStatus.PLACED:
                assert stamps == (False, False, False)
            case OrderStatus.PAID:
                assert stamps == (True, False, False)
            case OrderStatus.SHIPPED:
                assert stamps == (True, True, False)
            case OrderStatus.CANCELLED:
                assert stamps[1:] == (False, True)
                assert order.cancellation_reason

    @invariant()
    def still_a_valid_order(self) -> None:
        assert Order.model_validate(self.order.model_dump()).total == Decimal("6.40")


OrderLifecycle.TestCase.settings = settings(max_examples=100, stateful_step_count=8, deadline=None)
TestOrderLifecycle = OrderLifecycle.TestCase
