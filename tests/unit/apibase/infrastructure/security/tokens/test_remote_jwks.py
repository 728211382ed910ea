"""Remote JWKS against a real HTTP server on 127.0.0.1: caching, key rotation, bounded refetching."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from apibase.core.result import Err, Ok
from apibase.infrastructure.security.tokens import (
    AuthErrorCode,
    JwksUnavailable,
    JwtKeyRing,
    RemoteJwks,
    RemoteTokenVerifier,
    TokenIssuer,
    TokenPolicy,
    generate_key,
)

pytestmark = pytest.mark.unit

ISSUER, AUDIENCE = "https://idp.example", "orders-api"


@dataclass
class FakeIdp:
    """A JWKS endpoint that counts requests; ``status``/``body`` override the answer."""

    ring: JwtKeyRing
    url: str = ""
    requests: int = 0
    status: int = 200
    body: bytes | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        body = self.body if self.body is not None else json.dumps(self.ring.jwks()).encode()
        head = f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    def issuer(self) -> TokenIssuer:
        return TokenIssuer(self.ring, issuer=ISSUER, audience=AUDIENCE)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def idp() -> AsyncIterator[FakeIdp]:
    fake = FakeIdp(JwtKeyRing([generate_key(kid="idp-1", created_at=1.0)]))
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    async with server:
        yield fake
        server.close()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(idp: FakeIdp, client: httpx.AsyncClient, clock: Clock) -> RemoteJwks:
    return RemoteJwks(idp.url, client, ttl_seconds=300, refresh_cooldown_seconds=30, clock=clock)


@pytest.fixture
def verifier(jwks: RemoteJwks) -> RemoteTokenVerifier:
    return RemoteTokenVerifier(jwks, TokenPolicy(ISSUER, AUDIENCE, expected_type=None))


async def test_tokens_verify_with_the_fetched_keys_which_are_cached(
    idp: FakeIdp, jwks: RemoteJwks, verifier: RemoteTokenVerifier
) -> None:
    token = idp.issuer().issue_access("user-1", roles=["admin"]).token
    for _ in range(3):
        result = await verifier.verify(token)
        assert isinstance(result, Ok)
        assert result.value.roles == ("admin",)
    assert idp.requests == 1
    assert jwks.fetch_count == 1
    assert "idp-1" in repr(jwks)


async def test_the_cache_expires_after_its_ttl(idp: FakeIdp, verifier: RemoteTokenVerifier, clock: Clock) -> None:
    token = idp.issuer().issue_access("u").token
    assert isinstance(await verifier.verify(token), Ok)
    clock.now += 299
    assert isinstance(await verifier.verify(token), Ok)
    assert idp.requests == 1
    clock.now += 1
    assert isinstance(await verifier.verify(token), Ok)
    assert idp.requests == 2


async def test_a_key_rotation_at_the_issuer_is_picked_up_on_the_unknown_kid(
    idp: FakeIdp, verifier: RemoteTokenVerifier, clock: Clock
) -> None:
    assert isinstance(await verifier.verify(idp.issuer().issue_access("u").token), Ok)
    idp.ring.add(generate_key(kid="idp-2", created_at=2.0))
    idp.ring.retire("idp-1")
    clock.now += 30  # the cool-down since the first fetch has passed
    rotated = idp.issuer().issue_access("u").token
    assert isinstance(await verifier.verify(rotated), Ok)
    assert idp.requests == 2


async def test_spraying_unknown_kids_fetches_at_most_once_per_cooldown(
    idp: FakeIdp, verifier: RemoteTokenVerifier, clock: Clock
) -> None:
    assert isinstance(await verifier.verify(idp.issuer().issue_access("u").token), Ok)
    assert idp.requests == 1
    clock.now += 30

    def forged() -> str:
        return generate_key(kid=secrets.token_hex(8)).sign({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": 2**40})

    results = await asyncio.gather(*(verifier.verify(forged()) for _ in range(50)))
    assert all(isinstance(result, Err) for result in results)
    assert {result.unwrap_err().code for result in results} == {AuthErrorCode.TOKEN_UNKNOWN_KEY}
    assert idp.requests == 2  # one refresh for the whole burst
    for _ in range(20):
        await verifier.verify(forged())
    assert idp.requests == 2
    clock.now += 30
    for _ in range(20):
        await verifier.verify(forged())
    assert idp.requests == 3


async def test_an_unreachable_issuer_is_a_503_and_is_not_hammered(
    idp: FakeIdp, verifier: RemoteTokenVerifier, clock: Clock
) -> None:
    token = idp.issuer().issue_access("u").token
    idp.status = 500
    for _ in range(5):
        result = await verifier.verify(token)
        assert isinstance(result, Err)
        assert isinstance(result.error, JwksUnavailable)
        assert result.error.status == 503
        assert result.error.code is AuthErrorCode.JWKS_UNAVAILABLE
    assert idp.requests == 1
    idp.status = 200
    clock.now += 30
    assert isinstance(await verifier.verify(token), Ok)
    assert idp.requests == 2


async def test_stale_keys_keep_working_when_a_refresh_fails(
    idp: FakeIdp, verifier: RemoteTokenVerifier, clock: Clock
) -> None:
    token = idp.issuer().issue_access("u").token
    assert isinstance(await verifier.verify(token), Ok)
    idp.status = 503
    clock.now += 400
    assert isinstance(await verifier.verify(token), Ok)
    assert idp.requests == 2
    assert isinstance(await verifier.verify(token), Ok)
    assert idp.requests == 2  # the failed attempt starts a cool-down


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"keys": {}}', b'{"keys": [' + b'{"kty": "OKP"}, ' * 8000 + b"{}]}"],
    ids=["not-json", "not-object", "keys-not-list", "too-large"],
)
async def test_unusable_documents_count_as_unavailable(
    idp: FakeIdp, verifier: RemoteTokenVerifier, body: bytes
) -> None:
    idp.body = body
    result = await verifier.verify(idp.issuer().issue_access("u").token)
    assert isinstance(result, Err)
    assert isinstance(result.error, JwksUnavailable)


async def test_entries_that_are_not_usable_keys_are_skipped(idp: FakeIdp, verifier: RemoteTokenVerifier) -> None:
    good = idp.ring.jwks()["keys"][0]
    idp.body = json.dumps({"keys": ["junk", {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}, good]}).encode()
    assert isinstance(await verifier.verify(idp.issuer().issue_access("u").token), Ok)


async def test_a_connection_failure_is_unavailable(client: httpx.AsyncClient) -> None:
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    jwks = RemoteJwks(f"http://127.0.0.1:{port}/jwks", client, timeout_seconds=2)
    verifier = RemoteTokenVerifier(jwks, TokenPolicy(ISSUER, AUDIENCE))
    token = generate_key(kid="k").sign({"sub": "x"})
    result = await verifier.verify(token)
    assert isinstance(result, Err)
    assert isinstance(result.error, JwksUnavailable)


async def test_malformed_tokens_are_rejected_without_a_fetch(idp: FakeIdp, verifier: RemoteTokenVerifier) -> None:
    result = await verifier.verify("x" * 9000)
    assert isinstance(result, Err)
    assert result.error.code is AuthErrorCode.TOKEN_TOO_LARGE
    assert idp.requests == 0


async def test_remote_tokens_get_the_same_claim_checks(idp: FakeIdp, verifier: RemoteTokenVerifier) -> None:
    wrong_audience = TokenIssuer(idp.ring, issuer=ISSUER, audience="other-api").issue_access("u").token
    result = await verifier.verify(wrong_audience)
    assert isinstance(result, Err)
    assert result.error.code is AuthErrorCode.TOKEN_WRONG_AUDIENCE


async def test_the_readiness_check_fetches_every_time_and_needs_a_usable_key(idp: FakeIdp, jwks: RemoteJwks) -> None:
    await jwks.check()
    await jwks.check()
    assert idp.requests == 2  # never answered from the cache
    for body in (b'{"keys": []}', b'{"keys": [{"kty": "OKP"}]}', b"not json"):
        idp.body = body
        with pytest.raises(JwksUnavailable):
            await jwks.check()
