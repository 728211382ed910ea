"""CrudRoute: the route class of the CRUD endpoints, serving the routine request without FastAPI's generic steps.

FastAPI's request handler is built for any endpoint: it walks the dependency tree through the generic solver
(three security-scheme calls and a principal lookup for one permission check), validates the returned envelope
again against the response model, then serializes it. For the shape ``create_crud_router`` builds, a plan is
compiled once per route: the permission guards, checked straight from the principal in the scope; the
parameterless (or query-only) async dependencies, such as the service provider, called directly; the path, query
and header parameters and the JSON body, validated by FastAPI's own functions; the envelope, serialized without
the re-validation when it already is an instance of the response model (validating it would return it as is).

Only a request the plan serves without surprise takes this path: the caller holds the permissions, every
parameter and the body are valid, no dependency override is set and FastAPI's own telemetry is off. Any other
request (a 401 or 403, a bad id, a malformed body, a test overriding a dependency) goes to FastAPI's handler
before anything was called, so every error, problem and header is exactly FastAPI's. A route whose dependencies
the plan does not know (a custom permission check, a dependency with ``yield``...) always takes FastAPI's path.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request, Response
from fastapi._compat import ModelField
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.routing import APIRoute, _effective_route_context_var, serialize_response
from fastapi.telemetry import get_telemetry_data
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from starlette.types import Message

from apibase.core.principal import Principal
from apibase.interface.http.security.authorization import PermissionCheck, current_principal

__all__ = ["CrudRoute"]

type _Handler = Callable[[Request], Coroutine[Any, Any, Response]]
type _Values = dict[str, object]


class CrudRoute(APIRoute):
    """An ``APIRoute`` whose handler takes a compiled fast path when it can, FastAPI's handler otherwise."""

    def get_route_handler(self) -> _Handler:
        generic = super().get_route_handler()
        # FastAPI builds the handler of an included route with the including router's context (its dependencies,
        # its app's dependency overrides) in this variable; the plan must see that same route.
        context = _effective_route_context_var.get()
        route = context if context is not None and context.original_route is self else self
        plan = _Plan.compile(route)
        return generic if plan is None else plan.handler(generic)


@dataclass(frozen=True, slots=True)
class _Call:
    """A dependency the plan calls itself: an async function taking only path, query or header parameters and the
    request."""

    name: str | None
    call: Callable[..., Awaitable[object]]
    dependant: Dependant


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one route's routine request needs, worked out once from the dependency tree FastAPI built for it."""

    dependant: Dependant
    call: Callable[..., Awaitable[object]]
    guards: tuple[tuple[str, ...], ...]
    calls: tuple[_Call, ...]
    embed_body_fields: bool
    status_code: int | None
    response_field: ModelField | None
    response_class: type[Response] | DefaultPlaceholder
    #: The response model whose instances are serialized without re-validation (``None``: always validate).
    trusted: type[BaseModel] | None
    overrides: object

    @classmethod
    def compile(cls, route: Any) -> _Plan | None:  # noqa: ANN401 - an APIRoute or FastAPI's route context
        dependant: Dependant = route.dependant
        if not (_is_plain(dependant) and dependant.cookie_params == []):
            return None
        guards: list[tuple[str, ...]] = []
        calls: list[_Call] = []
        for sub in dependant.dependencies:
            if (guard := _guard(sub)) is not None:
                guards.append(guard)
            elif _is_plain(sub) and _takes_only_parameters(sub):
                calls.append(_Call(sub.name, cast("Callable[..., Awaitable[object]]", sub.call), sub))
            else:
                return None
        if len({id(call.call) for call in calls}) < len(calls) or not _serializes_as_declared(route):
            return None
        field: ModelField | None = route.response_field
        return cls(
            dependant=dependant,
            call=cast("Callable[..., Awaitable[object]]", dependant.call),
            guards=tuple(guards),
            calls=tuple(calls),
            embed_body_fields=route._embed_body_fields,
            status_code=route.status_code,
            response_field=field,
            response_class=route.response_class,
            trusted=_trusted(field),
            overrides=route.dependency_overrides_provider,
        )

    def handler(self, generic: _Handler) -> _Handler:
        async def handle(request: Request) -> Response:
            if getattr(self.overrides, "dependency_overrides", None) or get_telemetry_data() is not None:
                return await generic(request)
            try:
                solved = await self._solve(request)
            except _BodyUnread as unread:
                return await generic(unread.request)
            if solved is None:
                return await generic(request)
            values, arguments = solved
            response = _sub_response()
            if self.dependant.response_param_name:
                values[self.dependant.response_param_name] = response
            for call, given in zip(self.calls, arguments, strict=True):
                solved_call = await call.call(**given)
                if call.name is not None:
                    values[call.name] = solved_call
            return await self._respond(await self.call(**values), response)

        return handle

    async def _solve(self, request: Request) -> tuple[_Values, list[_Values]] | None:
        """The endpoint's arguments and each call's, or ``None`` when FastAPI must answer (nothing called yet)."""
        if self.guards and not _holds(request, self.guards):
            return None
        arguments: list[_Values] = []
        for call in self.calls:
            if (given := _parameters(call.dependant, request)) is None:
                return None
            if call.dependant.request_param_name:
                given[call.dependant.request_param_name] = request
            arguments.append(given)
        if (values := _parameters(self.dependant, request)) is None:
            return None
        if self.dependant.body_params:
            if (body := await _json_body(request)) is None:
                return None
            parsed, errors = await request_body_to_args(self.dependant.body_params, body, self.embed_body_fields)
            if errors:
                return None
            values.update(parsed)
        if self.dependant.request_param_name:
            values[self.dependant.request_param_name] = request
        return values, arguments

    async def _respond(self, raw: object, sub: Response) -> Response:
        """What FastAPI's handler makes of the endpoint's return value, minus the re-validation of an instance."""
        if isinstance(raw, Response):
            return raw
        status = sub.status_code or self.status_code
        arguments: dict[str, Any] = {} if status is None else {"status_code": status}
        field, as_json = self.response_field, isinstance(self.response_class, DefaultPlaceholder)
        if field is not None and as_json and self.trusted is not None and type(raw) is self.trusted:
            content: object = field.serialize_json(raw)
        else:
            content = await serialize_response(
                field=field, response_content=raw, dump_json=field is not None and as_json
            )
        if field is not None and as_json:
            response = Response(content=content, media_type="application/json", **arguments)
        else:
            response_class = cast("type[Response]", getattr(self.response_class, "value", self.response_class))
            response = response_class(content, **arguments)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        response.headers.raw.extend(sub.headers.raw)
        return response


