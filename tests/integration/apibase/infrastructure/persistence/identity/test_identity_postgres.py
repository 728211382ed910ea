"""Identity on the real PostgreSQL: uniqueness under races, compare-and-set rotation, the handlers end to end.

The tables live in a schema of their own (``search_path``), so nothing collides with other tests in the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.identity import (
    AuthenticateApiKey,
    CreateApiKey,
    EmailTakenError,
    IdentityDependencies,
    ListApiKeys,
    RefreshReusedError,
    RegisterTenant,
    RevokeApiKey,
    RotateRefreshToken,
    TenantClosedError,
    build_principal,
)
from apibase.core.principal import AuthMethod
from apibase.core.result import Err, Ok
from apibase.domain.identity import RefreshSession, User, UserId
from apibase.infrastructure.persistence.identity import (
    SqlRefreshSessionRepository,
    SqlUserRepository,
    identity_storage,
)
from apibase.infrastructure.persistence.schema import metadata
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.infrastructure.security.identity_adapters import Argon2PasswordHashing, JwtTokenMinting
from apibase.infrastructure.security.tokens import JwtKeyRing, TokenIssuer, TokenPolicy, TokenVerifier, generate_key
from apibase.testing.identity import IdentityOnBuses, identity_on_buses
from apibase.testing.postgres import scratch_schema
from apibase.testing.roles import widget_role_policy

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
NOW = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
ROLES = widget_role_policy()
type Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def session_factory(postgres_url: str) -> AsyncIterator[Sessions]:
    async with scratch_schema(postgres_url, metadata, prefix="identity") as sessions:
        yield sessions


@pytest.fixture
def identity(session_factory: Sessions) -> IdentityOnBuses:
    ring = JwtKeyRing([generate_key(kid="k1", created_at=1.0)])
    verifier = TokenVerifier(ring, TokenPolicy(issuer="apibase", audience="apibase"))
    tokens = JwtTokenMinting(TokenIssuer(ring, issuer="apibase", audience="apibase"), verifier)
    dependencies = IdentityDependencies(
        identity_storage(),
        hasher=Argon2PasswordHashing(time_cost=1, memory_cost=8192, parallelism=1),
        tokens=lambda: tokens,
        roles=ROLES,
    )
    return identity_on_buses(sql_unit_of_work_factory(session_factory), dependencies)


def new_user(email: str = "ada@example.com") -> User:
    return User(id=UserId.new(), tenant="acme", email=email, password_hash="h", roles=("viewer",), created_at=NOW)


async def test_a_user_round_trips_with_roles_and_aware_timestamps(session_factory: Sessions) -> None:
    ada = new_user()
    ada.locked_until = NOW
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await SqlUserRepository(uow).add(ada)
        await uow.commit()
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        loaded = await SqlUserRepository(uow).get(ada.id, tenant="acme")
        with pytest.raises(EmailTakenError):
            await SqlUserRepository(uow).add(new_user())

    assert loaded is not None
    assert loaded.model_dump() == ada.model_dump()


async def test_racing_sign_ups_for_one_tenant_make_one_admin(identity: IdentityOnBuses) -> None:
    results = await asyncio.gather(
        *(
            identity.send(RegisterTenant(email=f"user{n}@example.com", password=PASSWORD, tenant="acme"))
            for n in range(4)
        )
    )

    assert sum(isinstance(result, Ok) for result in results) == 1
    refused = [result.error for result in results if isinstance(result, Err)]
    assert all(isinstance(error, TenantClosedError) for error in refused)


async def test_racing_refreshes_of_one_token_let_one_win_and_revoke_the_family(identity: IdentityOnBuses) -> None:
    (await identity.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()
    pair = (await identity.login("ada@example.com", PASSWORD, "acme")).unwrap()

    results = await asyncio.gather(
        *(identity.send(RotateRefreshToken(refresh_token=pair.refresh_token)) for _ in range(3))
    )

    winners = [result.value for result in results if isinstance(result, Ok)]
    assert len(winners) <= 1
    assert any(isinstance(result, Err) and isinstance(result.error, RefreshReusedError) for result in results)
    for winner in winners:  # the reuse revoked the winner's family too
        assert isinstance(await identity.send(RotateRefreshToken(refresh_token=winner.refresh_token)), Err)


async def test_mark_used_is_compare_and_set_across_transactions(session_factory: Sessions) -> None:
    ada = new_user()
    session = RefreshSession.start(user_id=ada.id, tenant="acme", now=NOW, expires_at=NOW + timedelta(days=1))
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await SqlUserRepository(uow).add(ada)
        await SqlRefreshSessionRepository(uow).add(session)
        await uow.commit()
    session.consume(NOW)

    async with SQLAlchemyUnitOfWork(session_factory) as first, SQLAlchemyUnitOfWork(session_factory) as second:
        assert await SqlRefreshSessionRepository(first).mark_used(session)
        await first.commit()
        assert not await SqlRefreshSessionRepository(second).mark_used(session)


async def test_api_keys_on_postgres(identity: IdentityOnBuses) -> None:
    user = (await identity.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()
    principal = build_principal(str(user.id), "acme", ["admin"], AuthMethod.ACCESS_TOKEN, policy=ROLES)
    issued = (await identity.send(CreateApiKey(actor=principal, name="ci", expires_in=timedelta(days=1)))).unwrap()

    found = (await identity.send(AuthenticateApiKey(secret=issued.secret))).unwrap()
    keys = (await identity.ask(ListApiKeys(actor=principal))).unwrap()

    assert (found.subject, found.method) == (str(user.id), AuthMethod.API_KEY)
    assert keys[0].last_used_at is not None
    assert (await identity.send(RevokeApiKey(actor=principal, key_id=issued.key.id))).is_ok()
    assert isinstance(await identity.send(AuthenticateApiKey(secret=issued.secret)), Err)
