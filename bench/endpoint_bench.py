"""CPU per request of the reference service's product endpoints against the bare app, in process.

Run with ``.venv/bin/python bench/endpoint_bench.py [--batch N] [--batches B] [--scenarios get,list,post]
[--database sqlite|postgres]``.

Three variants, all on one migrated SQLite file (or, with ``--database postgres``, a scratch PostgreSQL database on
127.0.0.1:5432, dropped afterwards) seeded with 1,000 products, driven straight through their ASGI
callables (no sockets, no HTTP parsing), one request after another:

- ``bare``: ``bench/bare_app.py`` (plain FastAPI + SQLAlchemy: one session, the statement, a response model);
- ``endpoint``: the service's ``/api/v1/products`` with its middleware stack taken off (a two-line shim puts the
  principal in the scope): what the router factory, service, unit of work, repository and mapper cost;
- ``full``: the service with every layer and a real EdDSA bearer token (the JSON access log as in production;
  tracing off, measured by ``bench/observability_bench.py``).

Each variant runs ``--batches`` batches of ``--batch`` requests in alternating order; the fastest batch counts
(the minimum is what survives a noisy machine). The table gives microseconds per request and the ratio of the
bare app's cost to each variant's (>= 1.0: cheaper than the bare app).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from starlette.types import ASGIApp, Message, Scope  # noqa: E402

from apibase.core.principal import AuthMethod, Principal  # noqa: E402
from apibase.core.settings import ObservabilitySettings, RateLimitSection  # noqa: E402
from apibase.testing.service import service_settings, sign_up  # noqa: E402
from bench.asgi_driver import with_principal  # noqa: E402
from bench.http_bench import fresh_database  # noqa: E402
from bench.load import post_body  # noqa: E402
from shop.main import create_app  # noqa: E402

type Call = Callable[[], Awaitable[int]]
SCENARIOS = ("get", "list", "post")
PRODUCTS = 1000


def request(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], body: Callable[[], bytes]
) -> Call:
    """One request through ``app``; returns the status."""
    raw_path, _, query = path.partition("?")

    async def call() -> int:
        status = 0
        payload = body()
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(payload)).encode())] if payload else headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

        async def receive() -> Message:
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


async def batch(call: Call, size: int) -> float:
    """CPU seconds of the process per request over one batch (the database's thread included; time spent waiting
    for the CPU, which other work on the machine takes, not); any status but 2xx stops the benchmark."""
    started = time.process_time()
    for _ in range(size):
        if not 200 <= (status := await call()) < 300:
            raise RuntimeError(f"unexpected status {status}")
    return (time.process_time() - started) / size


async def measure(calls: dict[str, Call], size: int, batches: int) -> dict[str, float]:
    for call in calls.values():
        await batch(call, max(20, size // 4))
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(batches):
        for name, call in calls.items():
            best[name] = min(best[name], await batch(call, size))
    return best


async def main(args: argparse.Namespace, postgres: str | None) -> int:
    """``postgres``: the URL of an empty PostgreSQL database to run on instead of a SQLite file."""
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="apibase-endpoint-bench-") as folder:
        database: Path | str = postgres or Path(folder) / "bench.db"
        unlimited = RateLimitSection(client_limit="1000000000/minute", user_limit="1000000000/minute")
        settings = service_settings(
            database,
            rate_limit=unlimited,
            log_json=True,
            observability=ObservabilitySettings(tracing_enabled=False),
            auto_migrate=True,
        )
        os.environ["APIBASE_DATABASE_URL"] = settings.database_url
        from bench.bare_app import create_app as create_bare  # noqa: PLC0415 - reads the URL above

        full, plain = create_app(settings), create_app(settings)
        plain.user_middleware.clear()
        bare = create_bare()
        async with AsyncExitStack() as stack:
            for started in (full, plain, bare):
                await stack.enter_async_context(started.router.lifespan_context(started))
            transport = httpx.ASGITransport(app=full)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                headers = await sign_up(client)
                ids = []
                for number in range(PRODUCTS):
                    created = await client.post(
                        "/api/v1/products",
                        content=post_body(f"SEED-{number}"),
                        headers={**headers, "content-type": "application/json"},
                    )
                    ids.append(created.json()["data"]["id"])
                me = (await client.get("/api/v2/auth/me", headers=headers)).json()["data"]
            roles = frozenset(str(role) for role in me["roles"])
            granted = full.state.kernel.security.roles.permissions_for(roles)
            who = Principal(str(me["id"]), str(me["tenant"]), roles, granted, AuthMethod.ACCESS_TOKEN)
            token = headers["Authorization"].encode()
            common = [(b"host", b"bench"), (b"content-type", b"application/json")]
            variants: dict[str, tuple[ASGIApp, str, list[tuple[bytes, bytes]]]] = {
                "bare": (bare, "/products", common),
                "endpoint": (with_principal(plain, who), "/api/v1/products", common),
                "full": (full, "/api/v1/products", [(b"authorization", token), *common]),
            }
            chosen = [name for name in args.variants.split(",") if name]
            results: dict[str, dict[str, float]] = {}
            for scenario in args.scenarios.split(","):
                calls: dict[str, Call] = {}
                for name in chosen:
                    target, path, hdrs = variants[name]
                    calls[name] = scenario_call(scenario, target, path, hdrs, ids, name)
                if args.profile:
                    await profile(calls, args.batch * args.batches, Path(args.profile) / f"{scenario}.prof")
                    continue
                results[scenario] = await measure(calls, args.batch, args.batches)
    print(
        f"CPU per request in process, {args.database}, {PRODUCTS} products, "
        f"best of {args.batches} batches of {args.batch}"
    )
    print(
        f"{'scenario':<10}"
        + "".join(f"{name + ' us':>14}" for name in chosen)
        + "".join(f"{'bare/' + name:>16}" for name in chosen if name != "bare")
    )
    for scenario, best in results.items():
        line = f"{scenario:<10}" + "".join(f"{best[name] * 1e6:>14.0f}" for name in chosen)
        if "bare" in best:
            line += "".join(f"{best['bare'] / best[name]:>16.2f}" for name in chosen if name != "bare")
        print(line)
    return 0


def scenario_call(
    scenario: str, app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]], ids: list[str], tag: str
) -> Call:
    if scenario == "get":
        rotation = count()
        calls = [request(app, "GET", f"{path}/{product}", headers, lambda: b"") for product in ids]

        async def get() -> int:
            return await calls[next(rotation) % len(calls)]()

        return get
    if scenario == "list":
        return request(app, "GET", f"{path}?limit=50", headers, lambda: b"")
    numbers = count()
    return request(app, "POST", path, headers, lambda: post_body(f"{tag.upper()[:4]}-{next(numbers)}"))


async def profile(calls: dict[str, Call], requests: int, target: Path) -> None:
    """cProfile statistics of each variant's requests, one file per variant beside ``target``."""
    import cProfile  # noqa: PLC0415 - only for --profile

    for name, call in calls.items():
        await batch(call, 50)
        with cProfile.Profile() as profiler:
            await batch(call, requests)
        profiler.dump_stats(target.with_name(f"{target.stem}-{name}.prof"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--variants", default="bare,endpoint,full")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: a scratch database on 127.0.0.1:5432, dropped afterwards (its backends' CPU is not counted)",
    )
    parser.add_argument("--profile", help="a folder: write cProfile files there instead of measuring")
    return parser.parse_args()


def run(args: argparse.Namespace) -> int:
    if args.database == "sqlite":
        return asyncio.run(main(args, None))
    with fresh_database("postgres") as url:
        return asyncio.run(main(args, url))


if __name__ == "__main__":
    raise SystemExit(run(parse_args()))
