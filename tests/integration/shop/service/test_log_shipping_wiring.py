"""The service ships its own log lines to a real OpenSearch-compatible server: ECS-shaped, masked, flushed on stop."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from apibase.core.settings import ObservabilitySettings
from apibase.testing.service import service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.integration


class Server(Protocol):
    """The ``opensearch`` fixture's value (tests/integration/conftest.py)."""

    address: str


async def test_request_lines_arrive_in_the_index_with_ecs_fields_and_masked_pii(
    opensearch: Server, tmp_path: Path
) -> None:
    index = f"apibase-{uuid.uuid4().hex[:12]}"
    observability = ObservabilitySettings(
        log_shipping_url=opensearch.address, log_shipping_index=index, log_shipping_flush_seconds=0.1
    )
    app = create_app(service_settings(tmp_path / "service.db", log_json=True, observability=observability))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        await sign_up(http)
        refused = await http.post("/api/v2/auth/login", json={"email": "ada@example.com", "password": "not-it-123"})
        assert refused.status_code == 401
    # the lifespan has ended: the shipper flushed what was buffered before the app stopped

    async with httpx.AsyncClient(base_url=opensearch.address, timeout=10) as cluster:
        (await cluster.post(f"/{index}/_refresh")).raise_for_status()
        found = await cluster.post(f"/{index}/_search", json={"size": 100, "query": {"match_all": {}}})
        found.raise_for_status()
    documents = [hit["_source"] for hit in found.json()["hits"]["hits"]]

    access = [doc for doc in documents if doc.get("message") == "request"]
    assert {doc["http"]["route"] for doc in access} >= {"/api/v2/auth/register", "/api/v2/auth/login"}
    assert all(doc["service"]["name"] == "apibase" and doc["@timestamp"] for doc in access)
    refusal = next(doc for doc in documents if str(doc.get("message", "")).startswith("login refused"))
    assert "ada@example.com" not in str(documents)
    assert "@example.com" in refusal["message"]
