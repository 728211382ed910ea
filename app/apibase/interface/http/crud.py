"""create_crud_router: the standard endpoints of a resource from one configuration object.

What a resource needs beyond the service — request and response models, allowlisted filters and sorts,
pagination style, permissions per operation, OpenAPI text and examples — is data here, not code.

Secure by default: with no configuration, every operation needs an authenticated caller holding a permission
derived from the resource's ``plural``: ``<plural>:read`` to list and read, ``<plural>:write`` to create, replace,
update and delete. ``permissions`` replaces the derived check of an operation with others (the caller must still
be authenticated); only ``public`` opens an operation to anonymous callers, and says so in the OpenAPI document
(``security: []``).

Every outcome of the service is a Result: ``Ok`` becomes the envelope, ``Err`` is raised as the AppError it holds
and rendered as an RFC 9457 problem by the handlers in ``problems.py``.

What a client GETs it can PUT back: the ``PUT`` body is the create model plus the response's other fields
(``id``, ``version``, timestamps...), optional, marked ``readOnly`` in the schema, and ignored. Concurrency is
``If-Match``'s job, never the body's ``version`` (see docs/architecture.md, "Representations").
"""

# No ``from __future__ import annotations`` here: FastAPI must see the endpoint annotations as objects,
# and they are built inside functions where string annotations could not be resolved.
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum, StrEnum
from typing import Annotated, Final, TypedDict

from fastapi import APIRouter, Depends, Path, Query, Request, Response, params, status
from fastapi import Body as BodyParameter
from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    create_model,
)
from pydantic.json_schema import SkipJsonSchema

from apibase.application.cursor import CURSOR_PATTERN
from apibase.application.pagination import (
    ApiResponse,
    CountStrategy,
    CursorPaginatedResponse,
    PaginatedResponse,
    parse_sort,
)
from apibase.application.ports.service import Service
from apibase.core.context import current_principal
from apibase.core.errors import PreconditionFailedError
from apibase.domain.specification import Specification
from apibase.interface.http.conditional import expected_version_from_if_match, if_none_match_matches
from apibase.interface.http.crud_route import CrudRoute
from apibase.interface.http.openapi import problem_responses
from apibase.interface.http.pattern_formats import describe_pattern
from apibase.interface.http.query_filters import filter_dependency, sort_pattern, where_clause
from apibase.interface.http.responses import (
    STALE_PRECONDITION,
    IfMatchHeader,
    IfNoneMatchHeader,
    etag_of,
    precondition,
    response_meta,
    unwrap,
)
from apibase.interface.http.security.authorization import authenticated, require

__all__ = [
    "ALL_OPERATIONS",
    "CrudOperation",
    "CrudResource",
    "Pagination",
    "Provider",
    "create_crud_router",
    "replace_model",
]


type Provider[T] = Callable[[], T] | Callable[[], Awaitable[T]]
"""A FastAPI dependency giving ``T``; prefer ``async def`` (a plain function runs in a worker thread)."""

#: What a write can run into beyond the statuses every operation documents (see ``openapi.document_problems``).
_WRITE_CONFLICTS = problem_responses({409: "A unique field is taken, or the entity changed concurrently"})


class CrudOperation(StrEnum):
    CREATE = "create"
    LIST = "list"
    READ = "read"
    REPLACE = "replace"
    UPDATE = "update"
    DELETE = "delete"


#: ``public=ALL_OPERATIONS``: every operation of the resource open to anonymous callers.
ALL_OPERATIONS: Final = frozenset(CrudOperation)
#: The operations the derived ``<plural>:read`` permission covers; every other one needs ``<plural>:write``.
_READS: Final = frozenset({CrudOperation.LIST, CrudOperation.READ})
_PUBLIC_NOTE: Final = "Public: anyone may call this operation, without credentials."


class Pagination(StrEnum):
    OFFSET = "offset"
    CURSOR = "cursor"


