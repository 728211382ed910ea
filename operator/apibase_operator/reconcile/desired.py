"""The reconcile function: the spec and what was observed in, the complete list of desired objects out.

It is pure (no I/O, no clock, no randomness): the same input gives the same list, sorted by kind and
name, so the operator can diff it against the cluster and tests can assert on it without a cluster.
Objects not in the list (the canary Deployment after promotion, Istio objects after disabling Istio)
are for the caller to delete; their labels and owner reference make them easy to find.
"""

from __future__ import annotations

from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile import dapr, istio, workload
from apibase_operator.reconcile.labels import COMPONENT_SECRET, SECRET_HASH_ANNOTATION, metadata_for
from apibase_operator.reconcile.observed import Observed, SyncedSecretLike
from apibase_operator.reconcile.secrets import secret_manifest
from apibase_operator.reconcile.service import service

__all__ = ["canary_running", "desired_objects", "sort_key"]


def canary_running(resource: ApiBaseResource, observed: Observed) -> bool:
    """A canary runs while the controller says so and the spec still has one."""
    return observed.canary_active and resource.spec.canary is not None


def sort_key(obj: dict[str, object]) -> tuple[str, str]:
    """(kind, name): the order of :func:`desired_objects`."""
    metadata = obj["metadata"]
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    return str(obj["kind"]), str(name)


def _synced_secret(resource: ApiBaseResource, secret: SyncedSecretLike) -> dict[str, object]:
    """The Secret's shape comes from :mod:`.secrets`; namespace, labels and owner are added here as for any object."""
    manifest = secret_manifest(secret.name, secret.data, secret.hash)
    manifest["metadata"] = metadata_for(
        resource, secret.name, COMPONENT_SECRET, annotations={SECRET_HASH_ANNOTATION: secret.hash}
    )
    return manifest


def desired_objects(resource: ApiBaseResource, observed: Observed) -> list[dict[str, object]]:
    """Every object the ApiBase should own right now, sorted by (kind, name)."""
    secret_hash = observed.current_secret_hash
    running = canary_running(resource, observed)
    objects = [
        workload.deployment(resource, "stable", secret_hash),
        service(resource),
        workload.pod_disruption_budget(resource),
        *dapr.components(resource),
        *istio.mesh_objects(resource, observed.canary_weight if running else None),
    ]
    if running:
        objects.append(workload.deployment(resource, "canary", secret_hash))
    optional = (workload.service_account(resource), workload.horizontal_pod_autoscaler(resource))
    objects.extend(obj for obj in optional if obj is not None)
    if observed.secret is not None:
        objects.append(_synced_secret(resource, observed.secret))
    return sorted(objects, key=sort_key)
