"""Istio: weighted stable/canary routing, mutual TLS and who may call the service.

Objects (only when ``spec.istio`` is enabled): a DestinationRule with ``stable`` and ``canary`` subsets
(by the track label), a VirtualService sending ``100 - w`` percent to stable and ``w`` to canary (weights
always sum to 100; without a running canary, stable gets 100), a PeerAuthentication with the configured
mTLS mode and an AuthorizationPolicy.

Decisions (the ADR is written from these):

- **Istio owns mTLS when Istio and Dapr are both on.** The PeerAuthentication governs every port Envoy
  intercepts, including daprd-to-daprd service invocation (port 50002). Only daprd's application-facing
  APIs (HTTP 3500, gRPC 50001; called over localhost) are excluded from interception, inbound and
  outbound for gRPC, so that Envoy never stands between the app and its own sidecar. The operator does not
  switch Dapr's own mTLS off or on: that is the Dapr control plane's ``daprsystem`` Configuration, owned
  by the cluster admin, and ``dapr.io/config`` stays whatever the user set. If Dapr mTLS is also on,
  service invocation is encrypted twice, which costs a little CPU and breaks nothing.
  ``holdApplicationUntilProxyStarts`` is set when both are on so that neither the app nor daprd makes its
  first calls before Envoy is ready (they would fail under STRICT mTLS).
- **AuthorizationPolicy default: the mesh.** With ``allowedPrincipals`` the policy allows exactly those
  SPIFFE principals. Without, it allows any *authenticated* principal (``principals: ["*"]``): every
  workload with a mesh identity may call, plaintext callers (possible under PERMISSIVE) may not. Kubelet
  probes are unaffected (Istio rewrites them to the sidecar agent).
- **The split applies to every caller.** The VirtualService's hosts are ``istio.hosts`` plus, always, the
  Service's DNS name (the default when no hosts are given), and it binds to ``mesh`` as well as the gateway
  when one is given: in-mesh callers get the same weights as ingress traffic, so the canary analysis
  sees the share of traffic the weight says.
"""

from __future__ import annotations

import json

from apibase_operator.crd.models import ApiBaseResource, Istio
from apibase_operator.reconcile.dapr import DAPR_GRPC_PORT, DAPR_HTTP_PORT, dapr_enabled
from apibase_operator.reconcile.labels import COMPONENT_MESH, TRACK_LABEL, Track, metadata_for, selector_for
from apibase_operator.reconcile.service import SERVICE_PORT, service_host

__all__ = [
    "ANY_AUTHENTICATED_PRINCIPAL",
    "NETWORKING_API_VERSION",
    "SECURITY_API_VERSION",
    "authorization_policy",
    "destination_rule",
    "istio_enabled",
    "mesh_objects",
    "peer_authentication",
    "route_weights",
    "sidecar_annotations",
    "sidecar_labels",
    "virtual_service",
]

NETWORKING_API_VERSION = "networking.istio.io/v1"
SECURITY_API_VERSION = "security.istio.io/v1"
ANY_AUTHENTICATED_PRINCIPAL = "*"
_FULL = 100
_TRACKS: tuple[Track, ...] = ("stable", "canary")


def istio_enabled(resource: ApiBaseResource) -> bool:
    """An ``istio`` block turns Istio on unless it says ``enabled: false``."""
    return resource.spec.istio is not None and resource.spec.istio.enabled


def sidecar_labels(resource: ApiBaseResource) -> dict[str, str]:
    """Asks for the Envoy sidecar on the pods, whatever the namespace's injection label says."""
    return {"sidecar.istio.io/inject": "true"} if istio_enabled(resource) else {}


def sidecar_annotations(resource: ApiBaseResource) -> dict[str, str]:
    """Pod annotations that let Envoy and daprd share a pod; empty unless both Istio and Dapr are on."""
    if not (istio_enabled(resource) and dapr_enabled(resource)):
        return {}
    return {
        "proxy.istio.io/config": json.dumps({"holdApplicationUntilProxyStarts": True}),
        "traffic.sidecar.istio.io/excludeInboundPorts": f"{DAPR_HTTP_PORT},{DAPR_GRPC_PORT}",
        "traffic.sidecar.istio.io/excludeOutboundPorts": str(DAPR_GRPC_PORT),
    }


def route_weights(canary_weight: int | None) -> list[tuple[Track, int]]:
    """``[("stable", 100)]`` without a canary, else stable ``100 - w`` and canary ``w``: always 100 in total."""
    if canary_weight is None:
        return [("stable", _FULL)]
    if not 0 <= canary_weight <= _FULL:
        raise ValueError(f"canary weight must be between 0 and 100, not {canary_weight}")
    return [("stable", _FULL - canary_weight), ("canary", canary_weight)]


def destination_rule(resource: ApiBaseResource) -> dict[str, object]:
    """Both subsets always exist, so the VirtualService can name the canary the moment one starts."""
    return {
        "apiVersion": NETWORKING_API_VERSION,
        "kind": "DestinationRule",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_MESH),
        "spec": {
            "host": service_host(resource),
            "subsets": [{"name": track, "labels": {TRACK_LABEL: track}} for track in _TRACKS],
        },
    }


def virtual_service(resource: ApiBaseResource, istio: Istio, canary_weight: int | None) -> dict[str, object]:
    """Routes the configured hosts and the Service's DNS name to the subsets by weight."""
    host = service_host(resource)
    spec: dict[str, object] = {"hosts": [*istio.hosts, host] if host not in istio.hosts else list(istio.hosts)}
    if istio.gateway:
        spec["gateways"] = [istio.gateway, "mesh"]
    spec["http"] = [
        {
            "name": "tracks",
            "route": [
                {"destination": {"host": host, "subset": track, "port": {"number": SERVICE_PORT}}, "weight": weight}
                for track, weight in route_weights(canary_weight)
            ],
        },
    ]
    return {
        "apiVersion": NETWORKING_API_VERSION,
        "kind": "VirtualService",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_MESH),
        "spec": spec,
    }


def peer_authentication(resource: ApiBaseResource, istio: Istio) -> dict[str, object]:
    """The mTLS mode for the service's pods (both tracks)."""
    return {
        "apiVersion": SECURITY_API_VERSION,
        "kind": "PeerAuthentication",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_MESH),
        "spec": {"selector": {"matchLabels": selector_for(resource)}, "mtls": {"mode": istio.mtls_mode.value}},
    }


def authorization_policy(resource: ApiBaseResource, istio: Istio) -> dict[str, object]:
    """ALLOW the listed principals, or any authenticated mesh principal when none are listed."""
    principals = list(istio.allowed_principals) or [ANY_AUTHENTICATED_PRINCIPAL]
    return {
        "apiVersion": SECURITY_API_VERSION,
        "kind": "AuthorizationPolicy",
        "metadata": metadata_for(resource, resource.metadata.name, COMPONENT_MESH),
        "spec": {
            "selector": {"matchLabels": selector_for(resource)},
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": principals}}]}],
        },
    }


def mesh_objects(resource: ApiBaseResource, canary_weight: int | None) -> list[dict[str, object]]:
    """All Istio objects, or none when Istio is off (``canary_weight`` is None when no canary runs)."""
    istio = resource.spec.istio
    if istio is None or not istio.enabled:
        return []
    return [
        destination_rule(resource),
        virtual_service(resource, istio, canary_weight),
        peer_authentication(resource, istio),
        authorization_policy(resource, istio),
    ]
