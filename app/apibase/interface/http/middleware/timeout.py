"""Give every request a deadline to start its response; past it, cancel the work and answer 504.

A request stuck on a slow dependency would otherwise hold a worker, a connection and its locks until the
client gives up, and the client would see nothing useful. Cancelling frees all of it (``finally`` blocks and
``async with`` exits run), and the caller gets a ``common.request_timeout`` problem. Once the response has
started the deadline is lifted: a long stream that began in time is not cut off, and a second response cannot
be sent anyway.

Synchronous endpoints run in a worker thread that cannot be interrupted: the 504 for them waits until the thread
returns (its result is then discarded). Keep blocking work async, or give it its own timeout.

Public API: ``TimeoutMiddleware(app, *, timeout_seconds, exempt_path_prefixes=())`` (pure ASGI),
``request_timeout_problem(timeout_seconds, *, instance=None) -> ProblemDetail``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.core.error_codes import CommonErrorCode
from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail
from apibase.interface.http.problems import send_problem

__all__ = ["TimeoutMiddleware", "request_timeout_problem"]

logger = logging.getLogger(__name__)


def request_timeout_problem(timeout_seconds: float, *, instance: str | None = None) -> ProblemDetail:
    """The 504 answered when the application did not start its response within ``timeout_seconds``."""
    code = CommonErrorCode.REQUEST_TIMEOUT
    return ProblemDetail(
        type=f"{DEFAULT_PROBLEM_TYPE_BASE}{code.value}",
        title="Request timed out",
        status=504,
        detail=f"The request did not complete within {timeout_seconds:g} seconds and was cancelled.",
        instance=instance,
        code=code.value,
    )


class TimeoutMiddleware:
    """Pure ASGI: cancels an HTTP request whose response has not started within ``timeout_seconds``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout_seconds: float,
        exempt_path_prefixes: Sequence[str] = (),
    ) -> None:
        if not timeout_seconds > 0:
            raise ValueError("timeout_seconds must be positive")
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.exempt_path_prefixes = tuple(exempt_path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt_path_prefixes and str(scope["path"]).startswith(self.exempt_path_prefixes)
        ):
            await self.app(scope, receive, send)
            return

        response_started = False
        deadline = asyncio.timeout(self.timeout_seconds)

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start" and not response_started:
                response_started = True
                if not deadline.expired():
                    deadline.reschedule(None)  # the response is under way: no deadline for the body
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            # Re-raised: the application's own TimeoutError, or ours once the response had started (the client
            # gets a broken response; a second one cannot be sent).
            if not deadline.expired() or response_started:
                raise
        if deadline.expired() and not response_started:  # also when the application swallowed the cancellation
            logger.warning(
                "request %s %s cancelled after %ss without a response",
                scope["method"],
                scope["path"],
                self.timeout_seconds,
            )
            await send_problem(
                scope, receive, send, request_timeout_problem(self.timeout_seconds, instance=scope["path"])
            )
