"""The catalog's own events leave like ordering's: a product's price change is stored in the outbox with the write."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from apibase.core.settings import EventsSettings
from apibase.infrastructure.persistence.events.tables import OutboxEventRow
from apibase.kernel import Kernel
from apibase.testing.service import service_settings, sign_up
from shop.catalog.domain import ProductPriceChanged
from shop.main import create_app
from shop.testing.order_events import new_product

pytestmark = pytest.mark.unit


async def test_a_price_change_is_stored_in_the_outbox_with_the_write(tmp_path: Path) -> None:
    settings = service_settings(tmp_path / "service.db", events=EventsSettings(relay_enabled=False))
    app = create_app(settings)
    kernel: Kernel = app.state.kernel
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        client.headers.update(await sign_up(client, tenant="acme"))
        product_id = await new_product(client, "2.50")
        changed = await client.patch(
            f"/api/v2/products/{product_id}", json={"price": {"amount": "3.00", "currency": "EUR"}}
        )
        assert changed.status_code == 200, changed.text

        async with kernel.session_factory() as session:
            rows = (await session.scalars(select(OutboxEventRow))).all()

    [price_changed] = [row for row in rows if row.event_type == ProductPriceChanged.event_type()]
    assert (price_changed.aggregate_id, price_changed.tenant_id) == (product_id, "acme")
    envelope = json.loads(price_changed.envelope)
    assert envelope["type"] == "apibase.ProductPriceChanged"
    assert (envelope["data"]["old_price"], envelope["data"]["new_price"]) == ("2.50", "3.00")
