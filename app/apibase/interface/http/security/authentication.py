"""AuthenticationMiddleware: turns credentials into a ``Principal`` once per request, before anything else runs.

Bearer access tokens (``Authorization: Bearer ...``) and API keys (``X-API-Key``) are both accepted. A request
without credentials goes on anonymously (the permission dependencies answer 401 where a route needs a caller);
a request WITH credentials that do not verify is refused here with the verifier's 401 problem, so a bad token can
never fall back to anonymous access.

The tenant is the principal's tenant. An ``X-Tenant-ID`` header (name configurable) is validated as a slug and, for
an authenticated caller, must name that same tenant (403 otherwise); anonymous calls (register, login) use it to
pick a tenant, else the default one. The principal and tenant land in ``scope["state"]`` (for the rate limiter,
audit and request log) and in the context variables the repositories read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.core.context import principal as principal_var
from apibase.core.context import tenant as tenant_var
from apibase.core.errors import AppError
from apibase.core.principal import Principal, is_valid_tenant_id
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.persistence.tenancy import InvalidTenant, TenantMismatch
from apibase.infrastructure.security.tokens.errors import AuthErrorCode, InvalidToken
from apibase.interface.http.middleware.request_headers import request_header
from apibase.interface.http.problems import send_problem

__all__ = ["API_KEY_HEADER", "AuthenticationMiddleware", "Authenticator"]

API_KEY_HEADER: Final = "x-api-key"
_API_KEY_NAME: Final = API_KEY_HEADER.encode("latin-1")
_MALFORMED: Final = AuthErrorCode.TOKEN_MALFORMED

#: Verifies one credential (an access token or an API key) into a principal, or says why not.
type Authenticator = Callable[[str], Awaitable[Result[Principal, AppError[StrEnum]]]]


class AuthenticationMiddleware:
    """Pure ASGI; see the module docstring for the rules."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_token: Authenticator,
        api_key: Authenticator,
        tenant_header: str = "X-Tenant-ID",
        default_tenant: str = "default",
    ) -> None:
        self.app = app
        self._access_token = access_token
        self._api_key = api_key
        self._tenant_header = tenant_header.lower()
        self._tenant_key = self._tenant_header.encode("latin-1")
        self._default_tenant = default_tenant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verified = await self._authenticate(scope)
        if isinstance(verified, Err):
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if verified.error.status == 401 else None
            await send_problem(scope, receive, send, verified.error.to_problem_detail(), headers=challenge)
            return
        caller = verified.value
        resolved = self._tenant(request_header(scope, self._tenant_key), caller)
        if isinstance(resolved, Err):
            await send_problem(scope, receive, send, resolved.error.to_problem_detail())
            return
        state = scope.setdefault("state", {})
        state["principal"] = caller
        state["tenant"] = resolved.value
        if caller is not None:
            state["user_id"] = caller.subject
        principal_token = principal_var.set(caller)
        tenant_token = tenant_var.set(resolved.value)
        try:
            await self.app(scope, receive, send)
        finally:
            tenant_var.reset(tenant_token)
            principal_var.reset(principal_token)

    async def _authenticate(self, scope: Scope) -> Result[Principal | None, AppError[StrEnum]]:
        authorization = request_header(scope, b"authorization")
        if authorization is not None:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                return Err(
                    InvalidToken(
                        "the Authorization header must be 'Bearer <token>'", code=AuthErrorCode.TOKEN_MALFORMED
                    )
                )
            return await self._access_token(credentials.strip())
        key = request_header(scope, _API_KEY_NAME)
        if key is not None:
            return await self._api_key(key.strip())
        return Ok(None)

    def _tenant(self, requested: str | None, caller: Principal | None) -> Result[str, AppError[StrEnum]]:
        if requested is not None and not is_valid_tenant_id(requested):
            return Err(InvalidTenant(f"the {self._tenant_header} header must be a tenant id (lower-case slug)"))
        if caller is None:
            return Ok(requested or self._default_tenant)
        if requested is not None and requested != caller.tenant:
            return Err(TenantMismatch("the credentials belong to another tenant than the one requested"))
        return Ok(caller.tenant)
