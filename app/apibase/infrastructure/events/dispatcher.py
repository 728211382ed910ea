"""The delivery side of events: every arriving CloudEvent runs the subscriptions to its type, once each.

Each subscription runs in a unit of work of its own (``kernel.unit_of_work()``, bound with
``bind_unit_of_work`` so the handler reaches it through ``current_unit_of_work()``), for the event's tenant
(``tenantid``), inside the producer's trace and correlation id. The inbox row (subscription, event id) is
inserted first, in that same transaction: a duplicate key means the event was handled before and the handler
is skipped (a redelivery is a no-op); otherwise the handler's effect and the inbox row commit together.

Outcomes follow Dapr's contract: the handler returning is ``SUCCESS``; ``DropEvent``, a payload that fails
validation (pydantic ``ValidationError``), an id longer than the inbox keys (200) or a ``tenantid`` that is no
tenant id is ``DROP`` (the broker dead-letters it); any other exception is ``RETRY`` (rolled back, the inbox row
too). When several subscriptions share the type, the event is ``RETRY`` if one asked to retry (those that
succeeded are skipped on redelivery), else ``DROP`` if one dropped it.

Metrics (by subscription): ``subscription_events_delivered_total``, ``subscription_events_retried_total``,
``subscription_events_dropped_total`` and ``subscription_events_duplicate_total`` (redeliveries absorbed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Final

from cloudevents.core.base import BaseCloudEvent
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from apibase.application.cqrs.unit_of_work import bind_unit_of_work
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.application.subscriptions import Delivery, DropEvent, Subscription
from apibase.core.context import tenant
from apibase.core.principal import is_valid_tenant_id
from apibase.infrastructure.messaging.cloud_events import continue_trace, tenant_of
from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.persistence.events.tables import InboxRow
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work
from apibase.infrastructure.persistence.tenancy import tenant_scope

__all__ = ["BeforeCommit", "SubscriptionDispatcher", "UnknownSubscription", "combined"]

_logger = logging.getLogger(__name__)
#: The inbox's ``event_id`` column holds this many characters.
_MAX_EVENT_ID: Final = 200

#: Runs in the handler's unit just before its commit (the kernel stores the events its aggregates raised in the
#: outbox there, so they leave with the effect).
type BeforeCommit = Callable[[UnitOfWork], Awaitable[None]]


class UnknownSubscription(LookupError):  # noqa: N818 - reads as the condition it reports
    """A delivery named a subscription no module declared (a route from an older deployment)."""


def combined(outcomes: Iterable[Delivery]) -> Delivery:
    """One answer for several subscriptions: retry wins (redelivery skips the handled ones), then drop."""
    seen = set(outcomes)
    if Delivery.RETRY in seen:
        return Delivery.RETRY
    return Delivery.DROP if Delivery.DROP in seen else Delivery.SUCCESS


class _Counters:
    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry

        def counter(name: str, text: str) -> Counter:
            return Counter(name, text, ["subscription"], registry=registry)

        self.by_outcome = {
            Delivery.SUCCESS: counter("subscription_events_delivered", "Events a subscription handled"),
            Delivery.RETRY: counter("subscription_events_retried", "Deliveries a subscription asked to retry"),
            Delivery.DROP: counter("subscription_events_dropped", "Events a subscription dropped (dead-lettered)"),
        }
        self.duplicate = counter("subscription_events_duplicate", "Redeliveries the inbox absorbed")


class SubscriptionDispatcher:
    """``EventDispatcher`` over SQL units of work: the inbox row commits with the handler's effect."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        metrics: Metrics | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> None:
        """``metrics``: where the counters go (``None``: counted nowhere, for tests that build several)."""
        self._unit_of_work = unit_of_work
        self._before_commit = before_commit
        self._by_name: dict[str, Subscription] = {}
        self._counters = _Counters(metrics) if metrics is not None else None

    def subscribe(self, subscriptions: Iterable[Subscription]) -> None:
        """Add a module's subscriptions; a name already taken is a wiring mistake, refused at start-up."""
        for subscription in subscriptions:
            if subscription.name in self._by_name:
                raise ValueError(f"two subscriptions are named {subscription.name!r}: names key the inbox")
            self._by_name[subscription.name] = subscription

    def subscriptions(self) -> Sequence[Subscription]:
        return tuple(self._by_name.values())

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        if subscription is not None:
            chosen = self._by_name.get(subscription)
            if chosen is None:
                raise UnknownSubscription(f"no subscription is named {subscription!r}")
            if chosen.event_type != event.get_type():
                _logger.warning(
                    "event %s (%s) delivered to %s, which handles %s; ignored",
                    event.get_id(),
                    event.get_type(),
                    subscription,
                    chosen.event_type,
                    extra=_fields(chosen, event),
                )
                return Delivery.SUCCESS
            targets: Sequence[Subscription] = (chosen,)
        else:
            targets = [each for each in self._by_name.values() if each.event_type == event.get_type()]
        return combined([await self._run(each, event) for each in targets])

    async def _run(self, subscription: Subscription, event: BaseCloudEvent) -> Delivery:
        try:
            with _event_scope(event), continue_trace(event):  # the log lines below carry both
                return await self._attempt(subscription, event)
        except _Unhandleable as invalid:
            _logger.error(  # noqa: TRY400 - the message says it all; no traceback helps here
                "event %s (%s) dropped for %s: %s",
                event.get_id(),
                event.get_type(),
                subscription.name,
                invalid,
                extra=_fields(subscription, event),
            )
            return self._count(subscription, Delivery.DROP)

    async def _attempt(self, subscription: Subscription, event: BaseCloudEvent) -> Delivery:
        started = time.perf_counter()
        what = (event.get_id(), event.get_type(), subscription.name)
        fields = _fields(subscription, event)
        try:
            handled = await self._handle_once(subscription, event)
        except (DropEvent, ValidationError):
            _logger.exception("event %s (%s) dropped by %s: it can never be handled", *what, extra=fields)
            return self._count(subscription, Delivery.DROP)
        except Exception as failure:
            _logger.warning("event %s (%s) failed in %s; to be redelivered", *what, extra=fields, exc_info=failure)
            return self._count(subscription, Delivery.RETRY)
        if not handled:
            _logger.info("event %s (%s) already handled by %s; redelivery skipped", *what, extra=fields)
            if self._counters is not None:
                self._counters.duplicate.labels(subscription.name).inc()
            return Delivery.SUCCESS
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        _logger.info("event %s (%s) handled by %s in %.2f ms", *what, elapsed, extra={**fields, "duration_ms": elapsed})
        return self._count(subscription, Delivery.SUCCESS)

    async def _handle_once(self, subscription: Subscription, event: BaseCloudEvent) -> bool:
        """Run the handler with the inbox row in one transaction; ``False``: the row existed, nothing ran."""
        async with self._unit_of_work() as unit:
            session = require_sql_unit_of_work(unit).session
            session.add(InboxRow(subscription=subscription.name, event_id=event.get_id(), handled_at=datetime.now(UTC)))
            try:
                await session.flush()  # on PostgreSQL, waits for a concurrent delivery of the same event to end
            except IntegrityError:
                return False  # leaving the unit rolls the failed insert back
            with bind_unit_of_work(unit):
                await subscription.handler(event)
            if self._before_commit is not None:
                await self._before_commit(unit)
            await unit.commit()
        return True

    def _count(self, subscription: Subscription, outcome: Delivery) -> Delivery:
        if self._counters is not None:
            self._counters.by_outcome[outcome].labels(subscription.name).inc()
        return outcome


def _fields(subscription: Subscription, event: BaseCloudEvent) -> dict[str, str]:
    return {"subscription": subscription.name, "event_id": event.get_id(), "event_type": event.get_type()}


class _Unhandleable(ValueError):  # noqa: N818 - reads as the condition it reports
    """An id the inbox cannot key, or a ``tenantid`` that is no tenant id: no redelivery will change that."""


@contextmanager
def _event_scope(event: BaseCloudEvent) -> Iterator[None]:
    """The event's tenant, or none at all (a request's tenant, the HTTP route's default, never leaks in); refuses
    an event the inbox cannot key."""
    if len(event.get_id()) > _MAX_EVENT_ID:
        raise _Unhandleable(f"the event's id is longer than the inbox keeps ({_MAX_EVENT_ID} characters)")
    tenant_id = tenant_of(event)
    if tenant_id is not None:
        if not is_valid_tenant_id(tenant_id):
            raise _Unhandleable(f"the event's tenantid {tenant_id!r} is not a tenant id")
        with tenant_scope(tenant_id):
            yield
        return
    token = tenant.set(None)
    try:
        yield
    finally:
        tenant.reset(token)
