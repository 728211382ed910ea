"""gRPC metadata for the calls made inside ``with call_metadata(...)``: how a publish carries its event's trace.

daprd builds the delivered envelope's ``traceparent`` from the trace of the publish call itself (it overwrites the
event's own), so the relay, which runs outside any request, sends each event's ``traceparent``/``tracestate`` as
the call's metadata: the subscriber's work then joins the trace of the request that raised the event. The SDK's
per-call ``metadata`` argument is deprecated; this interceptor, given to the client, adds them instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import grpc

__all__ = ["CallMetadataInterceptor", "call_metadata"]

_PAIRS: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("apibase_dapr_call_metadata", default=())


@contextmanager
def call_metadata(pairs: Sequence[tuple[str, str]]) -> Iterator[None]:
    token = _PAIRS.set(tuple(pairs))
    try:
        yield
    finally:
        _PAIRS.reset(token)


class CallMetadataInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Appends the pairs of the enclosing ``call_metadata`` to every unary call's metadata."""

    async def intercept_unary_unary[Req, Res](
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Req], Awaitable[grpc.aio.UnaryUnaryCall[Req, Res]]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Req,
    ) -> Res | grpc.aio.UnaryUnaryCall[Req, Res]:
        pairs = _PAIRS.get()
        if pairs:
            metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()), *pairs)
            client_call_details = grpc.aio.ClientCallDetails(
                client_call_details.method,
                client_call_details.timeout,
                metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
            )
        return await continuation(client_call_details, request)
