"""The operator's secret key for ``status.secretHash``: read from a Secret in its namespace, created once.

The key lives in the cluster rather than in the chart: a chart-generated value would change on every
``helm template`` (GitOps renders without ``lookup``), and a new key changes every hash, which rolls every
pod that loads Vault values. Created by the first operator that finds it missing; kept across restarts,
upgrades and reinstalls. Pre-create the Secret to bring a key of your own.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from kubernetes.client import CoreV1Api, V1ObjectMeta, V1Secret
from kubernetes.client.exceptions import ApiException

__all__ = ["DEFAULT_SECRET_NAME", "KEY_FIELD", "MIN_KEY_BYTES", "HashKeyError", "load_hash_key"]

DEFAULT_SECRET_NAME = "apibase-operator-hash-key"  # noqa: S105 - a Secret's name
KEY_FIELD = "key"
MIN_KEY_BYTES = 32
_REQUEST_TIMEOUT = 10.0


class HashKeyError(Exception):
    """The key Secret cannot be read, created or used: the operator cannot start without it."""


def load_hash_key(core: CoreV1Api, namespace: str, name: str = DEFAULT_SECRET_NAME) -> bytes:
    """The key in Secret ``namespace/name`` (key ``key``); a new random key when the Secret does not exist."""
    where = f"Secret {namespace}/{name}"
    try:
        secret = core.read_namespaced_secret(name, namespace, _request_timeout=_REQUEST_TIMEOUT)
    except ApiException as error:
        if error.status != 404:
            raise HashKeyError(f"cannot read the hash key {where}: HTTP {error.status}") from None
        created = _create(core, namespace, name)
        if created is not None:
            return created
        secret = core.read_namespaced_secret(name, namespace, _request_timeout=_REQUEST_TIMEOUT)  # lost a race
    raw = (secret.data or {}).get(KEY_FIELD)
    if raw is None:
        raise HashKeyError(f"the hash key {where} has no key {KEY_FIELD!r}")
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise HashKeyError(f"the hash key in {where} is not base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise HashKeyError(f"the hash key in {where} has {len(key)} bytes; it needs at least {MIN_KEY_BYTES}")
    return key


def _create(core: CoreV1Api, namespace: str, name: str) -> bytes | None:
    """Create the Secret with a fresh key; None when another operator created it first."""
    key = secrets.token_bytes(MIN_KEY_BYTES)
    body = V1Secret(
        metadata=V1ObjectMeta(name=name, namespace=namespace, labels={"app.kubernetes.io/part-of": "apibase"}),
        type="Opaque",
        data={KEY_FIELD: base64.b64encode(key).decode("ascii")},
    )
    try:
        core.create_namespaced_secret(namespace, body, _request_timeout=_REQUEST_TIMEOUT)
    except ApiException as error:
        if error.status == 409:
            return None
        raise HashKeyError(f"cannot create the hash key Secret {namespace}/{name}: HTTP {error.status}") from None
    return key
