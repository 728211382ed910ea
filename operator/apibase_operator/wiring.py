"""Build the operator's Reconciler from its environment: Kubernetes client, Vault readers and policy.

Policy comes only from the operator's own environment (``APIBASE_OPERATOR_*``), never from an ApiBase, so a
team that can write ApiBase objects cannot widen what the operator may reach.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from apibase_operator.crd.models import SecretKeyRef, Vault
from apibase_operator.kube.client import KubeClient
from apibase_operator.runtime import OperatorConfig, Reconciler
from apibase_operator.vault.client import HvacVaultReader, VaultReader

__all__ = ["api_client", "config_from_env", "kube_configuration", "reconciler_from_env"]


def _set(value: str | None) -> frozenset[str] | None:
    return None if not value else frozenset(item.strip() for item in value.split(",") if item.strip())


def config_from_env(environ: Mapping[str, str] = os.environ) -> OperatorConfig:
    return OperatorConfig(
        resync_seconds=float(environ.get("APIBASE_OPERATOR_RESYNC_SECONDS", "60")),
        vault_mounts=_set(environ.get("APIBASE_OPERATOR_VAULT_MOUNTS")),
        vault_addresses=_set(environ.get("APIBASE_OPERATOR_VAULT_ADDRESSES")),
    )


def kube_configuration() -> k8s.Configuration:
    """In a pod: the service account; elsewhere: the kubeconfig named by ``$KUBECONFIG`` (read now, not at import).

    kopf's login and the reconciler's client both come from here, so they always talk to the same cluster.
    """
    configuration = k8s.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return configuration


def api_client() -> k8s.ApiClient:
    return k8s.ApiClient(kube_configuration())


def reconciler_from_env(namespace_of_token_secrets: str | None = None) -> Reconciler:
    api = api_client()
    core = k8s.CoreV1Api(api)
    namespace = namespace_of_token_secrets or os.environ.get("APIBASE_OPERATOR_NAMESPACE", "apibase-system")

    def token_reader(ref: SecretKeyRef) -> str:
        """Vault tokens live in Secrets next to the operator, never in an ApiBase."""
        secret = core.read_namespaced_secret(ref.name, namespace)
        return base64.b64decode((secret.data or {})[ref.key]).decode()

    def vault_reader(spec: Vault) -> VaultReader:
        return HvacVaultReader(spec.address, spec.auth, token_reader=token_reader)

    return Reconciler(kube=KubeClient(api), vault_reader=vault_reader, config=config_from_env())
