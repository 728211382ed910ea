"""CircuitOpenError: a registered 503 that names the dependency, round-trips, and becomes Retry-After over HTTP."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apibase.core.error_codes import registered_error_codes
from apibase.core.errors import DependencyUnavailable, error_from_dict
from apibase.infrastructure.resilience import CircuitOpenError, ResilienceErrorCode
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit


def test_the_code_is_registered_and_the_error_is_a_503_dependency_failure() -> None:
    assert registered_error_codes()["resilience.circuit_open"] is ResilienceErrorCode.CIRCUIT_OPEN
    error = CircuitOpenError.for_dependency("redis", 12)
    assert isinstance(error, DependencyUnavailable)
    assert (error.status, error.code, error.dependency, error.retry_after_seconds) == (
        503,
        ResilienceErrorCode.CIRCUIT_OPEN,
        "redis",
        12,
    )
    assert "redis" in error.detail


def test_it_round_trips_through_its_record() -> None:
    error = CircuitOpenError.for_dependency("vault", 7)
    rebuilt = error_from_dict(error.to_dict())
    assert rebuilt == error
    assert isinstance(rebuilt, CircuitOpenError)
    assert (rebuilt.dependency, rebuilt.retry_after_seconds) == ("vault", 7)


def test_missing_hints_read_as_empty_and_negative_hints_are_refused() -> None:
    bare = CircuitOpenError("open")
    assert (bare.dependency, bare.retry_after_seconds) == ("", 0)
    with pytest.raises(ValueError, match="negative"):
        CircuitOpenError("open", retry_after_seconds=-1)


async def test_the_http_layer_answers_503_with_retry_after() -> None:
    async def endpoint(request: Request) -> Response:
        raise CircuitOpenError.for_dependency("database", 9)

    app = Starlette(routes=[Route("/things", endpoint)])
    install_problem_handlers(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/things")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "9"
    body = response.json()
    assert (body["code"], body["dependency"], body["retry_after"]) == ("resilience.circuit_open", "database", 9)
