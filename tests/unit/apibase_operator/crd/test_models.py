"""The model rules a CRD schema cannot express: each one refused by the models, yet accepted by the CRD.

The second half of each test is the point: it shows the rule really is beyond the API server, so the operator
(which validates with the models) is the only place that enforces it.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from apibase_operator.crd.models import (
    ApiBaseResource,
    ApiBaseSpec,
    Autoscaling,
    Canary,
    CanaryAnalysis,
    MtlsMode,
    VaultAuth,
)
from apibase_operator.crd.schema import validate_against_crd

pytestmark = pytest.mark.unit

IMAGE = "ghcr.io/acme/orders:1.4.2"
ANALYSIS = {"prometheusUrl": "http://prometheus:9090", "query": "vector(0)"}
VAULT = {"address": "https://vault:8200", "paths": [{"path": "shop/orders", "keys": {"password": "PASSWORD"}}]}


def _manifest(**spec: object) -> dict[str, Any]:
    return {"apiVersion": "apibase.dev/v1alpha1", "kind": "ApiBase", "metadata": {"name": "orders"}, "spec": spec}


def _refused_by_models_only(message: str, **spec: object) -> None:
    with pytest.raises(ValidationError, match=message):
        ApiBaseSpec.model_validate({"image": IMAGE, **spec})
    assert validate_against_crd(_manifest(image=IMAGE, **spec)) == []


# --- autoscaling ------------------------------------------------------------------------------------------------


def test_autoscaling_min_above_max_is_refused() -> None:
    _refused_by_models_only("minReplicas must not exceed maxReplicas", autoscaling={"minReplicas": 5, "maxReplicas": 4})


def test_autoscaling_default_max_counts_too() -> None:
    _refused_by_models_only("minReplicas must not exceed maxReplicas", autoscaling={"minReplicas": 11})


def test_autoscaling_min_equal_to_max_is_fine() -> None:
    autoscaling = Autoscaling.model_validate({"minReplicas": 4, "maxReplicas": 4})
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == (4, 4)


# --- canary -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [[10, 10], [50, 25], [10, 50, 30, 100]], ids=["repeated", "decreasing", "dip"])
def test_canary_steps_must_increase(steps: list[int]) -> None:
    _refused_by_models_only("canary.steps must increase", canary={"image": IMAGE, "steps": steps})


@pytest.mark.parametrize("steps", [[0, 50], [50, 101]], ids=["zero", "above-100"])
def test_canary_steps_are_weights_also_for_the_models(steps: list[int]) -> None:
    """The CRD refuses these too (items 1..100); the models must not rely on it (manifests can skip the server)."""
    with pytest.raises(ValidationError, match="weights between 1 and 100"):
        Canary.model_validate({"image": IMAGE, "steps": steps})
    assert validate_against_crd(_manifest(image=IMAGE, canary={"image": IMAGE, "steps": steps})) != []


def test_canary_defaults() -> None:
    canary = Canary.model_validate({"image": IMAGE})
    assert canary.steps == [10, 25, 50, 100]
    assert (canary.step_interval_seconds, canary.auto_promote, canary.analysis) == (60, True, None)


def test_canary_single_full_step_promotes_at_once() -> None:
    assert Canary.model_validate({"image": IMAGE, "steps": [100]}).steps == [100]


def test_analysis_without_thresholds_is_refused() -> None:
    _refused_by_models_only("needs maxValue, minValue or both", canary={"image": IMAGE, "analysis": ANALYSIS})


def test_analysis_with_null_thresholds_is_refused() -> None:
    analysis = {**ANALYSIS, "maxValue": None, "minValue": None}
    _refused_by_models_only("needs maxValue, minValue or both", canary={"image": IMAGE, "analysis": analysis})


@pytest.mark.parametrize(
    "thresholds", [{"maxValue": 0.01}, {"minValue": 0.99}, {"minValue": 0, "maxValue": 1}], ids=["max", "min", "both"]
)
def test_analysis_with_a_threshold_is_fine(thresholds: dict[str, float]) -> None:
    analysis = CanaryAnalysis.model_validate({**ANALYSIS, **thresholds})
    assert (analysis.max_value, analysis.min_value) == (thresholds.get("maxValue"), thresholds.get("minValue"))


# --- vault ------------------------------------------------------------------------------------------------------


def test_vault_auth_with_both_methods_is_refused() -> None:
    auth = {"kubernetes": {"role": "orders"}, "tokenSecret": {"name": "vault-token", "key": "token"}}
    _refused_by_models_only("exactly one of kubernetes or tokenSecret", vault={**VAULT, "auth": auth})


def test_vault_auth_with_neither_method_is_refused() -> None:
    _refused_by_models_only("exactly one of kubernetes or tokenSecret", vault={**VAULT, "auth": {}})


def test_vault_auth_with_one_method_is_fine() -> None:
    kubernetes = VaultAuth.model_validate({"kubernetes": {"role": "orders"}})
    assert kubernetes.kubernetes is not None
    assert kubernetes.kubernetes.mount_path == "kubernetes"
    token = VaultAuth.model_validate({"tokenSecret": {"name": "vault-token", "key": "token"}})
    assert token.token_secret is not None
    assert token.token_secret.name == "vault-token"


# --- the wire format --------------------------------------------------------------------------------------------


def test_unknown_fields_are_refused_by_both() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        ApiBaseSpec.model_validate({"image": IMAGE, "replica": 3})
    assert validate_against_crd(_manifest(image=IMAGE, replica=3)) == ['unknown field "spec.replica"']


def test_camel_case_on_the_wire_snake_case_in_python() -> None:
    spec = ApiBaseSpec.model_validate({"image": IMAGE, "serviceAccountName": "orders", "envFromSecrets": ["a"]})
    assert (spec.service_account_name, spec.env_from_secrets) == ("orders", ["a"])
    assert spec.model_dump(by_alias=True)["serviceAccountName"] == "orders"
    assert ApiBaseSpec(image=IMAGE, service_account_name="orders").service_account_name == "orders"


def test_spec_defaults() -> None:
    spec = ApiBaseSpec.model_validate({"image": IMAGE})
    assert (spec.replicas, spec.port, spec.paused) == (2, 8000, False)
    assert spec.probes.liveness.path == "/health/live"
    assert spec.probes.readiness.path == "/health/ready"
    assert (spec.probes.startup.path, spec.probes.startup.failure_threshold) == ("/health/startup", 60)
    assert spec.resources.requests == {"cpu": "100m", "memory": "128Mi"}
    assert (spec.autoscaling, spec.dapr, spec.istio, spec.canary, spec.vault) == (None, None, None, None, None)


def test_a_whole_resource_reads_with_status_extras_ignored() -> None:
    resource = ApiBaseResource.model_validate(
        {
            **_manifest(image=IMAGE, istio={}),
            "metadata": {"name": "orders", "namespace": "shop", "generation": 3, "resourceVersion": "7"},
            "status": {"canaryWeight": 25, "kopf": {"progress": {}}},
        }
    )
    assert (resource.metadata.namespace, resource.metadata.generation) == ("shop", 3)
    assert resource.spec.istio is not None
    assert resource.spec.istio.mtls_mode is MtlsMode.STRICT
    assert resource.status.canary_weight == 25
