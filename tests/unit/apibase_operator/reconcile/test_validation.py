from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile import Observed, desired_objects
from apibase_operator.reconcile.schemas import CUSTOM_SCHEMAS, schema_for
from apibase_operator.reconcile.validation import (
    KubernetesVersionNotSupportedError,
    kubernetes_minor,
    name_problem,
    supported_kubernetes_versions,
    validate_object,
    validate_objects,
)
from apibase_operator.vault import SyncedSecret

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).parents[4] / "manifests" / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("apibase-*.yaml"))
SECRET = SyncedSecret(name="orders-vault", data={"APIBASE_DATABASE_PASSWORD": b"pw"}, hash="sha256:1")
OBSERVATIONS = {
    "nothing-observed": Observed(),
    "canary-at-25": Observed(canary_active=True, canary_weight=25, secret=SECRET),
    "canary-at-100": Observed(canary_active=True, canary_weight=100, secret_hash="sha256:1"),
}


def sample(path: Path) -> ApiBaseResource:
    (document,) = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    return ApiBaseResource.model_validate(document)


def full_objects() -> list[dict]:
    return desired_objects(sample(SAMPLES / "apibase-full.yaml"), OBSERVATIONS["canary-at-25"])


def by_kind(objects: list[dict], kind: str) -> dict:
    (match,) = [obj for obj in objects if obj["kind"] == kind]
    return match


def test_both_samples_exist():
    assert [path.name for path in SAMPLE_FILES] == ["apibase-full.yaml", "apibase-minimal.yaml"]


@pytest.mark.parametrize("observed", OBSERVATIONS.values(), ids=list(OBSERVATIONS))
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.stem)
def test_every_object_of_the_samples_is_valid(path, observed):
    objects = desired_objects(sample(path), observed)

    assert validate_objects(objects) == []


def test_the_full_sample_renders_every_kind():
    kinds = {(obj["apiVersion"], obj["kind"]) for obj in full_objects()}

    assert set(CUSTOM_SCHEMAS) <= kinds
    assert {("apps/v1", "Deployment"), ("v1", "Secret"), ("autoscaling/v2", "HorizontalPodAutoscaler")} <= kinds


@pytest.mark.parametrize("key", sorted(CUSTOM_SCHEMAS), ids=lambda key: key[1])
def test_the_hand_written_schemas_are_valid_json_schema(key):
    jsonschema.Draft202012Validator.check_schema(CUSTOM_SCHEMAS[key])


def test_schema_for_knows_only_the_custom_kinds():
    assert schema_for("security.istio.io/v1", "PeerAuthentication") is not None
    assert schema_for("apps/v1", "Deployment") is None


def test_core_kinds_are_checked_strictly():
    deployment = copy.deepcopy(by_kind(full_objects(), "HorizontalPodAutoscaler"))
    deployment["spec"]["minReplica"] = 1

    (problem,) = validate_object(deployment)
    assert problem.startswith("HorizontalPodAutoscaler/orders: ")
    assert "minReplica" in problem


def test_core_type_errors_name_the_path():
    service = copy.deepcopy(by_kind(full_objects(), "Service"))
    service["spec"]["ports"][0]["port"] = "eighty"

    (problem,) = validate_object(service)
    assert problem.startswith("Service/orders: spec.ports.0.port: ")


def test_an_unknown_kind_is_a_problem_and_an_unknown_version_an_error():
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    service = by_kind(full_objects(), "Service")

    assert validate_object(unknown) == [
        "Widget/w: Couldn't find schema for kind Widget with api version example.com/v1 for kubernetes version 1.31"
    ]
    with pytest.raises(KubernetesVersionNotSupportedError, match=r"'9\.99' is not supported"):
        validate_object(service, "9.99")


def test_a_weight_above_100_is_refused():
    virtual_service = copy.deepcopy(by_kind(full_objects(), "VirtualService"))
    virtual_service["spec"]["http"][0]["route"][1]["weight"] = 101

    (problem,) = validate_object(virtual_service)
    assert problem.startswith("VirtualService/orders: spec.http.0.route.1.weight: 101 is greater than the maximum")


