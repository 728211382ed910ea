"""The one place that turns ``SecretsSettings`` into a ``SecretsProvider`` (cached, so a hot path never waits).

The Vault, AWS and Dapr adapters need SDKs of the ``vault``, ``aws`` and ``dapr`` extras (hvac; boto3 and its 30 MB
of botocore; the Dapr SDK and grpcio), which an image has only when built with them (``SERVICE_EXTRAS``), so they
are imported here, when selected, and never at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from apibase.application.ports.secrets import SecretsProvider
from apibase.core.settings import DaprSettings, SecretsSettings
from apibase.infrastructure.secrets.cached import CachedSecretsProvider
from apibase.infrastructure.secrets.env_file import EnvFileSecretsProvider

if TYPE_CHECKING:
    from apibase.infrastructure.dapr.client import DaprSidecar

__all__ = ["SECRETS_CACHE_SECONDS", "MissingExtraError", "build_secrets_provider"]

#: Long enough that a request never pays a Vault round trip, short enough that a rotated secret arrives soon.
SECRETS_CACHE_SECONDS = 300.0


class MissingExtraError(RuntimeError):
    """A secrets provider is selected whose SDK is not installed: the message names the extra to install."""

    def __init__(self, provider: str, extra: str, module: str | None) -> None:
        super().__init__(
            f"the {provider} secrets provider needs the `{extra}` extra ({module} is not installed): "
            f"pip install 'apibase[{extra}]', or build the image with --build-arg SERVICE_EXTRAS={extra}"
        )


def _is_missing(exc: ModuleNotFoundError, *sdk: str) -> bool:
    """Whether ``exc`` is about the extra's SDK (any other missing module is a real bug: let it through)."""
    return (exc.name or "").partition(".")[0] in sdk


def build_secrets_provider(
    settings: SecretsSettings,
    dapr: DaprSettings | None = None,
    *,
    sidecar: Callable[[], DaprSidecar] | None = None,
) -> SecretsProvider:
    """``dapr``: the sidecar the ``dapr`` provider reads from (``Settings.dapr``; its defaults when omitted);
    ``sidecar``: the process's shared client of it (``ConnectionPools.dapr``), else one of its own."""
    inner: SecretsProvider
    match settings.provider:
        case "vault":
            if settings.vault_url is None or settings.vault_token is None:
                raise ValueError("the vault secrets provider needs APIBASE_SECRETS__VAULT_URL and __VAULT_TOKEN")
            try:
                from apibase.infrastructure.secrets.vault import VaultSecretsProvider  # noqa: PLC0415 - the extra
            except ModuleNotFoundError as exc:
                if not _is_missing(exc, "hvac"):
                    raise
                raise MissingExtraError("vault", "vault", exc.name) from None
            inner = VaultSecretsProvider.from_token(
                settings.vault_url,
                settings.vault_token.get_secret_value(),
                mount=settings.vault_mount,
                path_prefix=settings.vault_path,
            )
        case "aws":
            if settings.aws_region is None:
                raise ValueError("the aws secrets provider needs APIBASE_SECRETS__AWS_REGION")
            try:
                from apibase.infrastructure.secrets.aws import AwsSecretsManagerProvider  # noqa: PLC0415 - the extra
            except ModuleNotFoundError as exc:
                if not _is_missing(exc, "boto3", "botocore"):
                    raise
                raise MissingExtraError("aws", "aws", exc.name) from None
            inner = AwsSecretsManagerProvider.create(
                region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, prefix=settings.aws_prefix
            )
        case "dapr":
            try:
                from apibase.infrastructure.dapr.client import DaprSidecar  # noqa: PLC0415 - the extra
                from apibase.infrastructure.secrets.dapr import DaprSecretsProvider  # noqa: PLC0415 - the extra
            except ModuleNotFoundError as exc:
                if not _is_missing(exc, "dapr", "grpc", "google"):
                    raise
                raise MissingExtraError("dapr", "dapr", exc.name) from None
            sidecar_settings = dapr or DaprSettings()
            client = sidecar() if sidecar is not None else DaprSidecar(sidecar_settings)
            inner = DaprSecretsProvider(client, sidecar_settings.secret_store)
        case "env":
            inner = EnvFileSecretsProvider(directory=settings.directory)
    return CachedSecretsProvider(inner, ttl_seconds=SECRETS_CACHE_SECONDS)
