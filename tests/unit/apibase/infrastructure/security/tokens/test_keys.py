"""Key ring: newest key signs, non-retired keys verify, JWKS holds only public members."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from apibase.infrastructure.security.tokens import (
    JwtAlgorithm,
    JwtKey,
    JwtKeyRing,
    generate_key,
    jwk_thumbprint,
    key_from_jwk,
    load_private_pem,
    load_public_pem,
)

pytestmark = pytest.mark.unit

_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def rsa_key() -> JwtKey:
    return generate_key(JwtAlgorithm.RS256, kid="rsa-1", created_at=1.0)


def test_generated_keys_default_to_ed25519_with_a_thumbprint_kid() -> None:
    key = generate_key()
    assert key.alg is JwtAlgorithm.EDDSA
    assert isinstance(key.public_key, ed25519.Ed25519PublicKey)
    assert key.kid == jwk_thumbprint(key.public_key)
    assert key.can_sign


def test_the_repr_shows_no_key_material(rsa_key: JwtKey) -> None:
    text = repr(rsa_key) + repr(JwtKeyRing([rsa_key]))
    assert "rsa-1" in text
    assert "Private" not in text
    assert "Public" not in text


def test_rfc7638_thumbprint_of_the_rfc_example_key() -> None:
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV"
        "4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0z"
        "gdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
        "Cur-kEgU8awapJzKnqDKgw",
    }
    key = key_from_jwk({**jwk, "kid": "k"})
    assert key is not None
    assert jwk_thumbprint(key.public_key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rs256_keys_are_supported_and_checked(rsa_key: JwtKey) -> None:
    assert isinstance(rsa_key.public_key, rsa.RSAPublicKey)
    with pytest.raises(ValueError, match="does not fit"):
        JwtKey(kid="x", alg=JwtAlgorithm.EDDSA, public_key=rsa_key.public_key)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505 - weak on purpose
    with pytest.raises(ValueError, match="2048"):
        JwtKey(kid="x", alg=JwtAlgorithm.RS256, public_key=small)
    with pytest.raises(ValueError, match="kid"):
        JwtKey(kid="", alg=JwtAlgorithm.RS256, public_key=rsa_key.public_key)
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(TypeError):
        JwtKey(kid="x", alg=JwtAlgorithm.RS256, public_key=ec_key)  # type: ignore[arg-type]


def test_keys_load_from_pem(rsa_key: JwtKey) -> None:
    assert rsa_key.private_key is not None
    pem = rsa_key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    loaded = load_private_pem(pem, password=b"pass phrase", kid="from-pem")
    assert (loaded.kid, loaded.alg, loaded.can_sign) == ("from-pem", JwtAlgorithm.RS256, True)
    public_pem = rsa_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = load_public_pem(public_pem)
    assert public.kid == jwk_thumbprint(rsa_key.public_key)
    assert not public.can_sign
    with pytest.raises(ValueError, match="only verify"):
        public.sign({"sub": "x"})


def test_pem_of_other_key_types_is_refused() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(TypeError):
        load_private_pem(private_pem)
    with pytest.raises(TypeError):
        load_public_pem(public_pem)


def test_the_newest_signing_key_signs_and_all_non_retired_keys_verify(rsa_key: JwtKey) -> None:
    old = generate_key(kid="old", created_at=10.0)
    new = generate_key(kid="new", created_at=20.0)
    verify_only = load_public_pem(
        generate_key().public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        kid="verify-only",
        created_at=30.0,
    )
    ring = JwtKeyRing([old, new, verify_only])
    assert ring.signing_key is new
    assert ring.verification_key("old") is old
    ring.retire("new")
    assert ring.signing_key is old
    assert ring.verification_key("new") is None
    with pytest.raises(ValueError, match="already"):
        ring.add(new)
    with pytest.raises(ValueError, match="already"):
        ring.add(old)
    with pytest.raises(KeyError):
        ring.retire("missing")
    ring.retire("old")
    with pytest.raises(LookupError):
        _ = ring.signing_key


def test_jwks_lists_public_members_only(rsa_key: JwtKey) -> None:
    ed = generate_key(kid="ed", created_at=2.0)
    document = JwtKeyRing([rsa_key, ed]).jwks()
    assert [jwk["kid"] for jwk in document["keys"]] == ["ed", "rsa-1"]
    ed_jwk, rsa_jwk = document["keys"]
    assert ed_jwk.keys() == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (ed_jwk["kty"], ed_jwk["crv"], ed_jwk["alg"], ed_jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert rsa_jwk.keys() == {"kty", "n", "e", "kid", "alg", "use"}
    assert not _PRIVATE_MEMBERS & (ed_jwk.keys() | rsa_jwk.keys())
    for jwk in document["keys"]:
        round_trip = key_from_jwk(dict(jwk))
        assert round_trip is not None
        assert not round_trip.can_sign


def test_a_jwks_entry_round_trips_and_verifies_a_signature() -> None:
    key = generate_key(kid="k")
    parsed = key_from_jwk(dict(key.public_jwk()))
    assert parsed is not None
    token = key.sign({"sub": "x"})
    assert jwt.decode(token, parsed.public_key, algorithms=[parsed.alg.value]) == {"sub": "x"}


@pytest.mark.parametrize(
    "change",
    [
        {"kid": None},
        {"use": "enc"},
        {"alg": "RS256"},
        {"kty": "EC"},
        {"crv": "X25519"},
        {"x": "!!not base64!!"},
    ],
)
def test_unusable_jwks_entries_are_skipped(change: dict[str, object]) -> None:
    jwk: dict[str, object] = {**generate_key(kid="k").public_jwk(), **change}
    assert key_from_jwk({name: value for name, value in jwk.items() if value is not None}) is None


def test_private_members_in_a_jwks_entry_are_ignored(rsa_key: JwtKey) -> None:
    assert isinstance(rsa_key.private_key, rsa.RSAPrivateKey)
    private_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.private_key, as_dict=True)
    assert "d" in private_jwk
    parsed = key_from_jwk({**private_jwk, "kid": "leaked"})
    assert parsed is not None
    assert not parsed.can_sign
    assert isinstance(parsed.public_key, rsa.RSAPublicKey)


def test_a_weak_rsa_key_in_a_jwks_is_skipped() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505 - weak on purpose
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(small, as_dict=True)
    assert key_from_jwk({**jwk, "kid": "weak"}) is None
