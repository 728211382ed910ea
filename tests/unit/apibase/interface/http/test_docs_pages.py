"""Swagger UI and ReDoc come with their assets from the service itself: every file they include is served here."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from apibase.interface.http.docs_pages import install_docs_pages
from apibase.interface.http.versioning import ApiVersion, build_versioned_api

pytestmark = pytest.mark.unit

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["docs", "redoc"])
async def test_every_asset_of_a_docs_page_is_served_by_the_service(page: str) -> None:
    app = build_versioned_api([ApiVersion("v1"), ApiVersion("v2")])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        html = (await http.get(f"/api/v2/{page}")).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert len(assets) >= 2
        for asset in assets:
            assert asset.startswith("/api/v2/docs-assets/"), asset
            response = await http.get(asset)
            assert response.status_code == 200, asset
            suffix = asset[asset.rindex(".") :]
            assert response.headers["content-type"].startswith(CONTENT_TYPES[suffix])
            assert len(response.content) > 1000
    assert "googleapis" not in html
    assert "'/api/v2/openapi.json'" in html or '"/api/v2/openapi.json"' in html


async def test_swagger_ui_keeps_the_authorization_across_reloads() -> None:
    app = build_versioned_api([ApiVersion("v1")])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        html = (await http.get("/api/v1/docs")).text
    assert '"persistAuthorization": true' in html


def test_the_pages_need_an_openapi_document() -> None:
    with pytest.raises(ValueError, match="openapi_url"):
        install_docs_pages(FastAPI(openapi_url=None, docs_url=None, redoc_url=None))
