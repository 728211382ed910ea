"""The field-encryption key ring from settings: the configured keys, or outside production one derived key.

Out of the box (no ``APIBASE_ENCRYPTION__KEYS``) development and test runs derive a key from
``APIBASE_SECURITY__SECRET_KEY`` with HKDF, so the service starts without set-up and encrypted data survives
restarts. Production refuses to start without configured keys: a key derived from a signing secret would tie
two rotations together, and the development secret is public.
"""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from apibase.core.settings import DEVELOPMENT_SECRET_KEY, Settings
from apibase.infrastructure.crypto.field_encryption import EncryptionKey, FieldEncryptor, KeyRing

__all__ = [
    "DERIVED_KID",
    "KEYS_VARIABLE",
    "PRIMARY_VARIABLE",
    "derived_key",
    "development_encryptor",
    "encryptor_from_settings",
    "key_ring_from_settings",
]

#: The id of the key derived from the secret key; configure it under this id to keep reading old dev data.
DERIVED_KID = "derived"
KEYS_VARIABLE = "APIBASE_ENCRYPTION__KEYS"
PRIMARY_VARIABLE = "APIBASE_ENCRYPTION__PRIMARY"
_AES_256_BYTES = 32
_HKDF_SALT = b"apibase.field-encryption"
_HKDF_INFO = b"apibase.field.v1 derived key"


def derived_key(secret_key: str) -> EncryptionKey:
    """A 256-bit key derived deterministically from ``secret_key`` (HKDF-SHA256), never the secret itself."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=_AES_256_BYTES, salt=_HKDF_SALT, info=_HKDF_INFO)
    return EncryptionKey(DERIVED_KID, hkdf.derive(secret_key.encode("utf-8")))


def key_ring_from_settings(settings: Settings) -> KeyRing:
    """The ring the service encrypts with; ``ValueError`` naming the variable to fix when it cannot be built."""
    encryption = settings.encryption
    if not encryption.keys:
        if settings.is_production:
            raise ValueError(
                f"production needs field-encryption keys: set {KEYS_VARIABLE} (key id to base64 AES-256 key) "
                f"and {PRIMARY_VARIABLE}"
            )
        if encryption.primary is not None:
            raise ValueError(f"{PRIMARY_VARIABLE} is {encryption.primary!r} but {KEYS_VARIABLE} is empty")
        return KeyRing([derived_key(settings.security.secret_key.get_secret_value())])
    keys = [_configured_key(kid, value.get_secret_value()) for kid, value in encryption.keys.items()]
    if encryption.primary is None and len(keys) > 1:
        raise ValueError(f"{KEYS_VARIABLE} holds {len(keys)} keys: set {PRIMARY_VARIABLE} to the one that encrypts")
    if encryption.primary is not None and encryption.primary not in encryption.keys:
        raise ValueError(f"{PRIMARY_VARIABLE} is {encryption.primary!r}, which is not a key id in {KEYS_VARIABLE}")
    return KeyRing(keys, primary=encryption.primary)


def encryptor_from_settings(settings: Settings) -> FieldEncryptor:
    return FieldEncryptor(key_ring_from_settings(settings))


@cache
def development_encryptor() -> FieldEncryptor:
    """What code that is given no encryptor uses: the key derived from the public development secret."""
    return FieldEncryptor(KeyRing([derived_key(DEVELOPMENT_SECRET_KEY)]))


def _configured_key(kid: str, encoded: str) -> EncryptionKey:
    """One configured key; the message names the variable and the key id, never the key."""
    try:
        key = EncryptionKey.from_base64(kid, encoded)
    except ValueError as exc:
        raise ValueError(f"{KEYS_VARIABLE}: {exc}") from None
    if len(key.secret) != _AES_256_BYTES:
        raise ValueError(f"{KEYS_VARIABLE}: key {kid!r} must be {_AES_256_BYTES} bytes (AES-256), base64-encoded")
    return key
