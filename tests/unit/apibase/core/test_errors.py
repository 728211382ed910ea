"""The error hierarchy: statuses, codes, problem details and the to_dict / error_from_dict round trip."""

from __future__ import annotations

import importlib
import json
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from apibase.core.error_codes import CommonErrorCode, error_codes
from apibase.core.errors import (
    AppError,
    ApplicationError,
    BadRequestError,
    BusinessRuleViolation,
    ConcurrencyConflict,
    ConflictError,
    DependencyTimeout,
    DependencyUnavailable,
    DomainError,
    EntityNotFound,
    FieldError,
    ForbiddenError,
    InfrastructureError,
    InternalError,
    InvalidCursorError,
    InvariantViolation,
    NotFoundError,
    PayloadTooLargeError,
    PersistenceError,
    PreconditionFailedError,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationFailed,
    WriteContention,
    error_from_dict,
)
from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail

pytestmark = pytest.mark.unit

# ``apibase.core`` re-exports the ``error_codes`` decorator, which shadows the submodule as a package attribute.
error_codes_module = importlib.import_module("apibase.core.error_codes")
errors_module = importlib.import_module("apibase.core.errors")

type ErrorClass = type[AppError[StrEnum]]

# class: (family, status, title, default code)
EXPECTED: dict[ErrorClass, tuple[str, int, str, CommonErrorCode]] = {
    DomainError: ("domain", 422, "Domain rule violated", CommonErrorCode.INVARIANT_VIOLATED),
    InvariantViolation: ("domain", 422, "Invariant violated", CommonErrorCode.INVARIANT_VIOLATED),
    BusinessRuleViolation: ("domain", 409, "Business rule violated", CommonErrorCode.BUSINESS_RULE_VIOLATED),
    EntityNotFound: ("domain", 404, "Entity not found", CommonErrorCode.NOT_FOUND),
    ConcurrencyConflict: ("domain", 409, "Concurrent modification", CommonErrorCode.CONCURRENCY_CONFLICT),
    WriteContention: ("domain", 409, "Concurrent modification", CommonErrorCode.CONCURRENCY_CONFLICT),
    ApplicationError: ("application", 400, "Bad request", CommonErrorCode.BAD_REQUEST),
    BadRequestError: ("application", 400, "Bad request", CommonErrorCode.BAD_REQUEST),
    InvalidCursorError: ("application", 400, "Invalid cursor", CommonErrorCode.INVALID_CURSOR),
    ValidationFailed: ("application", 422, "Validation failed", CommonErrorCode.VALIDATION_FAILED),
    UnauthorizedError: ("application", 401, "Unauthorized", CommonErrorCode.UNAUTHORIZED),
    ForbiddenError: ("application", 403, "Forbidden", CommonErrorCode.FORBIDDEN),
    NotFoundError: ("application", 404, "Not found", CommonErrorCode.NOT_FOUND),
    ConflictError: ("application", 409, "Conflict", CommonErrorCode.CONFLICT),
    PreconditionFailedError: ("application", 412, "Precondition failed", CommonErrorCode.PRECONDITION_FAILED),
    InfrastructureError: (
        "infrastructure",
        503,
        "Dependency unavailable",
        CommonErrorCode.DEPENDENCY_UNAVAILABLE,
    ),
    DependencyUnavailable: (
        "infrastructure",
        503,
        "Dependency unavailable",
        CommonErrorCode.DEPENDENCY_UNAVAILABLE,
    ),
    DependencyTimeout: ("infrastructure", 504, "Dependency timed out", CommonErrorCode.DEPENDENCY_TIMEOUT),
    PersistenceError: ("infrastructure", 500, "Persistence failed", CommonErrorCode.PERSISTENCE_FAILED),
    InternalError: ("infrastructure", 500, "Internal error", CommonErrorCode.INTERNAL),
    PayloadTooLargeError: ("application", 413, "Content too large", CommonErrorCode.PAYLOAD_TOO_LARGE),
    UnsupportedMediaTypeError: ("application", 415, "Unsupported media type", CommonErrorCode.UNSUPPORTED_MEDIA_TYPE),
    TooManyRequestsError: ("application", 429, "Too many requests", CommonErrorCode.RATE_LIMITED),
}


