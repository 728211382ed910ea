"""Pure ASGI middlewares (never Starlette's base HTTP middleware class: it breaks streaming, context variables and
background tasks); each one rejects with the same problem body as the exception handlers.
"""

from __future__ import annotations

from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware, BodyTooLarge
from apibase.interface.http.middleware.json_only import DEFAULT_JSON_METHODS, JsonOnlyMiddleware, is_json_media_type
from apibase.interface.http.middleware.request_id import REQUEST_ID_PATTERN, RequestIdMiddleware, new_request_id

__all__ = [
    "DEFAULT_JSON_METHODS",
    "REQUEST_ID_PATTERN",
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "JsonOnlyMiddleware",
    "RequestIdMiddleware",
    "is_json_media_type",
    "new_request_id",
]
