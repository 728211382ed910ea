"""Vault/OpenBao → Kubernetes Secret sync: a KV v2 reader (``client``) and the pure sync rules (``sync``)."""

from __future__ import annotations

from apibase_operator.vault.client import (
    DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH,
    HvacVaultReader,
    VaultAccessDenied,
    VaultError,
    VaultPathNotFound,
    VaultReader,
    VaultUnavailable,
)
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
    "DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH",
    "HvacVaultReader",
    "SyncedSecret",
    "VaultAccessDenied",
    "VaultError",
    "VaultKeyMissing",
    "VaultMappingInvalid",
    "VaultPathNotAllowed",
    "VaultPathNotFound",
    "VaultReader",
    "VaultUnavailable",
    "backoff_seconds",
    "hash_secret_data",
    "secret_drifted",
    "sync_secret",
]
