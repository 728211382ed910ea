"""The security container's identity seams: API keys are checked on the command bus, tokens once the keys loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from apibase.application.cqrs.bus import CommandBus
from apibase.application.identity import AuthenticateApiKey, InvalidApiKeyError
from apibase.core.errors import AnyAppError, DependencyUnavailable
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.core.settings import DaprSettings, IdempotencySettings
from apibase.domain.identity.permissions import PermissionRegistry
from apibase.domain.identity.roles import kernel_role_policy
from apibase.infrastructure.dapr.idempotency import DaprIdempotencyStore
from apibase.infrastructure.pools import ConnectionPools
from apibase.security import SecurityContainer, build_security
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit

ADA = Principal("u-1", "acme", frozenset({"admin"}), frozenset(), AuthMethod.API_KEY)


def container(tmp_path: Path, answer: Result[Principal, AnyAppError]) -> tuple[SecurityContainer, list[str]]:
    """A container whose command bus answers every ``AuthenticateApiKey`` with ``answer``; the secrets it saw."""
    commands, seen = CommandBus(), []

    @commands.handler
    async def authenticate(command: AuthenticateApiKey) -> Result[Principal, AnyAppError]:
        seen.append(command.secret)
        return answer

    settings = service_settings(tmp_path / "security.db")
    roles = kernel_role_policy(PermissionRegistry())
    security = build_security(
        settings, async_sessionmaker(), roles=roles, commands=commands, pools=ConnectionPools(settings)
    )
    return security, seen


async def test_an_api_key_is_checked_by_the_command_the_identity_module_handles(tmp_path: Path) -> None:
    security, seen = container(tmp_path, Ok(ADA))

    assert await security.authenticate_api_key("ab_0123456789abcdef_secret") == Ok(ADA)
    assert seen == ["ab_0123456789abcdef_secret"]


async def test_a_refused_key_is_an_err(tmp_path: Path) -> None:
    refused = InvalidApiKeyError("the API key is invalid, revoked or expired")
    security, _ = container(tmp_path, Err(refused))

    assert await security.authenticate_api_key("ab_x") == Err(refused)


async def test_storage_failing_is_a_fault_never_a_refused_key(tmp_path: Path) -> None:
    security, _ = container(tmp_path, Err(DependencyUnavailable("database down")))

    with pytest.raises(DependencyUnavailable, match="database down"):
        await security.authenticate_api_key("ab_x")


async def test_tokens_are_minted_only_once_the_signing_key_is_loaded(tmp_path: Path) -> None:
    security, _ = container(tmp_path, Ok(ADA))

    with pytest.raises(DependencyUnavailable, match="starting"):
        security.token_minting()
    await security.start()
    try:
        minted = security.token_minting().access_token(subject="u-1", tenant="acme", roles=["admin"])
        assert minted.token.count(".") == 2
    finally:
        await security.stop()


def test_the_dapr_idempotency_backend_keeps_keys_in_the_sidecars_state_store(tmp_path: Path) -> None:
    """Selected by settings; nothing is contacted until a keyed request arrives."""
    base = service_settings(tmp_path / "security.db")
    settings = base.model_copy(
        update={
            "idempotency": IdempotencySettings(backend="dapr"),
            "dapr": DaprSettings(state_store="idempotency-store", grpc_endpoint="127.0.0.1:1"),
        }
    )
    security = build_security(
        settings,
        async_sessionmaker(),
        roles=kernel_role_policy(PermissionRegistry()),
        commands=CommandBus(),
        pools=ConnectionPools(settings),
    )
    assert isinstance(security.idempotency_store, DaprIdempotencyStore)
    assert security.sql_idempotency is None
    assert "DaprState('idempotency-store', DaprSidecar('127.0.0.1:1'))" in repr(security.idempotency_store._state)
