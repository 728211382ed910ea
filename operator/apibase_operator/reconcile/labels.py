"""Labels, selectors and owner references shared by every object the operator creates.

One module decides them so that every object carries the same recommended labels and the same owner
reference: ``kubectl get all -l app.kubernetes.io/instance=NAME`` finds everything, and deleting the
ApiBase garbage-collects everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from apibase_operator.crd.models import ApiBaseResource

__all__ = [
    "COMPONENT_API",
    "COMPONENT_DAPR",
    "COMPONENT_MESH",
    "COMPONENT_SECRET",
    "MANAGED_BY",
    "SECRET_HASH_ANNOTATION",
    "TRACK_LABEL",
    "Track",
    "image_version",
    "labels_for",
    "metadata_for",
    "owner_reference",
    "selector_for",
]

type Track = Literal["stable", "canary"]

MANAGED_BY: Final = "apibase-operator"
#: Which Deployment a pod belongs to; Istio subsets and the Deployment selectors key on it.
TRACK_LABEL: Final = "apibase.dev/track"
#: Hash of the synced Vault values (never the values): on a pod template it turns a rotation into a rollout.
SECRET_HASH_ANNOTATION: Final = "apibase.dev/secret-hash"  # noqa: S105 - an annotation key, not a secret

COMPONENT_API: Final = "api"
COMPONENT_DAPR: Final = "dapr"
COMPONENT_MESH: Final = "mesh"
COMPONENT_SECRET: Final = "secret"  # noqa: S105 - a label value

_LABEL_VALUE_MAX = 63
_NOT_ALLOWED_IN_LABEL = re.compile(r"[^A-Za-z0-9_.-]")
_NOT_ALNUM_AT_ENDS = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")
_DIGEST_SHOWN = 12


def image_version(image: str) -> str:
    """The image tag as a valid label value (digests are shortened: a label value holds 63 characters, no ':')."""
    if "@" in image:
        algorithm, _, digest = image.rpartition("@")[2].partition(":")
        return f"{algorithm}-{digest[:_DIGEST_SHOWN]}"
    tag = image.rpartition("/")[2].rpartition(":")[2]
    value = _NOT_ALNUM_AT_ENDS.sub("", _NOT_ALLOWED_IN_LABEL.sub("", tag)[:_LABEL_VALUE_MAX])
    return value or "unknown"


def selector_for(resource: ApiBaseResource, track: Track | None = None) -> dict[str, str]:
    """The labels that select the service's pods; they never change, as Deployment selectors are immutable.

    Without a track they select both tracks (the Service, the mesh policies); with one, one Deployment's pods.
    """
    selector = {
        "app.kubernetes.io/name": resource.metadata.name,
        "app.kubernetes.io/instance": resource.metadata.name,
    }
    if track is not None:
        selector[TRACK_LABEL] = track
    return selector


def labels_for(resource: ApiBaseResource, component: str, track: Track | None = None) -> dict[str, str]:
    """The recommended ``app.kubernetes.io`` labels, plus the track when the object belongs to one.

    The version is the tag of the image the object runs: the canary's image for the canary track.
    """
    canary = resource.spec.canary
    image = canary.image if track == "canary" and canary is not None else resource.spec.image
    return {
        **selector_for(resource, track),
        "app.kubernetes.io/version": image_version(image),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def owner_reference(resource: ApiBaseResource) -> dict[str, object]:
    """Makes the ApiBase the controller of an object: deleting it deletes the object, and kopf sees its events."""
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "name": resource.metadata.name,
        "uid": resource.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata_for(
    resource: ApiBaseResource,
    name: str,
    component: str,
    track: Track | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """``metadata`` of an owned object: its name, the ApiBase's namespace, the labels and the owner reference."""
    metadata: dict[str, object] = {
        "name": name,
        "namespace": resource.metadata.namespace,
        "labels": labels_for(resource, component, track),
        "ownerReferences": [owner_reference(resource)],
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata
