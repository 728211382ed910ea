"""Replaying through ``Idempotency-Key``: a kept response must never hand out credentials a second time.

The idempotency layer keeps a keyed POST's response for a day and replays it byte for byte. For most writes
that is the point; for the answers that carry secrets (a token pair, a new API key) it would keep those secrets
at rest in the idempotency store and let a replay skip the checks that guard them (refresh-token reuse).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from apibase.testing.service import ADMIN_EMAIL, ADMIN_PASSWORD, sign_up

pytestmark = [pytest.mark.unit]

CREDENTIALS = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


def _kept_responses(database: Path) -> bytes:
    """Every response body the idempotency store holds, concatenated."""
    with closing(sqlite3.connect(database)) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(idempotency_keys)")]
        rows = connection.execute("SELECT * FROM idempotency_keys").fetchall()
    assert columns, "the idempotency table is missing"
    return b"".join(value if isinstance(value, bytes) else str(value).encode() for row in rows for value in row)


async def test_replayed_refresh_with_the_same_key_still_counts_as_reuse(service, expect_problem) -> None:
    """A thief with a used refresh token and its request's key must not get the new pair without tripping reuse."""
    http = service.http
    await sign_up(http, tenant="acme")
    pair = (await http.post("/api/v2/auth/login", json=CREDENTIALS, headers={"X-Tenant-ID": "acme"})).json()["data"]
    key = {"Idempotency-Key": "refresh-0001"}
    body = {"refresh_token": pair["refresh_token"]}
    rotated = await http.post("/api/v2/auth/refresh", json=body, headers=key)
    assert rotated.status_code == 200
    replayed = await http.post("/api/v2/auth/refresh", json=body, headers=key)
    expect_problem(replayed, 401, "identity.refresh_reused", secrets=[rotated.json()["data"]["refresh_token"]])


async def test_issued_tokens_and_api_keys_are_not_kept_by_the_idempotency_store(service) -> None:
    http = service.http
    await sign_up(http, tenant="acme")
    login = await http.post(
        "/api/v2/auth/login", json=CREDENTIALS, headers={"X-Tenant-ID": "acme", "Idempotency-Key": "login-0001"}
    )
    assert login.status_code == 200
    pair = login.json()["data"]
    refreshed = await http.post(
        "/api/v2/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers={"Idempotency-Key": "refresh-1"}
    )
    assert refreshed.status_code == 200
    admin = {"Authorization": f"Bearer {pair['access_token']}"}
    issued = await http.post(
        "/api/v2/auth/api-keys", json={"name": "ci"}, headers={**admin, "Idempotency-Key": "api-key-0001"}
    )
    assert issued.status_code == 201
    kept = _kept_responses(service.database)
    for name, secret in (
        ("login access token", pair["access_token"]),
        ("login refresh token", pair["refresh_token"]),
        ("rotated refresh token", refreshed.json()["data"]["refresh_token"]),
        ("API key secret", issued.json()["data"]["secret"]),
    ):
        assert secret.encode() not in kept, f"the {name} is stored in plain text in the idempotency store"


async def test_a_keyed_product_write_is_still_replayed(service) -> None:
    """The control: ordinary writes keep their replay, so the fix above must not switch idempotency off."""
    http = service.http
    admin = await sign_up(http, tenant="acme")
    body = {"sku": "IDEM-9", "name": "n", "price": "1.00", "currency": "EUR", "stock": 1}
    key = {**admin, "Idempotency-Key": "product-0001"}
    first = await http.post("/api/v1/products", json=body, headers=key)
    again = await http.post("/api/v1/products", json=body, headers=key)
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert (await http.get("/api/v1/products", headers=admin)).json()["total"] == 1
