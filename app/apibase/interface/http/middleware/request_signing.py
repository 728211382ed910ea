"""Verify service-to-service signed requests on internal paths and turn them into a service ``Principal``.

Requests whose path starts with one of ``path_prefixes`` must carry a valid ``Signature`` and ``Content-Digest``
(see ``apibase.infrastructure.crypto.request_signing``): the signature covers the method, the raw path and query as
sent, the timestamp, the nonce and the body digest. A missing, malformed, unknown-key, tampered, stale or
replayed signature is answered with the verifier's 401 problem before the application runs; other paths pass
through untouched.

The whole body is read before the application runs, because the digest covers it; ``BodyLimitMiddleware``
must sit outside this one, so the read is bounded. The body is then replayed to the application unchanged.

``X-Tenant-ID`` picks the tenant the service acts for (else ``default_tenant``); it is not covered by the
signature, so it is only as trustworthy as the channel (mesh mTLS) between the services. A malformed tenant is
refused with 400 rather than quietly replaced by the default tenant.

Place this middleware inside the authentication middleware (nearer the application): that one sets an
anonymous principal for requests without a token, which would otherwise overwrite the service principal.

Public API: ``RequestSigningMiddleware(app, *, verifier, path_prefixes=("/internal/",), permissions=frozenset(),
default_tenant="default", tenant_header="X-Tenant-ID")`` (pure ASGI). The principal's role is ``SERVICE_ROLE``;
``permissions`` are what the role policy grants it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.core.context import principal as principal_var
from apibase.core.context import tenant as tenant_var
from apibase.core.principal import AuthMethod, Principal, is_valid_tenant_id
from apibase.domain.identity.roles import SERVICE_ROLE
from apibase.infrastructure.crypto.errors import SignatureInvalid
from apibase.infrastructure.crypto.request_signing import RequestVerifier
from apibase.infrastructure.persistence.tenancy import InvalidTenant
from apibase.interface.http.problems import send_problem

__all__ = ["RequestSigningMiddleware"]


class RequestSigningMiddleware:
    """Pure ASGI; see the module docstring for the rules."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: RequestVerifier,
        path_prefixes: Sequence[str] = ("/internal/",),
        permissions: Iterable[str] = frozenset(),
        default_tenant: str = "default",
        tenant_header: str = "X-Tenant-ID",
    ) -> None:
        if not path_prefixes or not all(prefix.startswith("/") for prefix in path_prefixes):
            raise ValueError("path_prefixes must be one or more paths starting with '/'")
        if not is_valid_tenant_id(default_tenant):
            raise ValueError(f"default_tenant {default_tenant!r} is not a tenant id")
        self.app = app
        self.verifier = verifier
        self.path_prefixes = tuple(path_prefixes)
        self.permissions = frozenset(permissions)
        self.default_tenant = default_tenant
        self.tenant_header = tenant_header.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.path_prefixes):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away before sending its body: nobody to answer
            return
        headers = Headers(scope=scope)
        try:
            key_id = await self.verifier.verify(scope["method"], _request_target(scope), headers, body)
        except SignatureInvalid as error:
            await send_problem(scope, receive, send, error.to_problem_detail(instance=scope["path"]))
            return
        requested = headers.get(self.tenant_header)
        if requested is not None and not is_valid_tenant_id(requested):
            refusal = InvalidTenant(f"the {self.tenant_header} header must be a tenant id (lower-case slug)")
            await send_problem(scope, receive, send, refusal.to_problem_detail(instance=scope["path"]))
            return
        caller = Principal(
            subject=key_id,
            tenant=requested or self.default_tenant,
            roles=frozenset({SERVICE_ROLE}),
            permissions=self.permissions,
            method=AuthMethod.SIGNED_REQUEST,
        )
        state = scope.setdefault("state", {})
        state["principal"] = caller
        state["tenant"] = caller.tenant
        state["user_id"] = caller.subject
        principal_token = principal_var.set(caller)
        tenant_token = tenant_var.set(caller.tenant)
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            tenant_var.reset(tenant_token)
            principal_var.reset(principal_token)


def _request_target(scope: Scope) -> str:
    """The path and query exactly as sent (percent-encoding untouched), which is what the signer signed.

    Some servers put the query into ``raw_path`` too; a literal ``?`` can only start the query, so it is cut.
    """
    raw_path = scope.get("raw_path")
    path = raw_path.split(b"?", 1)[0].decode("latin-1") if isinstance(raw_path, bytes) else str(scope["path"])
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hands the application the body already read, then whatever the server sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
