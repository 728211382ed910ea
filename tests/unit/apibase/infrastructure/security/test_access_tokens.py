"""AccessTokenAuthenticator: verified tokens are cached, never past their expiry; failures are never cached."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apibase.core.result import Err, Ok
from apibase.infrastructure.security.access_tokens import AccessTokenAuthenticator
from apibase.infrastructure.security.tokens import (
    AuthErrorCode,
    JwtKeyRing,
    TokenIssuer,
    TokenPolicy,
    TokenVerifier,
    generate_key,
)
from apibase.testing.roles import widget_role_policy

pytestmark = pytest.mark.unit

POLICY = TokenPolicy(issuer="apibase", audience="apibase")
ROLES = widget_role_policy()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def setup(clock: Clock, **options: float) -> tuple[TokenIssuer, TokenVerifier, AccessTokenAuthenticator]:
    ring = JwtKeyRing([generate_key(kid="k1", created_at=1.0)])
    issuer = TokenIssuer(ring, issuer="apibase", audience="apibase", access_ttl=timedelta(minutes=5), clock=clock)
    verifier = TokenVerifier(ring, POLICY, clock=clock)
    return issuer, verifier, AccessTokenAuthenticator(verifier, clock=clock, roles=ROLES, **options)  # type: ignore[arg-type]


async def test_a_verified_token_is_served_from_the_cache(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    issuer, verifier, authenticate = setup(clock)
    token = issuer.issue_access("u1", roles=["viewer"], tenant="acme").token
    first = await authenticate(token)
    assert isinstance(first, Ok)
    assert (first.value.subject, first.value.tenant, first.value.has("widgets:read")) == ("u1", "acme", True)

    calls: list[str] = []
    monkeypatch.setattr(verifier, "verify", lambda *args, **kwargs: calls.append("verify"))
    again = await authenticate(token)
    assert again == first
    assert calls == []


async def test_the_cache_never_outlives_the_token(clock: Clock) -> None:
    issuer, _, authenticate = setup(clock, cache_seconds=3600)
    token = issuer.issue_access("u1", roles=["viewer"], tenant="acme").token
    assert isinstance(await authenticate(token), Ok)
    clock.now += 5 * 60 + 60  # past exp and the verifier's leeway
    expired = await authenticate(token)
    assert isinstance(expired, Err)
    assert expired.error.code is AuthErrorCode.TOKEN_EXPIRED


async def test_rejections_are_not_cached_and_the_cache_is_bounded(clock: Clock) -> None:
    issuer, _, authenticate = setup(clock, max_cached=2)
    tokens = [issuer.issue_access(f"u{index}", roles=[], tenant="acme").token for index in range(3)]
    for token in tokens:
        assert isinstance(await authenticate(token), Ok)
    assert len(authenticate._verified) == 2  # the oldest was dropped
    tampered = tokens[0][:-4] + ("AAAA" if not tokens[0].endswith("AAAA") else "BBBB")
    for _ in range(2):
        assert isinstance(await authenticate(tampered), Err)
    assert tampered not in authenticate._verified
