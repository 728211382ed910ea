"""The stand-in's delivery loop: what daprd does for a subscribing app, against the app's real HTTP routes.

It reads ``GET /dapr/subscribe``, joins a consumer group (the app id) on each announced topic's stream and POSTs
every event there as ``application/cloudevents+json`` to the route its type selects, with ``dapr-api-token``
when the app expects one (on ``/dapr/subscribe`` too). The answer decides, as Dapr documents it: 2xx with
``{"status": "SUCCESS"}`` (or an empty body) is delivered; ``RETRY``, any other status code, an unknown status or
no answer is retried (up to ``max_attempts``, ``retry_delay_seconds`` apart: a fixed stand-in for daprd's
resiliency policy); ``DROP`` and 404 drop the event. A dropped event, or one still failing after its last
attempt, goes to the subscription's dead-letter topic when it has one. Every outcome is recorded in ``DeliveryLog``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx

from apibase.testing.dapr_sidecar.pubsub import CLOUD_EVENTS_JSON, RedisTopics
from apibase.testing.dapr_sidecar.subscriptions import AppSubscription, parse_subscriptions

__all__ = ["Deliverer", "DeliveryLog", "DeliveryRecord"]

_STATUSES: Final = frozenset({"SUCCESS", "RETRY", "DROP"})


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One event's delivery to one subscription: the final status (``UNROUTED``: no route took it)."""

    topic: str
    event_id: str
    event_type: str
    path: str | None
    status: str
    attempts: int
    dead_lettered_to: str | None = None


@dataclass
class DeliveryLog:
    """Every finished delivery, in order; tests await what they expect instead of sleeping."""

    records: list[DeliveryRecord] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, record: DeliveryRecord) -> None:
        async with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[DeliveryRecord]], bool]) -> list[DeliveryRecord]:
        """Once ``predicate(records)`` holds (bound it with ``asyncio.timeout`` in the test)."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self.records))
        return self.records


class Deliverer:
    """Delivers the topics ``app`` subscribes to; ``run`` until cancelled."""

    def __init__(
        self,
        app: httpx.AsyncClient,
        topics: RedisTopics,
        log: DeliveryLog,
        *,
        app_id: str,
        pubsubs: frozenset[str],
        app_api_token: str | None = None,
        max_attempts: int = 3,
        retry_delay_seconds: float = 0.05,
    ) -> None:
        self._app = app
        self._topics = topics
        self._log = log
        self._group = app_id
        self._pubsubs = pubsubs
        self._token = app_api_token
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay_seconds

    async def subscriptions(self) -> list[AppSubscription]:
        """The app's subscriptions to this stand-in's pubsubs (daprd ignores those of components it lacks)."""
        answer = await self._app.get("/dapr/subscribe", headers=self._headers())
        answer.raise_for_status()
        return [sub for sub in parse_subscriptions(answer.json()) if sub.pubsub in self._pubsubs]

    async def run(self) -> None:
        subscriptions = await self.subscriptions()
        for subscription in subscriptions:
            await self._topics.join(subscription.pubsub, subscription.topic, self._group)
        async with asyncio.TaskGroup() as tasks:
            for subscription in subscriptions:
                tasks.create_task(self._consume(subscription))

    async def _consume(self, subscription: AppSubscription) -> None:
        while True:
            entries = await self._topics.read(subscription.pubsub, subscription.topic, self._group, block_ms=100)
            for entry_id, event in entries:
                record = await self._deliver(subscription, event)
                await self._log.add(record)  # before the dead letter's own delivery can be recorded
                if record.dead_lettered_to is not None:
                    dead_letter = {**event, "topic": record.dead_lettered_to}
                    await self._topics.publish(subscription.pubsub, record.dead_lettered_to, dead_letter)
                await self._topics.ack(subscription.pubsub, subscription.topic, self._group, entry_id)

    async def _deliver(self, subscription: AppSubscription, event: dict[str, object]) -> DeliveryRecord:
        event_type = str(event.get("type", ""))
        path = subscription.path_for(event_type)
        record = DeliveryRecord(subscription.topic, str(event.get("id", "")), event_type, path, "UNROUTED", 0)
        if path is None:
            return record
        status, attempts = "RETRY", 0
        while status == "RETRY" and attempts < self._max_attempts:
            if attempts:
                await asyncio.sleep(self._retry_delay)  # daprd's retry interval, not a test waiting
            attempts += 1
            status = await self._post(path, event)
        dead_letter = subscription.dead_letter_topic if status != "SUCCESS" else None
        return DeliveryRecord(record.topic, record.event_id, event_type, path, status, attempts, dead_letter)

    def _headers(self) -> dict[str, str]:
        """daprd sends the app's token (``APP_API_TOKEN``) on every call to the app, this one included."""
        return {"dapr-api-token": self._token} if self._token is not None else {}

    async def _post(self, path: str, event: dict[str, object]) -> str:
        headers = {"content-type": CLOUD_EVENTS_JSON, **self._headers()}
        if isinstance(traceparent := event.get("traceparent"), str):
            headers["traceparent"] = traceparent
        try:
            answer = await self._app.post(path, content=json.dumps(event), headers=headers)
        except httpx.HTTPError:
            return "RETRY"
        if answer.status_code == 404:
            return "DROP"
        if not answer.is_success:
            return "RETRY"
        if not answer.content.strip():
            return "SUCCESS"
        try:
            status = answer.json().get("status", "SUCCESS")
        except (ValueError, AttributeError):
            return "SUCCESS"
        status = str(status).upper() if status else "SUCCESS"
        return status if status in _STATUSES else "RETRY"
