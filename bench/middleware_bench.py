"""Cost of the full middleware stack: the reference service's GET /api/v2/products/{id}, with and without it.

Run with ``.venv/bin/python bench/middleware_bench.py [--requests N] [--rounds R]``.

Both variants come from ``create_app`` with the same settings, on one migrated SQLite file with one product:

- ``full``: every layer of ``app.interface.http.middleware.stack`` (request id, JSON access log as in production,
  security headers, compression, client and user rate limits, audit, authentication of a real EdDSA access
  token, timeout, body limit, idempotency, JSON-only), called with ``Authorization: Bearer <token>``;
- ``bare``: the same FastAPI application with none of those layers (Starlette's own error and exception
  middleware stay: the endpoint needs them), behind the one thing the endpoint itself needs — a principal and
  tenant in the scope, set by a two-line shim instead of token verification.

Requests go straight into the ASGI callable (no sockets, no HTTP parsing), so the difference is the stack and
nothing else. Rounds alternate bare/full and the best round of each counts. The target is full >= 0.8 x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from app.core.context import principal as principal_var  # noqa: E402
from app.core.context import tenant as tenant_var  # noqa: E402
from app.core.principal import AuthMethod, Principal  # noqa: E402
from app.core.settings import RateLimitSection  # noqa: E402
from app.domain.identity.permissions import permissions_for  # noqa: E402
from app.main import create_app  # noqa: E402
from app.testing.service import service_settings, sign_up  # noqa: E402

TARGET = 0.8
type Call = Callable[[], Awaitable[int]]


def caller(app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]) -> Call:
    """One GET through ``app``; returns the status."""
    scope_template: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> int:
        status = 0

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope_template), receive, send)
        return status

    return call


def with_principal(app: ASGIApp, who: Principal) -> ASGIApp:
    async def shim(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["principal"] = who
        principal_token, tenant_token = principal_var.set(who), tenant_var.set(who.tenant)
        try:
            await app(scope, receive, send)
        finally:
            tenant_var.reset(tenant_token)
            principal_var.reset(principal_token)

    return shim


async def rate(call: Call, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        if (status := await call()) != 200:
            raise RuntimeError(f"unexpected status {status}")
    return requests / (time.perf_counter() - started)


async def main(requests: int, rounds: int) -> int:
    logging.disable(logging.INFO)  # the access log would measure the terminal, not the stack
    with tempfile.TemporaryDirectory(prefix="apibase-mw-bench-") as folder:
        # Budgets far above what one loop can send: the limiters count every request but never refuse one.
        unlimited = RateLimitSection(client_limit="100000000/minute", user_limit="100000000/minute")
        settings = service_settings(Path(folder) / "bench.db", rate_limit=unlimited, log_json=True)
        app, plain = create_app(settings), create_app(settings)
        plain.user_middleware.clear()  # before its first call, when Starlette builds the middleware stack
        async with app.router.lifespan_context(app), plain.router.lifespan_context(plain):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                headers = await sign_up(client)
                body = {"sku": "BENCH-1", "name": "Bench", "price": "1.00", "stock": 1}
                created = await client.post("/api/v2/products", json=body, headers=headers)
                product_id = created.json()["data"]["id"]
                me = (await client.get("/api/v2/auth/me", headers=headers)).json()["data"]
            path = f"/api/v2/products/{product_id}"
            token = headers["Authorization"].encode()
            full = caller(app, path, [(b"authorization", token), (b"host", b"bench")])
            roles = frozenset(me["roles"])
            who = Principal(me["id"], me["tenant"], roles, permissions_for(roles), AuthMethod.ACCESS_TOKEN)
            bare = caller(with_principal(plain, who), path, [(b"host", b"bench")])
            await rate(full, 200)
            await rate(bare, 200)  # warm both
            best = {"bare": 0.0, "full": 0.0}
            for _ in range(rounds):
                best["bare"] = max(best["bare"], await rate(bare, requests))
                best["full"] = max(best["full"], await rate(full, requests))
    ratio = best["full"] / best["bare"]
    print(f"GET /api/v2/products/{{id}} in process, {requests} requests x {rounds} rounds, best round")
    print(f"{'variant':<8} {'req/s':>10}")
    print(f"{'bare':<8} {best['bare']:>10.0f}")
    print(f"{'full':<8} {best['full']:>10.0f}")
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"ratio full/bare = {ratio:.2f} ({verdict} the target >= {TARGET})")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    raise SystemExit(asyncio.run(main(arguments.requests, arguments.rounds)))
