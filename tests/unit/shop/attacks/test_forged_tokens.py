"""Forged, expired and tampered bearer tokens: each is a 401 with its own ``auth.*`` code, and none acts.

Every forgery starts from what an attacker can really get: their own (viewer) token, the service's public JWKS,
or a key of their own. The service's key ring is only used to mint tokens the service itself could have issued
(expired, for another audience), to prove that the claim checks, not just the signature, hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from apibase.infrastructure.security.tokens.issuer import TokenIssuer
from apibase.infrastructure.security.tokens.keys import generate_key

pytestmark = [pytest.mark.unit]

ME = "/api/v2/auth/me"
PRODUCTS = "/api/v1/products"
ALL_PERMISSIONS = [
    "audit:read",
    "orders:read",
    "orders:write",
    "products:delete",
    "products:read",
    "products:write",
    "users:manage",
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _compact(header: dict, payload: dict, signature: str) -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), signature])


def _escalated(payload: dict) -> dict:
    return {**payload, "roles": ["admin"], "permissions": ALL_PERMISSIONS}


async def _refused(http: httpx.AsyncClient, token: str, code: str, expect_problem) -> None:
    """The token is refused with ``code`` on a read and on a write, with a Bearer challenge, and leaks nothing."""
    auth = {"Authorization": f"Bearer {token}"}
    for response in (
        await http.get(ME, headers=auth),
        await http.post(PRODUCTS, json={"sku": "FORGED", "name": "x", "price": "1", "currency": "EUR"}, headers=auth),
    ):
        expect_problem(response, 401, code, secrets=[token])
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def _catalog_is_empty(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    listed = await http.get(PRODUCTS, headers=admin)
    assert listed.status_code == 200
    assert listed.json()["total"] == 0


async def test_alg_none_token_with_admin_claims_is_refused(http, admin, viewer, token_of, expect_problem) -> None:
    header, payload, _ = _parts(token_of(viewer[1]))
    for alg in ("none", "None", "NONE", "nOnE"):
        unsigned = _compact({**header, "alg": alg}, _escalated(payload), "")
        await _refused(http, unsigned, "auth.token_malformed", expect_problem)
        with_junk_signature = _compact({**header, "alg": alg}, _escalated(payload), _b64(b"junk"))
        await _refused(http, with_junk_signature, "auth.token_algorithm_rejected", expect_problem)
    await _catalog_is_empty(http, admin)


async def test_hs256_token_signed_with_the_public_jwks_key_is_refused(
    http, admin, viewer, token_of, expect_problem
) -> None:
    """Algorithm confusion: the public key, known to everyone, used as an HMAC secret."""
    jwks = (await http.get("/.well-known/jwks.json")).json()
    (jwk,) = jwks["keys"]
    raw_public = _unb64(jwk["x"])
    pem = (
        ed25519.Ed25519PublicKey.from_public_bytes(raw_public)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .strip()
    )
    header, payload, _ = _parts(token_of(viewer[1]))
    assert header["kid"] == jwk["kid"]
    for secret in (raw_public, pem, jwk["x"].encode(), json.dumps(jwk).encode()):
        for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
            forged_header = {**header, "alg": alg}
            signing_input = (
                f"{_b64(json.dumps(forged_header).encode())}.{_b64(json.dumps(_escalated(payload)).encode())}"
            )
            signature = _b64(hmac.new(secret, signing_input.encode(), digest).digest())
            await _refused(http, f"{signing_input}.{signature}", "auth.token_algorithm_rejected", expect_problem)
    await _catalog_is_empty(http, admin)


async def test_jwks_publishes_no_private_key_material(http) -> None:
    response = await http.get("/.well-known/jwks.json")
    assert response.headers["content-type"] == "application/jwk-set+json"
    for jwk in response.json()["keys"]:
        assert set(jwk) <= {"kty", "crv", "x", "n", "e", "kid", "alg", "use"}, sorted(jwk)
        assert jwk["use"] == "sig"
        assert jwk["alg"] in {"EdDSA", "RS256"}


async def test_token_with_an_eddsa_header_but_rs256_claimed_is_refused(
    http, admin, viewer, token_of, expect_problem
) -> None:
    """An allowed algorithm that is not the key's own: the key decides, never the header."""
    header, payload, signature = _parts(token_of(viewer[1]))
    await _refused(
        http, _compact({**header, "alg": "RS256"}, payload, signature), "auth.token_algorithm_rejected", expect_problem
    )


