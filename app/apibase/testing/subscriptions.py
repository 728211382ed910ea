"""The subscription dispatcher's contract, run on SQLite and on PostgreSQL, and helpers to build test events.

``DispatcherContract`` holds the behaviour every database must give the inbox: a redelivered event is a no-op, a
``RETRY`` leaves nothing behind (the handler's effect and the inbox row roll back together), poison is
``DROP``, each subscription runs for the event's tenant, inside its trace, on the unit it is bound to.
Subclasses provide the ``harness`` fixture (a session factory over a database holding ``InboxRow`` and
``ReceivedRow``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from opentelemetry import trace
from pydantic import BaseModel
from sqlalchemy import MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.application.subscriptions import Delivery, DropEvent, Subscription
from apibase.core.context import current_correlation_id, current_tenant
from apibase.infrastructure.events.dispatcher import SubscriptionDispatcher, UnknownSubscription
from apibase.infrastructure.messaging.cloud_events import CORRELATION_ATTRIBUTE, TENANT_ATTRIBUTE
from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.persistence.events.tables import InboxRow
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork

__all__ = [
    "DispatcherContract",
    "DispatcherHarness",
    "ReceivedRow",
    "Recorder",
    "create_dispatcher_tables",
    "make_event",
    "received_metadata",
]

TYPE = "apibase.ContractPinged"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class _ReceivedBase(DeclarativeBase):
    metadata = MetaData()


received_metadata = _ReceivedBase.metadata


class ReceivedRow(_ReceivedBase):
    """A handler's effect: one row per (subscription, event) it handled, with the tenant it ran for."""

    __tablename__ = "contract_received"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    subscription: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str | None] = mapped_column(String(63), nullable=True)


async def create_dispatcher_tables(connection: AsyncConnection) -> None:
    await connection.run_sync(cast("Table", InboxRow.__table__).create)
    await connection.run_sync(received_metadata.create_all)


def make_event(
    data: dict[str, object] | None = None, /, *, event_type: str = TYPE, event_id: str | None = None, **extensions: str
) -> CloudEvent:
    """A CloudEvent as a producer sends it; ``extensions``: ``tenantid``, ``traceparent``, ``correlationid``..."""
    attributes: dict[str, object] = {
        "id": event_id or str(uuid.uuid4()),
        "source": "/contract",
        "type": event_type,
        "datacontenttype": "application/json",
        **extensions,
    }
    return CloudEvent(attributes, data if data is not None else {"widget": "w-1"})


@dataclass
class DispatcherHarness:
    session_factory: async_sessionmaker[AsyncSession]

    def unit_of_work(self) -> UnitOfWork:
        return SQLAlchemyUnitOfWork(self.session_factory)

    async def received(self, subscription: str | None = None) -> list[ReceivedRow]:
        async with self.session_factory() as session:
            query = select(ReceivedRow)
            if subscription is not None:
                query = query.where(ReceivedRow.subscription == subscription)
            return list((await session.scalars(query)).all())

    async def inbox_size(self) -> int:
        async with self.session_factory() as session:
            return int(await session.scalar(select(func.count()).select_from(InboxRow)) or 0)


class _Payload(BaseModel):
    widget: str


@dataclass
class Recorder:
    """A handler that writes its effect through the bound unit, then fails as told (and counts its runs)."""

    name: str
    failures: list[BaseException] = field(default_factory=list)
    runs: int = 0
    seen: list[tuple[str | None, str | None, int]] = field(default_factory=list)

    async def __call__(self, event: BaseCloudEvent) -> None:
        self.runs += 1
        _Payload.model_validate(event.get_data())
        span = trace.get_current_span().get_span_context()
        self.seen.append((current_tenant(), current_correlation_id(), span.trace_id))
        session = require_sql_unit_of_work(current_unit_of_work()).session
        session.add(ReceivedRow(subscription=self.name, event_id=event.get_id(), tenant=current_tenant()))
        await session.flush()
        if self.failures:
            raise self.failures.pop(0)

    def subscription(self, event_type: str = TYPE) -> Subscription:
        return Subscription(self.name, event_type, self)


type Deliver = Callable[..., Awaitable[Delivery]]


