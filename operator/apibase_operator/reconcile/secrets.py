"""The shape of the Secret the Vault sync writes; the Vault I/O lives elsewhere.

Values go into ``data`` (base64, as the API requires for bytes) and nowhere else: the annotation carries
only the hash of the values, which is what the pod template copies to roll the pods on rotation.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile.labels import SECRET_HASH_ANNOTATION

__all__ = ["secret_manifest", "target_secret_name"]


def target_secret_name(resource: ApiBaseResource) -> str | None:
    """The Secret the Vault values go to: ``spec.vault.targetSecret`` or ``NAME-vault``; None without Vault."""
    vault = resource.spec.vault
    if vault is None:
        return None
    return vault.target_secret or f"{resource.metadata.name}-vault"


def secret_manifest(name: str, data: Mapping[str, bytes], secret_hash: str) -> dict[str, object]:
    """An Opaque Secret with ``data`` base64-encoded (keys sorted) and the hash as an annotation.

    Only ``name`` and the hash annotation are set in ``metadata``; the caller adds namespace, labels and owner.
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "annotations": {SECRET_HASH_ANNOTATION: secret_hash}},
        "type": "Opaque",
        "data": {key: base64.b64encode(data[key]).decode("ascii") for key in sorted(data)},
    }