@dataclass(frozen=True)
class CrudResource[TCreate: BaseModel, TUpdate: BaseModel, TResponse: BaseModel, ID]:
    """Everything ``create_crud_router`` needs to know about one resource."""

    name: str
    plural: str
    service: Provider[Service[object, TCreate, TUpdate, TResponse, ID]]
    id_type: type[ID]
    create_model: type[TCreate]
    update_model: type[TUpdate]
    response_model: type[TResponse]
    filter_types: Mapping[str, object] = dataclass_field(default_factory=dict)
    sortable_fields: frozenset[str] = frozenset()
    pagination: Pagination = Pagination.OFFSET
    default_page_size: int = 50
    max_page_size: int = 500
    operations: frozenset[CrudOperation] = ALL_OPERATIONS
    #: Checks that replace an operation's derived ``<plural>:read``/``<plural>:write`` (after authentication).
    permissions: Mapping[CrudOperation, Sequence[params.Depends]] = dataclass_field(default_factory=dict)
    #: The operations anyone may call without credentials; the only way to open one, e.g. ``public=ALL_OPERATIONS``.
    public: frozenset[CrudOperation] = frozenset()
    tags: Sequence[str | Enum] = ()
    create_example: Mapping[str, object] | None = None
    #: ``PUT`` takes back the response's read-only fields (and ignores them); off only to freeze an old contract.
    replace_accepts_read_only: bool = True

    def __post_init__(self) -> None:
        both = sorted(self.public & self.permissions.keys())
        if both:
            raise ValueError(f"{self.plural}: {both} are both public and guarded by permissions; choose one")
        unguarded = sorted(operation for operation, checks in self.permissions.items() if not checks)
        if unguarded:
            raise ValueError(f"{self.plural}: no permission for {unguarded}; to open an operation, list it in public")

    def guards(self, operation: CrudOperation) -> list[params.Depends]:
        """What a caller must pass for ``operation``: nothing only when it is public."""
        if operation in self.public:
            return []
        if operation in self.permissions:
            return [authenticated(), *self.permissions[operation]]
        return [require(f"{self.plural}:{'read' if operation in _READS else 'write'}")]


def replace_model(create: type[BaseModel], response: type[BaseModel]) -> tuple[type[BaseModel], frozenset[str]]:
    """The ``PUT`` body for a resource, and the names of its read-only fields.

    ``create`` plus every field of ``response`` that ``create`` lacks, each optional, typed as the response shows
    it (so a changed value is still well formed) and ``readOnly`` in the schema: the body of a GET fits as it is.
    """
    read_only = {
        name: (
            info.annotation | SkipJsonSchema[None],  # type: ignore[misc]
            Field(default=None, json_schema_extra={"readOnly": True}, description="Read-only: accepted and ignored"),
        )
        for name, info in response.model_fields.items()
        if name not in create.model_fields
    }
    if not read_only:
        return create, frozenset()
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{create.__name__}Replace", __base__=create, __doc__=create.__doc__, **read_only
    )
    return model, frozenset(read_only)


# -- the router ----------------------------------------------------------------------------------------------------
def create_crud_router[TCreate: BaseModel, TUpdate: BaseModel, TResponse: BaseModel, ID](
    resource: CrudResource[TCreate, TUpdate, TResponse, ID],
) -> APIRouter:
    """Build ``POST /``, ``GET /``, ``GET /{id}``, ``PUT /{id}``, ``PATCH /{id}``, ``DELETE /{id}``."""
    router = APIRouter(
        prefix=f"/{resource.plural}", tags=list(resource.tags) or [resource.plural], route_class=CrudRoute
    )
    endpoints = _Endpoints(resource, router)
    for operation, add in (
        (CrudOperation.CREATE, endpoints.add_create),
        (CrudOperation.LIST, endpoints.add_list),
        (CrudOperation.READ, endpoints.add_read),
        (CrudOperation.REPLACE, endpoints.add_replace),
        (CrudOperation.UPDATE, endpoints.add_update),
        (CrudOperation.DELETE, endpoints.add_delete),
    ):
        if operation in resource.operations:
            add(_access(resource.guards(operation)))
    return router


class _Access(TypedDict):
    """The route arguments that say who may call an operation: its guards, or a loud public marking."""

    dependencies: list[params.Depends]
    openapi_extra: dict[str, object] | None
    description: str | None


def _access(guards: list[params.Depends]) -> _Access:
    """No guards means public (``CrudResource.guards`` answers none for public operations only)."""
    if guards:
        return _Access(dependencies=guards, openapi_extra=None, description=None)
    return _Access(dependencies=[], openapi_extra={"security": []}, description=_PUBLIC_NOTE)


