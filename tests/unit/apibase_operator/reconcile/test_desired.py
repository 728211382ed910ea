from __future__ import annotations

import copy

import pytest

from apibase_operator.reconcile import Observed, canary_running, desired_objects, labels_for, owner_reference
from apibase_operator.vault import SyncedSecret

pytestmark = pytest.mark.unit

CANARY = {"image": "ghcr.io/acme/orders:1.5.0"}
VAULT = {
    "address": "https://vault:8200",
    "auth": {"kubernetes": {"role": "orders"}},
    "paths": [{"path": "orders/db", "keys": {"password": "DB_PASSWORD"}}],
}
EVERYTHING = {
    "autoscaling": {},
    "dapr": {"components": [{"name": "pubsub", "type": "pubsub.redis"}, {"name": "cache", "type": "state.redis"}]},
    "istio": {},
    "canary": CANARY,
    "vault": VAULT,
}
SECRET = SyncedSecret(name="orders-vault", data={"DB_PASSWORD": b"x"}, hash="sha256:1")
EVERYTHING_OBSERVED = Observed(canary_active=True, canary_weight=25, secret=SECRET)


def test_a_minimal_apibase_gets_a_deployment_service_account_service_and_pdb(make, render):
    assert render(make()).kinds() == [
        ("Deployment", "orders"),
        ("PodDisruptionBudget", "orders"),
        ("Service", "orders"),
        ("ServiceAccount", "orders"),
    ]


def test_everything_at_once_sorted_by_kind_and_name(make, render):
    assert render(make(**EVERYTHING), EVERYTHING_OBSERVED).kinds() == [
        ("AuthorizationPolicy", "orders"),
        ("Component", "cache"),
        ("Component", "pubsub"),
        ("Deployment", "orders"),
        ("Deployment", "orders-canary"),
        ("DestinationRule", "orders"),
        ("HorizontalPodAutoscaler", "orders"),
        ("PeerAuthentication", "orders"),
        ("PodDisruptionBudget", "orders"),
        ("Secret", "orders-vault"),
        ("Service", "orders"),
        ("ServiceAccount", "orders"),
        ("VirtualService", "orders"),
    ]


@pytest.mark.parametrize(
    ("spec", "observed"),
    [({}, Observed()), (EVERYTHING, EVERYTHING_OBSERVED), (EVERYTHING, Observed())],
)
def test_every_object_is_labelled_owned_and_in_the_namespace(make, spec, observed):
    resource = make(**spec)

    for obj in desired_objects(resource, observed):
        metadata = obj["metadata"]
        track = metadata["labels"].get("apibase.dev/track")
        component = metadata["labels"]["app.kubernetes.io/component"]
        assert metadata["labels"] == labels_for(resource, component, track), obj["kind"]
        assert metadata["ownerReferences"] == [owner_reference(resource)], obj["kind"]
        assert metadata["namespace"] == "shop", obj["kind"]


def test_the_same_input_gives_the_same_output(make):
    resource = make(**EVERYTHING)

    first = desired_objects(resource, EVERYTHING_OBSERVED)
    second = desired_objects(resource, EVERYTHING_OBSERVED)

    assert first == second
    assert first is not second
    assert [id(obj) for obj in first] != [id(obj) for obj in second]


def test_the_output_shares_nothing_with_the_input_or_the_last_call(make):
    resource = make(**EVERYTHING)
    before = resource.model_dump()
    first = desired_objects(resource, EVERYTHING_OBSERVED)
    untouched = copy.deepcopy(first)

    first[0]["metadata"]["labels"]["x"] = "mutated"

    assert resource.model_dump() == before
    assert desired_objects(resource, EVERYTHING_OBSERVED) == untouched


@pytest.mark.parametrize(
    ("spec", "observed", "running"),
    [
        ({}, Observed(), False),
        ({}, Observed(canary_active=True), False),
        ({"canary": CANARY}, Observed(), False),
        ({"canary": CANARY}, Observed(canary_active=True), True),
    ],
)
def test_a_canary_runs_only_when_the_spec_has_one_and_it_was_started(make, render, spec, observed, running):
    assert canary_running(make(**spec), observed) is running
    assert render(make(**spec), observed).has("Deployment", "orders-canary") is running


def test_the_namespace_and_name_come_from_the_apibase(make, render):
    rendered = render(make(name="billing", namespace="finance", istio={}))

    assert {obj["metadata"]["namespace"] for obj in rendered.objects} == {"finance"}
    assert rendered.get("DestinationRule", "billing")["spec"]["host"] == "billing.finance.svc.cluster.local"


def test_no_dict_or_list_is_shared_so_yaml_needs_no_aliases(make):
    seen: set[int] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict | list):
            assert id(node) not in seen, node
            seen.add(id(node))
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(desired_objects(make(**EVERYTHING), EVERYTHING_OBSERVED))
