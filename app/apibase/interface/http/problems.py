"""Every error leaves the service as one RFC 9457 ``application/problem+json`` body.

``install_problem_handlers(app)`` registers one dispatcher for ``AppError``, FastAPI's
``RequestValidationError``, Starlette's ``HTTPException`` and any other ``Exception``; the pure ASGI
middlewares render their rejections with ``send_problem``, so both paths produce the same shape::

    {"type", "title", "status", "detail", "instance", "code", "request_id", ...extensions}

Public API:

- ``ProblemResponse``: a ``JSONResponse`` with media type ``application/problem+json``.
- ``install_problem_handlers(app: Starlette) -> None``.
- ``problem_response(problem, *, request_id=None, headers=None) -> ProblemResponse``.
- ``send_problem(scope, receive, send, problem, *, headers=None) -> None``: the same response, sent over ASGI.
- ``http_problem(status, *, detail=None, instance=None) -> ProblemDetail``: the problem for a bare HTTP status.
- ``request_id_for(scope) -> str | None`` and ``REQUEST_ID_SCOPE_KEY``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from http import HTTPStatus
from typing import Final

from fastapi.exceptions import RequestValidationError
from pydantic import JsonValue
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from apibase.core.context import current_request_id
from apibase.core.error_codes import CommonErrorCode
from apibase.core.errors import (
    AppError,
    BadRequestError,
    ConflictError,
    DependencyTimeout,
    DependencyUnavailable,
    FieldError,
    ForbiddenError,
    InternalError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationFailed,
)
from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail
from apibase.interface.http.pattern_formats import expected_format

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "REQUEST_ID_HEADER",
    "REQUEST_ID_SCOPE_KEY",
    "ProblemResponse",
    "http_problem",
    "install_problem_handlers",
    "problem_response",
    "request_id_for",
    "send_problem",
]

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: The request-id middleware also leaves the id in the ASGI scope: the server-error handler runs outside the
#: user middlewares, after the middleware has reset its context variable.
REQUEST_ID_SCOPE_KEY: Final = "apibase.request_id"
_LOGGED_EXCEPTION_KEY: Final = "apibase.logged_exception"

_INTERNAL_DETAIL: Final = "The server could not complete the request."
_INVALID_JSON_DETAIL: Final = "The request body is not valid JSON."

# Statuses the framework raises as HTTPException, answered like the error class the application would raise.
_ERROR_FOR_STATUS: Final[Mapping[int, type[AppError[StrEnum]]]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationFailed,
    429: TooManyRequestsError,
    500: InternalError,
    503: DependencyUnavailable,
    504: DependencyTimeout,
}
# Response headers a handler must not copy from an exception: the problem body sets its own.
_OWN_HEADERS: Final = frozenset({"content-type", "content-length"})

# -- how a RequestValidationError is told to the client -----------------------------------------------------------
_PARAMETER_SOURCES: Final = frozenset({"query", "header", "path", "cookie"})
#: Labels pydantic gives the members of a union or the steps of a validator chain, never a client's field name:
#: ``function-before[_iso_datetime(), datetime]``, ``constrained-str``, ``list[int]``, ``lax-or-strict[...]``.
_SCHEMA_LABEL: Final = re.compile(r"[\[(]|^(constrained|function|lax-or-strict|json-or-python|nullable)-")
_MEMBER_TYPES: Final = frozenset(
    {"str", "int", "float", "bool", "decimal", "none", "date", "datetime", "time", "uuid", "bytes", "list", "dict"}
)
_DATE_TIME: Final = "expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z"
#: Where pydantic's own words do not say what to send ("unable to interpret input"); the rest already do.
_MESSAGES: Final[Mapping[str, str]] = {
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "datetime_parsing": _DATE_TIME,
    "datetime_from_date_parsing": _DATE_TIME,
    "datetime_type": _DATE_TIME,
    "date_parsing": "expected an ISO 8601 date such as 2026-01-31",
    "date_from_datetime_parsing": "expected an ISO 8601 date such as 2026-01-31",
}
#: pydantic's wording around a custom validator's own message.
_NOISE_PREFIXES: Final = ("Value error, ", "Assertion failed, ")


class ProblemResponse(JSONResponse):
    """A JSON response announced as an RFC 9457 problem."""

    media_type = PROBLEM_MEDIA_TYPE


def request_id_for(scope: Scope) -> str | None:
    """The current request id: the context variable first, then the copy the middleware left in the scope."""
    found = current_request_id() or scope.get(REQUEST_ID_SCOPE_KEY)
    return found if isinstance(found, str) else None


def problem_response(
    problem: ProblemDetail,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """Render ``problem`` with its ``request_id``; the id is echoed as ``X-Request-ID`` too."""
    body: dict[str, JsonValue] = problem.model_dump(mode="json")
    body["request_id"] = request_id
    response_headers = {name: value for name, value in (headers or {}).items() if name.lower() not in _OWN_HEADERS}
    if request_id is not None:
        response_headers[REQUEST_ID_HEADER] = request_id
    return ProblemResponse(body, status_code=problem.status, headers=response_headers)


async def send_problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    problem: ProblemDetail,
    *,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer an ASGI request with ``problem``: what pure ASGI middlewares use to reject a request.

    A problem without an ``instance`` gets the request's path, as the exception handlers give theirs.
    """
    if problem.instance is None:
        problem = problem.model_copy(update={"instance": URL(scope=scope).path})
    response = problem_response(problem, request_id=request_id_for(scope), headers=headers)
    await response(scope, receive, send)


