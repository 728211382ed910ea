"""Ordering messages and DTOs: validation, logging context and the response shape."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shop.catalog.domain import ProductId
from shop.ordering.application import CancelOrder, ListOrders, OrderOut, PayOrder, PlaceOrder
from shop.ordering.domain import Order, OrderId, OrderLine

pytestmark = pytest.mark.unit


def test_order_commands_log_the_order_id() -> None:
    order_id = OrderId.new()

    context = PayOrder(order_id=order_id).log_context()

    assert context["order_id"] == str(order_id)
    assert context["message_type"] == "PayOrder"


def test_cancel_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        CancelOrder(order_id=OrderId.new(), reason="")
    with pytest.raises(ValidationError):
        CancelOrder(order_id=OrderId.new(), reason="x" * 501)


def test_expected_versions_start_at_one() -> None:
    with pytest.raises(ValidationError):
        PayOrder(order_id=OrderId.new(), expected_version=0)


def test_place_order_accepts_json_shapes() -> None:
    product_id = ProductId.new()

    command = PlaceOrder.model_validate(
        {"customer_email": "a@b.io", "lines": [{"product_id": str(product_id), "quantity": 2}], "currency": "EUR"}
    )

    assert command.lines[0].product_id == product_id
    with pytest.raises(ValidationError):
        PlaceOrder.model_validate({"customer_email": "a@b.io", "lines": [], "currency": "euro"})


def test_list_orders_bounds_the_page() -> None:
    with pytest.raises(ValidationError):
        ListOrders(limit=0)
    with pytest.raises(ValidationError):
        ListOrders(limit=501)
    with pytest.raises(ValidationError):
        ListOrders(offset=-1)


def test_order_out_reads_the_computed_totals() -> None:
    line = OrderLine.of(
        product_id=ProductId.new(), sku="MUG-001", unit_price=Decimal("1.50"), currency="EUR", quantity=3
    )
    order = Order.place(customer_email="a@b.io", currency="EUR", lines=[line])

    out = OrderOut.from_order(order)

    assert out.total == Decimal("4.50")
    assert out.lines[0].subtotal == Decimal("4.50")
    assert out.model_dump(mode="json")["total"] == "4.50"
