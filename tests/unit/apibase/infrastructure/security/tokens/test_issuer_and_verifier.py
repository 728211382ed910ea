"""Issued tokens verify; every kind of bad token is rejected with its own code and no token text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import JsonValue

from apibase.core.errors import UnauthorizedError
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.security.tokens import (
    MAX_TOKEN_BYTES,
    AuthErrorCode,
    Claims,
    InvalidToken,
    JwtAlgorithm,
    JwtKey,
    JwtKeyRing,
    TokenIssuer,
    TokenPolicy,
    TokenType,
    TokenVerifier,
    generate_key,
)

pytestmark = pytest.mark.unit

NOW = 1_700_000_000.0
ISSUER, AUDIENCE = "https://auth.example", "orders-api"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key() -> JwtKey:
    return generate_key(kid="k1", created_at=1.0)


@pytest.fixture
def ring(key: JwtKey) -> JwtKeyRing:
    return JwtKeyRing([key])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def issuer(ring: JwtKeyRing, clock: Clock) -> TokenIssuer:
    return TokenIssuer(ring, issuer=ISSUER, audience=AUDIENCE, access_ttl=timedelta(minutes=5), clock=clock)


@pytest.fixture
def verifier(ring: JwtKeyRing, clock: Clock) -> TokenVerifier:
    return TokenVerifier(ring, TokenPolicy(issuer=ISSUER, audience=AUDIENCE), clock=clock)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: JsonValue) -> dict[str, JsonValue]:
    base: dict[str, JsonValue] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": int(NOW),
        "nbf": int(NOW),
        "exp": int(NOW) + 300,
        "jti": "id-1",
        "typ": "access",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def _code(result: Result[Claims, UnauthorizedError]) -> str:
    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidToken)
    assert result.error.status == 401
    return result.error.code.value


def test_an_issued_access_token_verifies(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    issued = issuer.issue_access("user-1", roles=["admin", "a"], permissions={"orders:read"})
    assert issued.token not in repr(issued)
    assert issued.token_type is TokenType.ACCESS
    assert issued.kid == "k1"
    assert issued.expires_at == int(NOW) + 300
    result = verifier.verify(issued.token)
    assert isinstance(result, Ok)
    claims = result.value
    assert (claims.subject, claims.issuer, claims.audience) == ("user-1", ISSUER, (AUDIENCE,))
    assert (claims.issued_at, claims.not_before, claims.expires_at) == (int(NOW), int(NOW), int(NOW) + 300)
    assert claims.token_id == issued.token_id
    assert claims.token_type is TokenType.ACCESS
    assert (claims.roles, claims.permissions) == (("a", "admin"), ("orders:read",))
    assert jwt.get_unverified_header(issued.token)["alg"] == "EdDSA"


def test_a_refresh_token_verifies_only_where_refresh_is_expected(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    issued = issuer.issue_refresh("user-1")
    assert issued.expires_at == int(NOW) + 14 * 86_400
    assert _code(verifier.verify(issued.token)) == AuthErrorCode.TOKEN_WRONG_TYPE
    result = verifier.verify(issued.token, expected_type=TokenType.REFRESH)
    assert isinstance(result, Ok)
    assert result.value.token_type is TokenType.REFRESH
    assert result.value.roles == ()
    access = issuer.issue_access("user-1").token
    assert _code(verifier.verify(access, expected_type=TokenType.REFRESH)) == AuthErrorCode.TOKEN_WRONG_TYPE


def test_rs256_tokens_verify(clock: Clock) -> None:
    ring = JwtKeyRing([generate_key(JwtAlgorithm.RS256, kid="rsa")])
    token = TokenIssuer(ring, issuer=ISSUER, audience=AUDIENCE, clock=clock).issue_access("u").token
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert isinstance(TokenVerifier(ring, TokenPolicy(ISSUER, AUDIENCE), clock=clock).verify(token), Ok)


def test_the_issuer_checks_its_inputs(ring: JwtKeyRing, issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenIssuer(ring, issuer=ISSUER, audience=AUDIENCE, access_ttl=timedelta(0))
    with pytest.raises(ValueError, match="subject"):
        issuer.issue_access("")


def test_after_rotation_old_tokens_verify_until_the_old_key_is_retired(
    ring: JwtKeyRing, issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    old_token = issuer.issue_access("u").token
    ring.add(generate_key(kid="k2", created_at=2.0))
    new_token = issuer.issue_access("u").token
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    assert isinstance(verifier.verify(old_token), Ok)
    ring.retire("k1")
    assert _code(verifier.verify(old_token)) == AuthErrorCode.TOKEN_UNKNOWN_KEY
    assert isinstance(verifier.verify(new_token), Ok)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected(verifier: TokenVerifier, alg: str) -> None:
    header = json.dumps({"alg": alg, "kid": "k1"}).encode()
    token = f"{_b64(header)}.{_b64(json.dumps(_claims()).encode())}.c2ln"
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_ALGORITHM_REJECTED


def test_an_unsigned_token_is_rejected(verifier: TokenVerifier) -> None:
    unsigned = jwt.encode(_claims(), "", algorithm="none", headers={"kid": "k1"})
    assert _code(verifier.verify(unsigned)) == AuthErrorCode.TOKEN_MALFORMED  # no signature segment at all


@pytest.mark.parametrize("public_format", ["pem", "raw"])
def test_algorithm_confusion_hs256_with_the_public_key_as_secret_is_rejected(
    key: JwtKey, verifier: TokenVerifier, public_format: str
) -> None:
    if public_format == "pem":
        secret = key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        secret = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signing_input = f"{_b64(b'{"alg":"HS256","kid":"k1","typ":"JWT"}')}.{_b64(json.dumps(_claims()).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assert _code(verifier.verify(f"{signing_input}.{_b64(signature)}")) == AuthErrorCode.TOKEN_ALGORITHM_REJECTED


def test_an_allowed_algorithm_that_is_not_the_keys_own_is_rejected(key: JwtKey, verifier: TokenVerifier) -> None:
    rsa_key = generate_key(JwtAlgorithm.RS256)
    assert rsa_key.private_key is not None
    token = jwt.encode(_claims(), rsa_key.private_key, algorithm="RS256", headers={"kid": key.kid})
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_ALGORITHM_REJECTED


def test_expired_tokens_are_rejected_after_the_leeway(
    issuer: TokenIssuer, verifier: TokenVerifier, clock: Clock
) -> None:
    token = issuer.issue_access("u").token
    clock.now = NOW + 300 + 29
    assert isinstance(verifier.verify(token), Ok)
    clock.now = NOW + 300 + 30
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_EXPIRED


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_tokens_from_the_future_are_rejected(key: JwtKey, verifier: TokenVerifier, claim: str) -> None:
    assert isinstance(verifier.verify(key.sign(_claims(**{claim: int(NOW) + 30}))), Ok)
    token = key.sign(_claims(**{claim: int(NOW) + 31}))
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_NOT_YET_VALID


def test_wrong_issuer_is_rejected(key: JwtKey, verifier: TokenVerifier) -> None:
    assert _code(verifier.verify(key.sign(_claims(iss="https://evil.example")))) == AuthErrorCode.TOKEN_WRONG_ISSUER
    assert _code(verifier.verify(key.sign(_claims(iss=None)))) == AuthErrorCode.TOKEN_WRONG_ISSUER


def test_wrong_audience_is_rejected_and_audience_lists_work(key: JwtKey, verifier: TokenVerifier) -> None:
    assert _code(verifier.verify(key.sign(_claims(aud="billing-api")))) == AuthErrorCode.TOKEN_WRONG_AUDIENCE
    assert _code(verifier.verify(key.sign(_claims(aud=["a", "b"])))) == AuthErrorCode.TOKEN_WRONG_AUDIENCE
    result = verifier.verify(key.sign(_claims(aud=["billing-api", AUDIENCE])))
    assert isinstance(result, Ok)
    assert result.value.audience == ("billing-api", AUDIENCE)


def test_an_unknown_kid_is_rejected(verifier: TokenVerifier) -> None:
    stranger = generate_key(kid="stranger")
    assert _code(verifier.verify(stranger.sign(_claims()))) == AuthErrorCode.TOKEN_UNKNOWN_KEY
    impostor = generate_key(kid="k1")  # right kid, wrong key: the signature fails
    assert _code(verifier.verify(impostor.sign(_claims()))) == AuthErrorCode.TOKEN_INVALID


def test_a_missing_kid_is_an_unknown_key(key: JwtKey, verifier: TokenVerifier) -> None:
    assert key.private_key is not None
    token = jwt.encode(_claims(), key.private_key, algorithm="EdDSA")
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_UNKNOWN_KEY


def test_a_tampered_payload_or_signature_is_rejected(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, payload, signature = issuer.issue_access("user-1").token.split(".")
    forged_payload = _b64(json.dumps(_claims(sub="admin", roles=["admin"])).encode())
    assert _code(verifier.verify(f"{header}.{forged_payload}.{signature}")) == AuthErrorCode.TOKEN_INVALID
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _code(verifier.verify(f"{header}.{payload}.{flipped}")) == AuthErrorCode.TOKEN_INVALID


def test_oversized_tokens_are_rejected_before_parsing(verifier: TokenVerifier) -> None:
    assert _code(verifier.verify("x" * (MAX_TOKEN_BYTES + 1))) == AuthErrorCode.TOKEN_TOO_LARGE


def test_an_oversized_but_validly_signed_token_is_rejected(key: JwtKey, verifier: TokenVerifier) -> None:
    token = key.sign(_claims(pad="p" * MAX_TOKEN_BYTES))
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_TOO_LARGE


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b",
        "a.b.c.d",
        "a..c",
        "é.b.c",
        "!!!.b.c",
        f"{_b64(b'[1]')}.b.c",
        f"{_b64(b'{"alg":"EdDSA","kid":"k1"}')}.###.c",
        f"{_b64(b'{"alg":"EdDSA","kid":"k1"}')}.{_b64(b'{}')}.###",
    ],
)
def test_malformed_tokens_are_rejected(verifier: TokenVerifier, token: str) -> None:
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_MALFORMED


@pytest.mark.parametrize(
    "header",
    [b'{"alg":"HS512","kid":"k1"}', b'{"alg":"ES256","kid":"k1"}', b'{"alg":null,"kid":"k1"}', b'{"kid":"k1"}'],
)
def test_algorithms_outside_the_allowlist_are_rejected(verifier: TokenVerifier, header: bytes) -> None:
    token = f"{_b64(header)}.{_b64(json.dumps(_claims()).encode())}.c2ln"
    assert _code(verifier.verify(token)) == AuthErrorCode.TOKEN_ALGORITHM_REJECTED


def _signed_raw(key: JwtKey, payload: bytes) -> str:
    assert key.private_key is not None
    signing_input = f"{_b64(b'{"alg":"EdDSA","kid":"k1"}')}.{_b64(payload)}"
    signature = key.private_key.sign(signing_input.encode())  # type: ignore[call-arg]
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_a_signed_payload_that_is_not_a_json_object_is_malformed(
    key: JwtKey, verifier: TokenVerifier, payload: bytes
) -> None:
    assert _code(verifier.verify(_signed_raw(key, payload))) == AuthErrorCode.TOKEN_MALFORMED


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": None},
        {"exp": "tomorrow"},
        {"exp": True},
        {"nbf": "now"},
        {"sub": None},
        {"sub": ""},
        {"sub": 42},
        {"aud": None},
        {"aud": [AUDIENCE, 1]},
        {"roles": "admin,user"},
        {"permissions": [1]},
        {"jti": None},
        {"jti": 7},
    ],
)
def test_missing_or_mistyped_claims_are_malformed(
    key: JwtKey, verifier: TokenVerifier, changes: dict[str, JsonValue]
) -> None:
    assert _code(verifier.verify(key.sign(_claims(**changes)))) == AuthErrorCode.TOKEN_MALFORMED


def test_jti_and_typ_can_be_optional_by_policy(key: JwtKey, ring: JwtKeyRing, clock: Clock) -> None:
    lenient = TokenVerifier(
        ring, TokenPolicy(ISSUER, AUDIENCE, expected_type=None, require_token_id=False), clock=clock
    )
    result = lenient.verify(key.sign(_claims(jti=None, typ=None, exp=float(NOW) + 10.5)))
    assert isinstance(result, Ok)
    assert (result.value.token_id, result.value.token_type, result.value.expires_at) == (None, None, int(NOW) + 10)


def test_rejections_carry_no_token_text(issuer: TokenIssuer, verifier: TokenVerifier, clock: Clock) -> None:
    token = issuer.issue_access("user-secret-subject").token
    clock.now = NOW + 10_000
    result = verifier.verify(token)
    assert isinstance(result, Err)
    text = repr(result) + str(result.error) + str(result.error.to_problem_detail().model_dump())
    assert token not in text
    assert "user-secret-subject" not in text
    for part in token.split("."):
        assert part not in text


def test_a_decoding_failure_after_the_header_check_is_malformed(
    issuer: TokenIssuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise jwt.DecodeError("boom")

    monkeypatch.setattr(jwt.api_jws, "decode_complete", fail)
    assert _code(verifier.verify(issuer.issue_access("u").token)) == AuthErrorCode.TOKEN_MALFORMED


def test_tokens_carry_tenant_and_family_claims(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    access = verifier.verify(issuer.issue_access("u", roles=["viewer"], tenant="acme").token).unwrap()
    refresh_issued = issuer.issue_refresh("u", tenant="acme", family="fam-1", token_id="jti-1")
    refresh = verifier.verify(refresh_issued.token, expected_type=TokenType.REFRESH).unwrap()
    bare = verifier.verify(issuer.issue_access("u").token).unwrap()

    assert (access.tenant, access.family) == ("acme", None)
    assert (refresh.tenant, refresh.family, refresh.token_id, refresh_issued.token_id) == (
        "acme",
        "fam-1",
        "jti-1",
        "jti-1",
    )
    assert (bare.tenant, bare.family) == (None, None)
    assert "tid" not in bare.raw


def test_empty_tenant_family_or_token_id_are_refused_by_the_issuer(issuer: TokenIssuer) -> None:
    for bad in ({"tenant": ""}, {"family": ""}, {"token_id": ""}):
        with pytest.raises(ValueError, match="empty"):
            issuer.issue_refresh("u", **bad)


@pytest.mark.parametrize("changes", [{"tid": 7}, {"tid": ""}, {"fam": ["a"]}, {"fam": ""}])
def test_mistyped_tenant_or_family_claims_are_malformed(
    key: JwtKey, verifier: TokenVerifier, changes: dict[str, JsonValue]
) -> None:
    assert _code(verifier.verify(key.sign(_claims(**changes)))) == AuthErrorCode.TOKEN_MALFORMED
