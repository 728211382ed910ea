"""Integration fixtures of the reference service: the service as ``uvicorn`` runs it, with a signed-in admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

type Served = Callable[[str, Mapping[str, str], Path], AbstractContextManager[str]]


class ReferenceServer(NamedTuple):
    """A running reference service: its base URL and an access token of its default tenant's admin."""

    base: str
    token: str


@pytest.fixture(scope="module")
def reference_server(tmp_path_factory: pytest.TempPathFactory, uvicorn_factory: Served) -> Iterator[ReferenceServer]:
    """The reference service as ``uvicorn`` runs it, on SQLite in a temp dir and a free loopback port, with the
    default tenant's admin signed up and logged in through the API. Started per module, stopped by its PID."""
    workdir = tmp_path_factory.mktemp("service")
    env = {
        "APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'service.db'}",
        "APIBASE_UPLOADS_DIR": str(workdir / "uploads"),
        "APIBASE_AUTH__PASSWORD_TIME_COST": "1",
        "APIBASE_AUTH__PASSWORD_MEMORY_KIB": "1024",
        # A fuzzer is one client sending thousands of requests: budgets sized for it, not for production.
        "APIBASE_RATE_LIMIT__CLIENT_LIMIT": "100000/minute",
        "APIBASE_RATE_LIMIT__LOGIN_LIMIT": "100000/minute",
        "APIBASE_RATE_LIMIT__USER_LIMIT": "100000/minute",
    }
    with uvicorn_factory("shop.main:create_app", env, workdir) as base:
        yield ReferenceServer(base, _admin_token(base))


def _admin_token(base: str) -> str:
    """Sign up the default tenant's admin and log in, as a client would."""
    credentials = {"email": "admin@example.com", "password": "admin-password-123"}
    httpx.post(f"{base}/api/v2/auth/register", json=credentials, timeout=10).raise_for_status()
    login = httpx.post(f"{base}/api/v2/auth/login", json=credentials, timeout=10)
    login.raise_for_status()
    token: str = login.json()["data"]["access_token"]
    return token