def _core_error_classes() -> list[ErrorClass]:
    """Every AppError subclass defined in apibase.core.errors (test-made subclasses are left out)."""
    found: list[ErrorClass] = []
    pending: list[type[AppError[StrEnum]]] = [AppError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__ == errors_module.__name__ and sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


ALL_CLASSES = _core_error_classes()


@pytest.fixture
def isolated_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Throwaway codes and error classes registered in a test vanish after it."""
    monkeypatch.setattr(error_codes_module, "_REGISTRY", dict(error_codes_module._REGISTRY))
    monkeypatch.setattr(AppError, "_classes", dict(AppError._classes))


def test_the_expectation_table_covers_every_error_class() -> None:
    assert set(ALL_CLASSES) == set(EXPECTED)


@pytest.mark.parametrize("error_class", ALL_CLASSES, ids=lambda cls: cls.__name__)
def test_status_title_code_and_family(error_class: ErrorClass) -> None:
    family, status, title, code = EXPECTED[error_class]
    error = error_class("something happened")
    assert (error.family, error.status, error.title, error.code) == (family, status, title, code)
    assert error.code is error_class.default_code


@pytest.mark.parametrize(
    ("error_class", "family_class"),
    [
        (EntityNotFound, DomainError),
        (ValidationFailed, ApplicationError),
        (DependencyTimeout, InfrastructureError),
    ],
)
def test_errors_are_exceptions_of_their_family(error_class: ErrorClass, family_class: ErrorClass) -> None:
    error = error_class("x")
    assert isinstance(error, family_class)
    assert isinstance(error, AppError)
    assert isinstance(error, Exception)
    with pytest.raises(family_class, match=r"^x$"):
        raise error


def test_base_class_defaults() -> None:
    assert (AppError.status, AppError.title, AppError.default_code) == (
        500,
        "Internal error",
        CommonErrorCode.INTERNAL,
    )


def test_constructor_stores_detail_code_and_a_copy_of_the_extensions() -> None:
    extensions: dict[str, JsonValue] = {"resource": "order", "id": 42}
    error = NotFoundError("order 42 not found", code=CommonErrorCode.INTERNAL, extensions=extensions)
    extensions["id"] = 43
    assert error.detail == "order 42 not found"
    assert str(error) == "order 42 not found"
    assert error.args == ("order 42 not found",)
    assert error.code is CommonErrorCode.INTERNAL
    assert error.extensions == {"resource": "order", "id": 42}
    assert NotFoundError("x").extensions == {}


def test_repr_names_class_detail_and_code() -> None:
    assert repr(ConflictError("name taken")) == "ConflictError('name taken', code='common.conflict')"


# ------------------------------------------------------------------------------- problem details


def test_to_problem_detail_fields() -> None:
    error = ConflictError("the name is taken", extensions={"field": "name", "retry": False})
    problem = error.to_problem_detail(instance="/orders/7")
    assert isinstance(problem, ProblemDetail)
    assert problem.type == f"{DEFAULT_PROBLEM_TYPE_BASE}common.conflict"
    assert problem.type == "https://apibase.dev/problems/common.conflict"
    assert problem.title == "Conflict"
    assert problem.status == 409
    assert problem.detail == "the name is taken"
    assert problem.instance == "/orders/7"
    assert problem.code == "common.conflict"
    assert problem.model_extra == {"field": "name", "retry": False}
    assert problem.model_dump() == {
        "type": "https://apibase.dev/problems/common.conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "the name is taken",
        "instance": "/orders/7",
        "code": "common.conflict",
        "field": "name",
        "retry": False,
    }


def test_to_problem_detail_defaults_and_custom_type_base() -> None:
    problem = PersistenceError("write failed", code=CommonErrorCode.DEPENDENCY_TIMEOUT).to_problem_detail(
        type_base="urn:problem:"
    )
    assert problem.instance is None
    assert problem.type == "urn:problem:common.dependency_timeout"
    assert problem.code == "common.dependency_timeout"
    assert problem.status == 500
    assert problem.title == "Persistence failed"


@pytest.mark.parametrize("error_class", ALL_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_converts_to_a_problem(error_class: ErrorClass) -> None:
    error = error_class("detail text")
    problem = error.to_problem_detail()
    assert (problem.status, problem.title, problem.code) == (error.status, error.title, error.code.value)
    assert problem.type.endswith(error.code.value)
    assert json.loads(problem.model_dump_json())["code"] == error.code.value


# Regression: extensions used to be splatted next to the standard members, so one named like a standard
# member raised TypeError ("got multiple values for keyword argument") and an expected error became a 500.
@pytest.mark.parametrize("member", ["type", "title", "status", "detail", "instance", "code"])
def test_extension_named_like_a_standard_member_cannot_overwrite_it(member: str) -> None:
    error = ConflictError("duplicate", extensions={member: "from-extension", "field": "name"})
    problem = error.to_problem_detail(instance="/things/1")
    assert problem.model_dump() == {
        "type": "https://apibase.dev/problems/common.conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "duplicate",
        "instance": "/things/1",
        "code": "common.conflict",
        "field": "name",
    }
    assert error.extensions[member] == "from-extension"  # still in the error itself (logs, to_dict)


def test_validation_failed_from_field_errors() -> None:
    field_errors = [
        FieldError(loc=("body", "name"), message="must not be empty", type="string_too_short"),
        FieldError(loc=("body", "items", 0, "qty"), message="must be positive", type="greater_than"),
    ]
    error = ValidationFailed.from_field_errors(field_errors)
    assert isinstance(error, ValidationFailed)
    assert error.detail == "2 field(s) failed validation"
    expected_errors = [
        {"loc": ["body", "name"], "message": "must not be empty", "type": "string_too_short"},
        {"loc": ["body", "items", 0, "qty"], "message": "must be positive", "type": "greater_than"},
    ]
    assert error.extensions == {"errors": expected_errors}
    problem = error.to_problem_detail()
    assert problem.status == 422
    assert problem.model_dump()["errors"] == expected_errors
    assert json.loads(problem.model_dump_json())["errors"] == expected_errors


def test_validation_failed_from_field_errors_with_a_detail() -> None:
    error = ValidationFailed.from_field_errors([], detail="nothing to check")
    assert error.detail == "nothing to check"
    assert error.extensions == {"errors": []}


def test_field_error_is_frozen() -> None:
    field_error = FieldError(loc=("q",), message="m", type="t")
    with pytest.raises(ValueError, match="frozen"):
        field_error.message = "changed"  # type: ignore[misc]


# ------------------------------------------------------------------------------- serialisation


def test_to_dict_record() -> None:
    error = EntityNotFound("order 1", extensions={"id": 1})
    assert error.to_dict() == {
        "family": "domain",
        "error": "EntityNotFound",
        "code": "common.not_found",
        "status": 404,
        "detail": "order 1",
        "extensions": {"id": 1},
    }


_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_extensions = st.dictionaries(
    st.text(min_size=1, max_size=8),
    _json_scalars | st.lists(_json_scalars, max_size=3),
    max_size=3,
)


@pytest.mark.parametrize("error_class", ALL_CLASSES, ids=lambda cls: cls.__name__)
@given(detail=st.text(max_size=40), extensions=_extensions, code=st.sampled_from(list(CommonErrorCode)))
def test_round_trip_of_every_error_class(
    error_class: ErrorClass, detail: str, extensions: dict[str, JsonValue], code: CommonErrorCode
) -> None:
    for error in (error_class(detail, extensions=extensions), error_class(detail, code=code)):
        for record in (error.to_dict(), json.loads(json.dumps(error.to_dict()))):
            rebuilt = error_from_dict(record)
            assert type(rebuilt) is error_class
            assert rebuilt == error
            assert (rebuilt.code, rebuilt.detail, rebuilt.extensions) == (
                error.code,
                error.detail,
                error.extensions,
            )
            assert error_class.from_dict(record) == error


def test_round_trip_of_a_service_defined_error(isolated_registries: None) -> None:
    @error_codes("test_errors_shop")
    class ShopCode(StrEnum):
        OUT_OF_STOCK = "test_errors_shop.out_of_stock"

    class OutOfStockForErrorsTest(DomainError[ShopCode]):
        status = 409
        title = "Out of stock"
        default_code = ShopCode.OUT_OF_STOCK

    error = OutOfStockForErrorsTest("no more widgets", extensions={"sku": "W-1"})
    rebuilt = error_from_dict(json.loads(json.dumps(error.to_dict())))
    assert type(rebuilt) is OutOfStockForErrorsTest
    assert rebuilt == error
    assert rebuilt.code is ShopCode.OUT_OF_STOCK
    assert DomainError.from_dict(error.to_dict()) == error


def test_error_from_dict_defaults_missing_or_null_extensions() -> None:
    assert error_from_dict({"error": "NotFoundError", "code": "common.not_found", "detail": "x"}) == NotFoundError("x")
    record: dict[str, JsonValue] = {
        "error": "NotFoundError",
        "code": "common.not_found",
        "detail": "x",
        "extensions": None,
    }
    assert error_from_dict(record) == NotFoundError("x")


@pytest.mark.parametrize("data", [None, "NotFoundError", 42, ["error", "NotFoundError"], True])
def test_error_from_dict_rejects_non_mappings(data: JsonValue) -> None:
    with pytest.raises(TypeError, match="a serialised error is a mapping"):
        error_from_dict(data)


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"error": "NoSuchError", "code": "common.not_found", "detail": "x"},
        {"error": "AppError", "code": "common.internal", "detail": "x"},
        {"error": "NotFoundError", "code": "common.no_such_code", "detail": "x"},
        {"error": "NotFoundError", "detail": "x"},
        {"error": "NotFoundError", "code": "common.not_found"},
        {"error": "NotFoundError", "code": "common.not_found", "detail": 12},
    ],
)
def test_error_from_dict_rejects_unknown_records(record: dict[str, JsonValue]) -> None:
    with pytest.raises(ValueError, match="unknown error record"):
        error_from_dict(record)


@pytest.mark.parametrize("extensions", [["a"], "a", 3])
def test_error_from_dict_rejects_non_mapping_extensions(extensions: JsonValue) -> None:
    record: dict[str, JsonValue] = {
        "error": "NotFoundError",
        "code": "common.not_found",
        "detail": "x",
        "extensions": extensions,
    }
    with pytest.raises(TypeError, match="extensions must be a mapping"):
        error_from_dict(record)


def test_from_dict_on_a_wrong_class_raises_type_error() -> None:
    record = ConflictError("taken").to_dict()
    with pytest.raises(TypeError, match="ConflictError is not a NotFoundError"):
        NotFoundError.from_dict(record)
    with pytest.raises(TypeError, match="ConflictError is not a DomainError"):
        DomainError.from_dict(record)


def test_from_dict_on_a_base_class_returns_the_concrete_subclass() -> None:
    record = ConflictError("taken").to_dict()
    assert type(ApplicationError.from_dict(record)) is ConflictError
    assert type(AppError.from_dict(record)) is ConflictError


# ------------------------------------------------------------------------------ equality, hash


def test_equality_compares_class_code_detail_and_extensions() -> None:
    error = NotFoundError("x", extensions={"id": 1})
    assert error == NotFoundError("x", extensions={"id": 1})
    assert error != NotFoundError("y", extensions={"id": 1})
    assert error != NotFoundError("x", extensions={"id": 2})
    assert error != NotFoundError("x")
    assert error != NotFoundError("x", code=CommonErrorCode.CONFLICT, extensions={"id": 1})
    # Same code, detail and extensions but another class (even a sibling or the parent) is a different error.
    assert error != EntityNotFound("x", extensions={"id": 1})
    assert ApplicationError("x", code=CommonErrorCode.NOT_FOUND, extensions={"id": 1}) != error
    assert error != "x"
    assert error != {"detail": "x"}


def test_hash_agrees_with_equality() -> None:
    assert hash(NotFoundError("x")) == hash(NotFoundError("x"))
    assert hash(NotFoundError("x", extensions={"a": 1})) == hash(NotFoundError("x", extensions={"a": 1}))
    errors = {NotFoundError("x"), NotFoundError("x"), EntityNotFound("x"), NotFoundError("y")}
    assert errors == {NotFoundError("x"), EntityNotFound("x"), NotFoundError("y")}
    assert len({NotFoundError("x"), NotFoundError("x", extensions={"a": 1})}) == 2


def test_every_core_class_is_registered_under_its_name() -> None:
    for error_class in ALL_CLASSES:
        assert AppError._classes[error_class.__name__] is error_class


def test_validation_failed_from_pydantic_lists_fields_without_the_input() -> None:
    from pydantic import BaseModel, Field, ValidationError

    class Model(BaseModel):
        quantity: int = Field(ge=0)

    with pytest.raises(ValidationError) as refused:
        Model(quantity=-7)
    error = ValidationFailed.from_pydantic(refused.value)
    assert error.status == 422
    assert error.extensions["errors"] == [
        {"loc": ["quantity"], "message": "Input should be greater than or equal to 0", "type": "greater_than_equal"}
    ]
    assert "-7" not in str(error.to_problem_detail().model_dump())
