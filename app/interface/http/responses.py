"""How routers turn use-case Results into HTTP: envelopes' metadata, ETags, and errors raised as problems."""

from __future__ import annotations

from pydantic import BaseModel

from app.application.pagination import ResponseMeta
from app.core.context import current_request_id
from app.core.errors import AnyAppError, ConcurrencyConflict, PreconditionFailedError
from app.core.result import Err, Ok, Result
from app.interface.http.conditional import etag_for

__all__ = ["STALE_PRECONDITION", "etag_of", "precondition", "response_meta", "unwrap"]

STALE_PRECONDITION = "the resource changed since the ETag in If-Match was issued; GET it again"


def unwrap[T](result: Result[T, AnyAppError]) -> T:
    """The HTTP boundary of ADR 0002: an Err is raised and the problem handlers render it."""
    match result:
        case Ok(value):
            return value
        case Err(error):
            raise error


def precondition[T](result: Result[T, AnyAppError], if_match: str | None) -> Result[T, AnyAppError]:
    """With If-Match a version conflict is the client's stale precondition: 412, not 409."""
    if if_match is not None and isinstance(result, Err) and isinstance(result.error, ConcurrencyConflict):
        return Err(PreconditionFailedError(STALE_PRECONDITION, extensions=result.error.extensions))
    return result


def response_meta() -> ResponseMeta:
    return ResponseMeta(request_id=current_request_id())


def etag_of(response: BaseModel) -> str | None:
    """A strong ETag from the resource's id and version; None for unversioned resources."""
    version = getattr(response, "version", None)
    return etag_for(getattr(response, "id", ""), version) if isinstance(version, int) else None
