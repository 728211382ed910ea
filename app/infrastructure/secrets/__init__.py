"""Adapters of the ``SecretsProvider`` port: mounted files and variables, Vault/OpenBao, AWS, a TTL cache."""

from __future__ import annotations

from app.infrastructure.secrets.aws import AwsSecretsManagerProvider, SecretsManagerClient
from app.infrastructure.secrets.cached import CachedSecretsProvider
from app.infrastructure.secrets.env_file import EnvFileSecretsProvider, env_var_name
from app.infrastructure.secrets.vault import KvV2Reader, VaultSecretsProvider

__all__ = [
    "AwsSecretsManagerProvider",
    "CachedSecretsProvider",
    "EnvFileSecretsProvider",
    "KvV2Reader",
    "SecretsManagerClient",
    "VaultSecretsProvider",
    "env_var_name",
]
