"""Serve several API versions at once (``/api/v1``, ``/api/v2``), each with its own OpenAPI document.

Each version is a separate FastAPI sub-application mounted under its prefix, so a version's schema, docs and
deprecation state cannot leak into another's, and a client reads exactly the contract of the version it
calls: ``/api/vN/openapi.json`` (OpenAPI 3.1), Swagger UI at ``/api/vN/docs``, ReDoc at ``/api/vN/redoc``
(their assets are served by the version itself, see ``docs_pages``). Every sub-application gets the problem
handlers, and every operation documents the problems it can answer as ``application/problem+json`` (see
``openapi.document_problems``) and its security requirements (bearer token or API key, declared by the
permission dependencies), and refuses query parameters it does not declare (``request_parameters.py``).

Deprecation (RFC 9745 ``Deprecation``, RFC 8594 ``Sunset``, ``Link; rel="successor-version"``) can be set
for a whole version or for one operation; deprecated operations are ``deprecated: true`` in the OpenAPI::

    api_v1 = ApiVersion(
        "v1",
        routers=[widgets_v1],
        deprecated=DeprecationPolicy(sunset=date(2026, 12, 31), successor="/api/v2"),
    )
    api_v2 = ApiVersion("v2", routers=[widgets_v2])
    mount_versions(app, [api_v1, api_v2])

    @router.get("/widgets/{id}/legacy", **deprecated_operation(DeprecationPolicy(sunset=date(2026, 6, 30))))
    async def legacy(...): ...

Public API:

- ``DeprecationPolicy(deprecated_at=None, sunset=None, successor=None, documentation=None)``:
  ``headers()``, ``openapi_extra()``, ``from_openapi_extra(extra)``.
- ``ApiVersion(name, routers, *, deprecated=None, title=None, description="", info_version=None)``.
- ``deprecated_operation(policy=None) -> DeprecatedOperation``: keyword arguments for a route decorator.
- ``DeprecationHeadersMiddleware(app, *, policy=None)`` (pure ASGI; added to each version by the builders).
- ``build_version_app(version, *, service_title="API") -> FastAPI``.
- ``mount_versions(app, versions, *, prefix="/api") -> dict[str, FastAPI]``.
- ``build_versioned_api(versions, *, title="API", prefix="/api") -> FastAPI``: a root app with versions mounted.
- ``PROBLEM_RESPONSES``: the ``responses=`` entry documenting problem bodies.

Mounted sub-applications do not run lifespans: keep start-up and shutdown on the root application.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any, Final, TypedDict

from fastapi import APIRouter, Depends, FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.interface.http.docs_pages import install_docs_pages
from apibase.interface.http.idle_layers import drop_idle_layers
from apibase.interface.http.openapi import DEFAULT_PROBLEM_RESPONSE, document_problems
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.request_parameters import check_request_parameters

__all__ = [
    "PROBLEM_RESPONSES",
    "ApiVersion",
    "DeprecatedOperation",
    "DeprecationHeadersMiddleware",
    "DeprecationPolicy",
    "build_version_app",
    "build_versioned_api",
    "deprecated_operation",
    "mount_versions",
]

_VERSION_NAME: Final = re.compile(r"[a-z0-9][a-z0-9.-]*")
_X_DEPRECATED_AT: Final = "x-deprecated-at"
_X_SUNSET: Final = "x-sunset"
_X_SUCCESSOR: Final = "x-successor-version"
_X_DOCUMENTATION: Final = "x-deprecation-documentation"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


#: Added to every route: any error not listed by status is an RFC 9457 problem too.
PROBLEM_RESPONSES: Final = DEFAULT_PROBLEM_RESPONSE


@dataclass(frozen=True, slots=True)
class DeprecationPolicy:
    """When something was deprecated, when it goes away, and where to go instead.

    Dates are whole days in UTC; datetimes must be timezone-aware. Without ``deprecated_at`` the
    ``Deprecation`` header says ``@0`` ("deprecated since before any date"): RFC 9745 requires a date.
    """

    deprecated_at: date | datetime | None = None
    sunset: date | datetime | None = None
    successor: str | None = None
    documentation: str | None = None

    def __post_init__(self) -> None:
        deprecated_at, sunset = _utc(self.deprecated_at), _utc(self.sunset)
        if deprecated_at is not None and sunset is not None and sunset < deprecated_at:
            raise ValueError("the sunset cannot come before the deprecation")
        for link in (self.successor, self.documentation):
            if link is not None and not _is_link_target(link):
                raise ValueError(f"not a usable link target: {link!r}")

    def headers(self) -> list[tuple[str, str]]:
        """Response headers: ``Deprecation``, then ``Sunset`` and ``Link`` when known."""
        deprecated_at = _utc(self.deprecated_at) or _EPOCH
        headers = [("Deprecation", f"@{int(deprecated_at.timestamp())}")]
        sunset = _utc(self.sunset)
        if sunset is not None:
            headers.append(("Sunset", format_datetime(sunset, usegmt=True)))
        if self.successor is not None:
            headers.append(("Link", f'<{self.successor}>; rel="successor-version"'))
        if self.documentation is not None:
            headers.append(("Link", f'<{self.documentation}>; rel="deprecation"; type="text/html"'))
        return headers

    def openapi_extra(self) -> dict[str, object]:
        """``x-`` members for an operation, so the OpenAPI document states the dates and the successor too."""
        extra: dict[str, object] = {}
        for key, moment in ((_X_DEPRECATED_AT, self.deprecated_at), (_X_SUNSET, self.sunset)):
            utc = _utc(moment)
            if utc is not None:
                extra[key] = utc.isoformat()
        links = ((_X_SUCCESSOR, self.successor), (_X_DOCUMENTATION, self.documentation))
        extra.update({key: link for key, link in links if link is not None})
        return extra

    @classmethod
    def from_openapi_extra(cls, extra: Mapping[str, object] | None) -> DeprecationPolicy:
        """Read ``openapi_extra()`` back; members that do not parse are left out instead of failing a response."""
        extra = extra or {}
        deprecated_at, sunset = _parse_moment(extra.get(_X_DEPRECATED_AT)), _parse_moment(extra.get(_X_SUNSET))
        if deprecated_at is not None and sunset is not None and sunset < deprecated_at:
            sunset = None
        return cls(
            deprecated_at=deprecated_at,
            sunset=sunset,
            successor=_parse_link(extra.get(_X_SUCCESSOR)),
            documentation=_parse_link(extra.get(_X_DOCUMENTATION)),
        )


def _utc(moment: date | datetime | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("deprecation datetimes must be timezone-aware")
        return moment.astimezone(UTC)
    return datetime.combine(moment, time(), tzinfo=UTC)


def _parse_moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _is_link_target(link: str) -> bool:
    return bool(link.strip()) and not any(character in link for character in '<>"\r\n')


def _parse_link(value: object) -> str | None:
    return value if isinstance(value, str) and _is_link_target(value) else None


class DeprecatedOperation(TypedDict):
    """Keyword arguments that mark one route deprecated: ``@router.get(path, **deprecated_operation(...))``."""

    deprecated: bool
    openapi_extra: dict[str, object]


def deprecated_operation(policy: DeprecationPolicy | None = None) -> DeprecatedOperation:
    """Flag an operation deprecated in the OpenAPI and in its responses' headers.

    Without a policy (or a policy that names nothing) the operation uses its version's policy, if any.
    """
    return {"deprecated": True, "openapi_extra": (policy or DeprecationPolicy()).openapi_extra()}


class DeprecationHeadersMiddleware:
    """Pure ASGI: adds the deprecation headers of the matched operation, or else of the whole version.

    The router records the matched route in the scope before the response starts, so a deprecated route's
    error responses (404 of its item, 422, ...) carry the headers too.
    """

    def __init__(self, app: ASGIApp, *, policy: DeprecationPolicy | None = None) -> None:
        self.app = app
        self.policy = policy
        self._version_headers = _encode(policy.headers()) if policy is not None else []
        self._route_headers: dict[int, tuple[BaseRoute, list[tuple[bytes, bytes]]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self._headers_for(scope.get("route"))
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers_for(self, route: object) -> list[tuple[bytes, bytes]]:
        if not isinstance(route, BaseRoute) or not getattr(route, "deprecated", False):
            return self._version_headers
        cached = self._route_headers.get(id(route))
        if cached is None:
            extra = getattr(route, "openapi_extra", None)
            own = DeprecationPolicy.from_openapi_extra(extra if isinstance(extra, Mapping) else None)
            policy = self.policy if own == DeprecationPolicy() and self.policy is not None else own
            cached = (route, _encode(policy.headers()))  # the route is kept so its id cannot be reused
            self._route_headers[id(route)] = cached
        return cached[1]


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One API version: its routers, and its deprecation policy once a successor exists."""

    name: str
    routers: Sequence[APIRouter] = field(default_factory=tuple)
    deprecated: DeprecationPolicy | None = None
    title: str | None = None
    description: str = ""
    info_version: str | None = None

    def __post_init__(self) -> None:
        if _VERSION_NAME.fullmatch(self.name) is None:
            raise ValueError(f"a version name is a lowercase path segment like 'v1', got {self.name!r}")


