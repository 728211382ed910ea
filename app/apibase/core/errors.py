"""One generic error base and three families (domain, application, infrastructure).

Errors are both raisable and returnable inside ``Err``; each knows its HTTP status, serialises for logs and
converts into an RFC 9457 problem, so the HTTP boundary needs no per-error code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import ClassVar, Literal, Self, cast

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic import ValidationError as PydanticValidationError

from apibase.core.error_codes import CommonErrorCode, registered_error_codes
from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail

__all__ = [
    "AnyAppError",
    "AppError",
    "ApplicationError",
    "BadRequestError",
    "BusinessRuleViolation",
    "ConcurrencyConflict",
    "ConflictError",
    "DependencyTimeout",
    "DependencyUnavailable",
    "DomainError",
    "EntityNotFound",
    "ErrorFamily",
    "FieldError",
    "ForbiddenError",
    "InfrastructureError",
    "InternalError",
    "InvalidCursorError",
    "InvariantViolation",
    "NotFoundError",
    "PayloadTooLargeError",
    "PersistenceError",
    "PreconditionFailedError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "ValidationFailed",
    "WriteContention",
    "error_from_dict",
]

type ErrorFamily = Literal["domain", "application", "infrastructure"]

_STANDARD_MEMBERS = frozenset(ProblemDetail.model_fields)


class FieldError(BaseModel):
    """One invalid input field, as listed in a 422 problem's ``errors`` member."""

    model_config = ConfigDict(frozen=True)

    loc: tuple[str | int, ...]
    message: str
    type: str


class AppError[TCode: StrEnum](Exception):
    """Base of every expected error; ``TCode`` is the enum its codes come from."""

    _classes: ClassVar[dict[str, type[AppError[StrEnum]]]] = {}

    family: ClassVar[ErrorFamily]
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    default_code: ClassVar[StrEnum] = CommonErrorCode.INTERNAL

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        AppError._classes[cls.__name__] = cast("type[AppError[StrEnum]]", cls)

    def __init__(
        self,
        detail: str,
        *,
        code: TCode | None = None,
        extensions: Mapping[str, JsonValue] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code: StrEnum = code if code is not None else self.default_code
        self.extensions: dict[str, JsonValue] = dict(extensions or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, code={self.code.value!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, AppError)
            and (self.code, self.detail, self.extensions) == (other.code, other.detail, other.extensions)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.code, self.detail))

    def to_dict(self) -> dict[str, JsonValue]:
        """A JSON-safe record for logs and for ``Result.to_dict``; ``from_dict`` reverses it."""
        return {
            "family": self.family,
            "error": type(self).__name__,
            "code": self.code.value,
            "status": self.status,
            "detail": self.detail,
            "extensions": self.extensions,
        }

    @classmethod
    def from_dict(cls, data: JsonValue) -> Self:
        error = error_from_dict(data)
        if not isinstance(error, cls):
            raise TypeError(f"{type(error).__name__} is not a {cls.__name__}")
        return error

    def to_problem_detail(
        self, *, instance: str | None = None, type_base: str = DEFAULT_PROBLEM_TYPE_BASE
    ) -> ProblemDetail:
        """The RFC 9457 view of this error; an extension can never overwrite a standard member."""
        extensions = {name: value for name, value in self.extensions.items() if name not in _STANDARD_MEMBERS}
        return ProblemDetail(
            type=f"{type_base}{self.code.value}",
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            code=self.code.value,
            **extensions,
        )


def error_from_dict(data: JsonValue) -> AppError[StrEnum]:
    """Rebuild an error written by ``AppError.to_dict``."""
    if not isinstance(data, Mapping):
        raise TypeError("a serialised error is a mapping")
    name, code, detail = data.get("error"), data.get("code"), data.get("detail")
    error_class = AppError._classes.get(str(name))
    code_member = registered_error_codes().get(str(code))
    if error_class is None or code_member is None or not isinstance(detail, str):
        raise ValueError(f"unknown error record: error={name!r} code={code!r}")
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, Mapping):
        raise TypeError("error extensions must be a mapping")
    return error_class(detail, code=code_member, extensions=extensions)


class DomainError[TCode: StrEnum](AppError[TCode]):
    """A business rule said no."""

    family: ClassVar[ErrorFamily] = "domain"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Domain rule violated"
    default_code: ClassVar[StrEnum] = CommonErrorCode.INVARIANT_VIOLATED


class ApplicationError[TCode: StrEnum](AppError[TCode]):
    """A use case could not run as asked (missing resource, bad request, no permission)."""

    family: ClassVar[ErrorFamily] = "application"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    default_code: ClassVar[StrEnum] = CommonErrorCode.BAD_REQUEST


class InfrastructureError[TCode: StrEnum](AppError[TCode]):
    """Something outside the process failed; details stay in logs, never in the problem."""

    family: ClassVar[ErrorFamily] = "infrastructure"
    status: ClassVar[int] = 503
    title: ClassVar[str] = "Dependency unavailable"
    default_code: ClassVar[StrEnum] = CommonErrorCode.DEPENDENCY_UNAVAILABLE


type AnyAppError = DomainError[StrEnum] | ApplicationError[StrEnum] | InfrastructureError[StrEnum]


