"""The reference service's events end to end, over HTTP: orders placed and moved, counted by the catalog.

``assert_orders_reach_the_sales_counters`` is the scenario every event path runs, whichever transport carries the
events (in-process, RabbitMQ, Kafka, the Dapr stand-in): ordering's events leave through the outbox, the relay
hands them to the transport, the dispatcher runs the catalog's subscriptions through the inbox, and the counters
show on ``GET /api/v2/products/{id}/sales``. It needs only a client acting as an admin of its tenant, and uses a
product of its own, so it may run many times against one service.

Delivery is asynchronous, so the counters are awaited (``await_sales``): read until they say what is expected,
within a deadline. HTTP offers nothing to wait on, hence the short polling interval. Each command is retried, as
its problem asks, when it lost a write race (``common.concurrency_conflict``, nothing committed): on SQLite the
relay and the dispatcher write beside the requests, and a request that read before they committed cannot write.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import httpx

__all__ = [
    "SALES_TIMEOUT_SECONDS",
    "assert_orders_reach_the_sales_counters",
    "await_sales",
    "command",
    "move_order",
    "new_product",
    "place_order",
    "sales_of",
]

#: Generous for a broker on a busy CI machine; a passing run takes a fraction of it.
SALES_TIMEOUT_SECONDS = 20.0
_POLL_SECONDS = 0.02
_ATTEMPTS = 5
_LOST_RACE = "common.concurrency_conflict"


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


async def command(client: httpx.AsyncClient, path: str, body: object, status: int = 200) -> dict[str, object]:
    """POST a command and expect ``status``; a lost write race is retried (it committed nothing). The ``data``."""
    for _ in range(_ATTEMPTS):
        response = await client.post(path, json=body)
        if response.status_code != 409 or response.json().get("code") != _LOST_RACE:
            break
    assert response.status_code == status, response.text
    data: dict[str, object] = response.json()["data"]
    return data


async def new_product(client: httpx.AsyncClient, amount: str = "2.50", *, sku: str | None = None) -> str:
    """Create a product (100 in stock, priced ``amount`` EUR) with a fresh sku unless one is given; its id."""
    sku = sku or f"EVT-{uuid.uuid4().hex[:8].upper()}"
    body = {"sku": sku, "name": f"{sku} name", "price": {"amount": amount, "currency": "EUR"}, "stock": 100}
    return str((await command(client, "/api/v2/products", body, 201))["id"])


async def move_order(client: httpx.AsyncClient, order_id: str, *steps: str) -> None:
    """Take the order through ``steps`` (``pay``, ``ship``, ``cancel``, ``return``)."""
    for step in steps:
        reason = {"reason": "scenario"} if step in {"cancel", "return"} else None
        await command(client, f"/api/v2/orders/{order_id}/{step}", reason)


async def place_order(client: httpx.AsyncClient, product_id: str, quantity: int, *then: str) -> str:
    """Place an order of one line, take the further ``then`` steps; its id."""
    body = {"customer_email": "ada@example.com", "lines": [{"product_id": product_id, "quantity": quantity}]}
    order_id = str((await command(client, "/api/v2/orders", body, 201))["id"])
    await move_order(client, order_id, *then)
    return order_id


def _eur(amount: str) -> list[dict[str, str]]:
    return [{"amount": amount, "currency": "EUR"}]


async def assert_orders_reach_the_sales_counters(
    client: httpx.AsyncClient, *, within: float = SALES_TIMEOUT_SECONDS
) -> str:
    """Place, cancel, ship and return orders of a new product; each step must reach its counters. The product id."""
    product_id = await new_product(client, "2.50")

    kept = await place_order(client, product_id, 3)
    placed = {"units_ordered": 3, "order_count": 1, "units_net": 3, "net_revenue": _eur("7.50")}
    await await_sales(client, product_id, placed, within=within)

    await place_order(client, product_id, 2, "cancel")
    cancelled = {"units_ordered": 5, "units_cancelled": 2, "order_count": 2, "units_net": 3}
    await await_sales(client, product_id, {**cancelled, "net_revenue": _eur("7.50")}, within=within)

    await move_order(client, kept, "pay", "ship")
    await await_sales(client, product_id, {"units_shipped": 3}, within=within)

    await move_order(client, kept, "return")
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
