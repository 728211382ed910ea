"""The reference service's events end to end, over HTTP: orders placed and moved, counted by the catalog.

``assert_orders_reach_the_sales_counters`` is the scenario every event path runs, whichever transport carries the
events (in-process, RabbitMQ, Kafka, the Dapr stand-in): ordering's events leave through the outbox, the relay
hands them to the transport, the dispatcher runs the catalog's subscriptions through the inbox, and the counters
show on ``GET /api/v2/products/{id}/sales``. It needs only a client acting as an admin of its tenant, and uses a
product of its own, so it may run many times against one service.

Delivery is asynchronous, so the counters are awaited (``await_sales``): read until they say what is expected,
within a deadline. HTTP offers nothing to wait on, hence the short polling interval.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import httpx

from shop.testing.sales import product

__all__ = ["SALES_TIMEOUT_SECONDS", "assert_orders_reach_the_sales_counters", "await_sales", "place_order", "sales_of"]

#: Generous for a broker on a busy CI machine; a passing run takes a fraction of it.
SALES_TIMEOUT_SECONDS = 20.0
_POLL_SECONDS = 0.02


def sales_of(product_id: str) -> str:
    return f"/api/v2/products/{product_id}/sales"


async def await_sales(
    client: httpx.AsyncClient,
    product_id: str,
    expected: Mapping[str, object],
    *,
    within: float = SALES_TIMEOUT_SECONDS,
) -> dict[str, object]:
    """Read the product's counters until each one named in ``expected`` has its value; the body's ``data`` then.

    Fails with the last counters read when the deadline passes first.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        response = await client.get(sales_of(product_id))
        assert response.status_code == 200, response.text
        data: dict[str, object] = response.json()["data"]
        if all(data.get(name) == value for name, value in expected.items()):
            return data
        if loop.time() >= deadline:
            raise AssertionError(f"after {within}s the sales of {product_id} are {data}, expected {dict(expected)}")
        await asyncio.sleep(_POLL_SECONDS)


async def place_order(client: httpx.AsyncClient, product_id: str, quantity: int, *then: str) -> str:
    """Place an order of one line, take the further ``then`` steps (``pay``, ``ship``, ``cancel``, ``return``)."""
    body = {"customer_email": "ada@example.com", "lines": [{"product_id": product_id, "quantity": quantity}]}
    placed = await client.post("/api/v2/orders", json=body)
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["data"]["id"])
    for step in then:
        reason = {"reason": "scenario"} if step in {"cancel", "return"} else None
        moved = await client.post(f"/api/v2/orders/{order_id}/{step}", json=reason)
        assert moved.status_code == 200, moved.text
    return order_id


def _eur(amount: str) -> list[dict[str, str]]:
    return [{"amount": amount, "currency": "EUR"}]


async def assert_orders_reach_the_sales_counters(
    client: httpx.AsyncClient, *, within: float = SALES_TIMEOUT_SECONDS
) -> str:
    """Place, cancel, ship and return orders of a new product; each step must reach its counters. The product id."""
    product_id = await product(client, f"EVT-{uuid.uuid4().hex[:8].upper()}", "2.50")

    kept = await place_order(client, product_id, 3)
    placed = {"units_ordered": 3, "order_count": 1, "units_net": 3, "net_revenue": _eur("7.50")}
    await await_sales(client, product_id, placed, within=within)

    await place_order(client, product_id, 2, "cancel")
    cancelled = {"units_ordered": 5, "units_cancelled": 2, "order_count": 2, "units_net": 3}
    await await_sales(client, product_id, {**cancelled, "net_revenue": _eur("7.50")}, within=within)

    for step in ("pay", "ship"):
        moved = await client.post(f"/api/v2/orders/{kept}/{step}")
        assert moved.status_code == 200, moved.text
    await await_sales(client, product_id, {"units_shipped": 3}, within=within)

    returned = await client.post(f"/api/v2/orders/{kept}/return", json={"reason": "scenario"})
    assert returned.status_code == 200, returned.text
    final = {
        "units_ordered": 5,
        "units_cancelled": 2,
        "units_shipped": 3,
        "units_returned": 3,
        "units_net": 0,
        "order_count": 2,
        "net_revenue": _eur("0.00"),
    }
    await await_sales(client, product_id, final, within=within)
    return product_id
