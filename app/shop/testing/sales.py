"""A sales history built through the v2 API, and what the sales report must say of it, on any database.

Orders are placed and moved through their life cycle over HTTP; only ``paid_at`` is then set in SQL, since the API
stamps the current time. ``assert_sales_report`` is run on SQLite (unit) and on PostgreSQL (integration).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.ordering.infrastructure.tables import OrderRow

__all__ = ["FIRST_DAY", "LAST_DAY", "REPORT", "assert_sales_report", "paid_order", "product", "set_paid_at"]

FIRST_DAY, LAST_DAY = "2026-03-01", "2026-03-02"
REPORT = "/api/v2/reports/sales"
Sessions = async_sessionmaker[AsyncSession]


def _at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


async def product(client: httpx.AsyncClient, sku: str, amount: str, currency: str = "EUR") -> str:
    body = {"sku": sku, "name": f"{sku} name", "price": {"amount": amount, "currency": currency}, "stock": 100}
    created = await client.post("/api/v2/products", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


async def set_paid_at(sessions: Sessions, order_id: str, moment: datetime) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(OrderRow).where(OrderRow.id == uuid.UUID(order_id)).values(paid_at=moment))


async def paid_order(
    client: httpx.AsyncClient,
    sessions: Sessions,
    lines: dict[str, int],
    paid_at: datetime | None,
    *then: str,
) -> str:
    """Place an order, pay it (unless ``paid_at`` is None), take the further ``then`` steps; its id."""
    body = {
        "customer_email": "ada@example.com",
        "lines": [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines.items()],
    }
    placed = await client.post("/api/v2/orders", json=body)
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["data"]["id"])
    steps = ([] if paid_at is None else ["pay"]) + list(then)
    for step in steps:
        reason = {"reason": "test"} if step in {"cancel", "return"} else None
        moved = await client.post(f"/api/v2/orders/{order_id}/{step}", json=reason)
        assert moved.status_code == 200, moved.text
    if paid_at is not None:
        await set_paid_at(sessions, order_id, paid_at)
    return order_id


def _money(*amounts: tuple[str, str]) -> list[dict[str, str]]:
    return [{"amount": amount, "currency": currency} for amount, currency in amounts]


async def assert_sales_report(client: httpx.AsyncClient, sessions: Sessions) -> None:
    """Paid and shipped orders count on their UTC payment day; the rest, and days outside the range, do not."""
    a, b = await product(client, "A-1", "10.00"), await product(client, "B-1", "2.50")
    c = await product(client, "C-1", "5.00", "USD")
    await paid_order(client, sessions, {a: 2, b: 1}, _at(1, 10))
    await paid_order(client, sessions, {a: 1}, _at(2, 23, 59, 59), "ship")  # the last second of the range
    evening_in_new_york = datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    await paid_order(client, sessions, {c: 4}, evening_in_new_york)  # 04:30 UTC on the 2nd
    await paid_order(client, sessions, {a: 5}, None)  # placed: not a sale yet
    await paid_order(client, sessions, {b: 3}, _at(1), "cancel")
    await paid_order(client, sessions, {a: 7}, _at(1), "ship", "return")
    await paid_order(client, sessions, {a: 1}, _at(3, 0))  # the midnight after the range
    await paid_order(client, sessions, {a: 1}, _at(1, 0) - timedelta(microseconds=1))  # just before it
    repriced = await client.patch(f"/api/v2/products/{c}", json={"price": {"amount": "6.00", "currency": "EUR"}})
    assert repriced.status_code == 200, repriced.text
    await paid_order(client, sessions, {c: 1}, _at(1, 0))  # C again, now in euros, at the range's first instant
    assert (await client.delete(f"/api/v2/products/{b}")).status_code == 204  # deleted since: still named

    by_product = await client.get(REPORT, params={"from": FIRST_DAY, "to": LAST_DAY, "group_by": "product"})
    by_day = await client.get(REPORT, params={"from": FIRST_DAY, "to": LAST_DAY, "group_by": "day"})

    assert by_product.status_code == 200, by_product.text
    report = by_product.json()["data"]
    assert {key: report[key] for key in ("first_day", "last_day", "group_by", "statuses")} == {
        "first_day": FIRST_DAY,
        "last_day": LAST_DAY,
        "group_by": "product",
        "statuses": ["paid", "shipped"],
    }
    assert report["rows"] == [
        {
            "product_id": c,
            "sku": "C-1",
            "name": "C-1 name",
            "units_sold": 5,
            "order_count": 2,
            "revenue": _money(("6.00", "EUR"), ("20.00", "USD")),
        },
        {
            "product_id": a,
            "sku": "A-1",
            "name": "A-1 name",
            "units_sold": 3,
            "order_count": 2,
            "revenue": _money(("30.00", "EUR")),
        },
        {
            "product_id": b,
            "sku": "B-1",
            "name": "B-1 name",
            "units_sold": 1,
            "order_count": 1,
            "revenue": _money(("2.50", "EUR")),
        },
    ]
    assert by_day.status_code == 200, by_day.text
    assert by_day.json()["data"]["rows"] == [
        {"day": FIRST_DAY, "units_sold": 4, "order_count": 2, "revenue": _money(("28.50", "EUR"))},
        {"day": LAST_DAY, "units_sold": 5, "order_count": 2, "revenue": _money(("10.00", "EUR"), ("20.00", "USD"))},
    ]
    for edge in ("0001-01-01", "9999-12-31"):  # the first and last days a date can name
        empty = await client.get(REPORT, params={"from": edge, "to": edge, "group_by": "day"})
        assert (empty.status_code, empty.json()["data"]["rows"]) == (200, []), empty.text
