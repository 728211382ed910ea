from __future__ import annotations

import re
from types import MappingProxyType

import pytest

from apibase_operator.reconcile import labels_for, owner_reference, revision_hash, selector_for
from apibase_operator.reconcile.labels import image_version, metadata_for

pytestmark = pytest.mark.unit

# Kubernetes' label value syntax.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("ghcr.io/acme/orders:1.4.2", "1.4.2"),
        ("localhost:5000/orders:v2", "v2"),
        ("orders:latest", "latest"),
        ("orders:_build.7-", "build.7"),
        ("orders:___", "unknown"),
        ("orders:" + "a" * 128, "a" * 63),
        ("orders:" + "a" * 62 + "-b", "a" * 62),
        ("ghcr.io/acme/orders@sha256:" + "0123456789abcdef" * 4, "sha256-0123456789ab"),
    ],
)
def test_image_version_is_the_tag_as_a_valid_label_value(image, version):
    assert image_version(image) == version
    assert LABEL_VALUE.match(version)
    assert len(version) <= 63


def test_labels_are_the_recommended_set(make):
    resource = make()

    assert labels_for(resource, "api") == {
        "app.kubernetes.io/name": "orders",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/version": "1.4.2",
        "app.kubernetes.io/component": "api",
        "app.kubernetes.io/managed-by": "apibase-operator",
    }


def test_a_track_adds_the_track_label_and_the_canary_track_its_image_version(make):
    resource = make(canary={"image": "ghcr.io/acme/orders:1.5.0"})

    stable = labels_for(resource, "api", "stable")
    canary = labels_for(resource, "api", "canary")

    assert stable["apibase.dev/track"] == "stable"
    assert stable["app.kubernetes.io/version"] == "1.4.2"
    assert canary["apibase.dev/track"] == "canary"
    assert canary["app.kubernetes.io/version"] == "1.5.0"


def test_the_canary_track_without_a_canary_falls_back_to_the_image(make):
    assert labels_for(make(), "api", "canary")["app.kubernetes.io/version"] == "1.4.2"


def test_selectors_hold_only_the_immutable_identity(make):
    resource = make()

    assert selector_for(resource) == {"app.kubernetes.io/name": "orders", "app.kubernetes.io/instance": "orders"}
    assert selector_for(resource, "canary") == {**selector_for(resource), "apibase.dev/track": "canary"}


def test_owner_reference_makes_the_apibase_the_controller(make):
    assert owner_reference(make()) == {
        "apiVersion": "apibase.dev/v1alpha1",
        "kind": "ApiBase",
        "name": "orders",
        "uid": "0b8e6c1e-1111-4222-8333-944455556666",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_metadata_has_namespace_labels_owner_and_annotations_only_when_given(make):
    resource = make()

    plain = metadata_for(resource, "x", "api")
    annotated = metadata_for(resource, "x", "api", annotations={"a": "b"})

    assert plain == {
        "name": "x",
        "namespace": "shop",
        "labels": labels_for(resource, "api"),
        "ownerReferences": [owner_reference(resource)],
    }
    assert annotated == {**plain, "annotations": {"a": "b"}}


def test_revision_hash_is_short_stable_and_ignores_key_order():
    template = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"image": "x:1"}]}}
    reordered = {"spec": {"containers": [{"image": "x:1"}]}, "metadata": {"labels": {"b": "2", "a": "1"}}}

    assert revision_hash(template) == revision_hash(reordered) == revision_hash(MappingProxyType(template))
    assert re.fullmatch(r"[0-9a-f]{12}", revision_hash(template))


def test_revision_hash_changes_with_the_template():
    assert revision_hash({"spec": {"image": "x:1"}}) != revision_hash({"spec": {"image": "x:2"}})
