"""What a verified token says, typed, so callers never dig through a raw payload dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import JsonValue

__all__ = ["Claims", "TokenType"]


class TokenType(StrEnum):
    """The ``typ`` claim: a refresh token must never pass where an access token is expected, or vice versa."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class Claims:
    """The verified claims; ``raw`` keeps the full payload for issuer-specific members."""

    subject: str
    issuer: str
    audience: tuple[str, ...]
    issued_at: int | None
    not_before: int | None
    expires_at: int
    token_id: str | None
    token_type: TokenType | None
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    #: ``tid``: the tenant the subject belongs to (our own tokens always carry it).
    tenant: str | None = None
    #: ``fam``: the refresh-token family, so reuse of one token can revoke all of its rotations.
    family: str | None = None
    raw: dict[str, JsonValue] = field(default_factory=dict, repr=False, compare=False)
