"""Permission checks as FastAPI dependencies: ``dependencies=[require(USERS_MANAGE)]`` on a route.

The principal comes only from the authentication middleware (verified credentials); nothing here reads a
client-sent role or permission header. No principal → 401, a principal without the permission → 403.

Every check depends on the two FastAPI security schemes below, which verify nothing themselves (the middleware
did): they declare ``securitySchemes`` and each operation's ``security`` in the OpenAPI document, so clients and
Swagger UI's "Authorize" know that a bearer JWT or an ``X-API-Key`` is accepted.

``require()`` keeps the permissions it checks readable, so ``check_declared`` can refuse to build an app whose
routes ask for a permission no feature declared (a typo would otherwise be a route nobody but the superuser can
ever call).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from enum import StrEnum
from typing import ClassVar

from fastapi import Depends, Request, Security, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute, Mount

from apibase.core.error_codes import error_codes
from apibase.core.errors import ForbiddenError, UnauthorizedError
from apibase.core.principal import Principal
from apibase.domain.identity.permissions import PermissionRegistry

__all__ = [
    "API_KEY_SCHEME",
    "BEARER_SCHEME",
    "AccessErrorCode",
    "AuthenticationRequired",
    "PermissionCheck",
    "PermissionDenied",
    "authenticated",
    "check_declared",
    "current_principal",
    "require",
    "required_permissions",
]


@error_codes("access")
class AccessErrorCode(StrEnum):
    AUTHENTICATION_REQUIRED = "access.authentication_required"
    PERMISSION_DENIED = "access.permission_denied"


class AuthenticationRequired(UnauthorizedError):  # noqa: N818 - reads as the verdict it reports
    default_code: ClassVar[StrEnum] = AccessErrorCode.AUTHENTICATION_REQUIRED


class PermissionDenied(ForbiddenError):  # noqa: N818 - reads as the verdict it reports
    default_code: ClassVar[StrEnum] = AccessErrorCode.PERMISSION_DENIED


#: ``auto_error=False``: the authentication middleware has already answered a bad credential with its own problem.
BEARER_SCHEME = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="An access token from `POST /auth/login` (or from the configured external issuer)",
    auto_error=False,
)
API_KEY_SCHEME = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKeyAuth",
    description="An API key from `POST /auth/api-keys`",
    auto_error=False,
)


async def current_principal(
    request: Request,
    _bearer: HTTPAuthorizationCredentials | None = Security(BEARER_SCHEME),  # noqa: B008 - FastAPI idiom
    _api_key: str | None = Security(API_KEY_SCHEME),
) -> Principal:
    """The verified caller, or a 401 problem for an anonymous request."""
    caller = request.scope.get("state", {}).get("principal")
    if not isinstance(caller, Principal):
        raise AuthenticationRequired("this endpoint needs an access token or an API key")
    return caller


class PermissionCheck:
    """The dependency ``require()`` builds: lets a caller through only when they hold every permission."""

    def __init__(self, permissions: Iterable[str]) -> None:
        self.permissions = tuple(str(permission) for permission in permissions)

    async def __call__(self, caller: Principal = Depends(current_principal)) -> Principal:  # noqa: B008 - FastAPI idiom
        missing = [permission for permission in self.permissions if not caller.has(permission)]
        if missing:
            raise PermissionDenied(
                "the caller lacks a permission this operation needs", extensions={"missing": list(missing)}
            )
        return caller


def require(*permissions: str) -> params.Depends:
    """A dependency that lets the request through only when the caller holds every one of ``permissions``."""
    return params.Depends(PermissionCheck(permissions))


def required_permissions(routes: Sequence[BaseRoute]) -> frozenset[str]:
    """Every permission a ``require()`` on these routes asks for, mounted sub-applications included."""
    return frozenset(_required(routes))


def check_declared(routes: Sequence[BaseRoute], registry: PermissionRegistry) -> None:
    """Raise ``LookupError`` at build time when a route requires a permission the registry does not know."""
    if undeclared := registry.undeclared(required_permissions(routes)):
        raise LookupError(f"routes require undeclared permission(s): {', '.join(sorted(undeclared))}")


def _required(routes: Sequence[BaseRoute]) -> Iterator[str]:
    # ``iter_route_contexts`` sees through included routers, with their dependencies added to each route's own.
    for context in iter_route_contexts(routes):
        if isinstance(context.route, Mount):
            yield from _required(context.route.routes)
        elif isinstance(dependant := getattr(context, "dependant", None), Dependant):
            yield from _checked_by(dependant)


def _checked_by(dependant: Dependant) -> Iterator[str]:
    if isinstance(dependant.call, PermissionCheck):
        yield from dependant.call.permissions
    for dependency in dependant.dependencies:
        yield from _checked_by(dependency)


def authenticated() -> params.Depends:
    """Any verified caller, whatever their permissions (e.g. managing one's own API keys)."""
    check: Callable[..., Awaitable[Principal]] = current_principal
    return params.Depends(check)
