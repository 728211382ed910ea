"""manifests/knative: a Broker and a Trigger delivering CloudEvents to an ApiBase's Service (Requirement 17.3), at the
route the app serves for them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from apibase.application.subscriptions import Subscription
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.messaging.cloud_events import EVENT_TYPE_PREFIX
from apibase.interface.http.events import KNATIVE_PATH
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import Features, Migrations
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[4]
KNATIVE = REPO / "manifests" / "knative"

type Obj = dict[str, Any]
type Validate = Callable[[Mapping[str, object]], list[str]]


@pytest.fixture
def objects(manifest_objects: Callable[[Path], list[Obj]]) -> list[Obj]:
    return manifest_objects(KNATIVE)


def one(objects: list[Obj], kind: str) -> Obj:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def test_kustomization_lists_every_file() -> None:
    listed = yaml.safe_load((KNATIVE / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    assert sorted(listed) == sorted(path.name for path in KNATIVE.glob("*.yaml") if path.name != "kustomization.yaml")


def test_every_object_is_valid(objects: list[Obj], validate_manifest: Validate) -> None:
    assert sorted(obj["kind"] for obj in objects) == ["Broker", "Trigger"]
    assert [problem for obj in objects for problem in validate_manifest(obj)] == []


def test_rendered_objects_are_the_files_plus_labels(render: Callable[[str], list[Obj]], objects: list[Obj]) -> None:
    rendered = render("manifests/knative")
    for obj in rendered:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "apibase"
        del obj["metadata"]["labels"]
    assert sorted(rendered, key=lambda obj: obj["kind"]) == sorted(objects, key=lambda obj: obj["kind"])


def test_trigger_delivers_to_the_service_of_a_sample_apibase(objects: list[Obj]) -> None:
    broker, trigger = one(objects, "Broker"), one(objects, "Trigger")
    namespace = trigger["metadata"]["namespace"]
    assert broker["metadata"]["namespace"] == namespace
    assert trigger["spec"]["broker"] == broker["metadata"]["name"]
    assert trigger["spec"]["filter"]["attributes"]["type"]
    subscriber = trigger["spec"]["subscriber"]
    ref = subscriber["ref"]
    assert (ref["apiVersion"], ref["kind"], ref.get("namespace", namespace)) == ("v1", "Service", namespace)
    samples = [
        yaml.safe_load(path.read_text(encoding="utf-8")) for path in (REPO / "manifests" / "samples").glob("*.yaml")
    ]
    # The operator names the Service after the ApiBase.
    assert (namespace, ref["name"]) in {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in samples}
    assert subscriber["uri"] == KNATIVE_PATH
    assert trigger["spec"]["filter"]["attributes"]["type"].startswith(EVENT_TYPE_PREFIX)


@pytest.mark.parametrize("mode", [to_binary_event, to_structured_event], ids=["binary", "structured"])
async def test_the_route_the_trigger_targets_runs_the_subscriptions_to_its_type(
    objects: list[Obj], tmp_path: Path, mode: Callable[[CloudEvent], HTTPMessage]
) -> None:
    trigger = one(objects, "Trigger")
    event_type = trigger["spec"]["filter"]["attributes"]["type"]
    handled: list[str] = []

    async def handle(event: BaseCloudEvent) -> None:
        handled.append(event.get_id())

    module = _Subscriber(Subscription("orders.on-placed", event_type, handle))
    app = create_app(service_settings(tmp_path / "knative.db"), modules=[module])
    event = CloudEvent({"id": "1", "source": "/shop", "type": event_type, "tenantid": "acme"}, {"order_id": "42"})
    message = mode(event)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.shop") as http,
    ):
        answer = await http.post(trigger["spec"]["subscriber"]["uri"], content=message.body, headers=message.headers)

    assert answer.status_code == 200, answer.text
    assert handled == ["1"]


@dataclass(frozen=True)
class _Subscriber:
    subscription: Subscription
    name: str = "subscriber"
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        return Features(subscriptions=[self.subscription])


def test_readme_explains_the_example() -> None:
    readme = (KNATIVE / "README.md").read_text(encoding="utf-8")
    for needle in ("broker.yaml", "trigger.yaml", f"at `{KNATIVE_PATH}`", "kubectl apply -k manifests/knative"):
        assert needle in readme


def test_the_schemas_refuse_mistakes(objects: list[Obj], validate_manifest: Validate) -> None:
    trigger = copy.deepcopy(one(objects, "Trigger"))
    trigger["spec"]["subscriber"]["uri"] = "http://elsewhere/events"  # with a ref, uri must be a path
    trigger["spec"]["delivery"]["backoffPolicy"] = "fibonacci"
    broker = copy.deepcopy(one(objects, "Broker"))
    broker["spec"]["delivery"]["backoffDelay"] = "500ms"  # ISO 8601 durations only
    no_subscriber = copy.deepcopy(one(objects, "Trigger"))
    del no_subscriber["spec"]["subscriber"]
    assert len(validate_manifest(trigger)) == 2
    assert len(validate_manifest(broker)) == 1
    assert len(validate_manifest(no_subscriber)) == 1