class _BodyUnread(Exception):  # noqa: N818 - a signal, not an error
    """Reading the body failed: FastAPI's handler gets a request whose body read fails the same way."""

    def __init__(self, request: Request) -> None:
        self.request = request


def _is_plain(dependant: Dependant) -> bool:
    """No parameter the plan does not provide, and a callable FastAPI would simply await."""
    return (
        dependant.call is not None
        and _is_async(dependant.call)
        and dependant.concurrency is None
        and dependant.websocket_param_name is None
        and dependant.http_connection_param_name is None
        and dependant.background_tasks_param_name is None
        and dependant.security_scopes_param_name is None
    )


def _takes_only_parameters(sub: Dependant) -> bool:
    """A dependency the plan calls with path, query and header parameters and the request alone (the service
    provider takes none; the versioned API's ``check_request_parameters`` the request)."""
    return not (sub.body_params or sub.cookie_params or sub.dependencies) and sub.response_param_name is None


def _is_async(call: object) -> bool:
    """A coroutine function (a callable object or a sync function runs differently in FastAPI: not planned)."""
    return inspect.iscoroutinefunction(call)


def _guard(sub: Dependant) -> tuple[str, ...] | None:
    """The permissions a ``require()``/``authenticated()`` guard checks (none for the latter), else ``None``."""
    if sub.name is not None:
        return None
    if type(sub.call) is PermissionCheck:
        return sub.call.permissions
    if sub.call is current_principal:
        return ()
    return None


def _holds(request: Request, guards: Sequence[tuple[str, ...]]) -> bool:
    """What ``current_principal`` and ``PermissionCheck`` let through: a principal holding every permission."""
    caller = request.scope.get("state", {}).get("principal")
    return isinstance(caller, Principal) and all(caller.has(need) for guard in guards for need in guard)


def _parameters(dependant: Dependant, request: Request) -> _Values | None:
    values: _Values = {}
    for fields, received in (
        (dependant.path_params, request.path_params),
        (dependant.query_params, request.query_params),
        (dependant.header_params, request.headers),
    ):
        if fields:
            parsed, errors = request_params_to_args(fields, received)
            if errors:
                return None
            values.update(parsed)
    return values


async def _json_body(request: Request) -> object | None:
    """The decoded body of a plain ``application/json`` request; ``None`` for anything FastAPI must judge."""
    try:
        raw = await request.body()
    except Exception as error:  # FastAPI turns it into its own error: let it read the body, and fail alike
        raise _BodyUnread(Request(request.scope, _failing(error))) from error
    if not raw or request.headers.get("content-type") != "application/json":
        return None
    try:
        return cast("object", await request.json())
    except Exception:  # malformed, or nested past the parser's recursion limit: FastAPI answers
        return None


def _failing(error: Exception) -> Callable[[], Awaitable[Message]]:
    async def receive() -> Message:
        raise error

    return receive


def _sub_response() -> Response:
    """The ``Response`` parameter FastAPI gives an endpoint: headers only, no status until one is set."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


def _serializes_as_declared(route: Any) -> bool:  # noqa: ANN401 - see _Plan.compile
    """No ``response_model_include``/``exclude``/``by_alias``/``exclude_*`` option: the plan passes none on."""
    options = (
        route.response_model_include,
        route.response_model_exclude,
        route.response_model_by_alias,
        route.response_model_exclude_unset,
        route.response_model_exclude_defaults,
        route.response_model_exclude_none,
    )
    return options == (None, None, True, False, False, False)


def _trusted(field: ModelField | None) -> type[BaseModel] | None:
    """The response model when validating one of its instances returns it unchanged, so it can be skipped."""
    model = None if field is None else field.field_info.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    if model.model_config.get("revalidate_instances", "never") != "never":
        return None
    return None if model.__pydantic_decorators__.model_validators else model
