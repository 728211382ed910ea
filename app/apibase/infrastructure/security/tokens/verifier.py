"""Verifying our own access and refresh tokens: every rejection is an ``Err`` with its own stable code.

The checks run cheapest and most hostile first: size before any parsing (a 1 MB header is a DoS, not a token),
then structure, then the header's ``alg`` against an allowlist, the ``kid`` against the key ring and the
key's own algorithm, the signature, and only then the claims. The clock is injectable so expiry is testable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import jwt
from pydantic import JsonValue

from apibase.core.errors import UnauthorizedError
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.security.tokens.claims import Claims, TokenType
from apibase.infrastructure.security.tokens.errors import AuthErrorCode, InvalidToken
from apibase.infrastructure.security.tokens.keys import JwtAlgorithm, JwtKey, JwtKeyRing

__all__ = [
    "DEFAULT_LEEWAY_SECONDS",
    "MAX_TOKEN_BYTES",
    "TokenHeader",
    "TokenPolicy",
    "TokenVerifier",
    "check_signed_token",
    "read_header",
    "reject",
]

MAX_TOKEN_BYTES = 8192
DEFAULT_LEEWAY_SECONDS = 30
_ALLOWED_ALGORITHMS = frozenset(alg.value for alg in JwtAlgorithm)

_DETAILS: dict[AuthErrorCode, str] = {
    AuthErrorCode.TOKEN_INVALID: "The token signature does not match.",
    AuthErrorCode.TOKEN_MALFORMED: "The token is malformed.",
    AuthErrorCode.TOKEN_TOO_LARGE: "The token is too large.",
    AuthErrorCode.TOKEN_ALGORITHM_REJECTED: "The token's signing algorithm is not accepted.",
    AuthErrorCode.TOKEN_UNKNOWN_KEY: "The token was signed with an unknown key.",
    AuthErrorCode.TOKEN_EXPIRED: "The token has expired.",
    AuthErrorCode.TOKEN_NOT_YET_VALID: "The token is not valid yet.",
    AuthErrorCode.TOKEN_WRONG_ISSUER: "The token was issued by another issuer.",
    AuthErrorCode.TOKEN_WRONG_AUDIENCE: "The token is meant for another audience.",
    AuthErrorCode.TOKEN_WRONG_TYPE: "The token is of the wrong type for this use.",
}


def reject(code: AuthErrorCode) -> Err[UnauthorizedError]:
    """A fixed message per code: nothing from the token itself reaches the error."""
    return Err(InvalidToken(_DETAILS[code], code=code))


@dataclass(frozen=True)
class TokenPolicy:
    """What a token must say to be accepted; ``expected_type`` None skips the ``typ`` check (foreign issuers)."""

    issuer: str
    audience: str
    expected_type: TokenType | None = TokenType.ACCESS
    leeway_seconds: int = DEFAULT_LEEWAY_SECONDS
    max_token_bytes: int = MAX_TOKEN_BYTES
    require_token_id: bool = True


@dataclass(frozen=True)
class TokenHeader:
    """The two header members that matter, read before the signature is checked (so trusted for nothing)."""

    alg: str
    kid: str


def read_header(token: str, max_token_bytes: int = MAX_TOKEN_BYTES) -> Result[TokenHeader, UnauthorizedError]:
    """Size, shape and algorithm allowlist: everything that can be rejected without a key."""
    if len(token) > max_token_bytes:
        return reject(AuthErrorCode.TOKEN_TOO_LARGE)
    if not token.isascii() or token.count(".") != 2 or not all(token.split(".")):
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in _ALLOWED_ALGORITHMS:
        return reject(AuthErrorCode.TOKEN_ALGORITHM_REJECTED)
    if not isinstance(kid, str) or not kid:
        return reject(AuthErrorCode.TOKEN_UNKNOWN_KEY)
    return Ok(TokenHeader(alg=alg, kid=kid))


def check_signed_token(
    token: str, header: TokenHeader, key: JwtKey, policy: TokenPolicy, now: float
) -> Result[Claims, UnauthorizedError]:
    """Signature with the key's own algorithm, then the registered claims against ``policy`` at ``now``."""
    if header.alg != key.alg.value:
        return reject(AuthErrorCode.TOKEN_ALGORITHM_REJECTED)
    try:
        decoded = jwt.api_jws.decode_complete(token, key.public_key, algorithms=[key.alg.value])
    except jwt.InvalidSignatureError:
        return reject(AuthErrorCode.TOKEN_INVALID)
    except jwt.PyJWTError:  # read_header parsed the same segments, so this is defence in depth
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    try:
        payload = json.loads(decoded["payload"])
    except (ValueError, UnicodeDecodeError):
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    if not isinstance(payload, dict):
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    return _check_claims(payload, policy, now)


