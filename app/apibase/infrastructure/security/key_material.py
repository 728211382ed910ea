"""Where the token signing key comes from: a PEM file, else the secrets provider, else (never in production) a
key generated at start-up.

A generated key changes on every restart and differs between replicas, so tokens stop verifying: fine for a
laptop or a test, refused in production so a missing secret fails the deploy instead of every login.
"""

from __future__ import annotations

from pathlib import Path

from apibase.application.ports.secrets import SecretNotFound, SecretsProvider
from apibase.core.settings import AuthSettings
from apibase.infrastructure.security.tokens.keys import (
    JwtAlgorithm,
    JwtKey,
    JwtKeyRing,
    generate_key,
    load_private_pem,
    load_public_pem,
)

__all__ = ["SIGNING_KEY_SECRET", "load_signing_ring"]

#: The secret holding the PEM private key when no file is configured (``APIBASE_SECRET_AUTH_SIGNING_KEY`` for
#: the env provider, ``<mount>/<path>/auth-signing-key`` in Vault, ``<prefix>auth-signing-key`` in AWS).
SIGNING_KEY_SECRET = "auth-signing-key"  # noqa: S105 - the name of a secret, not its value


async def load_signing_ring(settings: AuthSettings, secrets: SecretsProvider, *, production: bool) -> JwtKeyRing:
    signing = await _signing_key(settings, secrets, production=production)
    return JwtKeyRing([signing, *(_verification_key(path) for path in settings.previous_key_files)])


async def _signing_key(settings: AuthSettings, secrets: SecretsProvider, *, production: bool) -> JwtKey:
    if settings.signing_key_file is not None:
        return load_private_pem(settings.signing_key_file.read_bytes())
    try:
        return load_private_pem((await secrets.get(SIGNING_KEY_SECRET)).encode())
    except SecretNotFound:
        if production:
            raise
    return generate_key(JwtAlgorithm(settings.algorithm))


def _verification_key(path: Path) -> JwtKey:
    """A retired key: dated at the epoch so it never outranks the current signing key."""
    pem = path.read_bytes()
    return load_private_pem(pem, created_at=0.0) if b"PRIVATE KEY" in pem else load_public_pem(pem, created_at=0.0)
