"""The workload: the stable and canary Deployments, their ServiceAccount, HorizontalPodAutoscaler and PDB.

Both Deployments share one pod template builder, so a canary differs from stable only in image, replica
count and the track label. Selectors include the track and never change (they are immutable).
The pod template carries everything whose change must roll the pods: the image, the env, the Dapr and
Istio sidecar annotations and, with ``vault.restartOnRotation``, the hash of the synced secret values.
"""

from __future__ import annotations

from apibase_operator.crd.models import ApiBaseResource, Autoscaling, EnvVar, Probe
from apibase_operator.reconcile import dapr, istio
from apibase_operator.reconcile.labels import (
    COMPONENT_API,
    SECRET_HASH_ANNOTATION,
    Track,
    labels_for,
    metadata_for,
    selector_for,
)
from apibase_operator.reconcile.secrets import target_secret_name

__all__ = [
    "CONTAINER_NAME",
    "CanaryNotConfiguredError",
    "active_autoscaling",
    "deployment",
    "deployment_name",
    "horizontal_pod_autoscaler",
    "pod_disruption_budget",
    "pod_template",
    "service_account",
    "service_account_name",
]

CONTAINER_NAME = "api"
_CANARY_REPLICAS = 1
#: The root filesystem is read-only; Python and most libraries still want a writable temp directory.
_TMP_VOLUME = "tmp"


class CanaryNotConfiguredError(ValueError):
    """A canary Deployment was asked for while ``spec.canary`` is not set."""


def service_account_name(resource: ApiBaseResource) -> str:
    """The pods' ServiceAccount: the one named in the spec, else one the operator creates with the service's name."""
    return resource.spec.service_account_name or resource.metadata.name


def service_account(resource: ApiBaseResource) -> dict[str, object] | None:
    """A dedicated ServiceAccount (a distinct mesh identity per service) unless the spec brings its own."""
    if resource.spec.service_account_name is not None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_API),
    }


def active_autoscaling(resource: ApiBaseResource) -> Autoscaling | None:
    """The autoscaling settings when the HPA owns the replica count, else None."""
    autoscaling = resource.spec.autoscaling
    return autoscaling if autoscaling is not None and autoscaling.enabled else None


def deployment_name(resource: ApiBaseResource, track: Track) -> str:
    """``<name>`` for stable, ``<name>-canary`` for the canary."""
    return resource.metadata.name if track == "stable" else f"{resource.metadata.name}-canary"


