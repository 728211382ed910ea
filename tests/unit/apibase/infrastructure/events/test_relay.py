"""OutboxRelay on SQLite: order per aggregate, backoff with jitter, poison to the dead letters, metrics, the loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import cast

import pytest
from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.domain.events import DomainEvent
from apibase.infrastructure.events.dead_letters import DeadLetters
from apibase.infrastructure.events.outbox import SqlOutbox
from apibase.infrastructure.events.relay import OutboxRelay, RelayMetrics, RelayPolicy
from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.persistence.events.tables import OutboxEventRow
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory
from apibase.testing.outbox import ManualClock, ScriptedSink

pytestmark = pytest.mark.unit

POLICY = RelayPolicy(batch_size=100, max_attempts=3, backoff_base_seconds=2.0, backoff_max_seconds=60.0)


class ParcelShipped(DomainEvent):
    step: int = 0


async def commit_events(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, events: Sequence[DomainEvent]
) -> SqlOutbox:
    store = SqlOutbox(source="/parcels", topic="parcels.events", clock=clock)
    unit = sql_unit_of_work_factory(sessions)()
    async with unit:
        await store.store(unit, events)
        await unit.commit()
    store.committed()
    return store


def shipped(*aggregates: str) -> list[DomainEvent]:
    return [ParcelShipped(aggregate_id=aggregate, step=step) for step, aggregate in enumerate(aggregates)]


def relay(
    sessions: async_sessionmaker[AsyncSession],
    sink: ScriptedSink,
    clock: ManualClock,
    *,
    policy: RelayPolicy = POLICY,
    metrics: RelayMetrics | None = None,
) -> OutboxRelay:
    return OutboxRelay(sessions, sink, policy=policy, metrics=metrics, clock=clock, rng=random.Random(7))  # noqa: S311 - jitter


async def pending(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxEventRow]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxEventRow).order_by(OutboxEventRow.position))).all())


async def test_publishes_in_commit_order_and_deletes_what_was_sent(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    events = shipped("p-1", "p-2", "p-1", "p-3")
    await commit_events(sessions, clock, events)

    assert await relay(sessions, sink, clock).run_once() == 4

    assert sink.ids() == [str(event.event_id) for event in events]
    assert sink.batches == [4]
    assert await pending(sessions) == []
    assert await relay(sessions, sink, clock).run_once() == 0


async def test_sends_at_most_a_batch_per_round(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    await commit_events(sessions, clock, shipped(*[f"p-{n}" for n in range(5)]))
    small = relay(sessions, sink, clock, policy=RelayPolicy(batch_size=2))

    assert [await small.run_once() for _ in range(4)] == [2, 2, 1, 0]
    assert sink.batches == [2, 2, 1]


async def test_a_refused_batch_backs_off_with_jitter_and_is_sent_once_due(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    await commit_events(sessions, clock, shipped("p-1", "p-2"))
    sink.down = True
    worker = relay(sessions, sink, clock)

    assert await worker.run_once() == 0
    first = await pending(sessions)
    assert [row.attempts for row in first] == [1, 1]
    assert all(row.last_error == "ConnectionError: the broker refused the batch" for row in first)
    delays = [(row.next_attempt_at - clock.now).total_seconds() for row in first]
    assert all(1.0 <= delay <= 2.0 for delay in delays)  # the upper half of the base: jittered

    sink.down = False
    assert await worker.run_once() == 0  # not due yet: nothing is even tried
    assert sink.batches == [2, 1, 1]  # the batch, then one by one to find the failing rows
    clock.advance(2.0)
    assert await worker.run_once() == 2
    assert await pending(sessions) == []


def test_the_backoff_doubles_up_to_the_cap() -> None:
    policy = RelayPolicy(backoff_base_seconds=1.0, backoff_max_seconds=10.0)
    rng = random.Random(1)  # noqa: S311 - jitter
    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    for attempts, ceiling in enumerate(ceilings, start=1):
        delay = policy.backoff_seconds(attempts, rng)
        assert ceiling / 2 <= delay <= ceiling


async def test_a_refused_event_holds_back_its_aggregate_only_and_order_survives(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    events = shipped("p-1", "p-2", "p-1", "p-3")
    await commit_events(sessions, clock, events)
    sink.refused_ids.add(str(events[0].event_id))
    worker = relay(sessions, sink, clock)

    assert await worker.run_once() == 2
    assert sink.ids() == [str(events[1].event_id), str(events[3].event_id)]
    clock.advance(2.0)
    sink.refused_ids.clear()
    assert await worker.run_once() == 2
    assert sink.ids()[2:] == [str(events[0].event_id), str(events[2].event_id)]


async def test_the_second_event_of_an_aggregate_waits_while_the_first_backs_off(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    first, second = shipped("p-1", "p-1")
    await commit_events(sessions, clock, [first])
    sink.refused_ids.add(str(first.event_id))
    worker = relay(sessions, sink, clock)
    assert await worker.run_once() == 0

    await commit_events(sessions, clock, [second])
    sink.refused_ids.clear()
    assert await worker.run_once() == 0  # the second is due, but its aggregate's first is not
    assert sink.sent == []
    clock.advance(2.0)
    assert await worker.run_once() == 2
    assert sink.ids() == [str(first.event_id), str(second.event_id)]


async def test_a_poison_event_is_dead_lettered_then_replayed(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    poison, later, other = shipped("p-1", "p-1", "p-2")
    await commit_events(sessions, clock, [poison, later, other])
    sink.refused_ids.add(str(poison.event_id))
    metrics = Metrics()
    worker = relay(sessions, sink, clock, metrics=RelayMetrics(metrics))

    for _ in range(POLICY.max_attempts):
        await worker.run_once()
        clock.advance(POLICY.backoff_max_seconds)
    assert await worker.run_once() == 1  # the next event of its aggregate goes once the poison is out of the way
    assert sink.ids() == [str(other.event_id), str(later.event_id)]  # the poison no longer blocks its aggregate

    dead_letters = DeadLetters(sessions, clock=clock)
    (dead,) = await dead_letters.entries()
    assert (dead.event_id, dead.event_type, dead.aggregate_id, dead.attempts) == (
        str(poison.event_id),
        "ParcelShipped",
        "p-1",
        POLICY.max_attempts,
    )
    assert dead.last_error == "ConnectionError: the broker refused the batch"
    exposition = metrics.render(None)[0].decode()
    assert "outbox_events_dead_lettered_total 1.0" in exposition
    assert "outbox_publish_failures_total 3.0" in exposition
    assert "outbox_events_published_total 2.0" in exposition

    sink.refused_ids.clear()
    assert await dead_letters.replay([str(poison.event_id), "no-such-event"]) == [str(poison.event_id)]
    assert await dead_letters.entries() == []
    assert await worker.run_once() == 1
    assert sink.ids()[-1] == str(poison.event_id)
    assert await dead_letters.replay() == []


async def test_an_unreadable_envelope_is_dead_lettered_at_once(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    broken, fine = shipped("p-1", "p-2")
    await commit_events(sessions, clock, [broken, fine])
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxEventRow).where(OutboxEventRow.event_id == str(broken.event_id)).values(envelope="{not json")
        )

    assert await relay(sessions, sink, clock).run_once() == 1

    (dead,) = await DeadLetters(sessions).entries()
    assert dead.event_id == str(broken.event_id)
    assert dead.attempts == 1
    assert (dead.last_error or "").startswith("JSONDecodeError")


async def test_measures_the_lag_and_the_age_of_the_oldest_pending_event(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    metrics = Metrics()
    worker = relay(sessions, sink, clock, metrics=RelayMetrics(metrics))
    assert await worker.measure() == (0, 0.0)

    await commit_events(sessions, clock, shipped("p-1", "p-2", "p-3"))
    clock.advance(42)

    assert await worker.measure() == (3, 42.0)
    exposition = metrics.render(None)[0].decode()
    assert "outbox_events_pending 3.0" in exposition
    assert "outbox_oldest_pending_age_seconds 42.0" in exposition


async def test_its_reads_take_no_write_turn_on_sqlite(
    sessions: async_sessionmaker[AsyncSession], sink: ScriptedSink, clock: ManualClock
) -> None:
    """An idle round and the lag reading finish while a service transaction holds the one write turn; they used to
    queue behind every writer (the turn is the busiest thing under a mixed load) and hold up the ones after them."""
    await commit_events(sessions, clock, shipped("p-1"))
    worker = relay(sessions, sink, clock, metrics=RelayMetrics(Metrics()))
    async with sessions() as service, service.begin():
        await service.execute(update(OutboxEventRow).where(OutboxEventRow.position < 0).values(attempts=0))

        assert await asyncio.wait_for(worker.measure(), 5) == (1, 0.0)
        clock.advance(-1)  # nothing due: an idle round
        assert await asyncio.wait_for(worker.run_once(), 5) == 0
    clock.advance(1)
    assert await worker.run_once() == 1  # a round with rows to settle still settles them
    assert await pending(sessions) == []


class SignallingSink(ScriptedSink):
    def __init__(self) -> None:
        super().__init__()
        self.received = asyncio.Event()

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        await super().send(messages)
        self.received.set()


async def test_the_loop_is_woken_by_a_commit_and_stops_when_asked(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    sink = SignallingSink()
    store = SqlOutbox(source="/parcels", topic="parcels.events", clock=clock)
    sleepy = RelayPolicy(poll_seconds=300)  # only a commit can wake it within the test's time
    worker = OutboxRelay(sessions, sink, policy=sleepy, wake=store.commits, clock=clock)
    running = asyncio.create_task(worker.run())
    await asyncio.sleep(0)  # the first round finds nothing and waits

    event = ParcelShipped(aggregate_id="p-1")
    unit = sql_unit_of_work_factory(sessions)()
    async with unit:
        await store.store(unit, [event])
        await unit.commit()
    store.committed()
    await asyncio.wait_for(sink.received.wait(), 5)

    await worker.stop()
    await asyncio.wait_for(running, 5)
    assert sink.ids() == [str(event.event_id)]


async def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    attempts = asyncio.Event()

    def unreachable_database() -> AsyncSession:
        attempts.set()
        raise OSError("connection refused")

    sessions = cast("async_sessionmaker[AsyncSession]", unreachable_database)
    worker = OutboxRelay(sessions, ScriptedSink(), policy=RelayPolicy(poll_seconds=300))
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(attempts.wait(), 5)
    await worker.stop()
    await asyncio.wait_for(running, 5)

    assert any(record.message.startswith("outbox relay round failed") for record in caplog.records)
