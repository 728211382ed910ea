"""Every response gets the OWASP headers; docs pages get a CSP that lets their same-origin assets run; app headers
win."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI, Response
from starlette.types import Message, Receive, Scope, Send

from apibase.interface.http.middleware.security_headers import (
    API_CONTENT_SECURITY_POLICY,
    DOCS_CONTENT_SECURITY_POLICY,
    SecurityHeadersMiddleware,
    SecurityHeadersSettings,
)
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.versioning import ApiVersion, build_versioned_api

pytestmark = pytest.mark.unit


def build_app(settings: SecurityHeadersSettings | None = None) -> FastAPI:
    app = FastAPI(docs_url="/api/v1/docs", redoc_url="/api/v1/redoc", openapi_url="/api/v1/openapi.json")
    install_problem_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)

    @app.get("/api/v1/items")
    async def items() -> list[int]:
        return [1]

    @app.get("/api/v1/framed")
    async def framed(response: Response) -> dict[str, bool]:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        return {"framed": True}

    return app


async def get(app: FastAPI, path: str, *, base_url: str = "http://t") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
        return await client.get(path)


async def test_api_responses_get_the_strict_headers() -> None:
    response = await get(build_app(), "/api/v1/items")
    assert response.status_code == 200
    headers = response.headers
    assert headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in headers["permissions-policy"]
    assert "geolocation=()" in headers["permissions-policy"]
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # plain HTTP: HSTS would be ignored, or pin a dev host


async def test_problem_responses_get_them_too() -> None:
    response = await get(build_app(), "/api/v1/missing")
    assert response.status_code == 404
    assert response.headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hsts_over_https() -> None:
    response = await get(build_app(), "/api/v1/items", base_url="https://t")
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


async def test_hsts_forced_behind_a_tls_terminating_proxy_with_preload_and_no_subdomains() -> None:
    settings = SecurityHeadersSettings(
        hsts_max_age=300, hsts_include_subdomains=False, hsts_preload=True, hsts_force=True
    )
    response = await get(build_app(settings), "/api/v1/items")
    assert response.headers["strict-transport-security"] == "max-age=300; preload"


async def test_headers_set_to_none_are_left_out() -> None:
    settings = SecurityHeadersSettings(hsts_max_age=None, permissions_policy=None, hsts_force=True)
    response = await get(build_app(settings), "/api/v1/items")
    assert "strict-transport-security" not in response.headers
    assert "permissions-policy" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"


async def test_headers_the_app_set_are_kept() -> None:
    response = await get(build_app(), "/api/v1/framed")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == ["frame-ancestors 'self'"]
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
async def test_docs_pages_get_a_policy_that_allows_their_own_origin_only(path: str) -> None:
    app = build_versioned_api([ApiVersion("v1")])
    app.add_middleware(SecurityHeadersMiddleware)
    response = await get(app, path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert csp == DOCS_CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp
    assert not re.search(r"https?:|\*", csp), "no source outside this origin"
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets
    assert all(asset.startswith("/api/v1/docs-assets/") for asset in assets)


async def test_the_openapi_document_keeps_the_strict_policy() -> None:
    response = await get(build_app(), "/api/v1/openapi.json")
    assert response.headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY


async def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing to send")

    await SecurityHeadersMiddleware(app)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


async def test_a_response_start_without_headers_still_gets_them() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeadersMiddleware(app)({"type": "http", "path": "/x", "scheme": "http", "headers": []}, receive, send)
    names = {name for name, _ in sent[0]["headers"]}
    assert b"x-content-type-options" in names


def test_settings_refuse_a_negative_max_age_and_a_bad_docs_pattern() -> None:
    with pytest.raises(ValueError, match="hsts_max_age"):
        SecurityHeadersSettings(hsts_max_age=-1)
    with pytest.raises(re.error):
        SecurityHeadersSettings(docs_path_pattern="(")


def test_settings_are_frozen() -> None:
    settings = SecurityHeadersSettings()
    with pytest.raises(AttributeError):
        settings.frame_options = "SAMEORIGIN"  # type: ignore[misc]
