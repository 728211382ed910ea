"""Fixtures for the attack suite: the real service in process, signed-in tenants, and the checks every attack shares.

Helpers are fixtures because test modules cannot import each other or this conftest under
``--import-mode=importlib``. Each test gets its own SQLite file and its own rate-limit counters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from apibase.core.settings import RateLimitSection
from apibase.infrastructure.security.tokens.keys import JwtKeyRing
from apibase.testing.problems import assert_no_leak, assert_problem
from apibase.testing.service import log_in, service_settings, sign_up
from shop.main import create_app

PRODUCT = {"sku": "SECRET-A-001", "name": "Tenant A secret gear", "price": "9.99", "currency": "EUR", "stock": 5}
USER_PASSWORD = "another correct horse battery"
#: Generous enough that only the brute-force tests, which set their own limits, ever see a 429.
ROOMY_LIMITS = RateLimitSection(login_limit="1000/minute", client_limit="10000/minute", user_limit="10000/minute")

#: What must never reach a client: stack traces, exception and driver names, file paths, token-looking text.


@dataclass(frozen=True)
class Running:
    """One started service and a client for it."""

    app: FastAPI
    http: httpx.AsyncClient
    database: Path

    @property
    def key_ring(self) -> JwtKeyRing:
        ring: JwtKeyRing = self.app.state.kernel.security.key_ring
        return ring


type Launcher = Callable[..., Awaitable[Running]]


@pytest.fixture
async def launch(tmp_path: Path) -> AsyncIterator[Launcher]:
    """Start a service with settings overrides (its lifespan runs); every started one stops at teardown."""
    async with AsyncExitStack() as stack:
        count = 0

        async def start(**overrides: object) -> Running:
            nonlocal count
            count += 1
            values: dict[str, object] = {"rate_limit": ROOMY_LIMITS, "uploads_dir": tmp_path / "uploads", **overrides}
            database = tmp_path / f"service-{count}.db"
            app = create_app(service_settings(database, **values))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://test"))
            return Running(app, http, database)

        yield start


@pytest.fixture
async def service(launch: Launcher) -> Running:
    return await launch()


@pytest.fixture
def http(service: Running) -> httpx.AsyncClient:
    return service.http


@pytest.fixture
async def admin(http: httpx.AsyncClient) -> dict[str, str]:
    """The ``Authorization`` header of tenant ``acme``'s first admin."""
    return await sign_up(http, tenant="acme")


@pytest.fixture
def add_user(http: httpx.AsyncClient) -> Callable[..., Awaitable[tuple[str, dict[str, str]]]]:
    """As ``acting`` admin, add a user with ``roles`` to the admin's tenant and log in: (user id, auth header)."""

    async def add(acting: dict[str, str], email: str, roles: list[str], tenant: str = "acme") -> tuple[str, dict]:
        body = {"email": email, "password": USER_PASSWORD, "roles": roles}
        created = await http.post("/api/v2/auth/users", json=body, headers=acting)
        assert created.status_code == 201, created.text
        headers = await log_in(http, tenant=tenant, email=email, password=USER_PASSWORD)
        return created.json()["data"]["id"], headers

    return add


@pytest.fixture
async def viewer(admin: dict[str, str], add_user) -> tuple[str, dict[str, str]]:
    """A viewer of tenant ``acme``: (user id, auth header)."""
    user: tuple[str, dict[str, str]] = await add_user(admin, "viewer@example.com", ["viewer"])
    return user


@pytest.fixture
def create_product(http: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, object]]]:
    async def create(acting: dict[str, str], **changes: object) -> dict[str, object]:
        response = await http.post("/api/v1/products", json={**PRODUCT, **changes}, headers=acting)
        assert response.status_code == 201, response.text
        created: dict[str, object] = response.json()["data"]
        return created

    return create


@pytest.fixture
def expect_problem() -> Callable[..., dict]:
    """``expect_problem(response, status, code, secrets=())`` -> the problem body, after every check."""
    return assert_problem


@pytest.fixture
def no_leak() -> Callable[..., None]:
    """``no_leak(response, secrets=())`` for answers that are not problems."""
    return assert_no_leak


def bearer(headers: dict[str, str]) -> str:
    """The raw token of an ``Authorization: Bearer`` header."""
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def token_of() -> Callable[[dict[str, str]], str]:
    return bearer