def _env_var(var: EnvVar) -> dict[str, object]:
    if var.secret_key_ref is not None:
        ref = var.secret_key_ref
        return {"name": var.name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
    return {"name": var.name, "value": var.value or ""}


def _env_from(resource: ApiBaseResource) -> list[dict[str, object]]:
    """The listed Secrets, then the Vault target Secret.

    The Vault Secret is not optional: until the first sync the pods wait rather than start without credentials.
    """
    names = list(resource.spec.env_from_secrets)
    vault_secret = target_secret_name(resource)
    if vault_secret is not None:
        names.append(vault_secret)
    return [{"secretRef": {"name": name}} for name in names]


def _probe(probe: Probe, port: int) -> dict[str, object]:
    return {
        "httpGet": {"path": probe.path, "port": port},
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


PORT_VARIABLE = "APIBASE_PORT"


def _env(resource: ApiBaseResource) -> list[dict[str, object]]:
    """``spec.env``, then the settings the operator derives (the port, the Dapr components) unless it names them.

    API Base services listen on APIBASE_PORT: the process stays on the port the probes and Service use, uses
    the Dapr components the operator created and shares the sidecar's tokens.
    """
    spec = resource.spec
    env = [_env_var(var) for var in spec.env]
    named = {var.name for var in spec.env}
    derived = {PORT_VARIABLE: str(spec.port)} | dapr.app_settings(resource)
    env += [{"name": name, "value": value} for name, value in derived.items() if name not in named]
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for name, (secret, key) in dapr.app_token_refs(resource).items()
        if name not in named
    ]
    return env


def _container(resource: ApiBaseResource, image: str) -> dict[str, object]:
    spec = resource.spec
    container: dict[str, object] = {
        "name": CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
    }
    container["env"] = _env(resource)
    env_from = _env_from(resource)
    if env_from:
        container["envFrom"] = env_from
    resources = {
        key: dict(value)
        for key, value in (("requests", spec.resources.requests), ("limits", spec.resources.limits))
        if value
    }
    if resources:
        container["resources"] = resources
    container |= {
        "livenessProbe": _probe(spec.probes.liveness, spec.port),
        "readinessProbe": _probe(spec.probes.readiness, spec.port),
        "startupProbe": _probe(spec.probes.startup, spec.port),
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": _TMP_VOLUME, "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir, not the host's
    }
    return container


def _template_annotations(resource: ApiBaseResource, secret_hash: str | None) -> dict[str, str]:
    annotations = dapr.sidecar_annotations(resource) | istio.sidecar_annotations(resource)
    vault = resource.spec.vault
    if vault is not None and vault.restart_on_rotation and secret_hash:
        annotations[SECRET_HASH_ANNOTATION] = secret_hash
    return annotations


def pod_template(resource: ApiBaseResource, track: Track, secret_hash: str | None = None) -> dict[str, object]:
    """The pod template of one track; ``secret_hash`` is the hash of the synced Vault values, if known."""
    canary = resource.spec.canary
    if track == "canary" and canary is None:
        raise CanaryNotConfiguredError("spec.canary is not set")
    image = canary.image if track == "canary" and canary is not None else resource.spec.image
    metadata: dict[str, object] = {
        "labels": labels_for(resource, COMPONENT_API, track) | istio.sidecar_labels(resource),
    }
    annotations = _template_annotations(resource, secret_hash)
    if annotations:
        metadata["annotations"] = annotations
    return {
        "metadata": metadata,
        "spec": {
            "serviceAccountName": service_account_name(resource),
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [_container(resource, image)],
            "volumes": [{"name": _TMP_VOLUME, "emptyDir": {}}],
        },
    }


def _replicas(resource: ApiBaseResource, track: Track) -> int | None:
    """None (omitted) when the HPA owns stable's count; a canary runs one pod, or the HPA's minimum."""
    autoscaling = active_autoscaling(resource)
    if track == "canary":
        return autoscaling.min_replicas if autoscaling is not None else _CANARY_REPLICAS
    return None if autoscaling is not None else resource.spec.replicas


def deployment(resource: ApiBaseResource, track: Track, secret_hash: str | None = None) -> dict[str, object]:
    """``Deployment <name>`` (stable) or ``<name>-canary``; rolling updates never go below the desired count."""
    spec: dict[str, object] = {}
    replicas = _replicas(resource, track)
    if replicas is not None:
        spec["replicas"] = replicas
    spec |= {
        "selector": {"matchLabels": selector_for(resource, track)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": pod_template(resource, track, secret_hash),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata_for(resource, deployment_name(resource, track), COMPONENT_API, track),
        "spec": spec,
    }


def horizontal_pod_autoscaler(resource: ApiBaseResource) -> dict[str, object] | None:
    """Scales the stable Deployment on CPU utilisation; None unless autoscaling is enabled."""
    autoscaling = active_autoscaling(resource)
    if autoscaling is None:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_API),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": resource.metadata.name},
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": autoscaling.target_cpu_utilization_percentage,
                        },
                    },
                },
            ],
        },
    }


def pod_disruption_budget(resource: ApiBaseResource) -> dict[str, object]:
    """Voluntary evictions (drains) take one stable pod at a time, and never the last one when there are two.

    ``minAvailable: 1`` from two replicas (the HPA's minimum when it scales); ``maxUnavailable: 1`` below,
    where ``minAvailable`` would block every drain.
    """
    autoscaling = active_autoscaling(resource)
    replicas = autoscaling.min_replicas if autoscaling is not None else resource.spec.replicas
    budget: dict[str, object] = {"minAvailable": 1} if replicas >= 2 else {"maxUnavailable": 1}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_API),
        "spec": {**budget, "selector": {"matchLabels": selector_for(resource, "stable")}},
    }