async def test_token_with_a_changed_payload_and_its_original_signature_is_refused(
    http, admin, viewer, token_of, expect_problem
) -> None:
    header, payload, signature = _parts(token_of(viewer[1]))
    for changed in (
        _escalated(payload),
        {**payload, "tid": "victim"},
        {**payload, "sub": "00000000-0000-4000-8000-000000000000"},
        {**payload, "exp": payload["exp"] + 86_400 * 365},
    ):
        await _refused(http, _compact(header, changed, signature), "auth.token_invalid", expect_problem)
    me = await http.get(ME, headers=viewer[1])
    assert me.json()["data"]["roles"] == ["viewer"]
    await _catalog_is_empty(http, admin)


async def test_token_with_a_signature_from_another_token_is_refused(
    http, admin, viewer, token_of, expect_problem
) -> None:
    """Splicing: the viewer's claims under the admin token's (valid) signature."""
    header, payload, _ = _parts(token_of(viewer[1]))
    _, _, admin_signature = _parts(token_of(admin))
    await _refused(http, _compact(header, _escalated(payload), admin_signature), "auth.token_invalid", expect_problem)


async def test_expired_token_minted_with_the_services_own_key_is_refused(
    service, admin, viewer, token_of, expect_problem
) -> None:
    issuer = TokenIssuer(service.key_ring, issuer="apibase", audience="apibase", clock=lambda: time.time() - 3600)
    _, payload, _ = _parts(token_of(viewer[1]))
    expired = issuer.issue_access(payload["sub"], roles=["viewer"], permissions=payload["permissions"], tenant="acme")
    await _refused(service.http, expired.token, "auth.token_expired", expect_problem)


async def test_token_from_the_future_is_refused(service, viewer, token_of, expect_problem) -> None:
    issuer = TokenIssuer(service.key_ring, issuer="apibase", audience="apibase", clock=lambda: time.time() + 3600)
    _, payload, _ = _parts(token_of(viewer[1]))
    early = issuer.issue_access(payload["sub"], roles=["viewer"], tenant="acme")
    await _refused(service.http, early.token, "auth.token_not_yet_valid", expect_problem)


@pytest.mark.parametrize(
    ("issuer", "audience", "code"),
    [
        ("evil-issuer", "apibase", "auth.token_wrong_issuer"),
        ("apibase", "another-service", "auth.token_wrong_audience"),
    ],
)
async def test_token_for_another_issuer_or_audience_is_refused(
    service, admin, viewer, token_of, expect_problem, issuer, audience, code
) -> None:
    """Signed by the right key, so only the claim check stands between it and admin rights."""
    minted = TokenIssuer(service.key_ring, issuer=issuer, audience=audience)
    _, payload, _ = _parts(token_of(viewer[1]))
    token = minted.issue_access(payload["sub"], roles=["admin"], permissions=ALL_PERMISSIONS, tenant="acme").token
    await _refused(service.http, token, code, expect_problem)
    await _catalog_is_empty(service.http, admin)


