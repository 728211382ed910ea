"""The outbox relay on the real PostgreSQL: relays side by side, and a relay process killed mid-batch.

Each test gets a schema of its own holding the event tables (``scratch_engine``), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.domain.events import DomainEvent
from apibase.infrastructure.events.dead_letters import DeadLetters
from apibase.infrastructure.events.outbox import SqlOutbox
from apibase.infrastructure.events.relay import OutboxRelay, RelayPolicy
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.events.tables import OutboxEventRow
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory
from apibase.testing.outbox import ScriptedSink, create_event_tables
from apibase.testing.postgres import scratch_engine

pytestmark = pytest.mark.integration

RELAY_PROCESS = Path(__file__).with_name("relay_process.py")
ROOT = Path(__file__).parents[5]


class ParcelMoved(DomainEvent):
    step: int


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    async with scratch_engine(postgres_url, prefix="outbox") as engine:
        await create_event_tables(engine)
        yield engine


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def commit_events(sessions: async_sessionmaker[AsyncSession], events: Sequence[DomainEvent]) -> None:
    store = SqlOutbox(source="/parcels", topic="parcels.events")
    unit = sql_unit_of_work_factory(sessions)()
    async with unit:
        await store.store(unit, events)
        await unit.commit()


async def moves(sessions: async_sessionmaker[AsyncSession], aggregates: int, steps: int) -> list[ParcelMoved]:
    """``steps`` events per aggregate, interleaved, committed in several transactions."""
    events = [ParcelMoved(aggregate_id=f"parcel-{a}", step=s) for s in range(steps) for a in range(aggregates)]
    for start in range(0, len(events), 97):
        await commit_events(sessions, events[start : start + 97])
    return events


async def outbox_size(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxEventRow)) or 0)


class FlakyBroker:
    """Shared by every relay: refuses a batch now and then, and records what it accepted in acceptance order."""

    def __init__(self, seed: int) -> None:
        self.accepted: list[BaseCloudEvent] = []
        self._rng = random.Random(seed)  # noqa: S311 - test data

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        await asyncio.sleep(0)  # let the other relays interleave
        if self._rng.random() < 0.1:
            raise ConnectionError("broker busy")
        self.accepted.extend(messages)


async def test_the_relay_claims_with_skip_locked_and_keeps_order_after_a_refusal(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = await moves(sessions, aggregates=2, steps=2)  # p0 s0, p1 s0, p0 s1, p1 s1
    sink = ScriptedSink()
    sink.refused_ids.add(str(events[0].event_id))
    relay = OutboxRelay(sessions, sink, policy=RelayPolicy(backoff_base_seconds=0.001, backoff_max_seconds=0.001))

    assert await relay.run_once() == 2  # parcel-1's events; parcel-0's first was refused, its second held back
    assert sink.ids() == [str(events[1].event_id), str(events[3].event_id)]
    sink.refused_ids.clear()
    while await outbox_size(sessions):
        await relay.run_once()
    assert sink.ids()[2:] == [str(events[0].event_id), str(events[2].event_id)]
    assert await DeadLetters(sessions).entries() == []


async def test_relays_side_by_side_send_each_event_once_in_order_per_aggregate(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = await moves(sessions, aggregates=30, steps=20)
    broker = FlakyBroker(seed=13)
    policy = RelayPolicy(batch_size=40, max_attempts=1000, backoff_base_seconds=0.001, backoff_max_seconds=0.01)
    relays = [OutboxRelay(sessions, broker, policy=policy) for _ in range(4)]
    rounds: defaultdict[int, int] = defaultdict(int)

    async def drain(number: int, relay: OutboxRelay) -> None:
        while len(broker.accepted) < len(events):
            if await relay.run_once():
                rounds[number] += 1
            else:
                await asyncio.sleep(0.002)  # the others hold the rest, or it backs off: poll again

    await asyncio.wait_for(asyncio.gather(*(drain(n, relay) for n, relay in enumerate(relays))), 120)

    accepted = [message.get_id() for message in broker.accepted]
    assert len(accepted) == len(set(accepted)) == len(events)  # nothing twice, nothing lost
    assert len(rounds) > 1  # the work really was shared
    order: defaultdict[str, list[int]] = defaultdict(list)
    for message in broker.accepted:
        data = message.get_data()
        assert isinstance(data, dict)
        order[str(message.get_subject())].append(int(data["step"]))
    assert all(steps == sorted(steps) for steps in order.values())
    assert await outbox_size(sessions) == 0


async def consumer_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE deliveries (n serial PRIMARY KEY, event_id text NOT NULL)"))
        await connection.execute(
            text("CREATE TABLE parcel_counts (aggregate_id text PRIMARY KEY, handled integer NOT NULL)")
        )


def relay_process(postgres_url: str, schema: str, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(RELAY_PROCESS), postgres_url, schema, *arguments],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "app"), os.environ.get("PYTHONPATH", "")])},
    )


async def test_a_relay_killed_mid_batch_loses_nothing_and_the_inbox_absorbs_the_redelivery(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], postgres_url: str
) -> None:
    await consumer_tables(engine)
    events = await moves(sessions, aggregates=10, steps=20)
    async with engine.connect() as connection:
        schema = str(await connection.scalar(text("SELECT current_schema()")))

    first = relay_process(postgres_url, schema, "--hang-after", "3")
    assert first.stdout is not None
    try:
        for expected in range(1, 4):  # two batches settled, the third handled by the consumer and not yet deleted
            assert first.stdout.readline().strip() == f"delivered {expected}"
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait(timeout=30)
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    assert await outbox_size(sessions) == len(events) - 2 * 25  # the killed batch's rows are still there

    second = relay_process(postgres_url, schema)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out

    async with engine.connect() as connection:
        deliveries = await connection.scalar(text("SELECT count(*) FROM deliveries"))
        handled = await connection.scalar(text("SELECT count(*) FROM inbox_events"))
        counts = dict((await connection.execute(text("SELECT aggregate_id, handled FROM parcel_counts"))).all())
    assert await outbox_size(sessions) == 0
    assert handled == len(events)  # nothing lost
    assert deliveries == len(events) + 25  # the killed batch came twice ...
    assert counts == {f"parcel-{a}": 20 for a in range(10)}  # ... and took effect once
