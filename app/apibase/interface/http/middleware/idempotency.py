"""``Idempotency-Key`` on POST and PATCH (Requirement 11.7): run a keyed request once, replay its response.

A client that lost the answer to a POST (timeout, dropped connection) can send it again with the same key and
get the first response back, byte for byte, without the handler running twice. Requests without the header,
and other methods, pass straight through: one method check and one header scan.

For a keyed request the middleware reads the whole body (the body-size limit outside it bounds that), then
asks the ``IdempotencyStore`` to claim the key, and hands the same body on to the application unchanged:

- claimed: the application runs; its response streams to the client and is kept for ``ttl_seconds``, stored
  before the last body chunk leaves, so a client never sees an answer a retry could miss;
- same key, same request, finished: the kept response is replayed and the application is not called;
- same key, different request (method, path, query or body): 422 ``idempotency.key_reused``;
- same key, first request still running: 409 ``idempotency.in_progress`` with ``Retry-After: 1``;
- the request ran but its body was over ``max_stored_body_bytes``: retries get 409
  ``idempotency.response_not_stored`` (re-running it is what the key forbids; fetch the resource instead).

Choices made here:

- **Scope.** The store key is the tenant plus a SHA-256 of (tenant, subject, method, path, key), read from the
  ``Principal`` that authentication leaves in ``scope["state"]["principal"]``: one caller can never replay,
  block or probe another's keys. Anonymous callers share one scope, so they should use random (UUID) keys.
  The fingerprint is a SHA-256 of method, path, query string and body.
- **Fail closed.** When the store cannot answer, a keyed request gets 503 ``idempotency.unavailable`` and the
  application does not run. The client sent a key because a duplicate would hurt (a second charge); running
  unprotected during an outage is exactly when its retries would duplicate. Requests without a key never
  touch the store, so an outage costs only the keyed writes.
- **Released, not kept**, so a retry runs again: 5xx answers, 408/409/425/429 (refusals that say "try again"
  and changed nothing), exceptions, cancellation, and responses that never finished.
- **Kept headers**: everything the application set except hop-by-hop headers, ``Set-Cookie`` (a session
  belongs to one exchange), ``Date``, ``Server``, ``X-Request-ID`` (each attempt has its own) and
  ``Content-Length`` (recomputed). Every keyed response says ``Idempotent-Replayed: false`` (ran now) or
  ``true`` (replayed), so clients and logs can tell them apart without comparing bodies.
- **Lease.** An unfinished claim blocks its key for ``lease_seconds`` if the worker dies mid-request; keep it
  above the request timeout, or a slow first attempt could run alongside its retry.

Public API: ``IdempotencyMiddleware(app, *, store, ttl_seconds, lease_seconds=300, methods=("POST", "PATCH"),
max_stored_body_bytes=1_048_576)`` (pure ASGI), ``IDEMPOTENCY_KEY_HEADER``, ``REPLAYED_HEADER``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Final

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    IdempotencyResponseNotStored,
    IdempotencyStore,
    IdempotencyUnavailable,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)
from apibase.core.errors import AppError
from apibase.core.principal import Principal
from apibase.interface.http.problems import send_problem

__all__ = ["IDEMPOTENCY_KEY_HEADER", "REPLAYED_HEADER", "IdempotencyMiddleware"]

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"

_KEY_NAME: Final = IDEMPOTENCY_KEY_HEADER.lower().encode("ascii")
_REPLAYED_NAME: Final = REPLAYED_HEADER.lower().encode("ascii")
_VALID_KEY: Final = re.compile(rb"[\x21-\x7e]{1,255}")
_INVALID_KEY_DETAIL: Final = "The Idempotency-Key header must be one value of 1 to 255 visible ASCII characters."
_ANONYMOUS: Final = "-"
_NOT_KEPT: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"set-cookie",
        b"date",
        b"server",
        b"x-request-id",
        b"content-length",
        _REPLAYED_NAME,
    }
)
_RETRYABLE_STATUSES: Final = frozenset({408, 409, 425, 429})
_BODYLESS_STATUSES: Final = frozenset({204, 304})


class IdempotencyMiddleware:
    """Pure ASGI: requests with an ``Idempotency-Key`` on ``methods`` run at most once per caller and key."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore,
        ttl_seconds: int,
        lease_seconds: int = 300,
        methods: Iterable[str] = ("POST", "PATCH"),
        max_stored_body_bytes: int = 1_048_576,
        exempt_path_prefixes: Sequence[str] = (),
    ) -> None:
        """``exempt_path_prefixes``: routes whose answers must never be stored or replayed (credentials)."""
        if ttl_seconds < 1 or lease_seconds < 1:
            raise ValueError("ttl_seconds and lease_seconds must be at least 1")
        if max_stored_body_bytes < 0:
            raise ValueError("max_stored_body_bytes must not be negative")
        self.app = app
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds
        self.methods = frozenset(method.upper() for method in methods)
        self.max_stored_body_bytes = max_stored_body_bytes
        self.exempt_path_prefixes = tuple(exempt_path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in self.methods
            or (self.exempt_path_prefixes and str(scope["path"]).startswith(self.exempt_path_prefixes))
        ):
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name.lower() == _KEY_NAME]
        if not keys:
            await self.app(scope, receive, send)
            return
        if len(keys) != 1 or _VALID_KEY.fullmatch(keys[0]) is None:
            await _reject(scope, receive, send, IdempotencyKeyInvalid(_INVALID_KEY_DETAIL))
            return
        body = await _read_body(receive)
        if body is None:  # the client left before sending its body: nothing to run, nobody to answer
            return
        try:
            outcome = await self.store.begin(_store_key(scope, keys[0]), _fingerprint(scope, body), self.lease_seconds)
        except IdempotencyUnavailable as error:
            logger.warning("idempotency store unavailable; refusing keyed %s %s", scope["method"], scope["path"])
            await _reject(scope, receive, send, error)
            return
        match outcome:
            case Claimed():
                await self._run(scope, body, receive, send, outcome)
            case Replay(response=response) if response.body is not None:
                await _replay(send, response, response.body)
            case Replay():
                detail = "The request with this key ran, but its response was too large to keep; fetch the resource."
                await _reject(scope, receive, send, IdempotencyResponseNotStored(detail))
            case InProgress():
                detail = "A request with this Idempotency-Key is still running; retry shortly."
                await _reject(scope, receive, send, IdempotencyInProgress(detail), headers={"Retry-After": "1"})
            case Mismatch():
                detail = "This Idempotency-Key was used for a different request; send a new key for a new request."
                await _reject(scope, receive, send, IdempotencyKeyReused(detail))

    async def _run(self, scope: Scope, body: bytes, receive: Receive, send: Send, claim: Claimed) -> None:
        """Run the application on the buffered body; keep its response, or release the claim if it failed."""
        delivered = False
        status = 0
        kept_headers: tuple[tuple[str, str], ...] = ()
        chunks: list[bytes] = []
        size = 0
        finished = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # the application may still wait for a disconnect
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capturing_send(message: Message) -> None:
            nonlocal status, kept_headers, size, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                kept_headers = tuple(
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in headers
                    if name.lower() not in _NOT_KEPT
                )
                message = {**message, "headers": [*headers, (_REPLAYED_NAME, b"false")]}
            elif message["type"] == "http.response.body" and not finished:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= self.max_stored_body_bytes:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    finished = True
                    kept_body = b"".join(chunks) if size <= self.max_stored_body_bytes else None
                    await self._finish(claim, StoredResponse(status, kept_headers, kept_body))
            await send(message)

        try:
            await self.app(scope, replay_receive, capturing_send)
        except BaseException:
            if not finished:
                with anyio.CancelScope(shield=True):  # release even when the request was cancelled
                    await self._release(claim)
            raise
        if not finished:
            await self._release(claim)

    async def _finish(self, claim: Claimed, response: StoredResponse) -> None:
        if response.status >= 500 or response.status in _RETRYABLE_STATUSES:
            await self._release(claim)
            return
        try:
            await self.store.complete(claim, response, self.ttl_seconds)
        except IdempotencyUnavailable:
            # The response is ready and must still reach the client; the claim lapses after its lease.
            logger.warning("could not keep the response for an idempotency key", exc_info=True)

    async def _release(self, claim: Claimed) -> None:
        try:
            await self.store.release(claim)
        except IdempotencyUnavailable:
            logger.warning("could not release an idempotency key; it lapses after its lease", exc_info=True)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` if the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


def _store_key(scope: Scope, key: bytes) -> str:
    """Tenant-prefixed (for purges and dashboards), the rest hashed: fixed length, no separator ambiguity."""
    state = scope.get("state")
    principal = state.get("principal") if isinstance(state, Mapping) else None
    if isinstance(principal, Principal):
        tenant, subject = principal.tenant, principal.subject
    else:
        tenant, subject = _ANONYMOUS, _ANONYMOUS
    parts = [tenant, subject, scope["method"], scope["path"], key.decode("ascii")]
    return f"{tenant}:{hashlib.sha256(json.dumps(parts).encode('ascii')).hexdigest()}"


def _fingerprint(scope: Scope, body: bytes) -> str:
    target = json.dumps([scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")])
    digest = hashlib.sha256(target.encode("ascii"))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


async def _replay(send: Send, response: StoredResponse, body: bytes) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
    if response.status >= 200 and response.status not in _BODYLESS_STATUSES:
        headers.append((b"content-length", str(len(body)).encode("ascii")))
    headers.append((_REPLAYED_NAME, b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _reject(
    scope: Scope, receive: Receive, send: Send, error: AppError[StrEnum], *, headers: Mapping[str, str] | None = None
) -> None:
    await send_problem(scope, receive, send, error.to_problem_detail(instance=scope["path"]), headers=headers)
