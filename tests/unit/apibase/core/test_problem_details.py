"""ProblemDetail: the RFC 9457 shape with extension members."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    problem = ProblemDetail(title="Not found", status=404, code="common.not_found")
    assert problem.type == "about:blank"
    assert problem.detail is None
    assert problem.instance is None
    assert problem.model_extra == {}


def test_default_type_base_is_an_absolute_uri_prefix() -> None:
    assert DEFAULT_PROBLEM_TYPE_BASE.startswith("https://")
    assert DEFAULT_PROBLEM_TYPE_BASE.endswith("/")


@pytest.mark.parametrize("missing", ["title", "status", "code"])
def test_title_status_and_code_are_required(missing: str) -> None:
    data: dict[str, object] = {"title": "t", "status": 400, "code": "common.bad_request"}
    del data[missing]
    with pytest.raises(ValidationError) as info:
        ProblemDetail.model_validate(data)
    assert info.value.errors()[0]["loc"] == (missing,)


@pytest.mark.parametrize("status", [100, 404, 599])
def test_accepts_http_statuses(status: int) -> None:
    assert ProblemDetail(title="t", status=status, code="c").status == status


@pytest.mark.parametrize("status", [0, 99, 600, -1])
def test_rejects_statuses_outside_http_range(status: int) -> None:
    with pytest.raises(ValidationError):
        ProblemDetail(title="t", status=status, code="c")


def test_extension_members_ride_along() -> None:
    problem = ProblemDetail(
        title="Validation failed",
        status=422,
        code="common.validation_failed",
        errors=[{"loc": ["name"], "message": "required"}],
        trace_id="abc",
    )
    assert problem.model_extra == {"errors": [{"loc": ["name"], "message": "required"}], "trace_id": "abc"}
    body = json.loads(problem.model_dump_json(exclude_none=True))
    assert body == {
        "type": "about:blank",
        "title": "Validation failed",
        "status": 422,
        "code": "common.validation_failed",
        "errors": [{"loc": ["name"], "message": "required"}],
        "trace_id": "abc",
    }


def test_json_round_trip_keeps_extensions() -> None:
    problem = ProblemDetail(
        type="https://example.test/p/x",
        title="X",
        status=409,
        detail="d",
        instance="/things/1",
        code="x.y",
        hint="retry",
    )
    assert ProblemDetail.model_validate_json(problem.model_dump_json()) == problem


def test_is_frozen() -> None:
    problem = ProblemDetail(title="t", status=400, code="c")
    with pytest.raises(ValidationError):
        problem.status = 500  # type: ignore[misc]


def test_json_schema_documents_the_members() -> None:
    schema = ProblemDetail.model_json_schema()
    assert set(schema["required"]) == {"title", "status", "code"}
    assert all("description" in prop for prop in schema["properties"].values())
