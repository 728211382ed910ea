"""Adapters of the ``SecretsProvider`` port: mounted files and variables, Vault/OpenBao, AWS, a TTL cache.

The Vault and AWS adapters (``.vault``, ``.aws``) are not re-exported: they import SDKs from the ``vault`` and
``aws`` extras, which the service image leaves out unless asked; ``factory`` imports them when selected.
"""

from __future__ import annotations

from apibase.infrastructure.secrets.cached import CachedSecretsProvider
from apibase.infrastructure.secrets.env_file import EnvFileSecretsProvider, env_var_name

__all__ = ["CachedSecretsProvider", "EnvFileSecretsProvider", "env_var_name"]
