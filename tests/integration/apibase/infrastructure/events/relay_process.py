"""A relay in a process of its own, for the SIGKILL test: ``python relay_process.py URL SCHEMA [--hang-after N]``.

Its sink is an idempotent consumer on the same database: per event, in one transaction, an ``inbox_events`` row
(duplicate ids are skipped) and, for new ids only, one more on the aggregate's counter in ``parcel_counts``; every
delivery is also logged in ``deliveries``. After each batch it prints ``delivered <n>``; after batch ``--hang-after``
it never returns to the relay, so the SIGKILL that follows lands after the consumer handled that batch and before
the relay deleted its rows. Without ``--hang-after`` it exits when the outbox is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from apibase.infrastructure.events.relay import OutboxRelay, RelayPolicy
from apibase.infrastructure.persistence.database import create_session_factory

BATCH = 25


class InboxConsumer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], hang_after: int | None) -> None:
        self._sessions = sessions
        self._hang_after = hang_after
        self.batches = 0

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        async with self._sessions() as session, session.begin():
            for message in messages:
                new = await session.execute(
                    text(
                        "INSERT INTO inbox_events (subscription, event_id, handled_at) VALUES ('parcels', :id, :at) "
                        "ON CONFLICT DO NOTHING RETURNING event_id"
                    ),
                    {"id": message.get_id(), "at": datetime.now(UTC)},
                )
                await session.execute(text("INSERT INTO deliveries (event_id) VALUES (:id)"), {"id": message.get_id()})
                if new.first() is not None:
                    await session.execute(
                        text(
                            "INSERT INTO parcel_counts (aggregate_id, handled) VALUES (:aggregate, 1) "
                            "ON CONFLICT (aggregate_id) DO UPDATE SET handled = parcel_counts.handled + 1"
                        ),
                        {"aggregate": message.get_subject()},
                    )
        self.batches += 1
        print(f"delivered {self.batches}", flush=True)  # noqa: T201 - the test reads this line
        if self.batches == self._hang_after:
            await asyncio.Event().wait()  # until killed


async def main(url: str, schema: str, hang_after: int | None) -> None:
    engine = create_async_engine(
        url, poolclass=pool.NullPool, connect_args={"server_settings": {"search_path": schema}}
    )
    sessions = create_session_factory(engine)
    relay = OutboxRelay(sessions, InboxConsumer(sessions, hang_after), policy=RelayPolicy(batch_size=BATCH))
    try:
        # Until the outbox is empty, not until a round sends nothing: rows a killed relay's transaction still
        # locks (until PostgreSQL has noticed that the connection is gone) are skipped, not lost.
        while (await relay.measure())[0]:
            if not await relay.run_once():
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("schema")
    parser.add_argument("--hang-after", type=int, default=None)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.url, arguments.schema, arguments.hang_after))
    sys.exit(0)
