"""CORS options per environment: unsafe combinations fail at start-up, and the options drive CORSMiddleware."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from apibase.core.settings import Environment
from apibase.interface.http.cors import CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS, cors_middleware_options
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit

FRONT_END = "https://app.example.com"


def build_app(origins: list[str], *, credentials: bool, environment: Environment = Environment.PRODUCTION) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(CORSMiddleware, **cors_middleware_options(environment, origins, credentials))

    @app.get("/api/v1/items")
    async def items() -> list[int]:
        return [1]

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://api.example.com")


def test_production_options_are_explicit() -> None:
    options = cors_middleware_options("production", [f" {FRONT_END} ", FRONT_END, ""], allow_credentials=True)
    assert options == {
        "allow_origins": [FRONT_END],
        "allow_methods": list(CORS_ALLOWED_METHODS),
        "allow_headers": options["allow_headers"],
        "allow_credentials": True,
        "expose_headers": list(CORS_EXPOSED_HEADERS),
        "max_age": 3600,
    }
    assert "*" not in options["allow_methods"]
    assert "*" not in options["allow_headers"]
    assert "Authorization" in options["allow_headers"]


@pytest.mark.parametrize("environment", list(Environment))
def test_credentials_with_a_wildcard_are_refused_everywhere(environment: Environment) -> None:
    with pytest.raises(ValueError, match=r"allow_credentials=True cannot be combined with the '\*' origin"):
        cors_middleware_options(environment, ["*"], allow_credentials=True)


def test_production_refuses_the_wildcard_even_without_credentials() -> None:
    with pytest.raises(ValueError, match="not allowed in production"):
        cors_middleware_options(Environment.PRODUCTION, ["*"], allow_credentials=False)


def test_production_refuses_plain_http_origins() -> None:
    with pytest.raises(ValueError, match="only https://"):
        cors_middleware_options(Environment.PRODUCTION, ["http://app.example.com"], allow_credentials=False)


@pytest.mark.parametrize("environment", [Environment.DEVELOPMENT, Environment.TEST, Environment.STAGING])
def test_other_environments_tolerate_a_wildcard_without_credentials_and_http(environment: Environment) -> None:
    assert cors_middleware_options(environment, ["*"], allow_credentials=False)["allow_origins"] == ["*"]
    local = cors_middleware_options(environment, ["http://localhost:3000"], allow_credentials=True)
    assert local["allow_origins"] == ["http://localhost:3000"]


def test_preflight_caching_per_environment() -> None:
    ages = {env: cors_middleware_options(env, [], allow_credentials=False)["max_age"] for env in Environment}
    assert ages == {
        Environment.DEVELOPMENT: 60,
        Environment.TEST: 60,
        Environment.STAGING: 600,
        Environment.PRODUCTION: 3600,
    }


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "https://app.example.com/path", "app.example.com", "ftp://x", "https://*.x"]
)
def test_malformed_origins_are_refused(origin: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        cors_middleware_options(Environment.DEVELOPMENT, [origin], allow_credentials=False)


def test_a_wildcard_next_to_other_origins_is_refused() -> None:
    with pytest.raises(ValueError, match="already allows every origin"):
        cors_middleware_options(Environment.DEVELOPMENT, ["*", FRONT_END], allow_credentials=False)


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="moon"):
        cors_middleware_options("moon", [FRONT_END], allow_credentials=False)


async def test_the_middleware_allows_listed_origins_only() -> None:
    async with client(build_app([FRONT_END], credentials=True)) as http:
        allowed = await http.get("/api/v1/items", headers={"Origin": FRONT_END})
        other = await http.get("/api/v1/items", headers={"Origin": "https://evil.example"})
        preflight = await http.options(
            "/api/v1/items",
            headers={
                "Origin": FRONT_END,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, if-match",
            },
        )
        refused_preflight = await http.options(
            "/api/v1/items", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
    assert allowed.headers["access-control-allow-origin"] == FRONT_END
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-max-age"] == "3600"
    assert refused_preflight.status_code == 400


async def test_no_origins_means_no_cross_origin_access() -> None:
    async with client(build_app([], credentials=False)) as http:
        response = await http.get("/api/v1/items", headers={"Origin": FRONT_END})
    assert "access-control-allow-origin" not in response.headers
