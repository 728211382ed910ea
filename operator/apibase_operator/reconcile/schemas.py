"""Hand-written JSON Schemas for the Istio and Dapr kinds the operator renders.

kubernetes-validate only knows the core API, and these CRDs' own schemas are mostly
``x-kubernetes-preserve-unknown-fields``. These follow the Istio (networking/v1, security/v1) and Dapr
(Component v1alpha1) API references for the fields we use, refuse unknown fields so a typo in a builder
fails a test, and bound what the API servers would refuse (route weights 0..100, mTLS modes, actions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["CUSTOM_SCHEMAS", "schema_for"]

type Schema = dict[str, object]

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_STRING: Final[Schema] = {"type": "string"}
_STRINGS: Final[Schema] = {"type": "array", "items": _STRING}
_STRING_MAP: Final[Schema] = {"type": "object", "additionalProperties": _STRING}
_OBJECT: Final[Schema] = {"type": "object"}
_OBJECTS: Final[Schema] = {"type": "array", "items": _OBJECT}


def _closed(properties: Mapping[str, object], required: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these properties: unknown fields are errors."""
    return {"type": "object", "properties": dict(properties), "required": list(required), "additionalProperties": False}


_OWNER_REFERENCE = _closed(
    {
        "apiVersion": _STRING,
        "kind": _STRING,
        "name": _STRING,
        "uid": _STRING,
        "controller": {"type": "boolean"},
        "blockOwnerDeletion": {"type": "boolean"},
    },
    ("apiVersion", "kind", "name", "uid"),
)
_METADATA = _closed(
    {
        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN, "maxLength": 253},
        "namespace": {"type": "string", "pattern": _DNS_LABEL, "maxLength": 63},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "ownerReferences": {"type": "array", "items": _OWNER_REFERENCE},
    },
    ("name", "namespace"),
)
_SELECTOR = _closed({"matchLabels": _STRING_MAP})
_PORT_SELECTOR = _closed({"number": {"type": "integer", "minimum": 0, "maximum": 65535}})


def _kind(api_version: str, kind: str, spec: Schema, **extra: Schema) -> Schema:
    return _closed(
        {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
            **extra,
        },
        ("apiVersion", "kind", "metadata", "spec"),
    )


_DESTINATION_RULE = _kind(
    "networking.istio.io/v1",
    "DestinationRule",
    _closed(
        {
            "host": {"type": "string", "minLength": 1},
            "trafficPolicy": _OBJECT,
            "subsets": {
                "type": "array",
                "items": _closed(
                    {
                        "name": {"type": "string", "pattern": _DNS_LABEL},
                        "labels": _STRING_MAP,
                        "trafficPolicy": _OBJECT,
                    },
                    ("name",),
                ),
            },
            "exportTo": _STRINGS,
            "workloadSelector": _SELECTOR,
        },
        ("host",),
    ),
)

_HTTP_ROUTE_DESTINATION = _closed(
    {
        "destination": _closed(
            {"host": {"type": "string", "minLength": 1}, "subset": _STRING, "port": _PORT_SELECTOR}, ("host",)
        ),
        "weight": {"type": "integer", "minimum": 0, "maximum": 100},
        "headers": _OBJECT,
    },
    ("destination",),
)
_HTTP_ROUTE = _closed(
    {
        "name": _STRING,
        "match": _OBJECTS,
        "route": {"type": "array", "items": _HTTP_ROUTE_DESTINATION},
        "redirect": _OBJECT,
        "directResponse": _OBJECT,
        "delegate": _OBJECT,
        "rewrite": _OBJECT,
        "timeout": _STRING,
        "retries": _OBJECT,
        "fault": _OBJECT,
        "mirror": _OBJECT,
        "mirrors": _OBJECTS,
        "mirrorPercentage": _OBJECT,
        "corsPolicy": _OBJECT,
        "headers": _OBJECT,
    }
)
_VIRTUAL_SERVICE = _kind(
    "networking.istio.io/v1",
    "VirtualService",
    _closed(
        {
            "hosts": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            "gateways": _STRINGS,
            "http": {"type": "array", "items": _HTTP_ROUTE},
            "tls": _OBJECTS,
            "tcp": _OBJECTS,
            "exportTo": _STRINGS,
        },
        ("hosts",),
    ),
)

