"""Password guessing: the per-client login limit, the per-account lockout, and no account-existence oracle.

Each test starts its own service with small limits, so the counters are its own.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from apibase.core.settings import RateLimitSection
from apibase.testing.service import ADMIN_EMAIL, ADMIN_PASSWORD, FAST_AUTH

pytestmark = [pytest.mark.unit]

LOGIN = "/api/v2/auth/login"
ACME = {"X-Tenant-ID": "acme"}
WRONG = "Tr0ub4dor&3 is not it"
#: Lockout out of the way, so only the rate limit is under test.
NO_LOCKOUT = FAST_AUTH.model_copy(update={"max_failed_logins": 100})


async def _register(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v2/auth/register", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, headers=ACME
    )
    assert response.status_code == 201


async def _login(http: httpx.AsyncClient, email: str, password: str, **headers: str) -> httpx.Response:
    return await http.post(LOGIN, json={"email": email, "password": password}, headers={**ACME, **headers})


async def test_sixth_login_attempt_in_a_minute_is_rate_limited(launch, expect_problem) -> None:
    service = await launch(rate_limit=RateLimitSection(login_limit="5/minute"), auth=NO_LOCKOUT)
    http = service.http
    await _register(http)
    for attempt in range(5):
        guess = await _login(http, ADMIN_EMAIL, f"{WRONG} #{attempt}")
        expect_problem(guess, 401, "auth.invalid_credentials")
        assert guess.headers["ratelimit-remaining"] == str(4 - attempt)
    limited = await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)  # even the right password: the client is over
    expect_problem(limited, 429, "common.rate_limited", secrets=[ADMIN_PASSWORD, ADMIN_EMAIL])
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["ratelimit-limit"] == "5"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert 0 < int(limited.headers["ratelimit-reset"]) <= 60
    assert "access_token" not in limited.text


async def test_login_limit_is_not_doubled_by_switching_api_version(launch, expect_problem) -> None:
    """v1 and v2 serve the same login: five guesses on v2 leave none for v1."""
    service = await launch(rate_limit=RateLimitSection(login_limit="5/minute"), auth=NO_LOCKOUT)
    http = service.http
    await _register(http)
    for _ in range(5):
        expect_problem(await _login(http, ADMIN_EMAIL, WRONG), 401, "auth.invalid_credentials")
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    switched = await http.post("/api/v1/auth/login", json=body, headers=ACME)
    expect_problem(switched, 429, "common.rate_limited", secrets=[ADMIN_PASSWORD])


async def test_rate_limit_is_not_bypassed_by_forged_forwarding_headers(launch, expect_problem) -> None:
    service = await launch(rate_limit=RateLimitSection(login_limit="5/minute"), auth=NO_LOCKOUT)
    http = service.http
    await _register(http)
    for attempt in range(5):
        await _login(http, ADMIN_EMAIL, WRONG, **{"X-Forwarded-For": f"203.0.113.{attempt}"})
    for spoof in (
        {"X-Forwarded-For": "198.51.100.7"},
        {"X-Real-IP": "198.51.100.8"},
        {"Forwarded": "for=198.51.100.9"},
        {"X-Client-IP": "198.51.100.10"},
    ):
        expect_problem(await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD, **spoof), 429, "common.rate_limited")


async def test_guessing_across_many_accounts_is_limited_per_client_too(launch, expect_problem) -> None:
    """Password spraying: one guess per account, many accounts, one client."""
    service = await launch(rate_limit=RateLimitSection(login_limit="5/minute"), auth=NO_LOCKOUT)
    for index in range(5):
        expect_problem(await _login(service.http, f"user{index}@example.com", WRONG), 401, "auth.invalid_credentials")
    expect_problem(await _login(service.http, "user5@example.com", WRONG), 429, "common.rate_limited")


async def test_refresh_and_register_are_limited_like_login(launch, expect_problem) -> None:
    service = await launch(rate_limit=RateLimitSection(login_limit="2/minute"))
    http = service.http
    for _ in range(2):
        expect_problem(
            await http.post("/api/v2/auth/refresh", json={"refresh_token": "a.b.c"}), 401, "auth.token_malformed"
        )
    expect_problem(await http.post("/api/v2/auth/refresh", json={"refresh_token": "a.b.c"}), 429, "common.rate_limited")
    for tenant in ("one", "two"):
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        assert (await http.post("/api/v1/auth/register", json=body, headers={"X-Tenant-ID": tenant})).status_code == 201
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    expect_problem(
        await http.post("/api/v1/auth/register", json=body, headers={"X-Tenant-ID": "three"}),
        429,
        "common.rate_limited",
    )
    # Nothing of the refused sign-up was stored: the tenant is still free.
    assert (await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD, **{"X-Tenant-ID": "three"})).status_code == 401


async def test_account_locks_after_max_failed_logins_until_the_lockout_ends(launch, expect_problem) -> None:
    auth = FAST_AUTH.model_copy(update={"max_failed_logins": 3, "lockout_seconds": 1})
    service = await launch(auth=auth)
    http = service.http
    await _register(http)
    for _ in range(3):
        expect_problem(await _login(http, ADMIN_EMAIL, WRONG), 401, "auth.invalid_credentials")
    right = await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect_problem(right, 429, "identity.account_locked", secrets=[ADMIN_PASSWORD])
    assert right.headers["retry-after"] == "1"
    assert "access_token" not in right.text
    # While locked, a right and a wrong password get the same answer: the lock is no password oracle.
    wrong = await _login(http, ADMIN_EMAIL, WRONG)
    expect_problem(wrong, 429, "identity.account_locked")
    assert _comparable(wrong) == _comparable(right)
    await asyncio.sleep(1.1)
    unlocked = await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert unlocked.status_code == 200, unlocked.text
    # A success forgets the failures: the next wrong guess is the first of a new series.
    expect_problem(await _login(http, ADMIN_EMAIL, WRONG), 401, "auth.invalid_credentials")
    assert (await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


async def test_lockout_does_not_end_sessions_of_other_accounts(launch, expect_problem) -> None:
    auth = FAST_AUTH.model_copy(update={"max_failed_logins": 2, "lockout_seconds": 60})
    service = await launch(auth=auth)
    http = service.http
    await _register(http)
    admin = await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    headers = {"Authorization": f"Bearer {admin.json()['data']['access_token']}"}
    added = await http.post(
        "/api/v2/auth/users",
        json={"email": "victim@example.com", "password": "victim's long password", "roles": ["viewer"]},
        headers=headers,
    )
    assert added.status_code == 201
    for _ in range(2):
        await _login(http, "victim@example.com", WRONG)
    expect_problem(await _login(http, "victim@example.com", "victim's long password"), 429, "identity.account_locked")
    assert (await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


def _comparable(response: httpx.Response) -> tuple:
    """Everything a client sees except the per-request id and the rate-limit countdown."""
    body = {name: value for name, value in response.json().items() if name != "request_id"}
    headers = {
        name: value
        for name, value in response.headers.items()
        if name not in ("x-request-id", "x-correlation-id", "date") and not name.startswith("ratelimit-")
    }
    return response.status_code, body, headers


async def test_unknown_email_and_wrong_password_get_the_identical_answer(http, admin, expect_problem) -> None:
    wrong_password = await _login(http, ADMIN_EMAIL, WRONG)
    expect_problem(wrong_password, 401, "auth.invalid_credentials", secrets=[WRONG])
    for email, password in (
        ("nobody@example.com", WRONG),
        ("nobody@example.com", ADMIN_PASSWORD),
        ("not-an-email", ADMIN_PASSWORD),
        ("' OR '1'='1", "' OR '1'='1"),
    ):
        unknown = await _login(http, email, password)
        expect_problem(unknown, 401, "auth.invalid_credentials", secrets=[password])
        assert _comparable(unknown) == _comparable(wrong_password), email
    # Text no database can store is refused before any account is looked up: the same 422 for every email.
    for email in ("admin@example.com\u0000", "nobody@example.com\u0000"):
        refused = expect_problem(await _login(http, email, ADMIN_PASSWORD), 422, "common.validation_failed")
        assert [error["loc"] for error in refused["errors"]] == [["body", "email"]]


async def test_a_tenant_that_does_not_exist_gets_the_same_answer(http, admin) -> None:
    wrong_password = await _login(http, ADMIN_EMAIL, WRONG)
    for tenant in ("ghost", "acme-2"):
        other = await _login(http, ADMIN_EMAIL, ADMIN_PASSWORD, **{"X-Tenant-ID": tenant})
        assert _comparable(other) == _comparable(wrong_password)
