"""The identity ports' adapters: Argon2 off the event loop with rehash detection, JWT minting, principals."""

from __future__ import annotations

import pytest

from apibase.core.errors import UnauthorizedError
from apibase.core.principal import AuthMethod
from apibase.core.result import Err, Ok
from apibase.infrastructure.security.identity_adapters import (
    Argon2PasswordHashing,
    JwtTokenMinting,
    principal_from_claims,
)
from apibase.infrastructure.security.tokens import (
    AuthErrorCode,
    Claims,
    JwtKeyRing,
    TokenIssuer,
    TokenPolicy,
    TokenVerifier,
    generate_key,
)
from apibase.testing.roles import widget_role_policy

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def hashing() -> Argon2PasswordHashing:
    return Argon2PasswordHashing(time_cost=1, memory_cost=8192, parallelism=1)


RING = JwtKeyRing([generate_key(kid="k1", created_at=1.0)])
ISSUER = TokenIssuer(RING, issuer="apibase", audience="apibase")


@pytest.fixture
def minting() -> JwtTokenMinting:
    return JwtTokenMinting(ISSUER, TokenVerifier(RING, TokenPolicy(issuer="apibase", audience="apibase")))


async def test_hash_and_verify(hashing: Argon2PasswordHashing) -> None:
    stored = await hashing.hash(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert await hashing.verify(PASSWORD, stored) == Ok(None)
    wrong = await hashing.verify("another password", stored)
    assert isinstance(wrong, Err)
    assert wrong.error.code == AuthErrorCode.INVALID_CREDENTIALS
    assert PASSWORD not in repr(hashing)


async def test_an_unknown_user_is_always_refused(hashing: Argon2PasswordHashing) -> None:
    assert isinstance(await hashing.verify("dummy password for unknown users", None), Err)


async def test_needs_rehash_follows_the_parameters(hashing: Argon2PasswordHashing) -> None:
    stored = await hashing.hash(PASSWORD)
    stronger = Argon2PasswordHashing(time_cost=2, memory_cost=8192, parallelism=1)

    assert not hashing.needs_rehash(stored)
    assert stronger.needs_rehash(stored)
    assert stronger.needs_rehash("not an argon2 hash")


def test_minted_tokens_carry_tenant_roles_and_family(minting: JwtTokenMinting) -> None:
    access = minting.access_token(subject="u1", tenant="acme", roles=["viewer"])
    refresh = minting.refresh_token(subject="u1", tenant="acme", family="fam", token_id="jti")

    assert access.token not in repr(access)
    claims = minting.verify_refresh(refresh.token).unwrap()
    assert (claims.subject, claims.tenant, claims.family, claims.token_id) == ("u1", "acme", "fam", "jti")
    wrong_type = minting.verify_refresh(access.token)
    assert isinstance(wrong_type, Err)
    assert wrong_type.error.code == AuthErrorCode.TOKEN_WRONG_TYPE


def test_a_refresh_token_without_tenant_or_family_is_malformed(minting: JwtTokenMinting) -> None:
    for token in (ISSUER.issue_refresh("u1", family="f").token, ISSUER.issue_refresh("u1", tenant="acme").token):
        refused = minting.verify_refresh(token)
        assert isinstance(refused, Err)
        assert refused.error.code == AuthErrorCode.TOKEN_MALFORMED


def claims(tenant: str | None, roles: tuple[str, ...]) -> Claims:
    return Claims("u1", "apibase", ("apibase",), None, None, 0, "jti", None, roles=roles, tenant=tenant)


def test_principals_from_access_claims_use_todays_role_table() -> None:
    roles = widget_role_policy()
    principal = principal_from_claims(claims("acme", ("editor",)), roles).unwrap()

    assert (principal.subject, principal.tenant, principal.method) == ("u1", "acme", AuthMethod.ACCESS_TOKEN)
    assert principal.has("widgets:write")
    assert not principal.has("users:manage")
    refused = principal_from_claims(claims(None, ("admin",)), roles)
    assert isinstance(refused, Err)
    assert isinstance(refused.error, UnauthorizedError)
