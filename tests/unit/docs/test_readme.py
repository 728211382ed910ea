"""The README sends a newcomer to the docs of the current API version, never to a deprecated one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from apibase.testing.service import service_settings
from shop.main import create_app

pytestmark = pytest.mark.unit

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


def test_the_readme_links_the_docs_of_the_current_version(tmp_path: Path) -> None:
    app = create_app(service_settings(tmp_path / "service.db"))
    versions = {
        route.name.removeprefix("api-"): route.app
        for route in app.routes
        if isinstance(route, Mount) and route.name.startswith("api-") and isinstance(route.app, FastAPI)
    }
    current = {
        name
        for name, version in versions.items()
        if not any(
            operation.get("deprecated") for item in version.openapi()["paths"].values() for operation in item.values()
        )
    }
    assert current
    linked = set(re.findall(r"/api/(v[0-9]+)/(?:docs|redoc)\b", README))
    assert linked, "the README links no docs page"
    assert linked <= current, f"the README links the docs of {linked - current}; current: {current}"
