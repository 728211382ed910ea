from __future__ import annotations

import base64

import pytest

from apibase_operator.reconcile import Observed
from apibase_operator.reconcile.secrets import secret_manifest, target_secret_name
from apibase_operator.vault import SyncedSecret, hash_secret_data

pytestmark = pytest.mark.unit

VALUES = {"DB_PASSWORD": b"hunter2", "API_KEY": b"\x00\xffbinary"}
HASH_KEY = b"reconcile-tests-hash-key-32bytes"
VAULT = {
    "address": "https://vault:8200",
    "auth": {"kubernetes": {"role": "orders"}},
    "paths": [{"path": "orders/db", "keys": {"password": "DB_PASSWORD"}}],
}


def test_the_secret_shape_holds_values_only_in_data():
    manifest = secret_manifest("orders-vault", VALUES, "sha256:abc")

    assert manifest == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "orders-vault", "annotations": {"apibase.dev/secret-hash": "sha256:abc"}},
        "type": "Opaque",
        "data": {
            "API_KEY": base64.b64encode(b"\x00\xffbinary").decode(),
            "DB_PASSWORD": base64.b64encode(b"hunter2").decode(),
        },
    }
    assert list(manifest["data"]) == ["API_KEY", "DB_PASSWORD"]


def test_the_target_secret_name(make):
    assert target_secret_name(make()) is None
    assert target_secret_name(make(vault=VAULT)) == "orders-vault"
    assert target_secret_name(make(vault={**VAULT, "targetSecret": "creds"})) == "creds"


def test_the_synced_secret_is_rendered_owned_and_without_values_outside_data(make, render):
    secret = SyncedSecret(name="orders-vault", data=VALUES, hash=hash_secret_data(VALUES, HASH_KEY))
    rendered = render(make(vault=VAULT), Observed(secret=secret))
    manifest = rendered.get("Secret", "orders-vault")

    assert manifest["metadata"]["annotations"] == {"apibase.dev/secret-hash": secret.hash}
    assert manifest["metadata"]["namespace"] == "shop"
    assert manifest["metadata"]["labels"]["app.kubernetes.io/component"] == "secret"
    assert manifest["data"]["DB_PASSWORD"] == base64.b64encode(b"hunter2").decode()
    assert rendered.pod_annotations()["apibase.dev/secret-hash"] == secret.hash
    encoded = base64.b64encode(b"hunter2").decode()
    elsewhere = repr([obj for obj in rendered.objects if obj is not manifest] + [{**manifest, "data": {}}])
    assert "hunter2" not in elsewhere
    assert encoded not in elsewhere


def test_no_secret_object_without_a_synced_secret(make, render):
    rendered = render(make(vault=VAULT), Observed(secret_hash="sha256:abc"))

    assert not [obj for obj in rendered.objects if obj["kind"] == "Secret"]
