"""What several identity handlers check first: the actor's permission, and ids that arrive as text."""

from __future__ import annotations

from apibase.application.identity.errors import PermissionDeniedError
from apibase.core.errors import AnyAppError
from apibase.core.principal import Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity.api_key import ApiKeyId
from apibase.domain.identity.permissions import Permission
from apibase.domain.identity.refresh_session import RefreshTokenId
from apibase.domain.identity.user import UserId

__all__ = ["parse_id", "require"]


def require(actor: Principal, permission: Permission) -> Result[None, AnyAppError]:
    """Checked by the handler itself as well as by the route, so a caller of the bus gets the same rule."""
    if actor.has(permission):
        return Ok(None)
    detail = f"this needs the {permission} permission"
    return Err(PermissionDeniedError(detail, extensions={"permission": str(permission)}))


def parse_id[B: (UserId, ApiKeyId, RefreshTokenId)](kind: type[B], value: B | str) -> B | None:
    """An id from a path or a token; a malformed one is treated like an unknown one (404/401, never 422)."""
    if isinstance(value, kind):
        return value
    try:
        return kind.parse(str(value))
    except ValueError:
        return None
