"""The ClusterIP Service in front of the pods of both tracks.

Its selector has no track on purpose: while a canary runs, the Service (and so, without Istio, every
caller) reaches stable and canary pods alike, and the traffic split is only the replica ratio
(2 stable + 1 canary pods get about a third of the requests on the canary). With Istio the VirtualService
splits by weight instead, using the DestinationRule's track subsets behind this same Service.
"""

from __future__ import annotations

from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile.labels import COMPONENT_API, metadata_for, selector_for

__all__ = ["CLUSTER_DOMAIN", "SERVICE_PORT", "service", "service_host"]

#: The port callers use; the pods listen on ``spec.port``.
SERVICE_PORT = 80
CLUSTER_DOMAIN = "cluster.local"


def service_host(resource: ApiBaseResource) -> str:
    """The Service's fully qualified DNS name, which Istio routes by."""
    return f"{resource.metadata.name}.{resource.metadata.namespace}.svc.{CLUSTER_DOMAIN}"


def service(resource: ApiBaseResource) -> dict[str, object]:
    """``Service <name>``: port 80 (named ``http``, which also tells Istio the protocol) to the pods' port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_API),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_for(resource),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": resource.spec.port, "protocol": "TCP"},
            ],
        },
    }
