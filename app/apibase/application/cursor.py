"""Opaque, signed cursors: clients can hold them but not read, forge or edit them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import JsonValue

from apibase.core.errors import InvalidCursorError
from apibase.core.result import Err, Ok, Result

__all__ = ["CURSOR_PATTERN", "MAX_CURSOR_LENGTH", "CursorCodec"]

#: Room for a keyset cursor's position and the sort and filters of its listing (a few hundred characters of
#: search text included), yet well inside the 8 KiB request line most servers and proxies accept.
MAX_CURSOR_LENGTH = 6144
#: What a cursor looks like from outside (for API schemas); only ``decode`` can tell whether it is genuine.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,6000}\.[A-Za-z0-9_-]{1,40}$"
_SIGNATURE_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encodes a JSON payload as ``base64url(json).base64url(hmac)``; decoding checks the HMAC first."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes | str) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ValueError("cursor secret must be at least 16 bytes")
        self._key = hashlib.sha256(b"apibase-cursor:" + key).digest()

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest[:_SIGNATURE_BYTES])

    def encode(self, payload: Mapping[str, JsonValue]) -> str:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)  # UTF-8: shorter
        body = _b64encode(text.encode())
        return f"{body}.{self._sign(body)}"

    def decode(self, token: str) -> Result[dict[str, JsonValue], InvalidCursorError]:
        invalid = Err(InvalidCursorError("the cursor is malformed, expired or was not issued by this service"))
        if len(token) > MAX_CURSOR_LENGTH or not token.isascii() or token.count(".") != 1:
            return invalid
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return invalid
        try:
            payload = json.loads(_b64decode(body))
        except (binascii.Error, ValueError):
            return invalid
        return Ok(payload) if isinstance(payload, dict) else invalid
