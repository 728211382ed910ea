"""``OutboxRelay``: publishes the outbox's committed events through a ``MessageSink``, at least once, in order per
aggregate.

A round claims the due rows in ``position`` order, sends them, deletes what the broker accepted and backs off
(or dead-letters) what it refused, all in one transaction on PostgreSQL:

- **Claim.** ``FOR UPDATE SKIP LOCKED``, so relays in several processes share the outbox without sending a row
  twice at once. A row whose aggregate has an earlier row still waiting for its backoff is not claimed; a claimed
  row whose aggregate has an earlier row *outside* the claim (another relay holds it) is left for a later round:
  whoever sends an aggregate's first pending event owns that aggregate's order. SQLite takes no locks (it runs
  one relay): there the rows are read in a read-only (deferred) transaction, which takes no write turn, and
  settled in a write transaction after sending, only when there was something to send. An idle relay (and its lag
  gauges) never queues behind the service's writers or holds them up: each of its polls used to take the one
  write turn twice, for two reads, while that turn was the busiest resource under a sustained mixed load.
- **Send.** The batch in order; if the sink refuses it, the rows one by one to find the failing ones. After a
  failure no later row of that aggregate is sent in this round.
- **Settle.** Sent rows are deleted; a failed row is retried after an exponential backoff with jitter, and after
  ``max_attempts`` tries (or at once if its envelope cannot be read) moved to ``outbox_dead_letters``.

If the process dies mid-round the transaction is lost with it: the rows stay and are sent again (duplicates the
subscribers' inbox absorbs). ``run()`` loops until ``stop()``, woken by the outbox's commits or every
``poll_seconds``; ``run_once()`` is one round, for tests and tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.application.ports.messaging import MessageSink
from apibase.core.settings import EventsSettings
from apibase.infrastructure.events.dead_letters import bury
from apibase.infrastructure.events.outbox import utc_now
from apibase.infrastructure.events.relay_queries import (
    claim_due,
    delete_sent,
    first_unclaimed_positions,
    pending_summary,
    postpone,
)
from apibase.infrastructure.events.stored_event import read_envelope
from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.persistence.read_only import read_only_session_factory

__all__ = ["OutboxRelay", "RelayMetrics", "RelayPolicy"]

_logger: Final = logging.getLogger(__name__)
_MAX_ERROR_LENGTH: Final = 2000

type _Row = Row[Any]


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    batch_size: int = 500
    poll_seconds: float = 1.0
    max_attempts: int = 10
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 300.0

    @classmethod
    def from_settings(cls, events: EventsSettings) -> RelayPolicy:
        return cls(
            batch_size=events.relay_batch_size,
            poll_seconds=events.relay_poll_seconds,
            max_attempts=events.max_attempts,
            backoff_base_seconds=events.backoff_base_seconds,
            backoff_max_seconds=events.backoff_max_seconds,
        )

    def backoff_seconds(self, attempts: int, rng: random.Random) -> float:
        """The wait after the ``attempts``-th failure: doubling from the base up to the cap, the upper half random
        (so relays that failed together do not retry together)."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2.0 ** min(attempts - 1, 64))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class RelayMetrics:
    """The relay's instruments on the service's ``Metrics``: lag, age of the oldest pending event, outcomes."""

    def __init__(self, metrics: Metrics) -> None:
        self.published = metrics.adding_counter("outbox_events_published", "Outbox events the broker accepted")
        self.failed = metrics.adding_counter("outbox_publish_failures", "Outbox sends the broker refused (retried)")
        self.dead_lettered = metrics.adding_counter(
            "outbox_events_dead_lettered", "Outbox events moved to the dead letters after their last attempt"
        )
        self.pending = metrics.gauge("outbox_events_pending", "Events stored in the outbox and not yet published")
        self.oldest_age = metrics.gauge(
            "outbox_oldest_pending_age_seconds", "Age of the oldest event not yet published (0 when none is)"
        )


@dataclass
class _Outcome:
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[_Row, str]] = field(default_factory=list)
    poison: list[tuple[_Row, str]] = field(default_factory=list)


