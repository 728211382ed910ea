"""manifests/knative: a Broker and a Trigger delivering CloudEvents to an ApiBase's Service (Requirement 17.3)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    assert subscriber["uri"].startswith("/api/v1/")


def test_readme_explains_the_example() -> None:
    readme = (KNATIVE / "README.md").read_text(encoding="utf-8")
    for needle in ("broker.yaml", "trigger.yaml", "/api/v1/events", "kubectl apply -k manifests/knative"):
        assert needle in readme


def test_the_schemas_refuse_mistakes(objects: list[Obj], validate_manifest: Validate) -> None:
    trigger = copy.deepcopy(one(objects, "Trigger"))
    trigger["spec"]["subscriber"]["uri"] = "http://elsewhere/api/v1/events"  # with a ref, uri must be a path
    trigger["spec"]["delivery"]["backoffPolicy"] = "fibonacci"
    broker = copy.deepcopy(one(objects, "Broker"))
    broker["spec"]["delivery"]["backoffDelay"] = "500ms"  # ISO 8601 durations only
    no_subscriber = copy.deepcopy(one(objects, "Trigger"))
    del no_subscriber["spec"]["subscriber"]
    assert len(validate_manifest(trigger)) == 2
    assert len(validate_manifest(broker)) == 1
    assert len(validate_manifest(no_subscriber)) == 1