def _moment(value: object) -> int | None:
    """A NumericDate claim as int; None when absent. Raises TypeError for any other type (bool included)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a NumericDate")
    return int(value)


def _strings(value: object, *, single: bool = False) -> tuple[str, ...] | None:
    """A list of strings as a tuple (``single``: a lone string too, as RFC 7519 allows for ``aud``)."""
    if single and isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(str(item) for item in value)
    return None


def _optional_text(value: object) -> bool:
    """An optional string claim (``tid``, ``fam``) is absent or a non-empty string."""
    return value is None or (isinstance(value, str) and bool(value))


def _check_claims(payload: dict[str, JsonValue], policy: TokenPolicy, now: float) -> Result[Claims, UnauthorizedError]:
    try:
        exp, nbf, iat = (_moment(payload.get(name)) for name in ("exp", "nbf", "iat"))
    except TypeError:
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    sub, iss, jti, typ = payload.get("sub"), payload.get("iss"), payload.get("jti"), payload.get("typ")
    audience = _strings(payload.get("aud"), single=True)
    roles, permissions = _strings(payload.get("roles", [])), _strings(payload.get("permissions", []))
    tenant, family = payload.get("tid"), payload.get("fam")
    if (
        exp is None
        or not isinstance(sub, str)
        or not sub
        or audience is None
        or roles is None
        or permissions is None
        or not (jti is None or isinstance(jti, str))
        or (policy.require_token_id and not jti)
        or not _optional_text(tenant)
        or not _optional_text(family)
    ):
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    if exp <= now - policy.leeway_seconds:
        return reject(AuthErrorCode.TOKEN_EXPIRED)
    if any(moment is not None and moment > now + policy.leeway_seconds for moment in (nbf, iat)):
        return reject(AuthErrorCode.TOKEN_NOT_YET_VALID)
    if iss != policy.issuer:
        return reject(AuthErrorCode.TOKEN_WRONG_ISSUER)
    if policy.audience not in audience:
        return reject(AuthErrorCode.TOKEN_WRONG_AUDIENCE)
    token_type = TokenType(typ) if isinstance(typ, str) and typ in TokenType._value2member_map_ else None
    if policy.expected_type is not None and token_type is not policy.expected_type:
        return reject(AuthErrorCode.TOKEN_WRONG_TYPE)
    return Ok(
        Claims(
            subject=sub,
            issuer=policy.issuer,
            audience=audience,
            issued_at=iat,
            not_before=nbf,
            expires_at=exp,
            token_id=jti,
            token_type=token_type,
            roles=roles,
            permissions=permissions,
            tenant=tenant if isinstance(tenant, str) else None,
            family=family if isinstance(family, str) else None,
            raw=payload,
        )
    )


class TokenVerifier:
    """Verifies tokens signed by a key in our own ring (see :class:`TokenIssuer`)."""

    def __init__(self, ring: JwtKeyRing, policy: TokenPolicy, *, clock: Callable[[], float] = time.time) -> None:
        self._ring = ring
        self._policy = policy
        self._clock = clock

    def verify(self, token: str, expected_type: TokenType | None = None) -> Result[Claims, UnauthorizedError]:
        """``expected_type`` overrides the policy's (e.g. ``REFRESH`` at the refresh endpoint)."""
        policy = self._policy
        if expected_type is not None and expected_type is not policy.expected_type:
            policy = replace(policy, expected_type=expected_type)
        header = read_header(token, policy.max_token_bytes)
        if isinstance(header, Err):
            return header
        key = self._ring.verification_key(header.value.kid)
        if key is None:
            return reject(AuthErrorCode.TOKEN_UNKNOWN_KEY)
        return check_signed_token(token, header.value, key, policy, self._clock())
