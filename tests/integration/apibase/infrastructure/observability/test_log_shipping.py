"""LogShipper against a real OpenSearch-compatible server (osmem-server), and against a cluster that is down."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Protocol

import httpx
import pytest

from apibase.infrastructure.background import Supervisor
from apibase.infrastructure.observability.log_shipping import DropReason, LogShipper

pytestmark = pytest.mark.integration


class Server(Protocol):
    """The ``opensearch`` fixture's value (tests/integration/conftest.py)."""

    address: str


def fresh_index() -> str:
    return f"logs-{uuid.uuid4().hex[:12]}"


async def count(client: httpx.AsyncClient, url: str, index: str) -> int:
    (await client.post(f"{url}/{index}/_refresh")).raise_for_status()
    response = await client.get(f"{url}/{index}/_count")
    response.raise_for_status()
    total: int = response.json()["count"]
    return total


async def test_a_thousand_records_arrive_in_batches(opensearch: Server) -> None:
    url = opensearch.address
    index = fresh_index()
    shipper = LogShipper(url, index, batch_size=200, flush_seconds=0.05, buffer_size=2_000)
    supervisor = Supervisor()
    shipper.start(supervisor)
    for n in range(1_000):
        assert shipper.offer({"@timestamp": "2026-01-01T00:00:00Z", "message": f"record {n}", "seq": n})
    await shipper.stop(grace_seconds=10.0)
    assert await supervisor.stop()
    assert shipper.stats.shipped == 1_000
    assert shipper.stats.dropped == 0
    async with httpx.AsyncClient() as client:
        assert await count(client, url, index) == 1_000
        found = await client.post(f"{url}/{index}/_search", json={"query": {"term": {"seq": 737}}})
    (hit,) = found.json()["hits"]["hits"]
    assert hit["_source"]["message"] == "record 737"


async def test_documents_the_cluster_refuses_are_counted_and_the_rest_kept(opensearch: Server) -> None:
    url = opensearch.address
    index = fresh_index()
    shipper = LogShipper(url, index, batch_size=10, buffer_size=10)
    shipper.offer({"status": 200})
    shipper.offer({"status": "not a number"})  # the first document mapped "status" as a number
    shipper.offer({"status": 503})
    await shipper.stop(grace_seconds=5.0)
    assert shipper.stats.shipped == 2
    assert shipper.stats.dropped_by_reason == {DropReason.REJECTED: 1}
    assert shipper.stats.failed_batches == 1
    async with httpx.AsyncClient() as client:
        assert await count(client, url, index) == 2


async def test_a_cluster_that_is_down_never_slows_offer_and_losses_are_counted(
    unused_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    shipper = LogShipper(
        f"http://127.0.0.1:{unused_port}",
        "logs",
        batch_size=100,
        flush_seconds=0.01,
        buffer_size=1_000,
        max_retries=1,
        initial_backoff=0.01,
        max_backoff=0.02,
    )
    supervisor = Supervisor()
    shipper.start(supervisor)
    await asyncio.sleep(0.02)  # the flush loop is running and failing
    record = {"message": "request served", "log": {"level": "info"}}
    began = time.perf_counter()
    accepted = [shipper.offer(record) for _ in range(10_000)]
    elapsed = time.perf_counter() - began
    assert elapsed < 0.1, f"10,000 offers took {elapsed * 1000:.1f} ms"
    assert accepted.count(False) >= 9_000
    assert shipper.stats.dropped_by_reason[DropReason.BUFFER_FULL] == accepted.count(False)
    await shipper.stop(grace_seconds=0.5)
    assert await supervisor.stop()
    stats = shipper.stats
    assert stats.shipped == 0
    assert stats.dropped == 10_000
    assert set(stats.dropped_by_reason) <= {DropReason.BUFFER_FULL, DropReason.RETRIES_EXHAUSTED, DropReason.SHUTDOWN}
    assert stats.failed_batches >= 1
    assert "log shipping to http://127.0.0.1" in capsys.readouterr().err