def test_weights_that_do_not_sum_to_100_are_refused():
    virtual_service = copy.deepcopy(by_kind(full_objects(), "VirtualService"))
    virtual_service["spec"]["http"][0]["route"][1]["weight"] = 5

    assert validate_object(virtual_service) == ["VirtualService/orders: spec.http.0.route: weights sum to 80, not 100"]


def test_a_single_destination_may_omit_its_weight():
    virtual_service = copy.deepcopy(by_kind(full_objects(), "VirtualService"))
    virtual_service["spec"]["http"] = [{"route": [{"destination": {"host": "orders"}}]}]

    assert validate_object(virtual_service) == []


@pytest.mark.parametrize(
    ("kind", "mutate", "expected"),
    [
        ("DestinationRule", lambda o: o["spec"].pop("host"), "spec: 'host' is a required property"),
        ("PeerAuthentication", lambda o: o["spec"]["mtls"].update(mode="SOMETIMES"), "spec.mtls.mode: 'SOMETIMES'"),
        ("AuthorizationPolicy", lambda o: o["spec"].update(action="MAYBE"), "spec.action: 'MAYBE'"),
        (
            "AuthorizationPolicy",
            lambda o: o["spec"]["rules"][0]["from"][0]["source"].update(principal=["x"]),
            "spec.rules.0.from.0.source: Additional properties",
        ),
        ("Component", lambda o: o["spec"].pop("version"), "spec: 'version' is a required property"),
        ("Component", lambda o: o.update(scopes="orders"), "scopes: 'orders' is not of type 'array'"),
        ("Component", lambda o: o["metadata"].update(name="Not_A_Name"), "metadata.name: 'Not_A_Name' does not match"),
        ("VirtualService", lambda o: o["spec"].update(hosts=[]), "spec.hosts: [] should be non-empty"),
    ],
)
def test_custom_kinds_are_checked_against_the_hand_written_schemas(kind, mutate, expected):
    obj = copy.deepcopy(by_kind([o for o in full_objects() if o["metadata"]["name"] != "orders-state"], kind))
    mutate(obj)

    problems = validate_object(obj)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{kind}/"), problems
    assert expected in problems[0], problems


def test_problems_name_objects_without_metadata():
    assert validate_object({"apiVersion": "dapr.io/v1alpha1", "kind": "Component"}) == [
        "Component/?: (root): 'metadata' is a required property",
        "Component/?: (root): 'spec' is a required property",
    ]


@pytest.mark.parametrize("name", ["a", "orders", "orders-v2", "a" * 63])
def test_a_dns_1035_label_is_a_good_name(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Hello_World", "not a DNS-1035 label"),
        ("orders.v2", "not a DNS-1035 label"),
        ("2fast", "not a DNS-1035 label"),
        ("orders-", "not a DNS-1035 label"),
        ("", "not a DNS-1035 label"),
        ("a" * 64, "longer than 63 characters"),
    ],
)
def test_a_name_that_cannot_name_a_service_is_a_problem(name, why):
    problem = name_problem(name)

    assert problem is not None
    assert why in problem


def test_the_supported_versions_are_the_shipped_schemas():
    supported = supported_kubernetes_versions()

    assert supported[0] == "1.25"  # kubernetes-validate 1.37 dropped the older schemas
    assert "1.31" in supported
    assert list(supported) == sorted(supported, key=lambda minor: tuple(int(part) for part in minor.split(".")))


@pytest.mark.parametrize(("given", "minor"), [("1.31", "1.31"), ("v1.31", "1.31"), ("1.31.4", "1.31")])
def test_a_kubernetes_version_is_reduced_to_its_minor(given, minor):
    assert kubernetes_minor(given) == minor


@pytest.mark.parametrize("version", ["1.19", "1.24", "1.40", "1.4", "one", ""])
def test_a_version_without_schemas_is_refused_before_any_object(version):
    with pytest.raises(KubernetesVersionNotSupportedError, match=r"ships schemas for 1\.25 to "):
        validate_objects(full_objects(), version)
