"""Build the operator's Reconciler from its environment: Kubernetes client, Vault readers, hash key and policy.

Policy comes only from the operator's own environment (``APIBASE_OPERATOR_*``), never from an ApiBase, so a
team that can write ApiBase objects cannot widen what the operator may reach.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from apibase_operator.crd.models import Vault
from apibase_operator.hash_key import DEFAULT_SECRET_NAME, load_hash_key
from apibase_operator.kube.client import REQUEST_THREADS, KubeClient
from apibase_operator.kube.kinds import MANAGED_KINDS
from apibase_operator.runtime import OperatorConfig, Reconciler
from apibase_operator.vault.client import HvacVaultReader, VaultReader
from apibase_operator.vault.credentials import DEFAULT_AUDIENCE, KubernetesCredentials, Workload

__all__ = ["api_client", "config_from_env", "kube_configuration", "reconciler_for", "reconciler_from_env"]


def _set(value: str | None) -> frozenset[str] | None:
    return None if not value else frozenset(item.strip() for item in value.split(",") if item.strip())


def config_from_env(environ: Mapping[str, str] = os.environ) -> OperatorConfig:
    return OperatorConfig(
        resync_seconds=float(environ.get("APIBASE_OPERATOR_RESYNC_SECONDS", "60")),
        vault_mounts=_set(environ.get("APIBASE_OPERATOR_VAULT_MOUNTS")),
        vault_addresses=_set(environ.get("APIBASE_OPERATOR_VAULT_ADDRESSES")),
        vault_audience=environ.get("APIBASE_OPERATOR_VAULT_AUDIENCE") or DEFAULT_AUDIENCE,
        vault_workers=int(environ.get("APIBASE_OPERATOR_VAULT_WORKERS", "4")),
        vault_timeout_seconds=float(environ.get("APIBASE_OPERATOR_VAULT_TIMEOUT_SECONDS", "5")),
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
    # A connection for each request thread and each watch (one per owned kind): none opened and dropped per call.
    configuration.connection_pool_maxsize = REQUEST_THREADS + len(MANAGED_KINDS)
    return configuration


def api_client() -> k8s.ApiClient:
    return k8s.ApiClient(kube_configuration())


def reconciler_for(api: k8s.ApiClient, config: OperatorConfig, hash_key: bytes) -> Reconciler:
    """The reconciler over ``api``: Vault is read with the credentials of each ApiBase's own workload."""
    core = k8s.CoreV1Api(api)

    def vault_reader(spec: Vault, workload: Workload) -> VaultReader:
        credentials = KubernetesCredentials(core, workload, audience=config.vault_audience)
        return HvacVaultReader(spec.address, spec.auth, credentials=credentials, timeout=config.vault_timeout_seconds)

    return Reconciler(
        kube=KubeClient(api),
        vault_reader=vault_reader,
        hash_key=hash_key,
        config=config,
        vault_executor=ThreadPoolExecutor(config.vault_workers, thread_name_prefix="vault"),
    )


def reconciler_from_env() -> Reconciler:
    """The hash key is read (or created) in the operator's namespace before the first reconciliation."""
    api = api_client()
    namespace = os.environ.get("APIBASE_OPERATOR_NAMESPACE", "apibase-system")
    secret_name = os.environ.get("APIBASE_OPERATOR_HASH_KEY_SECRET") or DEFAULT_SECRET_NAME
    hash_key = load_hash_key(k8s.CoreV1Api(api), namespace, secret_name)
    return reconciler_for(api, config_from_env(), hash_key)