class _Endpoints[TCreate: BaseModel, TUpdate: BaseModel, TResponse: BaseModel, ID]:
    """One method per operation; the annotated parameter types are built once and shared.

    Endpoints return their response model's own class (``ApiResponse[Out]``, not ``ApiResponse``): FastAPI's
    validation of such an instance returns it unchanged, which ``CrudRoute`` skips.
    """

    def __init__(self, resource: CrudResource[TCreate, TUpdate, TResponse, ID], router: APIRouter) -> None:
        self.resource = resource
        self.router = router
        self.envelope: type[ApiResponse[TResponse]] = ApiResponse[resource.response_model]  # type: ignore[name-defined]

    async def _write(
        self,
        service: Service[object, TCreate, TUpdate, TResponse, ID],
        entity_id: ID,
        data: TUpdate,
        if_match: str | None,
        response: Response,
    ) -> ApiResponse[TResponse]:
        expected = expected_version_from_if_match(if_match, entity_id)
        updated = unwrap(
            precondition(await service.update(entity_id, data, expected_version=expected, actor=_caller()), if_match)
        )
        if (etag := etag_of(updated)) is not None:
            response.headers["ETag"] = etag
        return self.envelope(data=updated, meta=response_meta())

    def add_create(self, access: _Access) -> None:
        resource, envelope = self.resource, self.envelope
        Body = (  # noqa: N806
            Annotated[resource.create_model, BodyParameter(examples=[dict(resource.create_example)])]
            if resource.create_example
            else resource.create_model
        )

        @self.router.post(
            "",
            status_code=status.HTTP_201_CREATED,
            response_model=envelope,
            summary=f"Create a {resource.name}",
            responses=_WRITE_CONFLICTS,
            **access,
        )
        async def create(
            data: Body,  # type: ignore[valid-type]
            service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
            request: Request,
            response: Response,
        ) -> ApiResponse[TResponse]:
            created = unwrap(await service.create(data, actor=_caller()))
            response.headers["Location"] = f"{request.url.path.rstrip('/')}/{getattr(created, 'id', '')}"
            if (etag := etag_of(created)) is not None:
                response.headers["ETag"] = etag
            return envelope(data=created, meta=response_meta())

    def add_list(self, access: _Access) -> None:
        resource = self.resource
        Filters = Annotated[Specification[object], Depends(filter_dependency(resource.filter_types))]  # noqa: N806
        Limit = Annotated[int, Query(ge=1, le=resource.max_page_size, description="Page size")]  # noqa: N806
        sortable = ", ".join(sorted(resource.sortable_fields))
        Sort = Annotated[  # noqa: N806
            Annotated[str, StringConstraints(pattern=sort_pattern(resource.sortable_fields))] | SkipJsonSchema[None],
            Query(description=f"Comma-separated fields, '-' descending: {sortable}"),
        ]
        Out = resource.response_model  # noqa: N806

        if resource.pagination is Pagination.OFFSET:
            Page = PaginatedResponse[Out]  # type: ignore[valid-type]  # noqa: N806

            @self.router.get(
                "",
                response_model=Page,
                summary=f"List {resource.plural}",
                **access,
            )
            async def list_offset(
                service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
                where: Filters,
                sort: Sort = None,
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                limit: Limit = resource.default_page_size,
                count: CountStrategy = CountStrategy.EXACT,
            ) -> PaginatedResponse[TResponse]:
                order = parse_sort(sort, resource.sortable_fields)
                page = unwrap(
                    await service.list(where=where_clause(where), sort=order, offset=offset, limit=limit, count=count)
                )
                return Page.from_page(page, page.items, response_meta())

            return

        CursorPage = CursorPaginatedResponse[Out]  # type: ignore[valid-type]  # noqa: N806

        @self.router.get(
            "",
            response_model=CursorPage,
            summary=f"List {resource.plural} (keyset pagination)",
            **access,
        )
        async def list_cursor(
            service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
            where: Filters,
            sort: Sort = None,
            cursor: Annotated[_Cursor | SkipJsonSchema[None], Query(description=_CURSOR_DESCRIPTION)] = None,
            limit: Limit = resource.default_page_size,
        ) -> CursorPaginatedResponse[TResponse]:
            order = parse_sort(sort, resource.sortable_fields)
            page = unwrap(
                await service.list_by_cursor(where=where_clause(where), sort=order, cursor=cursor or None, limit=limit)
            )
            return CursorPage.from_page(page, page.items, response_meta())

    def _id(self) -> object:
        return Annotated[self.resource.id_type, Path(description=f"The {self.resource.name}'s id")]

    def add_read(self, access: _Access) -> None:
        resource, envelope = self.resource, self.envelope
        Id = self._id()  # noqa: N806

        @self.router.get(
            "/{entity_id}",
            response_model=envelope,
            summary=f"Get a {resource.name}",
            **access,
            responses={304: {"description": "Not modified (If-None-Match)"}},
        )
        async def read(
            entity_id: Id,  # type: ignore[valid-type]
            service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
            response: Response,
            if_none_match: IfNoneMatchHeader = None,
        ) -> ApiResponse[TResponse] | Response:
            found = unwrap(await service.get(entity_id))
            etag = etag_of(found)
            if etag is not None:
                if if_none_match_matches(if_none_match, etag):
                    return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
                response.headers["ETag"] = etag
            return envelope(data=found, meta=response_meta())

    def add_replace(self, access: _Access) -> None:
        resource, write = self.resource, self._write
        Id = self._id()  # noqa: N806
        Body, ignored = (  # noqa: N806
            replace_model(resource.create_model, resource.response_model)
            if resource.replace_accepts_read_only
            else (resource.create_model, frozenset[str]())
        )

        @self.router.put(
            "/{entity_id}",
            response_model=self.envelope,
            summary=f"Replace a {resource.name}",
            responses=_WRITE_CONFLICTS,
            **access,
        )
        async def replace(
            entity_id: Id,  # type: ignore[valid-type]
            data: Body,  # type: ignore[valid-type]
            service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
            response: Response,
            if_match: IfMatchHeader = None,
        ) -> ApiResponse[TResponse]:
            changes = resource.update_model.model_validate(data.model_dump(exclude=ignored))  # type: ignore[attr-defined]
            return await write(service, entity_id, changes, if_match, response)

    def add_update(self, access: _Access) -> None:
        resource, write = self.resource, self._write
        Id = self._id()  # noqa: N806
        Patch = resource.update_model  # noqa: N806

        @self.router.patch(
            "/{entity_id}",
            response_model=self.envelope,
            summary=f"Update some fields of a {resource.name}",
            responses=_WRITE_CONFLICTS,
            **access,
        )
        async def update(
            entity_id: Id,  # type: ignore[valid-type]
            data: Patch,  # type: ignore[valid-type]
            service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
            response: Response,
            if_match: IfMatchHeader = None,
        ) -> ApiResponse[TResponse]:
            return await write(service, entity_id, data, if_match, response)

    def add_delete(self, access: _Access) -> None:
        resource = self.resource
        Id = self._id()  # noqa: N806

        @self.router.delete(
            "/{entity_id}",
            status_code=status.HTTP_204_NO_CONTENT,
            response_class=Response,
            summary=f"Delete a {resource.name}",
            responses=_WRITE_CONFLICTS,
            **access,
        )
        async def delete(
            entity_id: Id,  # type: ignore[valid-type]
            service: Annotated[_Svc[TCreate, TUpdate, TResponse, ID], Depends(resource.service)],
            if_match: IfMatchHeader = None,
        ) -> Response:
            expected = expected_version_from_if_match(if_match, entity_id)
            if expected is not None and getattr(unwrap(await service.get(entity_id)), "version", None) != expected:
                raise PreconditionFailedError(STALE_PRECONDITION)
            unwrap(await service.delete(entity_id, actor=_caller()))
            return Response(status_code=status.HTTP_204_NO_CONTENT)


def _caller() -> str | None:
    """The ``actor`` of every write: the authenticated caller's subject (``None`` for an anonymous one)."""
    caller = current_principal()
    return None if caller is None else caller.subject


type _Svc[C, U, R, I] = Service[object, C, U, R, I]
_CURSOR_DESCRIPTION = (
    "next_cursor of the previous page, sent alone: it carries the sort and filters of its listing (repeating them"
    " exactly is allowed, other ones are a 400 common.invalid_cursor); limit may change from page to page"
)
_Cursor = Annotated[
    str, StringConstraints(pattern=describe_pattern(f"^$|{CURSOR_PATTERN}", "the next_cursor of a page, unchanged"))
]
