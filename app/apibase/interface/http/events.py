"""Where brokers deliver events over HTTP: the Dapr sidecar's subscription routes and the Knative Trigger's.

- ``GET /dapr/subscribe``: Dapr's programmatic subscriptions. One entry per topic (Dapr takes one subscription
  per pubsub and topic), ``pubsubname`` = ``settings.dapr.pubsub``, routing rules by type
  (``"match": "event.type == \\"apibase.OrderPlaced\\""``) to the route of the one subscription to that type
  (``/events/dapr/<subscription>``), or to ``/events/dapr`` when several share it; ``deadLetterTopic``
  ``<topic>.dead-letter``. Types no rule matches are not delivered to the app at all.
- ``POST /events/dapr/{subscription}`` and ``POST /events/dapr``: answer ``200 {"status": "SUCCESS|RETRY|DROP"}``,
  which daprd reads. An unknown subscription is a 404 problem (daprd drops the event), a malformed CloudEvent
  a 400 problem (daprd retries it under its resiliency policy, then dead-letters it).
- ``POST /events``: the Knative Broker's Trigger target, every subscription to the event's type. Knative reads
  the status code only: ``200 {"status": "SUCCESS"}``; ``RETRY`` is a 503 problem with ``Retry-After`` (retried
  with back-off); ``DROP`` is a 422 problem (``events.event_dropped``): Knative does not retry a 422 and hands the
  event to the Trigger's ``deadLetterSink``, as Dapr hands a dropped event to its dead-letter topic.

Both content modes are read with the cloudevents SDK's HTTP binding: structured (``application/cloudevents+json``
body) and binary (attributes in ``ce-*`` headers, the data in the body with its ``Content-Type``).

These routes are called by the sidecar or the broker, never by users: when ``settings.dapr.app_api_token`` is set,
each needs the ``dapr-api-token`` header daprd sends (``APP_API_TOKEN``); a missing or wrong one is a 401 problem.
The middleware stack lets them through as a delivery needs (``DELIVERY_PATH_PREFIXES``): no rate limit (the
broker paces itself, and a 429 would only be retried), no idempotency replay (the inbox deduplicates, and a
replayed ``RETRY`` would lie), no NUL refusal (the payload belongs to the handler); the JSON-only check covers
``/api/`` paths only.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from typing import ClassVar, Final

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_binary, from_structured
from cloudevents.core.formats.json import JSONFormat
from fastapi import APIRouter, Depends
from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse

from apibase.application.ports.messaging import EventDispatcher
from apibase.application.subscriptions import Delivery, Subscription
from apibase.core.error_codes import error_codes
from apibase.core.errors import (
    BadRequestError,
    DependencyUnavailable,
    DomainError,
    NotFoundError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from apibase.core.settings import Settings

__all__ = [
    "APP_TOKEN_HEADER",
    "DAPR_DELIVERY_PATH",
    "DAPR_SUBSCRIBE_PATH",
    "DELIVERY_PATH_PREFIXES",
    "KNATIVE_PATH",
    "EventDropped",
    "EventsErrorCode",
    "dapr_subscriptions",
    "event_routes",
]

DAPR_SUBSCRIBE_PATH: Final = "/dapr/subscribe"
DAPR_DELIVERY_PATH: Final = "/events/dapr"
KNATIVE_PATH: Final = "/events"
#: Every path a broker calls; the middleware stack exempts them from rate limits, idempotency and the NUL check.
DELIVERY_PATH_PREFIXES: Final = (KNATIVE_PATH, "/dapr/")
APP_TOKEN_HEADER: Final = "dapr-api-token"  # noqa: S105 - a header name, not a secret
#: Seconds a Knative broker is asked to wait before it redelivers an event a subscription asked to retry.
RETRY_AFTER_SECONDS: Final = 1
_STRUCTURED: Final = "application/cloudevents+json"
_REQUIRED: Final = ("id", "source", "type", "specversion")
_FORMAT: Final = JSONFormat()


@error_codes("events")
class EventsErrorCode(StrEnum):
    MALFORMED_EVENT = "events.malformed_event"
    UNSUPPORTED_CONTENT_MODE = "events.unsupported_content_mode"
    UNKNOWN_SUBSCRIPTION = "events.unknown_subscription"
    INVALID_APP_TOKEN = "events.invalid_app_token"  # noqa: S105 - a code, not a secret
    EVENT_DROPPED = "events.event_dropped"
    RETRY_LATER = "events.retry_later"


class EventDropped(DomainError[StrEnum]):
    """A subscription refused the event for good (poison): the broker dead-letters it, never retries."""

    title: ClassVar[str] = "Event dropped"
    default_code: ClassVar[StrEnum] = EventsErrorCode.EVENT_DROPPED


def dapr_subscriptions(
    subscriptions: Iterable[Subscription], *, pubsub: str, default_topic: str
) -> list[dict[str, JsonValue]]:
    """The ``GET /dapr/subscribe`` body: per topic, a routing rule per event type, and its dead-letter topic."""
    by_topic: dict[str, dict[str, list[str]]] = {}
    for subscription in subscriptions:
        types = by_topic.setdefault(subscription.topic or default_topic, {})
        types.setdefault(subscription.event_type, []).append(subscription.name)
    announced: list[dict[str, JsonValue]] = []
    for topic, types in by_topic.items():
        rules: list[JsonValue] = [
            {"match": f"event.type == {json.dumps(event_type)}", "path": _dapr_path(names)}
            for event_type, names in types.items()
        ]
        announced.append(
            {
                "pubsubname": pubsub,
                "topic": topic,
                "routes": {"rules": rules},
                "deadLetterTopic": f"{topic}.dead-letter",
            }
        )
    return announced


def _dapr_path(names: Sequence[str]) -> str:
    return f"{DAPR_DELIVERY_PATH}/{names[0]}" if len(names) == 1 else DAPR_DELIVERY_PATH


def event_routes(dispatcher: EventDispatcher, settings: Settings) -> APIRouter:
    """The delivery routes over ``dispatcher``; mounted at the root by the ``events`` kernel module."""
    router = APIRouter(dependencies=[Depends(_token_check(settings))], include_in_schema=False)

    @router.get(DAPR_SUBSCRIBE_PATH)
    async def dapr_subscribe() -> list[dict[str, JsonValue]]:
        return dapr_subscriptions(
            dispatcher.subscriptions(), pubsub=settings.dapr.pubsub, default_topic=settings.events_topic
        )

    @router.post(f"{DAPR_DELIVERY_PATH}/{{subscription}}")
    async def dapr_deliver_one(subscription: str, request: Request) -> JSONResponse:
        if subscription not in {each.name for each in dispatcher.subscriptions()}:
            raise NotFoundError(f"no subscription is named {subscription!r}", code=EventsErrorCode.UNKNOWN_SUBSCRIPTION)
        outcome = await dispatcher.deliver(await cloud_event_of(request), subscription=subscription)
        return JSONResponse({"status": outcome.value})

    @router.post(DAPR_DELIVERY_PATH)
    async def dapr_deliver_all(request: Request) -> JSONResponse:
        outcome = await dispatcher.deliver(await cloud_event_of(request))
        return JSONResponse({"status": outcome.value})

    @router.post(KNATIVE_PATH)
    async def knative_deliver(request: Request) -> JSONResponse:
        event = await cloud_event_of(request)
        outcome = await dispatcher.deliver(event)
        if outcome is Delivery.RETRY:
            raise DependencyUnavailable(
                f"a subscription asked for event {event.get_id()!r} again; retry later",
                code=EventsErrorCode.RETRY_LATER,
                extensions={"retry_after": RETRY_AFTER_SECONDS},
            )
        if outcome is Delivery.DROP:
            raise EventDropped(f"event {event.get_id()!r} can never be handled; dead-letter it")
        return JSONResponse({"status": outcome.value})

    return router


async def cloud_event_of(request: Request) -> BaseCloudEvent:
    """The CloudEvent in ``request``: structured by its content type, binary by its ``ce-specversion`` header."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    structured = media_type == _STRUCTURED
    if not structured and media_type.startswith("application/cloudevents"):
        raise UnsupportedMediaTypeError(
            f"{media_type} is not supported: send one event, structured as {_STRUCTURED} or in binary mode",
            code=EventsErrorCode.UNSUPPORTED_CONTENT_MODE,
        )
    if not structured and "ce-specversion" not in request.headers:
        raise BadRequestError(
            f"not a CloudEvent: send it structured ({_STRUCTURED}) or binary (ce-specversion and the other ce-* "
            "headers)",
            code=EventsErrorCode.MALFORMED_EVENT,
        )
    message = HTTPMessage(headers=dict(request.headers.items()), body=await request.body())
    try:
        event = from_structured(message, _FORMAT) if structured else from_binary(message, _FORMAT)
        _require_sent(event, message, structured=structured)
    except Exception as malformed:
        raise BadRequestError(f"malformed CloudEvent: {malformed}", code=EventsErrorCode.MALFORMED_EVENT) from malformed
    return event


def _require_sent(event: BaseCloudEvent, message: HTTPMessage, *, structured: bool) -> None:
    """The SDK makes up an ``id`` (and a ``time``) the sender left out; an id nobody sent would defeat the inbox."""
    sent = json.loads(message.body) if structured else {name[3:]: True for name in message.headers if name[:3] == "ce-"}
    missing = [name for name in _REQUIRED if name not in sent]
    if missing:
        raise ValueError(f"missing required attribute(s) {', '.join(missing)}")


def _token_check(settings: Settings) -> Callable[[Request], Awaitable[None]]:
    expected = settings.dapr.app_api_token

    async def check(request: Request) -> None:
        if expected is None:
            return
        sent = request.headers.get(APP_TOKEN_HEADER, "")
        if not hmac.compare_digest(sent.encode(), expected.get_secret_value().encode()):
            raise UnauthorizedError(
                f"send the {APP_TOKEN_HEADER} header the sidecar was given (APP_API_TOKEN)",
                code=EventsErrorCode.INVALID_APP_TOKEN,
            )

    return check