def http_problem(status: int, *, detail: str | None = None, instance: str | None = None) -> ProblemDetail:
    """The problem for a bare HTTP status: known statuses take their error class's title and code."""
    phrase = _phrase(status)
    error_class = _ERROR_FOR_STATUS.get(status)
    if error_class is not None:
        return error_class(detail or phrase).to_problem_detail(instance=instance)
    if status == 405:
        code: StrEnum = CommonErrorCode.METHOD_NOT_ALLOWED
        title = "Method not allowed"
    else:
        code = CommonErrorCode.INTERNAL if status >= 500 else CommonErrorCode.BAD_REQUEST
        title = phrase
    return ProblemDetail(
        type=f"{DEFAULT_PROBLEM_TYPE_BASE}{code.value}",
        title=title,
        status=status,
        detail=detail or phrase,
        instance=instance,
        code=code.value,
    )


def install_problem_handlers(app: Starlette) -> None:
    """Make every error response of ``app`` a problem; call it on each (sub-)application."""
    for exception_class in (AppError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(exception_class, _handle)


async def _handle(request: Request, exc: Exception) -> Response:
    """One dispatcher for every exception type, so the shape cannot drift between them."""
    instance = request.url.path
    request_id = request_id_for(request.scope)
    headers: Mapping[str, str] | None = None
    if isinstance(exc, AppError):
        if exc.status >= 500:
            _log_once(request, exc, f"{type(exc).__name__} ({exc.code.value}) answered with {exc.status}")
        problem = exc.to_problem_detail(instance=instance)
        headers = _retry_after(exc.extensions)
    elif isinstance(exc, RequestValidationError):
        problem = _validation_problem(exc, instance)
    elif isinstance(exc, HTTPException):
        if exc.status_code < 400:  # not an error: keep the status and headers, send no problem body
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = exc.detail if isinstance(exc.detail, str) else None
        problem = http_problem(exc.status_code, detail=detail, instance=instance)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    else:
        _log_once(request, exc, f"Unhandled {type(exc).__name__}")
        problem = InternalError(_INTERNAL_DETAIL).to_problem_detail(instance=instance)
    return problem_response(problem, request_id=request_id, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path; Starlette's own ``Allow`` names only the first route."""
    methods: set[str] = set()
    app = request.scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _validation_problem(exc: RequestValidationError, instance: str) -> ProblemDetail:
    """422 with ``loc``/``message``/``type`` per field (never the input), or 400 for a body that is not JSON."""
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return BadRequestError(_INVALID_JSON_DETAIL).to_problem_detail(instance=instance)
    return ValidationFailed.from_field_errors(_field_errors(errors)).to_problem_detail(instance=instance)


def _field_errors(errors: Sequence[Mapping[str, object]]) -> list[FieldError]:
    """One error per parameter or field as the client named it, stated as the format it expected.

    pydantic reports a union per member: ``?active=maybe`` against ``bool | None`` gives one error under
    ``["query", "active", "bool"]`` and a second, "Input should be None", under ``[..., "none"]``. Member labels
    are not names the client sent, and the failed ``None`` member is not something the client could send.
    """
    chosen: dict[tuple[str | int, ...], Mapping[str, object]] = {}
    for error in errors:
        loc = _client_loc(error, errors)
        if loc not in chosen or chosen[loc].get("type") == "none_required":
            chosen[loc] = error
    return [
        FieldError(loc=loc, message=_message(error), type=str(error.get("type")))
        for loc, error in chosen.items()
        if not (error.get("type") == "none_required" and any(other[: len(loc)] == loc != other for other in chosen))
    ]


def _client_loc(error: Mapping[str, object], errors: Sequence[Mapping[str, object]]) -> tuple[str | int, ...]:
    loc = tuple(_loc(error))
    if loc and loc[0] in _PARAMETER_SOURCES:  # (source, name), plus item indexes of a list parameter
        return (*loc[:2], *(part for part in loc[2:] if isinstance(part, int)))
    kept = tuple(part for part in loc if not (isinstance(part, str) and _SCHEMA_LABEL.search(part)))
    if kept and kept[-1] in _MEMBER_TYPES and any(_union_siblings(error, other) for other in errors):
        kept = kept[:-1]  # one member of a union of plain types (``str | int``), reported with its siblings
    return kept


def _union_siblings(error: Mapping[str, object], other: Mapping[str, object]) -> bool:
    """Two members of one union: the same value, refused under labels that differ only in the last one."""
    mine, theirs = _loc(error), _loc(other)
    return (
        mine != theirs
        and mine[:-1] == theirs[:-1]
        and theirs[-1:] != ()
        and theirs[-1] in _MEMBER_TYPES
        and other.get("input") is error.get("input")
    )


def _loc(error: Mapping[str, object]) -> tuple[str | int, ...]:
    loc = error.get("loc", ())
    return tuple(part for part in loc if isinstance(part, str | int)) if isinstance(loc, tuple | list) else ()


def _message(error: Mapping[str, object]) -> str:
    kind, message = str(error.get("type")), str(error.get("msg", ""))
    context = error.get("ctx")
    if kind == "string_pattern_mismatch" and isinstance(context, Mapping):
        return expected_format(str(context.get("pattern", "")))
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    for prefix in _NOISE_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _retry_after(extensions: Mapping[str, JsonValue]) -> dict[str, str] | None:
    seconds = extensions.get("retry_after")
    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
        return {"Retry-After": str(seconds)}
    return None


def _log_once(request: Request, exc: Exception, message: str) -> None:
    """Log with the traceback, once: a mounted sub-application re-raises into its parent's handler."""
    if request.scope.get(_LOGGED_EXCEPTION_KEY) is exc:
        return
    request.scope[_LOGGED_EXCEPTION_KEY] = exc
    logger.exception("%s on %s %s", message, request.method, request.url.path, exc_info=exc)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
