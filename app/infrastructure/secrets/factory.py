"""The one place that turns ``SecretsSettings`` into a ``SecretsProvider`` (cached, so a hot path never waits)."""

from __future__ import annotations

from app.application.ports.secrets import SecretsProvider
from app.core.settings import SecretsSettings
from app.infrastructure.secrets.aws import AwsSecretsManagerProvider
from app.infrastructure.secrets.cached import CachedSecretsProvider
from app.infrastructure.secrets.env_file import EnvFileSecretsProvider
from app.infrastructure.secrets.vault import VaultSecretsProvider

__all__ = ["SECRETS_CACHE_SECONDS", "build_secrets_provider"]

#: Long enough that a request never pays a Vault round trip, short enough that a rotated secret arrives soon.
SECRETS_CACHE_SECONDS = 300.0


def build_secrets_provider(settings: SecretsSettings) -> SecretsProvider:
    inner: SecretsProvider
    match settings.provider:
        case "vault":
            if settings.vault_url is None or settings.vault_token is None:
                raise ValueError("the vault secrets provider needs APIBASE_SECRETS__VAULT_URL and __VAULT_TOKEN")
            inner = VaultSecretsProvider.from_token(
                settings.vault_url,
                settings.vault_token.get_secret_value(),
                mount=settings.vault_mount,
                path_prefix=settings.vault_path,
            )
        case "aws":
            if settings.aws_region is None:
                raise ValueError("the aws secrets provider needs APIBASE_SECRETS__AWS_REGION")
            inner = AwsSecretsManagerProvider.create(
                region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, prefix=settings.aws_prefix
            )
        case "env":
            inner = EnvFileSecretsProvider(directory=settings.directory)
    return CachedSecretsProvider(inner, ttl_seconds=SECRETS_CACHE_SECONDS)
