"""The events kernel module: a committed command's event goes outbox → relay (a background task woken by the
commit) → the in-process transport → a subscription, and the relay stops with the app."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cloudevents.core.base import BaseCloudEvent
from fastapi import FastAPI
from sqlalchemy import func, select

from apibase.application.cqrs.messages import BaseCommand
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.subscriptions import Subscription
from apibase.core.result import Ok, Result
from apibase.core.settings import EventsSettings
from apibase.domain.entities import AggregateRoot
from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.messaging import cloud_event_type
from apibase.infrastructure.persistence.events.tables import OutboxEventRow
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import Features, Migrations
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit


class RingBell(BaseCommand[None]):
    bell: str


class BellRang(DomainEvent):
    pass


class BellEchoed(DomainEvent):
    pass


class Bell(AggregateRoot[str]):
    pass


@dataclass
class Belfry:
    """Rings bells (a command that raises ``BellRang``) and hears them through a subscription."""

    name: str = "belfry"
    migrations: Migrations | None = None
    heard: list[BaseCloudEvent] = field(default_factory=list)
    rang: asyncio.Event = field(default_factory=asyncio.Event)
    echo: bool = False
    echoes: list[BaseCloudEvent] = field(default_factory=list)
    echoed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        @kernel.commands.handler
        async def ring(command: RingBell) -> Result[None, Exception]:
            bell = Bell(id=command.bell)
            bell.record_event(BellRang(aggregate_id=command.bell))
            require_sql_unit_of_work(current_unit_of_work()).track(bell)
            return Ok(None)

        async def hear(event: BaseCloudEvent) -> None:
            self.heard.append(event)
            self.rang.set()
            if self.echo:  # a handler's own changes raise events too: they leave through the outbox
                bell = Bell(id=str(event.get_subject()))
                bell.record_event(BellEchoed(aggregate_id=bell.id))
                require_sql_unit_of_work(current_unit_of_work()).track(bell)

        async def hear_echo(event: BaseCloudEvent) -> None:
            self.echoes.append(event)
            self.echoed.set()

        return Features(
            subscriptions=[
                Subscription("belfry.bell-rang", cloud_event_type(BellRang), hear),
                Subscription("belfry.bell-echoed", cloud_event_type(BellEchoed), hear_echo),
            ]
        )


def app_with(belfry: Belfry, tmp_path: Path, **events: object) -> FastAPI:
    settings = service_settings(tmp_path / "service.db", events=EventsSettings(**events))  # type: ignore[arg-type]
    return create_app(settings, modules=[belfry])


async def pending(kernel: Kernel) -> int:
    async with kernel.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxEventRow)) or 0)


async def test_a_commit_wakes_the_relay_and_the_subscription_hears_the_event(tmp_path: Path) -> None:
    belfry = Belfry()
    app = app_with(belfry, tmp_path, relay_poll_seconds=300)  # only the commit can wake it in time
    kernel: Kernel = app.state.kernel
    async with app.router.lifespan_context(app):
        assert "outbox-relay" in kernel.supervisor.running
        assert await kernel.commands.dispatch(RingBell(bell="tenor")) == Ok(None)
        await asyncio.wait_for(belfry.rang.wait(), 10)
    # Stopping let the relay's round settle: the delivered event left the outbox.
    assert "outbox-relay" not in kernel.supervisor.running
    assert await pending(kernel) == 0
    assert [event.get_subject() for event in belfry.heard] == ["tenor"]


async def test_events_a_subscription_handler_raises_leave_through_the_outbox(tmp_path: Path) -> None:
    belfry = Belfry(echo=True)
    app = app_with(belfry, tmp_path, relay_poll_seconds=0.05)
    kernel: Kernel = app.state.kernel
    async with app.router.lifespan_context(app):
        await kernel.commands.dispatch(RingBell(bell="bourdon"))
        await asyncio.wait_for(belfry.echoed.wait(), 10)
    assert [event.get_subject() for event in belfry.echoes] == ["bourdon"]
    assert await pending(kernel) == 0


async def test_with_the_relay_off_events_wait_in_the_outbox(tmp_path: Path) -> None:
    belfry = Belfry()
    app = app_with(belfry, tmp_path, relay_enabled=False)
    kernel: Kernel = app.state.kernel
    async with app.router.lifespan_context(app):
        assert "outbox-relay" not in kernel.supervisor.running
        await kernel.commands.dispatch(RingBell(bell="treble"))
        assert await pending(kernel) == 1
    assert belfry.heard == []
