"""The subscription dispatcher and its inbox on the real PostgreSQL: the shared contract, and concurrent deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apibase.application.subscriptions import Delivery
from apibase.infrastructure.events.dispatcher import SubscriptionDispatcher
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.testing.postgres import scratch_engine
from apibase.testing.subscriptions import (
    DispatcherContract,
    DispatcherHarness,
    Recorder,
    create_dispatcher_tables,
    make_event,
)

pytestmark = pytest.mark.integration


class TestPostgresDispatcher(DispatcherContract):
    @pytest.fixture
    async def harness(self, postgres_url: str) -> AsyncIterator[DispatcherHarness]:
        async with scratch_engine(postgres_url, prefix="inbox") as engine:
            async with engine.begin() as connection:
                await create_dispatcher_tables(connection)
            yield DispatcherHarness(create_session_factory(engine))

    async def test_concurrent_deliveries_of_one_event_run_the_handler_once(self, harness: DispatcherHarness) -> None:
        recorder = Recorder("contract.concurrent")
        dispatcher = SubscriptionDispatcher(harness.unit_of_work)
        dispatcher.subscribe([recorder.subscription()])
        event = make_event()

        outcomes = await asyncio.gather(*(dispatcher.deliver(event) for _ in range(5)))

        assert outcomes == [Delivery.SUCCESS] * 5
        assert len(await harness.received()) == 1
        assert await harness.inbox_size() == 1
