"""The order aggregate: each invariant, each transition and the events it records."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shop.catalog.domain import ProductId
from shop.ordering.domain import (
    MAX_LINE_QUANTITY,
    MAX_ORDER_LINES,
    CurrencyMismatch,
    DuplicateOrderLine,
    EmptyOrder,
    InvalidCustomerEmail,
    InvalidOrderQuantity,
    InvalidOrderTransition,
    Order,
    OrderAlreadyShipped,
    OrderCancelled,
    OrderErrorCode,
    OrderId,
    OrderLine,
    OrderNotReturnable,
    OrderNotShippable,
    OrderPaid,
    OrderPlaced,
    OrderReturned,
    OrderShipped,
    OrderStatus,
    SoldLine,
    TooManyOrderLines,
    check_line_count,
    normalise_email,
)

pytestmark = pytest.mark.unit


def line(price: str = "2.50", quantity: int = 2, currency: str = "EUR", sku: str = "MUG-001") -> OrderLine:
    return OrderLine.of(
        product_id=ProductId.new(), sku=sku, unit_price=Decimal(price), currency=currency, quantity=quantity
    )


def place(*lines: OrderLine, email: str = "ada@example.com", currency: str = "EUR") -> Order:
    return Order.place(customer_email=email, currency=currency, lines=list(lines) or [line()])


def run(order: Order, action: str) -> None:
    if action == "cancel":
        order.cancel("reason")
    elif action == "return":
        order.accept_return("reason")
    else:
        getattr(order, action)()


def paid() -> Order:
    order = place()
    order.pay()
    return order


# -- lines ----------------------------------------------------------------------------------------------------
def test_a_line_knows_its_subtotal() -> None:
    assert line("2.50", 3).subtotal == Decimal("7.50")


@pytest.mark.parametrize("quantity", [0, -3, MAX_LINE_QUANTITY + 1])
def test_line_quantities_are_between_1_and_1000(quantity: int) -> None:
    with pytest.raises(InvalidOrderQuantity) as raised:
        line(quantity=quantity)

    assert (raised.value.status, raised.value.code) == (422, OrderErrorCode.INVALID_QUANTITY)
    assert raised.value.extensions == {"sku": "MUG-001", "quantity": quantity}


def test_a_line_with_the_largest_quantity_is_fine() -> None:
    assert line(quantity=MAX_LINE_QUANTITY).quantity == MAX_LINE_QUANTITY


def test_lines_are_immutable() -> None:
    item = line()

    with pytest.raises(ValidationError):
        item.quantity = 5  # type: ignore[misc]


# -- placing ---------------------------------------------------------------------------------------------------
def test_place_records_order_placed_with_the_total() -> None:
    order = place(line("2.50", 2), line("1.25", 4, sku="TEA-002"))

    assert order.status is OrderStatus.PLACED
    assert order.total == Decimal("10.00")
    assert order.version == 1
    (event,) = order.pull_events()
    assert isinstance(event, OrderPlaced)
    assert (event.aggregate_id, event.total, event.currency, event.line_count) == (
        str(order.id),
        Decimal("10.00"),
        "EUR",
        2,
    )


def test_every_event_but_payment_carries_the_lines_a_consumer_counts() -> None:
    """Event-carried state: a consumer counts sales from the event alone, without calling ordering back."""
    mug, tea = line("2.50", 2), line("1.25", 4, sku="TEA-002")
    shipped, cancelled = place(mug, tea), place(mug, tea)
    for order in (shipped, cancelled):
        order.pay()
    shipped.ship()
    shipped.accept_return("broken")
    cancelled.cancel("changed my mind")
    expected = (
        SoldLine(product_id=mug.product_id, sku="MUG-001", quantity=2, unit_price=Decimal("2.50"), subtotal=Decimal(5)),
        SoldLine(product_id=tea.product_id, sku="TEA-002", quantity=4, unit_price=Decimal("1.25"), subtotal=Decimal(5)),
    )

    events = [*shipped.pull_events(), *cancelled.pull_events()]

    assert [type(event).__name__ for event in events] == [
        "OrderPlaced",
        "OrderPaid",
        "OrderShipped",
        "OrderReturned",
        "OrderPlaced",
        "OrderPaid",
        "OrderCancelled",
    ]
    for event in events:
        if not isinstance(event, OrderPaid):
            assert getattr(event, "lines") == expected, type(event).__name__  # noqa: B009 - every type but OrderPaid
            assert type(event).schema_version == 2
            assert type(event).model_validate(event.model_dump(mode="json")) == event  # its JSON reads back
    assert OrderPaid.schema_version == 1


def test_place_keeps_a_given_id() -> None:
    order_id = OrderId.new()

    assert Order.place(customer_email="a@b.io", currency="EUR", lines=[line()], order_id=order_id).id == order_id


def test_an_empty_order_is_refused() -> None:
    with pytest.raises(EmptyOrder) as raised:
        Order.place(customer_email="ada@example.com", currency="EUR", lines=[])

    assert (raised.value.status, raised.value.code) == (422, OrderErrorCode.EMPTY)


def test_an_order_has_at_most_n_lines() -> None:
    lines = [line(sku=f"SKU-{index:03d}") for index in range(MAX_ORDER_LINES + 1)]

    assert len(place(*lines[:MAX_ORDER_LINES]).lines) == MAX_ORDER_LINES
    with pytest.raises(TooManyOrderLines) as raised:
        place(*lines)

    assert raised.value.code is OrderErrorCode.TOO_MANY_LINES
    assert raised.value.extensions == {"max_lines": MAX_ORDER_LINES, "lines": MAX_ORDER_LINES + 1}


def test_check_line_count_alone() -> None:
    check_line_count(1)
    with pytest.raises(EmptyOrder):
        check_line_count(0)
    with pytest.raises(TooManyOrderLines):
        check_line_count(MAX_ORDER_LINES + 1)


def test_one_currency_per_order() -> None:
    with pytest.raises(CurrencyMismatch) as raised:
        place(line(), line(currency="USD", sku="TEA-002"), line(currency="GBP", sku="CUP-003"))

    assert (raised.value.status, raised.value.code) == (409, OrderErrorCode.CURRENCY_MISMATCH)
    assert raised.value.extensions == {"currency": "EUR", "other_currencies": ["GBP", "USD"]}


def test_the_order_currency_must_be_the_lines_currency() -> None:
    with pytest.raises(CurrencyMismatch):
        place(line(currency="EUR"), currency="USD")


def test_a_product_appears_on_one_line_only() -> None:
    first = line()
    again = first.model_copy(update={"quantity": 1})

    with pytest.raises(DuplicateOrderLine) as raised:
        place(first, again)

    assert (raised.value.status, raised.value.extensions) == (422, {"sku": "MUG-001"})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        ("Ada@BÜCHER.de", "ada@bücher.de"),
        ("ada@xn--bcher-kva.de", "ada@bücher.de"),
    ],
)
def test_emails_are_normalised(given: str, stored: str) -> None:
    assert place(email=given).customer_email == stored
    assert normalise_email(given) == stored


@pytest.mark.parametrize(
    "email",
    ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@c.io", "ada@localhost", "a..b@c.io"],
)
def test_invalid_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidCustomerEmail) as raised:
        place(email=email)

    assert (raised.value.status, raised.value.code) == (422, OrderErrorCode.INVALID_EMAIL)


def test_overlong_emails_are_refused() -> None:
    with pytest.raises(InvalidCustomerEmail):
        place(email="a" * 250 + "@b.io")


@pytest.mark.parametrize("email", ["not-an-email", "ada@example", "<script>@x.io", "a" * 250 + "@b.io"])
def test_an_order_built_directly_refuses_an_invalid_email(email: str) -> None:
    valid = place().model_dump()

    with pytest.raises(ValidationError) as raised:
        Order(**{**valid, "customer_email": email})

    assert [(error["loc"], error["type"]) for error in raised.value.errors()] == [
        (("customer_email",), "invalid_email")
    ]


def test_an_order_built_directly_stores_the_normalised_email() -> None:
    assert Order(**{**place().model_dump(), "customer_email": " Ada@Example.COM"}).customer_email == "ada@example.com"


def test_an_invalid_email_cannot_be_assigned() -> None:
    order = place()

    with pytest.raises(ValidationError, match="invalid_email"):
        order.customer_email = "ada@"

    assert order.customer_email == "ada@example.com"


# -- loading (the safety net for stored data) ------------------------------------------------------------------
def test_stored_orders_are_revalidated() -> None:
    order = place()
    data = order.model_dump()

    assert Order.model_validate(data) == order
    with pytest.raises(ValidationError, match="currency"):
        Order.model_validate({**data, "currency": "USD"})
    with pytest.raises(ValidationError, match="one line only"):
        Order.model_validate({**data, "lines": [*data["lines"], data["lines"][0]]})
    with pytest.raises(ValidationError):
        Order.model_validate({**data, "lines": []})


# -- life cycle ------------------------------------------------------------------------------------------------
def test_pay_then_ship() -> None:
    order = place()
    order.pull_events()

    order.pay()
    order.ship()

    assert order.status is OrderStatus.SHIPPED
    assert order.paid_at is not None
    assert order.shipped_at is not None
    assert order.paid_at <= order.shipped_at
    paid_event, shipped_event = order.pull_events()
    assert isinstance(paid_event, OrderPaid)
    assert (paid_event.total, paid_event.currency) == (order.total, "EUR")
    assert isinstance(shipped_event, OrderShipped)


@pytest.mark.parametrize("start", [OrderStatus.PLACED, OrderStatus.PAID])
def test_cancel_before_shipping(start: OrderStatus) -> None:
    order = place()
    if start is OrderStatus.PAID:
        order.pay()
    order.pull_events()

    order.cancel("customer changed their mind")

    assert order.status is OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert order.cancellation_reason == "customer changed their mind"
    (event,) = order.pull_events()
    assert isinstance(event, OrderCancelled)
    assert (event.reason, event.previous_status) == ("customer changed their mind", start)


def test_a_shipped_order_cannot_be_cancelled() -> None:
    order = paid()
    order.ship()

    with pytest.raises(OrderAlreadyShipped) as raised:
        order.cancel("too late")

    assert order.status is OrderStatus.SHIPPED
    assert (raised.value.status, raised.value.code) == (409, OrderErrorCode.ALREADY_SHIPPED)
    assert "return it instead" in raised.value.detail
    assert raised.value.extensions == {"status": "shipped", "alternative": "return"}


def test_a_shipped_order_is_returned() -> None:
    order = paid()
    order.ship()
    order.pull_events()

    order.accept_return("arrived broken")

    assert order.status is OrderStatus.RETURNED
    assert order.returned_at is not None
    assert order.shipped_at is not None
    assert order.shipped_at <= order.returned_at
    assert order.return_reason == "arrived broken"
    (event,) = order.pull_events()
    assert isinstance(event, OrderReturned)
    assert (event.reason, event.currency, event.total) == ("arrived broken", "EUR", order.total)


@pytest.mark.parametrize("steps", [(), ("pay",)])
def test_an_order_that_has_not_shipped_is_cancelled_not_returned(steps: tuple[str, ...]) -> None:
    order = place()
    for step in steps:
        run(order, step)
    status = order.status
    order.pull_events()

    with pytest.raises(OrderNotReturnable) as raised:
        order.accept_return("never mind")

    assert order.status is status
    assert order.pending_events == ()
    assert (raised.value.status, raised.value.code) == (409, OrderErrorCode.NOT_RETURNABLE)
    assert raised.value.extensions == {"status": status.value, "alternative": "cancel"}


def test_an_overlong_return_reason_changes_nothing() -> None:
    order = paid()
    order.ship()

    with pytest.raises(ValidationError):
        order.accept_return("x" * 501)

    assert order.status is OrderStatus.SHIPPED
    assert order.return_reason is None


def test_an_unpaid_order_cannot_ship() -> None:
    order = place()

    with pytest.raises(OrderNotShippable) as raised:
        order.ship()

    assert order.status is OrderStatus.PLACED
    assert (raised.value.status, raised.value.code) == (409, OrderErrorCode.NOT_SHIPPABLE)


def test_a_cancelled_order_cannot_ship() -> None:
    order = paid()
    order.cancel("fraud")

    with pytest.raises(OrderNotShippable):
        order.ship()


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        (("pay",), "pay"),
        (("pay", "ship"), "pay"),
        (("cancel",), "pay"),
        (("pay", "ship"), "ship"),
        (("cancel",), "cancel"),
        (("cancel",), "return"),
        (("pay", "ship", "return"), "return"),
        (("pay", "ship", "return"), "cancel"),
        (("pay", "ship", "return"), "ship"),
        (("pay", "ship", "return"), "pay"),
    ],
)
def test_transitions_only_move_forward(steps: tuple[str, ...], action: str) -> None:
    order = place()
    for step in steps:
        run(order, step)
    status = order.status
    order.pull_events()

    with pytest.raises(InvalidOrderTransition) as raised:
        run(order, action)

    assert order.status is status
    assert order.pending_events == ()
    assert (raised.value.status, raised.value.code) == (409, OrderErrorCode.INVALID_TRANSITION)
    assert raised.value.extensions == {"status": status.value, "action": action}


def test_final_states() -> None:
    assert [status for status in OrderStatus if status.is_final] == [OrderStatus.CANCELLED, OrderStatus.RETURNED]


def test_an_overlong_cancellation_reason_changes_nothing() -> None:
    order = place()

    with pytest.raises(ValidationError):
        order.cancel("x" * 501)

    assert order.status is OrderStatus.PLACED
    assert order.cancellation_reason is None
