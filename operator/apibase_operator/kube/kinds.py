"""The kinds the operator owns, with their REST paths: a fixed table instead of discovery round trips."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MANAGED_KINDS", "Kind", "kind_of"]


@dataclass(frozen=True, slots=True)
class Kind:
    api_version: str
    kind: str
    plural: str

    @property
    def base(self) -> str:
        group_version = self.api_version
        return f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"

    def collection(self, namespace: str | None) -> str:
        """The namespace's collection; ``None``: every namespace's (what a cluster-wide watch reads)."""
        if namespace is None:
            return f"{self.base}/{self.plural}"
        return f"{self.base}/namespaces/{namespace}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


#: Everything ``desired_objects`` can produce; pruning lists exactly these.
MANAGED_KINDS: tuple[Kind, ...] = (
    Kind("apps/v1", "Deployment", "deployments"),
    Kind("v1", "Service", "services"),
    Kind("v1", "ServiceAccount", "serviceaccounts"),
    Kind("v1", "Secret", "secrets"),
    Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Kind("dapr.io/v1alpha1", "Component", "components"),
    Kind("networking.istio.io/v1", "DestinationRule", "destinationrules"),
    Kind("networking.istio.io/v1", "VirtualService", "virtualservices"),
    Kind("security.istio.io/v1", "PeerAuthentication", "peerauthentications"),
    Kind("security.istio.io/v1", "AuthorizationPolicy", "authorizationpolicies"),
)
_BY_TYPE = {(kind.api_version, kind.kind): kind for kind in MANAGED_KINDS}


def kind_of(obj: dict[str, object]) -> Kind:
    """The table entry for an object; an unknown kind is a programming error in the reconcile function."""
    return _BY_TYPE[(str(obj["apiVersion"]), str(obj["kind"]))]
