"""Field-level encryption with AES-256-GCM and a key ring, for columns that must not be readable at rest.

A token reads ``v1.<kid>.<b64nonce>.<b64ciphertext>`` (base64url, no padding). The associated data binds the
format version, key id, field name and record id, so a ciphertext copied into another column or row fails to
decrypt instead of revealing the wrong value. New writes use the ring's primary (newest) key; older keys stay
in the ring until ``reencrypt_all`` has moved every row off them.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from apibase.infrastructure.crypto.errors import DecryptionFailed

__all__ = [
    "TOKEN_VERSION",
    "EncryptionKey",
    "FieldEncryptor",
    "KeyRing",
    "reencrypt_all",
]

TOKEN_VERSION = "v1"  # noqa: S105 - a format tag, not a secret
_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NONCE_BYTES = 12
_AAD_LABEL = b"apibase.field.v1"


@dataclass(frozen=True)
class EncryptionKey:
    """One AES key (128, 192 or 256 bits) and its id; the key bytes stay out of ``repr``."""

    kid: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KID.fullmatch(self.kid):
            raise ValueError("a key id is 1-64 characters of letters, digits, '_' and '-'")
        if len(self.secret) not in {16, 24, 32}:
            raise ValueError("an AES key is 16, 24 or 32 bytes")

    @classmethod
    def generate(cls, kid: str) -> EncryptionKey:
        """A fresh random 256-bit key."""
        return cls(kid, AESGCM.generate_key(bit_length=256))

    @classmethod
    def from_base64(cls, kid: str, encoded: str) -> EncryptionKey:
        """A key as stored in a secrets backend (standard or url-safe base64)."""
        try:
            secret = base64.b64decode(encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise ValueError(f"key {kid!r} is not valid base64") from None
        return cls(kid, secret)


class KeyRing:
    """Keys by id; the last one given (or ``primary``) encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[EncryptionKey], *, primary: str | None = None) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._keys = {key.kid: AESGCM(key.secret) for key in keys}
        if len(self._keys) != len(keys):
            raise ValueError("key ids in a key ring must be unique")
        self._primary = primary if primary is not None else keys[-1].kid
        if self._primary not in self._keys:
            raise ValueError(f"primary key {self._primary!r} is not in the ring")

    def __repr__(self) -> str:
        return f"KeyRing(kids={list(self._keys)!r}, primary={self._primary!r})"

    @property
    def primary_kid(self) -> str:
        return self._primary

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def cipher(self, kid: str) -> AESGCM | None:
        return self._keys.get(kid)


@dataclass(frozen=True)
class _Parsed:
    kid: str
    nonce: bytes
    ciphertext: bytes


class FieldEncryptor:
    """Encrypts and decrypts one field value at a time, bound to its field name and record id."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def __repr__(self) -> str:
        return f"FieldEncryptor({self._ring!r})"

    @property
    def ring(self) -> KeyRing:
        return self._ring

    def encrypt(self, plaintext: str, *, field: str, record_id: str) -> str:
        kid = self._ring.primary_kid
        cipher = self._ring.cipher(kid)
        assert cipher is not None  # noqa: S101 - KeyRing guarantees its primary exists
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = cipher.encrypt(nonce, plaintext.encode("utf-8"), _aad(kid, field, record_id))
        return f"{TOKEN_VERSION}.{kid}.{_b64(nonce)}.{_b64(ciphertext)}"

    def decrypt(self, token: str, *, field: str, record_id: str) -> str:
        """The plaintext, or ``DecryptionFailed`` for a malformed, tampered, swapped or unknown-key token."""
        parsed = _parse(token)
        cipher = self._ring.cipher(parsed.kid)
        if cipher is None:
            raise DecryptionFailed(f"field {field!r}: key {parsed.kid!r} is not in the key ring")
        try:
            plaintext = cipher.decrypt(parsed.nonce, parsed.ciphertext, _aad(parsed.kid, field, record_id))
        except InvalidTag:
            raise DecryptionFailed(
                f"field {field!r}: the ciphertext fails authentication (tampered, or from another field or record)"
            ) from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - only our own encrypt() writes authenticated plaintext
            raise DecryptionFailed(f"field {field!r}: the plaintext is not UTF-8") from None

    def needs_reencryption(self, token: str) -> bool:
        """True when the token was written with a key other than the primary (``DecryptionFailed`` if malformed)."""
        return _parse(token).kid != self._ring.primary_kid

    def reencrypt(self, token: str, *, field: str, record_id: str) -> str:
        """The same value under the primary key; a token already on it is returned unchanged."""
        if not self.needs_reencryption(token):
            return token
        return self.encrypt(self.decrypt(token, field=field, record_id=record_id), field=field, record_id=record_id)


def reencrypt_all[R](
    rows: Iterable[R],
    encryptor: FieldEncryptor,
    *,
    field: str,
    token_of: Callable[[R], str | None],
    record_id_of: Callable[[R], str],
) -> Iterator[tuple[R, str]]:
    """Lazily yield ``(row, new_token)`` for each row whose token is on an old key; the caller persists them.

    Rows without a value (``token_of`` → None) and rows already on the primary key are skipped; a broken token
    raises ``DecryptionFailed`` so a rotation job stops rather than silently leaving data behind.
    """
    for row in rows:
        token = token_of(row)
        if token is None or not encryptor.needs_reencryption(token):
            continue
        yield row, encryptor.reencrypt(token, field=field, record_id=record_id_of(row))


def _aad(kid: str, field: str, record_id: str) -> bytes:
    """Length-prefixed parts, so ("ab", "c") and ("a", "bc") can never produce the same bytes."""
    parts = [_AAD_LABEL, TOKEN_VERSION.encode(), kid.encode(), field.encode("utf-8"), record_id.encode("utf-8")]
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url: only the canonical encoding is accepted, so no two tokens carry the same bytes."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionFailed("the ciphertext token is malformed") from None
    if _b64(data) != text:
        raise DecryptionFailed("the ciphertext token is malformed")
    return data


def _parse(token: str) -> _Parsed:
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_VERSION or not _KID.fullmatch(parts[1]):
        raise DecryptionFailed("the ciphertext token is malformed or of an unknown version")
    nonce, ciphertext = _unb64(parts[2]), _unb64(parts[3])
    if len(nonce) != _NONCE_BYTES or len(ciphertext) < 16:
        raise DecryptionFailed("the ciphertext token is malformed")
    return _Parsed(parts[1], nonce, ciphertext)