_MTLS = _closed({"mode": {"enum": ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]}})
_PEER_AUTHENTICATION = _kind(
    "security.istio.io/v1",
    "PeerAuthentication",
    _closed({"selector": _SELECTOR, "mtls": _MTLS, "portLevelMtls": {"type": "object", "additionalProperties": _MTLS}}),
)

_SOURCE = _closed(
    dict.fromkeys(
        (
            "principals",
            "notPrincipals",
            "requestPrincipals",
            "notRequestPrincipals",
            "namespaces",
            "notNamespaces",
            "serviceAccounts",
            "notServiceAccounts",
            "ipBlocks",
            "notIpBlocks",
            "remoteIpBlocks",
            "notRemoteIpBlocks",
        ),
        _STRINGS,
    )
)
_OPERATION = _closed(
    dict.fromkeys(("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"), _STRINGS)
)
_RULE = _closed(
    {
        "from": {"type": "array", "items": _closed({"source": _SOURCE})},
        "to": {"type": "array", "items": _closed({"operation": _OPERATION})},
        "when": {
            "type": "array",
            "items": _closed({"key": _STRING, "values": _STRINGS, "notValues": _STRINGS}, ("key",)),
        },
    }
)
_AUTHORIZATION_POLICY = _kind(
    "security.istio.io/v1",
    "AuthorizationPolicy",
    _closed(
        {
            "selector": _SELECTOR,
            "targetRef": _OBJECT,
            "targetRefs": _OBJECTS,
            "action": {"enum": ["ALLOW", "DENY", "AUDIT", "CUSTOM"]},
            "provider": _closed({"name": _STRING}),
            "rules": {"type": "array", "items": _RULE},
        }
    ),
)

_SECRET_KEY_REF = _closed({"name": {"type": "string", "minLength": 1}, "key": _STRING}, ("name",))
_DAPR_COMPONENT = _kind(
    "dapr.io/v1alpha1",
    "Component",
    _closed(
        {
            "type": {"type": "string", "pattern": r"^[a-z0-9]+\.[a-z0-9][a-z0-9.-]*$"},
            "version": {"type": "string", "pattern": r"^v[0-9]+"},
            "ignoreErrors": {"type": "boolean"},
            "initTimeout": _STRING,
            "metadata": {
                "type": "array",
                "items": _closed(
                    {
                        "name": {"type": "string", "minLength": 1},
                        "value": _STRING,
                        "secretKeyRef": _SECRET_KEY_REF,
                        "envRef": _STRING,
                    },
                    ("name",),
                ),
            },
        },
        ("type", "version"),
    ),
    scopes={"type": "array", "items": {"type": "string", "pattern": _DNS_LABEL}},
    auth=_closed({"secretStore": _STRING}),
)

#: (apiVersion, kind) → schema.
CUSTOM_SCHEMAS: Final[dict[tuple[str, str], Schema]] = {
    ("networking.istio.io/v1", "DestinationRule"): _DESTINATION_RULE,
    ("networking.istio.io/v1", "VirtualService"): _VIRTUAL_SERVICE,
    ("security.istio.io/v1", "PeerAuthentication"): _PEER_AUTHENTICATION,
    ("security.istio.io/v1", "AuthorizationPolicy"): _AUTHORIZATION_POLICY,
    ("dapr.io/v1alpha1", "Component"): _DAPR_COMPONENT,
}


def schema_for(api_version: str, kind: str) -> Schema | None:
    """The hand-written schema of a custom kind, None for anything else (the core kinds)."""
    return CUSTOM_SCHEMAS.get((api_version, kind))