def build_version_app(version: ApiVersion, *, service_title: str = "API") -> FastAPI:
    """The sub-application of one version, with its own OpenAPI document, docs pages and problem handlers."""
    app = FastAPI(
        title=version.title or f"{service_title} {version.name}",
        version=version.info_version or version.name,
        description=version.description,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_docs_pages(app)
    for router in version.routers:
        app.include_router(
            router,
            responses=PROBLEM_RESPONSES,
            deprecated=True if version.deprecated is not None else None,
            dependencies=[Depends(check_request_parameters)],
        )
    app.add_middleware(DeprecationHeadersMiddleware, policy=version.deprecated)
    _document_problems_in(app)
    return app


def _document_problems_in(app: FastAPI) -> None:
    """Generate the OpenAPI document as FastAPI does, then add the problem responses once, before it is cached."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            document_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def mount_versions(app: FastAPI, versions: Sequence[ApiVersion], *, prefix: str = "/api") -> dict[str, FastAPI]:
    """Mount every version under ``{prefix}/{name}`` (without the FastAPI layers the root already runs for it);
    returns the sub-applications by version name."""
    names = [version.name for version in versions]
    if len(set(names)) != len(names):
        raise ValueError(f"version names must be unique, got {names}")
    mounted: dict[str, FastAPI] = {}
    for version in versions:
        sub_app = build_version_app(version, service_title=app.title)
        drop_idle_layers(sub_app, mounted_in=app)
        app.mount(f"{prefix.rstrip('/')}/{version.name}", sub_app, name=f"api-{version.name}")
        mounted[version.name] = sub_app
    return mounted


def build_versioned_api(versions: Sequence[ApiVersion], *, title: str = "API", prefix: str = "/api") -> FastAPI:
    """A root application (no schema of its own) with the problem handlers and every version mounted."""
    app = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    mount_versions(app, versions, prefix=prefix)
    return app