class DispatcherContract:
    """What the inbox promises on every database; subclasses provide the ``harness`` fixture."""

    @pytest.fixture
    def metrics(self) -> Metrics:
        return Metrics()

    def dispatcher(self, harness: DispatcherHarness, *recorders: Recorder, **kwargs: object) -> SubscriptionDispatcher:
        dispatcher = SubscriptionDispatcher(harness.unit_of_work, **kwargs)  # type: ignore[arg-type]
        dispatcher.subscribe(recorder.subscription() for recorder in recorders)
        return dispatcher

    async def test_a_redelivered_event_is_handled_once(self, harness: DispatcherHarness, metrics: Metrics) -> None:
        recorder = Recorder("contract.once")
        dispatcher = self.dispatcher(harness, recorder, metrics=metrics)
        event = make_event()

        assert await dispatcher.deliver(event) is Delivery.SUCCESS
        assert await dispatcher.deliver(event) is Delivery.SUCCESS

        assert recorder.runs == 1
        assert [row.event_id for row in await harness.received()] == [event.get_id()]
        assert await harness.inbox_size() == 1
        labels = {"subscription": "contract.once"}
        assert metrics.registry.get_sample_value("subscription_events_delivered_total", labels) == 1
        assert metrics.registry.get_sample_value("subscription_events_duplicate_total", labels) == 1

    async def test_retry_rolls_back_the_effect_and_the_inbox_row(
        self, harness: DispatcherHarness, metrics: Metrics
    ) -> None:
        recorder = Recorder("contract.retry", failures=[RuntimeError("the database of a neighbour is down")])
        dispatcher = self.dispatcher(harness, recorder, metrics=metrics)
        event = make_event()

        assert await dispatcher.deliver(event) is Delivery.RETRY
        assert await harness.received() == []
        assert await harness.inbox_size() == 0

        assert await dispatcher.deliver(event) is Delivery.SUCCESS
        assert recorder.runs == 2
        assert len(await harness.received()) == 1
        labels = {"subscription": "contract.retry"}
        assert metrics.registry.get_sample_value("subscription_events_retried_total", labels) == 1

    async def test_poison_is_dropped_and_nothing_is_kept(self, harness: DispatcherHarness, metrics: Metrics) -> None:
        dropping = Recorder("contract.drop", failures=[DropEvent("no such widget, ever")])
        dispatcher = self.dispatcher(harness, dropping, metrics=metrics)

        assert await dispatcher.deliver(make_event()) is Delivery.DROP
        assert await dispatcher.deliver(make_event({"gadget": 1})) is Delivery.DROP  # fails validation
        assert await dispatcher.deliver(make_event(**{TENANT_ATTRIBUTE: "Not A Tenant"})) is Delivery.DROP
        assert await dispatcher.deliver(make_event(event_id="x" * 201)) is Delivery.DROP

        assert await harness.received() == []
        assert await harness.inbox_size() == 0
        labels = {"subscription": "contract.drop"}
        assert metrics.registry.get_sample_value("subscription_events_dropped_total", labels) == 4

    async def test_the_handler_runs_for_the_events_tenant_inside_its_trace(self, harness: DispatcherHarness) -> None:
        recorder = Recorder("contract.context")
        dispatcher = self.dispatcher(harness, recorder)
        traced = make_event(
            **{
                TENANT_ATTRIBUTE: "acme",
                CORRELATION_ATTRIBUTE: "flow-1",
                "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
            }
        )

        with tenant_scope("someone-else"):  # the HTTP route's request tenant must not leak into the handler
            assert await dispatcher.deliver(traced) is Delivery.SUCCESS
            assert await dispatcher.deliver(make_event()) is Delivery.SUCCESS
            assert current_tenant() == "someone-else"

        assert recorder.seen == [("acme", "flow-1", int(TRACE_ID, 16)), (None, None, 0)]
        assert sorted((row.tenant or "") for row in await harness.received()) == ["", "acme"]

    async def test_several_subscriptions_to_one_type(self, harness: DispatcherHarness) -> None:
        steady = Recorder("contract.steady")
        flaky = Recorder("contract.flaky", failures=[RuntimeError("once")])
        other = Recorder("contract.other")
        dispatcher = SubscriptionDispatcher(harness.unit_of_work)
        dispatcher.subscribe([steady.subscription(), flaky.subscription(), other.subscription("apibase.Other")])
        event = make_event()

        assert await dispatcher.deliver(event) is Delivery.RETRY
        assert await dispatcher.deliver(event) is Delivery.SUCCESS

        assert (steady.runs, flaky.runs, other.runs) == (1, 2, 0)
        assert sorted(row.subscription for row in await harness.received()) == ["contract.flaky", "contract.steady"]

        dropping = Recorder("contract.dropping", failures=[DropEvent("poison for this one")])
        dispatcher.subscribe([dropping.subscription()])
        assert await dispatcher.deliver(make_event()) is Delivery.DROP

    async def test_a_delivery_can_name_its_subscription(self, harness: DispatcherHarness) -> None:
        first, second = Recorder("contract.first"), Recorder("contract.second")
        dispatcher = self.dispatcher(harness, first, second)

        assert await dispatcher.deliver(make_event(), subscription="contract.second") is Delivery.SUCCESS
        assert (first.runs, second.runs) == (0, 1)
        other_type = make_event(event_type="apibase.Other")
        assert await dispatcher.deliver(other_type, subscription="contract.first") is Delivery.SUCCESS
        assert first.runs == 0
        with pytest.raises(UnknownSubscription):
            await dispatcher.deliver(make_event(), subscription="contract.nobody")

    async def test_before_commit_runs_in_the_handlers_transaction(self, harness: DispatcherHarness) -> None:
        async def also_write(unit: UnitOfWork) -> None:
            session = require_sql_unit_of_work(unit).session
            session.add(ReceivedRow(subscription="before-commit", event_id="-", tenant=None))

        recorder = Recorder("contract.hook", failures=[RuntimeError("not this time")])
        dispatcher = self.dispatcher(harness, recorder, before_commit=also_write)

        assert await dispatcher.deliver(make_event()) is Delivery.RETRY
        assert await harness.received("before-commit") == []
        assert await dispatcher.deliver(make_event()) is Delivery.SUCCESS
        assert len(await harness.received("before-commit")) == 1

    def test_two_subscriptions_with_one_name_are_refused(self, harness: DispatcherHarness) -> None:
        dispatcher = self.dispatcher(harness, Recorder("contract.same"))
        with pytest.raises(ValueError, match=r"contract\.same"):
            dispatcher.subscribe([Recorder("contract.same").subscription("apibase.Other")])
