"""Fixtures for the reconcile tests: an ApiBase builder and a renderer with lookups into its output.

Helpers are fixtures (session-scoped, so Hypothesis tests can use them) because test modules cannot import
each other or this conftest under ``--import-mode=importlib``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile import Observed, desired_objects

NAME = "orders"
NAMESPACE = "shop"
UID = "0b8e6c1e-1111-4222-8333-944455556666"
IMAGE = "ghcr.io/acme/orders:1.4.2"
CANARY_IMAGE = "ghcr.io/acme/orders:1.5.0"


def build(name: str = NAME, namespace: str = NAMESPACE, **spec: object) -> ApiBaseResource:
    """An ApiBase from wire-format (camelCase) spec fields; ``image`` defaults to a fixed tag."""
    return ApiBaseResource.model_validate(
        {
            "apiVersion": "apibase.dev/v1alpha1",
            "kind": "ApiBase",
            "metadata": {"name": name, "namespace": namespace, "uid": UID},
            "spec": {"image": IMAGE, **spec},
        }
    )


class Rendered:
    """The output of ``desired_objects`` with lookups by kind and name."""

    def __init__(self, objects: list[dict]) -> None:
        self.objects = objects

    def kinds(self) -> list[tuple[str, str]]:
        return [(obj["kind"], obj["metadata"]["name"]) for obj in self.objects]

    def has(self, kind: str, name: str = NAME) -> bool:
        return (kind, name) in self.kinds()

    def get(self, kind: str, name: str = NAME) -> dict:
        matches = [obj for obj in self.objects if (obj["kind"], obj["metadata"]["name"]) == (kind, name)]
        assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects in {self.kinds()}"
        return matches[0]

    def pod(self, name: str = NAME) -> dict:
        return self.get("Deployment", name)["spec"]["template"]

    def pod_annotations(self, name: str = NAME) -> dict:
        return self.pod(name)["metadata"].get("annotations", {})

    def container(self, name: str = NAME) -> dict:
        (only,) = self.pod(name)["spec"]["containers"]
        return only


@pytest.fixture(scope="session")
def make() -> Callable[..., ApiBaseResource]:
    return build


@pytest.fixture(scope="session")
def render() -> Callable[..., Rendered]:
    def _render(resource: ApiBaseResource, observed: Observed | None = None) -> Rendered:
        return Rendered(desired_objects(resource, observed or Observed()))

    return _render
