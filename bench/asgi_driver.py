"""Drive an ASGI application in process, without sockets or HTTP parsing: what the in-process benchmarks share.

``caller`` builds one GET, ``rate`` times a run of them (in CPU seconds of this process), ``seeded_service``
starts the reference service on a fresh SQLite file with a signed-in admin and one product, and ``best_of``
alternates variants round by round so that machine noise hits each of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.core.context import principal as principal_var
from apibase.core.context import tenant as tenant_var
from apibase.core.principal import Principal
from apibase.core.settings import AuthSettings
from apibase.testing.service import FAST_AUTH, sign_up

__all__ = [
    "Call",
    "Seeded",
    "best_of",
    "caller",
    "command_line",
    "rate",
    "report",
    "seeded_service",
    "shared_key_auth",
    "with_principal",
]

type Call = Callable[[], Awaitable[int]]
PRODUCT = {"sku": "BENCH-1", "name": "Bench", "price": {"amount": "1.00", "currency": "EUR"}, "stock": 1}


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


async def rate(call: Call, requests: int) -> float:
    """Requests per second of this process's CPU time: on a shared machine, time spent waiting for a core is not
    the application's cost, and wall-clock rates swing with whatever else runs there."""
    started = time.process_time()
    for _ in range(requests):
        if (status := await call()) != 200:
            raise RuntimeError(f"unexpected status {status}")
    return requests / (time.process_time() - started)


async def best_of(calls: Mapping[str, Call], *, requests: int, rounds: int) -> dict[str, float]:
    """Requests per second of each variant: a warm-up, then the best of ``rounds`` alternating runs."""
    for call in calls.values():
        await rate(call, min(200, requests))
    best = dict.fromkeys(calls, 0.0)
    for _ in range(rounds):
        for name, call in calls.items():
            best[name] = max(best[name], await rate(call, requests))
    return best


def shared_key_auth(folder: Path) -> AuthSettings:
    """Auth settings with one signing key on disk, so that several apps accept each other's tokens."""
    key = folder / "signing-key.pem"
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key.write_bytes(pem)
    return FAST_AUTH.model_copy(update={"signing_key_file": key})


@dataclass(frozen=True)
class Seeded:
    """A started service with one product and an admin's ``Authorization`` header."""

    app: FastAPI
    product_path: str
    authorization: str
    me: dict[str, object]


@asynccontextmanager
async def seeded_service(app: FastAPI, *others: FastAPI) -> AsyncIterator[Seeded]:
    """Start ``app`` (and ``others`` on the same database), sign in and create the product every run reads."""
    async with AsyncExitStack() as stack:
        for started in (app, *others):
            await stack.enter_async_context(started.router.lifespan_context(started))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = await sign_up(client)
            created = await client.post("/api/v2/products", json=PRODUCT, headers=headers)
            product_id = created.json()["data"]["id"]
            me = (await client.get("/api/v2/auth/me", headers=headers)).json()["data"]
        yield Seeded(app, f"/api/v2/products/{product_id}", headers["Authorization"], me)


def report(
    best: Mapping[str, float], *, baseline: str, measured: str, target: float, requests: int, rounds: int
) -> None:
    """Both variants side by side and their ratio against ``target``."""
    ratio = best[measured] / best[baseline]
    print(f"GET /api/v2/products/{{id}} in process, {requests} requests x {rounds} rounds, best round")
    print(f"{'variant':<8} {'req/CPU s':>10}")
    for name in (baseline, measured):
        print(f"{name:<8} {best[name]:>10.0f}")
    verdict = "meets" if ratio >= target else "MISSES"
    print(f"ratio {measured}/{baseline} = {ratio:.2f} ({verdict} the target >= {target})")


def command_line(description: str | None, main: Callable[[int, int], Awaitable[int]]) -> None:
    """``--requests`` and ``--rounds``, then run ``main`` and exit with its status."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    raise SystemExit(asyncio.run(main(arguments.requests, arguments.rounds)))


def with_principal(app: ASGIApp, who: Principal) -> ASGIApp:
    """``app`` as if the authentication middleware had signed ``who`` in (for benchmarks without that layer)."""

    async def shim(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["principal"] = who
        principal_token, tenant_token = principal_var.set(who), tenant_var.set(who.tenant)
        try:
            await app(scope, receive, send)
        finally:
            tenant_var.reset(tenant_token)
            principal_var.reset(principal_token)

    return shim
