"""The identity handlers on SQL as the identity module wires them: SQLite, real Argon2 (cheap parameters), real
JWTs, buses configured like the kernel's."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.identity import (
    AccountLockedError,
    AuthenticateApiKey,
    CreateApiKey,
    IdentityDependencies,
    IdentityRules,
    ListApiKeys,
    RefreshReusedError,
    RefreshRevokedError,
    RegisterTenant,
    RotateApiKey,
    RotateRefreshToken,
)
from apibase.core.errors import UnauthorizedError
from apibase.core.result import Err, Ok
from apibase.domain.identity import UserId
from apibase.infrastructure.persistence.identity import SqlUserRepository, identity_storage
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.infrastructure.security.identity_adapters import (
    Argon2PasswordHashing,
    JwtTokenMinting,
    principal_from_claims,
)
from apibase.infrastructure.security.tokens import JwtKeyRing, TokenIssuer, TokenPolicy, TokenVerifier, generate_key
from apibase.testing.identity import IdentityOnBuses, identity_on_buses
from apibase.testing.roles import widget_role_policy

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"
RING = JwtKeyRing([generate_key(kid="k1", created_at=1.0)])
VERIFIER = TokenVerifier(RING, TokenPolicy(issuer="apibase", audience="apibase"))
ROLES = widget_role_policy()
TOKENS = JwtTokenMinting(TokenIssuer(RING, issuer="apibase", audience="apibase"), VERIFIER)
type Sessions = async_sessionmaker[AsyncSession]


def service(session_factory: Sessions, time_cost: int = 1) -> IdentityOnBuses:
    dependencies = IdentityDependencies(
        identity_storage(),
        hasher=Argon2PasswordHashing(time_cost=time_cost, memory_cost=8192, parallelism=1),
        tokens=lambda: TOKENS,
        roles=ROLES,
        rules=IdentityRules(max_failed_logins=2, lockout_seconds=60, api_key_grace_seconds=0),
    )
    return identity_on_buses(sql_unit_of_work_factory(session_factory), dependencies)


async def stored_hash(session_factory: Sessions, user_id: UserId) -> str:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        user = await SqlUserRepository(uow).get(user_id, tenant="acme")
    assert user is not None
    return user.password_hash


async def test_sign_up_login_rotation_and_reuse_detection(session_factory: Sessions) -> None:
    identity = service(session_factory)
    (await identity.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()

    first = (await identity.login("ada@example.com", PASSWORD, "acme")).unwrap()
    second = (await identity.send(RotateRefreshToken(refresh_token=first.refresh_token))).unwrap()
    reused = await identity.send(RotateRefreshToken(refresh_token=first.refresh_token))

    assert isinstance(reused, Err)
    assert isinstance(reused.error, RefreshReusedError)
    after = await identity.send(RotateRefreshToken(refresh_token=second.refresh_token))
    assert isinstance(after, Err)
    assert isinstance(after.error, RefreshRevokedError)


async def test_failed_logins_lock_the_account_in_the_database(session_factory: Sessions) -> None:
    identity = service(session_factory)
    (await identity.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()

    for _ in range(2):
        failed = await identity.login("ada@example.com", "not the password", "acme")
        assert isinstance(failed, Err)
        assert isinstance(failed.error, UnauthorizedError)
    locked = await service(session_factory).login("ada@example.com", PASSWORD, "acme")

    assert isinstance(locked, Err)
    assert isinstance(locked.error, AccountLockedError)
    assert locked.error.extensions == {"retry_after": 60}


async def test_a_login_upgrades_a_hash_made_with_old_parameters(session_factory: Sessions) -> None:
    user = (
        await service(session_factory, time_cost=1).send(
            RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme")
        )
    ).unwrap()
    old_hash = await stored_hash(session_factory, user.id)
    upgraded = service(session_factory, time_cost=2)

    assert isinstance(await upgraded.login("ada@example.com", PASSWORD, "acme"), Ok)

    new_hash = await stored_hash(session_factory, user.id)
    assert "t=1" in old_hash
    assert "t=2" in new_hash
    assert isinstance(await upgraded.login("ada@example.com", PASSWORD, "acme"), Ok)
    assert await stored_hash(session_factory, user.id) == new_hash


async def test_api_keys_authenticate_and_rotation_without_grace_ends_the_old_key(session_factory: Sessions) -> None:
    identity = service(session_factory)
    user = (await identity.send(RegisterTenant(email="ada@example.com", password=PASSWORD, tenant="acme"))).unwrap()
    actor = await identity.send(AuthenticateApiKey(secret="ab_0000000000000000_x"))
    assert isinstance(actor, Err)
    pair = (await identity.login("ada@example.com", PASSWORD, "acme")).unwrap()
    claims = TOKENS._verifier.verify(pair.access_token).unwrap()

    principal = principal_from_claims(claims, ROLES).unwrap()
    old = (await identity.send(CreateApiKey(actor=principal, name="ci"))).unwrap()
    assert (await identity.send(AuthenticateApiKey(secret=old.secret))).unwrap().subject == str(user.id)
    listed = (await identity.ask(ListApiKeys(actor=principal))).unwrap()
    assert listed[0].last_used_at is not None

    new = (await identity.send(RotateApiKey(actor=principal, key_id=old.key.id))).unwrap()

    assert isinstance(await identity.send(AuthenticateApiKey(secret=old.secret)), Err)
    assert (await identity.send(AuthenticateApiKey(secret=new.secret))).is_ok()