class InvariantViolation(DomainError[StrEnum]):
    title = "Invariant violated"


class BusinessRuleViolation(DomainError[StrEnum]):
    status = 409
    title = "Business rule violated"
    default_code: ClassVar[StrEnum] = CommonErrorCode.BUSINESS_RULE_VIOLATED


class EntityNotFound(DomainError[StrEnum]):
    status = 404
    title = "Entity not found"
    default_code: ClassVar[StrEnum] = CommonErrorCode.NOT_FOUND


class ConcurrencyConflict(DomainError[StrEnum]):
    status = 409
    title = "Concurrent modification"
    default_code: ClassVar[StrEnum] = CommonErrorCode.CONCURRENCY_CONFLICT


class WriteContention(ConcurrencyConflict):
    """The database refused a write because another transaction wrote after this one first read (SQLite's busy
    snapshot): nothing was kept and no version was checked, so running the command again from a fresh read is
    always right (``ConflictRetryBehaviour`` does, whatever the command's ``conflict_attempts``)."""


class BadRequestError(ApplicationError[StrEnum]):
    pass


class InvalidCursorError(ApplicationError[StrEnum]):
    title = "Invalid cursor"
    default_code: ClassVar[StrEnum] = CommonErrorCode.INVALID_CURSOR


class ValidationFailed(ApplicationError[StrEnum]):
    status = 422
    title = "Validation failed"
    default_code: ClassVar[StrEnum] = CommonErrorCode.VALIDATION_FAILED

    @classmethod
    def from_field_errors(cls, errors: Sequence[FieldError], detail: str | None = None) -> ValidationFailed:
        message = detail or f"{len(errors)} field(s) failed validation"
        return cls(message, extensions={"errors": [error.model_dump(mode="json") for error in errors]})

    @classmethod
    def from_pydantic(cls, error: PydanticValidationError) -> ValidationFailed:
        """A domain model refused a value: the same ``errors`` shape as a refused request body (no input echoed)."""
        fields = [FieldError(loc=tuple(e["loc"]), message=e["msg"], type=e["type"]) for e in error.errors()]
        return cls.from_field_errors(fields)


class UnauthorizedError(ApplicationError[StrEnum]):
    status = 401
    title = "Unauthorized"
    default_code: ClassVar[StrEnum] = CommonErrorCode.UNAUTHORIZED


class ForbiddenError(ApplicationError[StrEnum]):
    status = 403
    title = "Forbidden"
    default_code: ClassVar[StrEnum] = CommonErrorCode.FORBIDDEN


class NotFoundError(ApplicationError[StrEnum]):
    status = 404
    title = "Not found"
    default_code: ClassVar[StrEnum] = CommonErrorCode.NOT_FOUND


class ConflictError(ApplicationError[StrEnum]):
    status = 409
    title = "Conflict"
    default_code: ClassVar[StrEnum] = CommonErrorCode.CONFLICT


class PreconditionFailedError(ApplicationError[StrEnum]):
    status = 412
    title = "Precondition failed"
    default_code: ClassVar[StrEnum] = CommonErrorCode.PRECONDITION_FAILED


class DependencyUnavailable(InfrastructureError[StrEnum]):
    pass


class DependencyTimeout(InfrastructureError[StrEnum]):
    status = 504
    title = "Dependency timed out"
    default_code: ClassVar[StrEnum] = CommonErrorCode.DEPENDENCY_TIMEOUT


class PersistenceError(InfrastructureError[StrEnum]):
    status = 500
    title = "Persistence failed"
    default_code: ClassVar[StrEnum] = CommonErrorCode.PERSISTENCE_FAILED


class InternalError(InfrastructureError[StrEnum]):
    status = 500
    title = "Internal error"
    default_code: ClassVar[StrEnum] = CommonErrorCode.INTERNAL


class PayloadTooLargeError(ApplicationError[StrEnum]):
    """The request body is larger than the service accepts (RFC 9110 calls 413 "Content Too Large")."""

    status = 413
    title = "Content too large"
    default_code: ClassVar[StrEnum] = CommonErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaTypeError(ApplicationError[StrEnum]):
    """The request body is in a media type the endpoint does not read."""

    status = 415
    title = "Unsupported media type"
    default_code: ClassVar[StrEnum] = CommonErrorCode.UNSUPPORTED_MEDIA_TYPE


class TooManyRequestsError(ApplicationError[StrEnum]):
    """A rate limit said no; ``retry_after_seconds`` rides along as the ``retry_after`` extension.

    Keeping it an extension (not an attribute) lets the error round-trip through ``to_dict``/``error_from_dict``;
    the HTTP layer turns a ``retry_after`` extension into the ``Retry-After`` header.
    """

    status = 429
    title = "Too many requests"
    default_code: ClassVar[StrEnum] = CommonErrorCode.RATE_LIMITED

    def __init__(
        self,
        detail: str,
        *,
        code: StrEnum | None = None,
        extensions: Mapping[str, JsonValue] | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        merged = dict(extensions or {})
        if retry_after_seconds is not None:
            if retry_after_seconds < 0:
                raise ValueError("retry_after_seconds must not be negative")
            merged["retry_after"] = retry_after_seconds
        super().__init__(detail, code=code, extensions=merged)
