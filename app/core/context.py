"""Per-request context that code in every layer may read without importing a web framework.

The HTTP edge sets these values (see ``app.interface.http.middleware.request_id``); logging and error
rendering read them, so a request id reaches log lines and problem bodies without being passed around.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["current_request_id", "request_id"]

request_id: ContextVar[str | None] = ContextVar("apibase_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or ``None`` outside a request."""
    return request_id.get()
