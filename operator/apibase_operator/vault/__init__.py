"""Vault/OpenBao → Kubernetes Secret sync: a KV v2 reader (``client``), the workload's credentials
(``credentials``) and the pure sync rules (``sync``)."""

from __future__ import annotations

from apibase_operator.vault.client import (
    Credentials,
    HvacVaultReader,
    VaultAccessDenied,
    VaultError,
    VaultPathNotFound,
    VaultReader,
    VaultTokenMissing,
    VaultUnavailable,
)
from apibase_operator.vault.credentials import DEFAULT_AUDIENCE, KubernetesCredentials, Workload
from apibase_operator.vault.sync import (
    SyncedSecret,
    VaultKeyMissing,
    VaultMappingInvalid,
    VaultPathNotAllowed,
    backoff_seconds,
    hash_secret_data,
    secret_drifted,
    sync_secret,
)

__all__ = [
    "DEFAULT_AUDIENCE",
    "Credentials",
    "HvacVaultReader",
    "KubernetesCredentials",
    "SyncedSecret",
    "VaultAccessDenied",
    "VaultError",
    "VaultKeyMissing",
    "VaultMappingInvalid",
    "VaultPathNotAllowed",
    "VaultPathNotFound",
    "VaultReader",
    "VaultTokenMissing",
    "VaultUnavailable",
    "Workload",
    "backoff_seconds",
    "hash_secret_data",
    "secret_drifted",
    "sync_secret",
]
