"""Dapr: the sidecar annotations on the pod template and one ``Component`` per ``spec.dapr.components``.

The Dapr sidecar injector reads the ``dapr.io/*`` pod annotations; components are scoped to this app's id so
that another app in the namespace does not load them. Component names are the user's, unprefixed, because
the application addresses them by name (``pubsub``, ``statestore``); two ApiBases in one namespace must
therefore not declare components with the same name.

The application learns those names from its settings (:func:`app_settings`): the first component of each
building block it uses (pubsub, state store, secret store) becomes the matching ``APIBASE_DAPR__*`` variable,
and a pubsub component makes Dapr the events publisher. The names are those of ``apibase.core.settings``
(the operator does not import the application; a test checks them against its Settings model).
"""

from __future__ import annotations

from apibase_operator.crd.models import ApiBaseResource, DaprComponent, DaprMetadataItem
from apibase_operator.reconcile.labels import COMPONENT_DAPR, metadata_for

__all__ = [
    "DAPR_API_VERSION",
    "DAPR_GRPC_PORT",
    "DAPR_HTTP_PORT",
    "PUBLISHER_VARIABLE",
    "SETTING_BY_BLOCK",
    "TOKEN_KEY",
    "TOKEN_VARIABLES",
    "app_id",
    "app_settings",
    "app_token_refs",
    "components",
    "dapr_enabled",
    "sidecar_annotations",
]

DAPR_API_VERSION = "dapr.io/v1alpha1"
#: daprd's HTTP and gRPC APIs, which the application calls over localhost (daprd-to-daprd traffic uses 50002).
DAPR_HTTP_PORT = 3500
DAPR_GRPC_PORT = 50001
#: The setting naming the component the application uses, by the building block (the type's prefix).
SETTING_BY_BLOCK = {
    "pubsub": "APIBASE_DAPR__PUBSUB",
    "state": "APIBASE_DAPR__STATE_STORE",
    "secretstores": "APIBASE_DAPR__SECRET_STORE",
}
#: The setting choosing how events leave the service; ``dapr`` once the sidecar has a pubsub component.
PUBLISHER_VARIABLE = "APIBASE_EVENTS__PUBLISHER"
#: The key of a Dapr token Secret (fixed by Dapr's injector).
TOKEN_KEY = "token"  # noqa: S105 - the name of a key, not a secret
#: The settings holding the tokens: the one daprd sends to the app, the one the app sends to daprd.
TOKEN_VARIABLES = ("APIBASE_DAPR__APP_API_TOKEN", "APIBASE_DAPR__API_TOKEN")


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
    if dapr.app_token_secret:
        annotations["dapr.io/app-token-secret"] = dapr.app_token_secret
    if dapr.api_token_secret:
        annotations["dapr.io/api-token-secret"] = dapr.api_token_secret
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


def app_token_refs(resource: ApiBaseResource) -> dict[str, tuple[str, str]]:
    """The token settings as ``(secret, key)`` references to the Secrets the sidecar reads; empty when Dapr is off.

    daprd and the application read the same Secret key, so a rotated token reaches both with the next rollout.
    """
    dapr = resource.spec.dapr
    if dapr is None or not dapr.enabled:
        return {}
    secrets = (dapr.app_token_secret, dapr.api_token_secret)
    return {variable: (secret, TOKEN_KEY) for variable, secret in zip(TOKEN_VARIABLES, secrets, strict=True) if secret}


def app_settings(resource: ApiBaseResource) -> dict[str, str]:
    """The settings telling the application which components to use; empty when Dapr is off.

    Of several components of one building block the first declared is the application's (the others are there
    for code that names them itself); a variable of the same name in ``spec.env`` overrides the choice.
    """
    dapr = resource.spec.dapr
    if dapr is None or not dapr.enabled:
        return {}
    settings: dict[str, str] = {}
    for component in dapr.components:
        variable = SETTING_BY_BLOCK.get(component.type.split(".", 1)[0])
        if variable is not None:
            settings.setdefault(variable, component.name)
    if SETTING_BY_BLOCK["pubsub"] in settings:
        settings[PUBLISHER_VARIABLE] = "dapr"
    return settings
