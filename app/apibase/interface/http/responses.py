"""How routers turn use-case Results into HTTP: envelopes' metadata, ETags, and errors raised as problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from pydantic import BaseModel, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from apibase.application.pagination import ResponseMeta
from apibase.core.context import current_request_id
from apibase.core.errors import AnyAppError, ConcurrencyConflict, PreconditionFailedError
from apibase.core.result import Err, Ok, Result
from apibase.interface.http.conditional import etag_for
from apibase.interface.http.pattern_formats import describe_pattern

__all__ = [
    "ENTITY_TAG_LIST",
    "STALE_PRECONDITION",
    "EntityTags",
    "IfMatchHeader",
    "IfNoneMatchHeader",
    "etag_of",
    "precondition",
    "response_meta",
    "unwrap",
]

STALE_PRECONDITION = "the resource changed since the ETag in If-Match was issued; GET it again"

#: RFC 9110 ``If-Match``/``If-None-Match`` syntax: ``*`` or a comma-separated list of (weak) entity tags; an
#: empty value counts as absent. The bounds live in the pattern (no separate maxLength to contradict it).
ENTITY_TAG_LIST = describe_pattern(
    r'^(|\*|(W/)?"[\x21\x23-\x7e]{0,64}"( ?, ?(W/)?"[\x21\x23-\x7e]{0,64}"){0,15})$',
    'the ETag of a GET, in its double quotes (such as "3f2a9c0d1b7e4a65-7"), up to 16 of them separated by commas,'
    " or *",
)

# ``SkipJsonSchema[None]``: an absent header is fine, but the schema must not describe a "null" header value.
EntityTags = Annotated[str, StringConstraints(pattern=ENTITY_TAG_LIST)]
IfMatchHeader = Annotated[
    EntityTags | SkipJsonSchema[None], Header(description="ETag from a GET: refuse the write if stale")
]
IfNoneMatchHeader = Annotated[EntityTags | SkipJsonSchema[None], Header(description="ETag you hold: 304 if unchanged")]


def unwrap[T](result: Result[T, AnyAppError]) -> T:
    """The HTTP boundary of ADR 0002: an Err is raised and the problem handlers render it."""
    match result:
        case Ok(value):
            return value
        case Err(error):
            raise error


def precondition[T](result: Result[T, AnyAppError], if_match: str | None) -> Result[T, AnyAppError]:
    """With If-Match a version conflict is the client's stale precondition: 412, not 409."""
    if if_match and isinstance(result, Err) and isinstance(result.error, ConcurrencyConflict):
        return Err(PreconditionFailedError(STALE_PRECONDITION, extensions=result.error.extensions))
    return result


def response_meta() -> ResponseMeta:
    return ResponseMeta(request_id=current_request_id())


def etag_of(response: BaseModel) -> str | None:
    """A strong ETag from the resource's id and version; None for unversioned resources."""
    version = getattr(response, "version", None)
    return etag_for(getattr(response, "id", ""), version) if isinstance(version, int) else None