async def test_token_signed_by_an_unknown_key_is_refused(http, admin, viewer, token_of, expect_problem) -> None:
    _, payload, _ = _parts(token_of(viewer[1]))
    rogue = generate_key(kid="rogue-key")
    await _refused(http, rogue.sign(_escalated(payload)), "auth.token_unknown_key", expect_problem)
    jwks_kid = (await http.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    impostor = generate_key(kid=jwks_kid)  # claims the real kid, signs with another key
    await _refused(http, impostor.sign(_escalated(payload)), "auth.token_invalid", expect_problem)
    header, _, signature = _parts(token_of(viewer[1]))
    without_kid = {name: value for name, value in header.items() if name != "kid"}
    await _refused(http, _compact(without_kid, payload, signature), "auth.token_unknown_key", expect_problem)
    await _catalog_is_empty(http, admin)


async def test_refresh_token_used_as_an_access_token_is_refused(http, admin, expect_problem) -> None:
    login = await http.post(
        "/api/v2/auth/login",
        json={"email": "admin@example.com", "password": "correct horse battery staple"},
        headers={"X-Tenant-ID": "acme"},
    )
    refresh = login.json()["data"]["refresh_token"]
    await _refused(http, refresh, "auth.token_wrong_type", expect_problem)


async def test_access_token_used_as_a_refresh_token_is_refused(http, admin, token_of, expect_problem) -> None:
    access = token_of(admin)
    response = await http.post("/api/v2/auth/refresh", json={"refresh_token": access})
    expect_problem(response, 401, "auth.token_wrong_type", secrets=[access])


async def test_oversized_token_is_refused_before_parsing(http, admin, viewer, token_of, expect_problem) -> None:
    header, payload, signature = _parts(token_of(viewer[1]))
    padded = _compact(header, {**payload, "padding": "A" * 9000}, signature)
    assert len(padded) > 8192
    await _refused(http, padded, "auth.token_too_large", expect_problem)
    await _refused(http, "x" * 100_000, "auth.token_too_large", expect_problem)


async def test_malformed_authorization_header_is_refused(http, admin, expect_problem) -> None:
    for authorization in (
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer ",
        "Token abc.def.ghi",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer a..c",
        "Bearer é.é.é",
        "Bearer !!!.???.***",
    ):
        response = await http.get(ME, headers={"Authorization": authorization.encode()})  # bytes: é goes as UTF-8
        expect_problem(response, 401, "auth.token_malformed")


async def test_bad_api_key_is_refused(http, admin, expect_problem) -> None:
    for key in ("ak_forged_0000000000000000", "", "x" * 10_000, "' OR 1=1 --"):
        response = await http.get(ME, headers={"X-API-Key": key})
        expect_problem(response, 401, "identity.api_key_invalid", secrets=[key] if len(key) > 3 else [])


async def test_a_bad_token_never_falls_back_to_anonymous(http, admin, expect_problem) -> None:
    """Routes an anonymous caller may use (sign-up, login, JWKS) still refuse a request with a bad credential."""
    attempts = [
        ("POST", "/api/v2/auth/register", {"email": "mallory@example.com", "password": "mallory's long password"}),
        ("POST", "/api/v2/auth/login", {"email": "admin@example.com", "password": "correct horse battery staple"}),
        ("GET", "/api/v1/products", None),
        ("GET", "/.well-known/jwks.json", None),
    ]
    for method, path, body in attempts:
        for credentials, code in (
            ({"Authorization": "Bearer forged.token.value"}, "auth.token_malformed"),
            ({"X-API-Key": "ak_forged"}, "identity.api_key_invalid"),
        ):
            response = await http.request(method, path, json=body, headers={**credentials, "X-Tenant-ID": "newco"})
            expect_problem(response, 401, code)
            assert "access_token" not in response.text
    # Nothing was created: the tenant is still free and sign-up there still works, once.
    register = await http.post(
        "/api/v2/auth/register",
        json={"email": "owner@example.com", "password": "owner's long password"},
        headers={"X-Tenant-ID": "newco"},
    )
    assert register.status_code == 201


async def test_stolen_refresh_token_replayed_after_rotation_revokes_the_whole_family(
    http, admin, expect_problem
) -> None:
    """The thief and the client both hold the same refresh token; whoever comes second ends both sessions."""
    credentials = {"email": "admin@example.com", "password": "correct horse battery staple"}
    stolen = (await http.post("/api/v2/auth/login", json=credentials, headers={"X-Tenant-ID": "acme"})).json()["data"]
    rotated = await http.post("/api/v2/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert rotated.status_code == 200
    replayed = await http.post("/api/v2/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    expect_problem(replayed, 401, "identity.refresh_reused", secrets=[stolen["refresh_token"]])
    successor = rotated.json()["data"]["refresh_token"]
    revoked = await http.post("/api/v2/auth/refresh", json={"refresh_token": successor})
    expect_problem(revoked, 401, "identity.refresh_revoked", secrets=[successor])


async def test_refresh_token_with_a_tampered_family_is_refused(http, admin, expect_problem) -> None:
    credentials = {"email": "admin@example.com", "password": "correct horse battery staple"}
    pair = (await http.post("/api/v2/auth/login", json=credentials, headers={"X-Tenant-ID": "acme"})).json()["data"]
    header, payload, signature = _parts(pair["refresh_token"])
    forged = _compact(header, {**payload, "fam": "another-family", "tid": "bravo"}, signature)
    expect_problem(await http.post("/api/v2/auth/refresh", json={"refresh_token": forged}), 401, "auth.token_invalid")
    assert (await http.post("/api/v2/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 200
