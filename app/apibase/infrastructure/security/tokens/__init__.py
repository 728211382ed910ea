"""JWT access and refresh tokens: asymmetric key ring with JWKS, issuer, verifiers (own and remote issuers)."""

from __future__ import annotations

from apibase.infrastructure.security.tokens.claims import Claims, TokenType
from apibase.infrastructure.security.tokens.errors import (
    AuthErrorCode,
    InvalidCredentials,
    InvalidToken,
    JwksUnavailable,
)
from apibase.infrastructure.security.tokens.issuer import IssuedToken, TokenIssuer
from apibase.infrastructure.security.tokens.keys import (
    JwksDocument,
    JwtAlgorithm,
    JwtKey,
    JwtKeyRing,
    generate_key,
    jwk_thumbprint,
    key_from_jwk,
    load_private_pem,
    load_public_pem,
)
from apibase.infrastructure.security.tokens.remote_jwks import RemoteJwks, RemoteTokenVerifier
from apibase.infrastructure.security.tokens.verifier import MAX_TOKEN_BYTES, TokenPolicy, TokenVerifier

__all__ = [
    "MAX_TOKEN_BYTES",
    "AuthErrorCode",
    "Claims",
    "InvalidCredentials",
    "InvalidToken",
    "IssuedToken",
    "JwksDocument",
    "JwksUnavailable",
    "JwtAlgorithm",
    "JwtKey",
    "JwtKeyRing",
    "RemoteJwks",
    "RemoteTokenVerifier",
    "TokenIssuer",
    "TokenPolicy",
    "TokenType",
    "TokenVerifier",
    "generate_key",
    "jwk_thumbprint",
    "key_from_jwk",
    "load_private_pem",
    "load_public_pem",
]
