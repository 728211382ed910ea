"""Swagger UI and ReDoc served with their assets from this service, so the pages work offline and under a strict CSP.

FastAPI's own pages load their scripts, styles and fonts from public CDNs: on a network without internet access
(or behind a CSP that allows only this origin) they render blank. The assets here are the dist files that the
``fastapi-offline`` package ships (pinned in ``pyproject.toml``; nothing is copied into this repository), served
by Starlette's ``StaticFiles`` from the installed package under ``{version}/docs-assets/``.

Public API: ``install_docs_pages(app, *, docs_url="/docs", redoc_url="/redoc")``, ``DOCS_ASSETS_PATH``.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_ASSETS_PATH", "install_docs_pages"]

DOCS_ASSETS_PATH: Final = "/docs-assets"
_ASSETS_PACKAGE: Final = ("fastapi_offline", "static")
#: Swagger UI keeps the token given to "Authorize" across reloads of the page (in the browser's local storage).
_SWAGGER_PARAMETERS: Final = {"persistAuthorization": True}


def install_docs_pages(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Add the two pages and their assets to ``app`` (built with ``docs_url=None, redoc_url=None``)."""
    if app.openapi_url is None:
        raise ValueError("the docs pages need the application's OpenAPI document (openapi_url)")
    openapi_url = app.openapi_url
    app.mount(DOCS_ASSETS_PATH, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        assets = f"{root(request)}{DOCS_ASSETS_PATH}"
        return get_swagger_ui_html(
            openapi_url=f"{root(request)}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=_SWAGGER_PARAMETERS,
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        assets = f"{root(request)}{DOCS_ASSETS_PATH}"
        return get_redoc_html(
            openapi_url=f"{root(request)}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
