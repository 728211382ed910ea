"""Asymmetric JWT signing keys and the key ring that rotates them.

Asymmetric keys let any service verify our tokens from the public JWKS without being able to mint them. Each
key carries its ``kid`` and its one algorithm: the verifier takes the algorithm from the key, never from the
token header, which closes algorithm confusion (``alg: HS256`` signed with the public key) by construction.

Rotation: add a new key (it signs from then on, being the newest), keep the old one verifying until every
token it signed has expired, then ``retire`` it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from pydantic import JsonValue

__all__ = [
    "JwkDocument",
    "JwksDocument",
    "JwtAlgorithm",
    "JwtKey",
    "JwtKeyRing",
    "PrivateKey",
    "PublicKey",
    "generate_key",
    "jwk_thumbprint",
    "key_from_jwk",
    "load_private_pem",
    "load_public_pem",
]

type PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
type PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey
type JwkDocument = dict[str, str]
type JwksDocument = dict[str, list[JwkDocument]]

MIN_RSA_BITS = 2048
_PUBLIC_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}


class JwtAlgorithm(StrEnum):
    """The signature algorithms a key may use; symmetric ones and ``none`` are deliberately absent."""

    EDDSA = "EdDSA"
    RS256 = "RS256"


@dataclass(frozen=True)
class JwtKey:
    """One key: verify-only when ``private_key`` is None (a remote issuer's key, or a public PEM)."""

    kid: str
    alg: JwtAlgorithm
    public_key: PublicKey = field(repr=False)
    private_key: PrivateKey | None = field(default=None, repr=False, compare=False)
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if not self.kid or len(self.kid) > 128:
            raise ValueError("a kid is 1-128 characters")
        if not isinstance(self.public_key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
            raise TypeError("only Ed25519 and RSA keys sign tokens")
        if _algorithm_for(self.public_key) is not self.alg:
            raise ValueError(f"the public key does not fit algorithm {self.alg.value}")
        if isinstance(self.public_key, rsa.RSAPublicKey) and self.public_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys need at least {MIN_RSA_BITS} bits")

    @property
    def can_sign(self) -> bool:
        return self.private_key is not None

    def sign(self, payload: Mapping[str, JsonValue], headers: Mapping[str, str] | None = None) -> str:
        """A compact JWS of ``payload`` with this key's own algorithm and ``kid`` in the header."""
        if self.private_key is None:
            raise ValueError(f"key {self.kid!r} can only verify")
        return jwt.encode(
            dict(payload), self.private_key, algorithm=self.alg.value, headers={**(headers or {}), "kid": self.kid}
        )

    def public_jwk(self) -> JwkDocument:
        """The RFC 7517 public JWK: only public members plus ``kid``, ``alg`` and ``use``."""
        raw = json.loads(_to_jwk(self.public_key))
        jwk = {name: str(raw[name]) for name in _PUBLIC_MEMBERS[str(raw["kty"])]}
        return {**jwk, "kid": self.kid, "alg": self.alg.value, "use": "sig"}


def _to_jwk(public_key: PublicKey) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return str(RSAAlgorithm.to_jwk(public_key))
    return str(OKPAlgorithm.to_jwk(public_key))


def _algorithm_for(key: PublicKey | PrivateKey) -> JwtAlgorithm:
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return JwtAlgorithm.EDDSA
    return JwtAlgorithm.RS256


def jwk_thumbprint(public_key: PublicKey) -> str:
    """RFC 7638 thumbprint: a stable default ``kid`` that two processes derive alike from the same key."""
    raw = json.loads(_to_jwk(public_key))
    members = {name: raw[name] for name in _PUBLIC_MEMBERS[str(raw["kty"])]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _make_key(private_key: PrivateKey, kid: str | None, created_at: float | None) -> JwtKey:
    public_key = private_key.public_key()
    return JwtKey(
        kid=kid or jwk_thumbprint(public_key),
        alg=_algorithm_for(private_key),
        public_key=public_key,
        private_key=private_key,
        created_at=time.time() if created_at is None else created_at,
    )


def generate_key(
    alg: JwtAlgorithm = JwtAlgorithm.EDDSA, *, kid: str | None = None, created_at: float | None = None
) -> JwtKey:
    """A fresh in-process key (Ed25519 by default: small, fast, no parameter choices to get wrong)."""
    private_key: PrivateKey
    if alg is JwtAlgorithm.EDDSA:
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    return _make_key(private_key, kid, created_at)


def load_private_pem(
    pem: bytes, *, kid: str | None = None, password: bytes | None = None, created_at: float | None = None
) -> JwtKey:
    """A signing key from a PKCS#8/traditional PEM; the algorithm follows from the key type."""
    private_key = serialization.load_pem_private_key(pem, password=password)
    if not isinstance(private_key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise TypeError("only Ed25519 and RSA private keys can sign tokens")
    return _make_key(private_key, kid, created_at)


def load_public_pem(pem: bytes, *, kid: str | None = None, created_at: float | None = None) -> JwtKey:
    """A verify-only key from a SubjectPublicKeyInfo PEM (e.g. a key another instance still signs with)."""
    public_key = serialization.load_pem_public_key(pem)
    if not isinstance(public_key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise TypeError("only Ed25519 and RSA public keys can verify tokens")
    return JwtKey(
        kid=kid or jwk_thumbprint(public_key),
        alg=_algorithm_for(public_key),
        public_key=public_key,
        created_at=time.time() if created_at is None else created_at,
    )


def key_from_jwk(jwk: dict[str, object]) -> JwtKey | None:
    """A verify-only key from one JWKS entry, or None for entries we must not or cannot use.

    Skipped: no ``kid``, ``use`` other than ``sig``, an ``alg`` we do not allow, unknown key types, RSA below
    2048 bits, and anything unparsable. Private members, if an issuer leaks them, are ignored.
    """
    kid, kty, use, alg = jwk.get("kid"), jwk.get("kty"), jwk.get("use", "sig"), jwk.get("alg")
    if not isinstance(kid, str) or use != "sig":
        return None
    public_only = {name: jwk[name] for name in _PUBLIC_MEMBERS.get(str(kty), ()) if name in jwk}
    try:
        if kty == "OKP" and public_only.get("crv") == "Ed25519":
            parsed: object = OKPAlgorithm.from_jwk(json.dumps(public_only))
        elif kty == "RSA":
            parsed = RSAAlgorithm.from_jwk(json.dumps(public_only))
        else:
            return None
        # from_jwk of public members only yields public keys; the isinstance check is for the type checker
        if not isinstance(parsed, ed25519.Ed25519PublicKey | rsa.RSAPublicKey) or alg not in (
            None,
            _algorithm_for(parsed).value,
        ):
            return None
        return JwtKey(kid=kid, alg=_algorithm_for(parsed), public_key=parsed)
    except (ValueError, TypeError, KeyError, jwt.InvalidKeyError):
        return None


class JwtKeyRing:
    """Keys by ``kid``: the newest signing key signs, every key not retired verifies."""

    def __init__(self, keys: Iterable[JwtKey] = ()) -> None:
        self._keys: dict[str, JwtKey] = {}
        self._retired: set[str] = set()
        for key in keys:
            self.add(key)

    def __repr__(self) -> str:
        return f"JwtKeyRing(kids={sorted(self._keys)!r}, retired={sorted(self._retired)!r})"

    def add(self, key: JwtKey) -> None:
        if key.kid in self._keys or key.kid in self._retired:
            raise ValueError(f"kid {key.kid!r} is already in the key ring")
        self._keys[key.kid] = key

    def retire(self, kid: str) -> None:
        """Stop verifying with ``kid``: every token it signed is rejected from now on."""
        if kid not in self._keys:
            raise KeyError(kid)
        del self._keys[kid]
        self._retired.add(kid)

    @property
    def signing_key(self) -> JwtKey:
        """The newest key that has its private half; raises when the ring can only verify (a wiring error)."""
        signers = [key for key in self._keys.values() if key.can_sign]
        if not signers:
            raise LookupError("the key ring has no signing key")
        return max(signers, key=lambda key: key.created_at)

    def verification_key(self, kid: str) -> JwtKey | None:
        return self._keys.get(kid)

    def jwks(self) -> JwksDocument:
        """The public JWKS document (RFC 7517) served at ``/.well-known/jwks.json``."""
        ordered = sorted(self._keys.values(), key=lambda key: key.created_at, reverse=True)
        return {"keys": [key.public_jwk() for key in ordered]}