class OutboxRelay:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        sink: MessageSink,
        *,
        policy: RelayPolicy = RelayPolicy(),
        metrics: RelayMetrics | None = None,
        wake: asyncio.Event | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._readers = _readers(session_factory)
        self._sink = sink
        self._policy = policy
        self._metrics = metrics
        self._wake = wake or asyncio.Event()
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._stopping = False
        self._finished: asyncio.Event | None = None
        self._measured_at = -float("inf")

    def wake(self) -> None:
        """Start the next round now (a commit stored events) instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """One round: claim, send, settle. Returns how many events the broker accepted."""
        _, published = await self._round()
        return published

    async def run(self) -> None:
        """Rounds until ``stop()``: straight on while full batches go out, else waiting for a commit or the poll."""
        self._stopping = False
        self._finished = asyncio.Event()
        try:
            while not self._stopping:
                self._wake.clear()
                claimed = published = 0
                try:
                    claimed, published = await self._round()
                    await self._measure_if_due()
                except Exception:
                    _logger.exception("outbox relay round failed; retrying after the poll interval")
                if published and claimed >= self._policy.batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._policy.poll_seconds)
        finally:
            self._finished.set()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the current round finish (its transaction settles what it sent), then end ``run()``."""
        self._stopping = True
        self._wake.set()
        if self._finished is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), grace_seconds)

    async def measure(self) -> tuple[int, float]:
        """Read the outbox's lag (pending events) and the oldest one's age in seconds, and set the gauges."""
        async with self._readers() as session:
            pending, oldest = await pending_summary(session)
        age = max((self._clock() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        if self._metrics is not None:
            self._metrics.pending(pending)
            self._metrics.oldest_age(age)
        self._measured_at = time.monotonic()
        return pending, age

    async def _measure_if_due(self) -> None:
        if self._metrics is not None and time.monotonic() - self._measured_at >= self._policy.poll_seconds:
            await self.measure()

    # -- one round -------------------------------------------------------------------------------------------
    async def _round(self) -> tuple[int, int]:
        outcome = _Outcome()
        async with self._session_factory() as session:
            if session.get_bind().dialect.name != "sqlite":  # row locks: claim, send and settle in one transaction
                async with session.begin():
                    claimed = await self._claim(session)
                    if claimed:
                        outcome = await self._send(claimed)
                        await self._settle(session, outcome)
                self._count(outcome)
                return len(claimed), len(outcome.sent)
        async with self._readers() as reader, reader.begin():
            claimed = await self._claim(reader)
        if claimed:
            outcome = await self._send(claimed)
            async with self._session_factory() as session, session.begin():
                await self._settle(session, outcome)
        self._count(outcome)
        return len(claimed), len(outcome.sent)

    async def _claim(self, session: AsyncSession) -> list[_Row]:
        claimed = await claim_due(session, self._clock(), self._policy.batch_size)
        if not claimed:
            return []
        first_elsewhere = await first_unclaimed_positions(session, claimed)
        return [row for row in claimed if row.position < first_elsewhere.get(row.aggregate_id, row.position + 1)]

    async def _send(self, rows: Sequence[_Row]) -> _Outcome:
        outcome = _Outcome()
        readable: list[tuple[_Row, BaseCloudEvent]] = []
        for row in rows:
            try:
                readable.append((row, read_envelope(str(row.envelope))))
            except Exception as unreadable:  # a corrupt envelope never becomes sendable: no point retrying
                outcome.poison.append((row, _describe(unreadable)))
        if not readable:
            return outcome
        try:
            await self._sink.send([event for _, event in readable])
        except Exception as refused:
            if len(readable) == 1:
                outcome.failed.append((readable[0][0], _describe(refused)))
                return outcome
        else:
            outcome.sent.extend(int(row.position) for row, _ in readable)
            return outcome
        await self._send_one_by_one(readable, outcome)
        return outcome

    async def _send_one_by_one(self, readable: Sequence[tuple[_Row, BaseCloudEvent]], outcome: _Outcome) -> None:
        """Find the rows the broker refuses; a refused row holds back the later rows of its aggregate."""
        held: set[str] = set()
        for row, event in readable:
            aggregate = str(row.aggregate_id)
            if aggregate in held:
                continue
            try:
                await self._sink.send([event])
            except Exception as refused:
                outcome.failed.append((row, _describe(refused)))
                if aggregate:
                    held.add(aggregate)
            else:
                outcome.sent.append(int(row.position))

    async def _settle(self, session: AsyncSession, outcome: _Outcome) -> None:
        now = self._clock()
        await delete_sent(session, outcome.sent)
        retried: list[tuple[int, int, str, datetime]] = []
        for row, error in outcome.failed:
            attempts = int(row.attempts) + 1
            if attempts >= self._policy.max_attempts:
                outcome.poison.append((row, error))
                continue
            delay = timedelta(seconds=self._policy.backoff_seconds(attempts, self._rng))
            retried.append((int(row.position), attempts, error, now + delay))
            _logger.warning(
                "outbox event send failed; retrying later",
                extra={"event_id": row.event_id, "event_type": row.event_type, "attempts": attempts},
            )
        await postpone(session, retried)
        for row, error in outcome.poison:
            _logger.error(
                "outbox event dead-lettered",
                extra={"event_id": row.event_id, "event_type": row.event_type, "error": error},
            )
        await bury(session, [(int(row.position), error) for row, error in outcome.poison], now)

    def _count(self, outcome: _Outcome) -> None:
        if self._metrics is None:
            return
        if outcome.sent:
            self._metrics.published(len(outcome.sent))
        failures = len(outcome.failed)
        if failures:
            self._metrics.failed(failures)
        if outcome.poison:
            self._metrics.dead_lettered(len(outcome.poison))


def _readers(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Read-only sessions on the same engine (``read_only.py``); a factory not bound to one engine reads as is."""
    bound = isinstance(getattr(sessions, "kw", {}).get("bind"), AsyncEngine)  # any callable making sessions serves
    return read_only_session_factory(sessions) if bound else sessions


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR_LENGTH]
