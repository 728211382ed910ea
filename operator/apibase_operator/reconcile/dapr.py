"""Dapr: the sidecar annotations on the pod template and one ``Component`` per ``spec.dapr.components``.

The Dapr sidecar injector reads the ``dapr.io/*`` pod annotations; components are scoped to this app's id so
that another app in the namespace does not load them. Component names are the user's, unprefixed, because
the application addresses them by name (``pubsub``, ``statestore``); two ApiBases in one namespace must
therefore not declare components with the same name.
"""

from __future__ import annotations

from apibase_operator.crd.models import ApiBaseResource, DaprComponent, DaprMetadataItem
from apibase_operator.reconcile.labels import COMPONENT_DAPR, metadata_for

__all__ = [
    "DAPR_API_VERSION",
    "DAPR_GRPC_PORT",
    "DAPR_HTTP_PORT",
    "app_id",
    "components",
    "dapr_enabled",
    "sidecar_annotations",
]

DAPR_API_VERSION = "dapr.io/v1alpha1"
#: daprd's HTTP and gRPC APIs, which the application calls over localhost (daprd-to-daprd traffic uses 50002).
DAPR_HTTP_PORT = 3500
DAPR_GRPC_PORT = 50001


def dapr_enabled(resource: ApiBaseResource) -> bool:
    """A ``dapr`` block turns Dapr on unless it says ``enabled: false``."""
    return resource.spec.dapr is not None and resource.spec.dapr.enabled


def app_id(resource: ApiBaseResource) -> str:
    """The Dapr app id: the configured one, or the ApiBase's name."""
    dapr = resource.spec.dapr
    return dapr.app_id if dapr is not None and dapr.app_id else resource.metadata.name


def sidecar_annotations(resource: ApiBaseResource) -> dict[str, str]:
    """The ``dapr.io/*`` pod annotations, empty when Dapr is off."""
    dapr = resource.spec.dapr
    if dapr is None or not dapr.enabled:
        return {}
    annotations = {
        "dapr.io/enabled": "true",
        "dapr.io/app-id": app_id(resource),
        "dapr.io/app-port": str(dapr.app_port or resource.spec.port),
        "dapr.io/app-protocol": dapr.app_protocol,
        "dapr.io/log-level": dapr.log_level,
    }
    if dapr.config:
        annotations["dapr.io/config"] = dapr.config
    return annotations


def _metadata_item(item: DaprMetadataItem) -> dict[str, object]:
    if item.secret_key_ref is not None:
        return {"name": item.name, "secretKeyRef": {"name": item.secret_key_ref.name, "key": item.secret_key_ref.key}}
    return {"name": item.name, "value": item.value or ""}


def _component(resource: ApiBaseResource, component: DaprComponent) -> dict[str, object]:
    return {
        "apiVersion": DAPR_API_VERSION,
        "kind": "Component",
        "metadata": metadata_for(resource, component.name, COMPONENT_DAPR),
        "spec": {
            "type": component.type,
            "version": component.version,
            "metadata": [_metadata_item(item) for item in component.metadata],
        },
        "scopes": [app_id(resource)],
    }


def components(resource: ApiBaseResource) -> list[dict[str, object]]:
    """One Dapr ``Component`` per declared component, none when Dapr is off."""
    dapr = resource.spec.dapr
    if dapr is None or not dapr.enabled:
        return []
    return [_component(resource, component) for component in dapr.components]
