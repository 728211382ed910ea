"""Request signing: valid, tampered body/path/method, stale, replayed, unknown key, rotation, header parsing."""

from __future__ import annotations

import pytest

from apibase.infrastructure.crypto import (
    DecryptionFailed,
    InMemoryReplayCache,
    RequestSigner,
    RequestVerifier,
    SignatureExpired,
    SignatureInvalid,
    SignatureReplayed,
    SigningKey,
    content_digest,
)
from apibase.infrastructure.crypto.errors import CryptoErrorCode

pytestmark = pytest.mark.unit

OLD = SigningKey("old", b"o" * 32)
NEW = SigningKey("new", b"n" * 32)
BODY = b'{"amount": 10}'


class Clock:
    def __init__(self, now: float = 1_700_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(clock: Clock) -> RequestVerifier:
    return RequestVerifier([NEW], clock=clock, replay_cache=InMemoryReplayCache(clock=clock))


def signed(clock: Clock, key: SigningKey = NEW, *, target: str = "/v1/pay?x=1", body: bytes = BODY) -> dict[str, str]:
    return RequestSigner(key, clock=clock).sign("post", target, body)


async def test_valid_request(verifier: RequestVerifier, clock: Clock) -> None:
    headers = signed(clock)
    assert headers["Content-Digest"] == content_digest(BODY)
    assert headers["Signature"].startswith("keyId=new,ts=1700000000,nonce=")
    lowered = {name.lower(): value for name, value in headers.items()}
    assert await verifier.verify("POST", "/v1/pay?x=1", lowered, BODY) == "new"


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("POST", "/v1/pay?x=1", b'{"amount": 1000}'),
        ("POST", "/v1/pay?x=2", BODY),
        ("POST", "/v1/refund?x=1", BODY),
        ("PUT", "/v1/pay?x=1", BODY),
    ],
)
async def test_tampered_requests_fail(
    verifier: RequestVerifier, clock: Clock, method: str, target: str, body: bytes
) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        await verifier.verify(method, target, signed(clock), body)
    assert caught.value.code is CryptoErrorCode.SIGNATURE_INVALID
    assert caught.value.status == 401


async def test_digest_matching_a_tampered_body_still_fails_the_mac(verifier: RequestVerifier, clock: Clock) -> None:
    headers = signed(clock)
    tampered = b"{}"
    headers["Content-Digest"] = content_digest(tampered)
    with pytest.raises(SignatureInvalid, match="does not match the request"):
        await verifier.verify("POST", "/v1/pay?x=1", headers, tampered)


@pytest.mark.parametrize("offset", [-301, 301])
async def test_stale_or_future_timestamps_fail(verifier: RequestVerifier, clock: Clock, offset: int) -> None:
    headers = signed(clock)
    clock.now += offset
    with pytest.raises(SignatureExpired) as caught:
        await verifier.verify("POST", "/v1/pay?x=1", headers, BODY)
    assert caught.value.code is CryptoErrorCode.SIGNATURE_EXPIRED


async def test_replayed_request_fails(verifier: RequestVerifier, clock: Clock) -> None:
    headers = signed(clock)
    await verifier.verify("POST", "/v1/pay?x=1", headers, BODY)
    clock.now += 299
    with pytest.raises(SignatureReplayed):
        await verifier.verify("POST", "/v1/pay?x=1", headers, BODY)


async def test_unknown_key_fails(verifier: RequestVerifier, clock: Clock) -> None:
    with pytest.raises(SignatureInvalid, match="unknown signing key 'old'"):
        await verifier.verify("POST", "/v1/pay?x=1", signed(clock, OLD), BODY)


async def test_rotated_key_is_valid_during_its_grace_period_only(clock: Clock) -> None:
    retiring = SigningKey("old", OLD.secret, not_after=clock.now + 3600)
    verifier = RequestVerifier([retiring, NEW], clock=clock)
    assert await verifier.verify("POST", "/p", signed(clock, OLD, target="/p"), BODY) == "old"
    assert await verifier.verify("POST", "/p", signed(clock, NEW, target="/p"), BODY) == "new"
    clock.now += 3601
    with pytest.raises(SignatureInvalid, match="retired"):
        await verifier.verify("POST", "/p", signed(clock, OLD, target="/p"), BODY)
    assert await verifier.verify("POST", "/p", signed(clock, NEW, target="/p"), BODY) == "new"


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "missing"),
        ("garbage", "malformed"),
        ("keyId=new,keyId=new,ts=1,nonce=n,sig=x", "malformed"),
        ("keyId=new,ts=1,nonce=n", "exactly"),
        ("keyId=n w,ts=1,nonce=n,sig=x", "malformed"),
        ("keyId=new,ts=soon,nonce=n,sig=x", "not an integer"),
        ("keyId=new,ts=1700000000,nonce=n,sig=!!!", "not base64"),
    ],
)
async def test_malformed_signature_headers(verifier: RequestVerifier, signature: str | None, message: str) -> None:
    headers = {"Content-Digest": content_digest(BODY)}
    if signature is not None:
        headers["Signature"] = signature
    with pytest.raises(SignatureInvalid, match=message):
        await verifier.verify("POST", "/p", headers, BODY)


async def test_missing_digest_fails(verifier: RequestVerifier, clock: Clock) -> None:
    headers = signed(clock)
    del headers["Content-Digest"]
    with pytest.raises(SignatureInvalid, match="Content-Digest"):
        await verifier.verify("POST", "/v1/pay?x=1", headers, BODY)


async def test_errors_and_reprs_carry_no_secrets(verifier: RequestVerifier, clock: Clock) -> None:
    headers = signed(clock)
    sig = headers["Signature"].rsplit("sig=", 1)[1]
    with pytest.raises(SignatureInvalid) as caught:
        await verifier.verify("POST", "/other", headers, BODY)
    assert sig not in str(caught.value)
    for text in (repr(NEW), repr(verifier), repr(RequestSigner(NEW))):
        assert "nnnn" not in text


def test_key_and_nonce_rules() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SigningKey("k", b"short")
    with pytest.raises(ValueError, match="key id"):
        SigningKey("k,1", b"k" * 32)
    with pytest.raises(ValueError, match="nonce"):
        RequestSigner(NEW).sign("GET", "/", nonce="a,b")
    with pytest.raises(ValueError, match="at least one key"):
        RequestVerifier([])
    assert RequestSigner(NEW).sign("GET", "/", nonce="fixed")["Signature"].count("nonce=fixed") == 1


async def test_default_cache_and_clock_work() -> None:
    verifier = RequestVerifier([NEW])
    headers = RequestSigner(NEW).sign("GET", "/health")
    assert await verifier.verify("GET", "/health", headers) == "new"
    with pytest.raises(SignatureReplayed):
        await verifier.verify("GET", "/health", headers)


async def test_replay_cache_expires_and_is_bounded() -> None:
    clock = Clock(0)
    cache = InMemoryReplayCache(max_entries=2, clock=clock)
    assert await cache.remember("a", 10)
    assert not await cache.remember("a", 10)
    assert await cache.remember("b", 10)
    assert await cache.remember("c", 10)  # evicts "a", the oldest
    assert len(cache) == 2
    assert await cache.remember("a", 10)
    clock.now = 10
    assert await cache.remember("b", 10)  # expired entries are purged first
    assert len(cache) == 1


def test_decryption_failed_is_not_a_signature_error() -> None:
    assert not issubclass(DecryptionFailed, SignatureInvalid)
