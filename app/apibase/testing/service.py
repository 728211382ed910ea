"""Helpers for tests that drive the reference service over HTTP: quick settings and a signed-in tenant admin."""

from __future__ import annotations

from pathlib import Path

import httpx

from apibase.core.settings import AuthSettings, Settings

__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "FAST_AUTH", "log_in", "service_settings", "sign_up"]

#: Argon2 at its cheapest: tests hash many passwords, and the parameters are not what they check.
FAST_AUTH = AuthSettings(password_time_cost=1, password_memory_kib=1024)
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"  # noqa: S105 - a test fixture's password


def service_settings(database: Path | str, **overrides: object) -> Settings:
    """Settings for an in-process service on a SQLite file (or any URL), with cheap password hashing."""
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    values: dict[str, object] = {"database_url": url, "auth": FAST_AUTH}
    if isinstance(database, Path):
        values["uploads_dir"] = database.parent / "uploads"
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def sign_up(
    client: httpx.AsyncClient,
    *,
    tenant: str = "default",
    email: str = ADMIN_EMAIL,
    password: str = ADMIN_PASSWORD,
    version: str = "v2",
) -> dict[str, str]:
    """Create ``tenant`` with its first admin and log in; the headers that act as that admin."""
    scope = {"X-Tenant-ID": tenant}
    credentials = {"email": email, "password": password}
    registered = await client.post(f"/api/{version}/auth/register", json=credentials, headers=scope)
    assert registered.status_code == 201, registered.text
    return await log_in(client, tenant=tenant, email=email, password=password, version=version)


async def log_in(
    client: httpx.AsyncClient, *, tenant: str, email: str, password: str, version: str = "v2"
) -> dict[str, str]:
    """Log in and return the ``Authorization`` header of the new access token."""
    credentials = {"email": email, "password": password}
    response = await client.post(f"/api/{version}/auth/login", json=credentials, headers={"X-Tenant-ID": tenant})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}
