"""Outbox relay throughput on PostgreSQL, in events/s, beside a bare drain of the same rows.

Run with ``.venv/bin/python bench/outbox_relay_bench.py [--events N] [--rounds R] [--batch B] [--url URL]``
(default URL: ``APIBASE_TEST_POSTGRES_URL`` or the local ``test`` database; a throwaway schema is used and
dropped).

Each round fills ``outbox_events`` with the same N stored events (``SqlOutbox``: structured CloudEvents, 100
aggregates interleaved), then drains it twice, alternating which goes first:

- ``relay``: ``OutboxRelay.run_once()`` until empty — claim ``FOR UPDATE SKIP LOCKED`` with the backoff and
  per-aggregate ordering checks, parse every envelope into a CloudEvent, hand the batch to a sink that accepts it
  at once (so the broker's own speed is not measured), delete the sent rows, one transaction per batch;
- ``bare``: the least any relay must do with the same rows and batch size — select a batch in position order and
  delete it, one transaction per batch, no locks, no checks, no parsing.

The table is ANALYZEd after each fill (as autovacuum keeps a busy table). The best round of each counts. The
target is relay >= 5,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))

from cloudevents.core.base import BaseCloudEvent  # noqa: E402
from sqlalchemy import delete, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine  # noqa: E402

from apibase.domain.events import DomainEvent  # noqa: E402
from apibase.infrastructure.events.outbox import SqlOutbox  # noqa: E402
from apibase.infrastructure.events.relay import OutboxRelay, RelayPolicy  # noqa: E402
from apibase.infrastructure.persistence.database import create_session_factory  # noqa: E402
from apibase.infrastructure.persistence.events.tables import OutboxEventRow  # noqa: E402
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory  # noqa: E402
from apibase.testing.outbox import create_event_tables  # noqa: E402
from apibase.testing.postgres import scratch_engine  # noqa: E402

TARGET = 5_000.0
AGGREGATES = 100
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class ShipmentDispatched(DomainEvent):
    carrier: str
    parcels: int


class AcceptingSink:
    """A broker that accepts every batch at once: only the relay's own work is timed."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        self.count += len(messages)


async def fill(sessions: async_sessionmaker[AsyncSession], count: int, batch: int) -> None:
    store = SqlOutbox(source="/bench", topic="bench.events")
    units = sql_unit_of_work_factory(sessions)
    for start in range(0, count, batch):
        events = [
            ShipmentDispatched(aggregate_id=f"shipment-{n % AGGREGATES}", carrier="DHL", parcels=n)
            for n in range(start, min(start + batch, count))
        ]
        unit = units()
        async with unit:
            await store.store(unit, events)
            await unit.commit()


async def relay_drain(sessions: async_sessionmaker[AsyncSession], batch: int) -> int:
    sink = AcceptingSink()
    relay = OutboxRelay(sessions, sink, policy=RelayPolicy(batch_size=batch))
    while await relay.run_once():
        pass
    return sink.count


async def bare_drain(sessions: async_sessionmaker[AsyncSession], batch: int) -> int:
    table = OutboxEventRow.__table__
    drained = 0
    while True:
        async with sessions() as session, session.begin():
            rows = (
                await session.execute(select(table.c.position, table.c.envelope).order_by("position").limit(batch))
            ).all()
            if not rows:
                return drained
            await session.execute(delete(table).where(table.c.position.in_([row.position for row in rows])))
            drained += len(rows)


async def timed(
    sessions: async_sessionmaker[AsyncSession], drain: Callable[[], Awaitable[int]], count: int, batch: int
) -> float:
    await fill(sessions, count, batch)
    async with sessions() as session, session.begin():
        # Statistics, as autovacuum keeps them for a table this busy: without any, PostgreSQL guesses the table is
        # small and sorts all of it for every claim instead of walking the primary key.
        await session.execute(text("ANALYZE outbox_events"))
    started = time.perf_counter()
    drained = await drain()
    elapsed = time.perf_counter() - started
    if drained != count:
        raise RuntimeError(f"drained {drained} of {count} events")
    return count / elapsed


async def main(url: str, count: int, rounds: int, batch: int) -> int:
    async with scratch_engine(url, prefix="outbox_bench") as setup:
        await create_event_tables(setup)
        async with setup.connect() as connection:
            schema = str(await connection.scalar(text("SELECT current_schema()")))
        # A pooled engine, as the service has: the relay's rounds do not pay for a new connection each.
        engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
        sessions = create_session_factory(engine)
        drains = {"relay": lambda: relay_drain(sessions, batch), "bare": lambda: bare_drain(sessions, batch)}
        best = dict.fromkeys(drains, 0.0)
        try:
            for number in range(rounds):
                order = list(drains) if number % 2 == 0 else list(reversed(drains))
                for name in order:
                    best[name] = max(best[name], await timed(sessions, drains[name], count, batch))
        finally:
            await engine.dispose()
    print(f"outbox on PostgreSQL, {count} events x {rounds} rounds, batch {batch}, best round")
    print(f"{'variant':<8} {'events/s':>10}")
    for name in ("bare", "relay"):
        print(f"{name:<8} {best[name]:>10.0f}")
    verdict = "meets" if best["relay"] >= TARGET else "MISSES"
    print(f"relay/bare = {best['relay'] / best['bare']:.2f}; relay {verdict} the target >= {TARGET:.0f} events/s")
    return 0 if best["relay"] >= TARGET else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--url", default=os.environ.get("APIBASE_TEST_POSTGRES_URL", DEFAULT_URL))
    arguments = parser.parse_args()
    raise SystemExit(asyncio.run(main(arguments.url, arguments.events, arguments.rounds, arguments.batch)))
