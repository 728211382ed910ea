"""build_secrets_provider imports a provider's SDK (an extra) only when that provider is selected."""

from __future__ import annotations

import sys

import pytest

from apibase.core.settings import DaprSettings, SecretsSettings
from apibase.infrastructure.secrets import CachedSecretsProvider
from apibase.infrastructure.secrets.factory import MissingExtraError, build_secrets_provider

pytestmark = pytest.mark.unit


def _uninstall(monkeypatch: pytest.MonkeyPatch, adapter: str, *sdk: str) -> None:
    """As in an image built without the extra: importing the SDK fails, and the adapter is not loaded yet."""
    monkeypatch.delitem(sys.modules, f"apibase.infrastructure.secrets.{adapter}", raising=False)
    for module in sdk:
        monkeypatch.setitem(sys.modules, module, None)


def test_the_env_provider_needs_no_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    _uninstall(monkeypatch, "aws", "boto3", "botocore")
    _uninstall(monkeypatch, "vault", "hvac")
    assert isinstance(build_secrets_provider(SecretsSettings(provider="env")), CachedSecretsProvider)


def test_aws_without_the_aws_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _uninstall(monkeypatch, "aws", "boto3", "botocore")
    with pytest.raises(MissingExtraError, match=r"aws secrets provider needs the `aws` extra \(boto3 is not") as info:
        build_secrets_provider(SecretsSettings(provider="aws", aws_region="eu-west-1"))
    assert "SERVICE_EXTRAS=aws" in str(info.value)


def test_vault_without_the_vault_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _uninstall(monkeypatch, "vault", "hvac")
    settings = SecretsSettings(provider="vault", vault_url="http://127.0.0.1:8200", vault_token="t")
    with pytest.raises(MissingExtraError, match=r"vault secrets provider needs the `vault` extra \(hvac is not"):
        build_secrets_provider(settings)


def test_another_missing_module_is_not_blamed_on_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the SDK's absence means "install the extra"; any other missing module is a bug and surfaces as is."""
    _uninstall(monkeypatch, "aws", "apibase.infrastructure.secrets._names")
    with pytest.raises(ModuleNotFoundError) as info:
        build_secrets_provider(SecretsSettings(provider="aws", aws_region="eu-west-1"))
    assert not isinstance(info.value, MissingExtraError)
    assert info.value.name == "apibase.infrastructure.secrets._names"


def test_dapr_without_the_dapr_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's submodules too: another test may have imported them already."""
    _uninstall(monkeypatch, "dapr", *(name for name in list(sys.modules) if name.partition(".")[0] == "dapr"), "dapr")
    for adapter in [name for name in sys.modules if name.startswith("apibase.infrastructure.dapr.")]:
        monkeypatch.delitem(sys.modules, adapter)
    with pytest.raises(MissingExtraError, match=r"dapr secrets provider needs the `dapr` extra \(dapr\.") as info:
        build_secrets_provider(SecretsSettings(provider="dapr"))
    assert "SERVICE_EXTRAS=dapr" in str(info.value)


def test_dapr_reads_the_sidecar_and_store_from_the_dapr_settings() -> None:
    """Nothing is contacted yet: the client opens on the first read."""
    settings = DaprSettings(secret_store="vault-store", grpc_endpoint="127.0.0.1:1")
    provider = build_secrets_provider(SecretsSettings(provider="dapr"), settings)
    assert "DaprSecretsProvider('vault-store', DaprSidecar('127.0.0.1:1'))" in repr(provider)
