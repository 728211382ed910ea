"""HTTP throughput of the reference service against a bare FastAPI + SQLAlchemy app on the same database.

Run with ``.venv/bin/python bench/http_bench.py [--profile production|lean] [--seconds N] [--concurrency C]
[--database sqlite|postgres]``.

``--profile production`` (the default) runs the service the way a production deployment does: a real EdDSA access
token minted by the service's own login, the tenancy header on every request, both rate limits on (budgets out of
reach), idempotency, audit, JSON access logs at INFO, Prometheus metrics and OpenTelemetry tracing at the default
sampling. ``--profile lean`` is the earlier set-up: the same stack, but logging at WARNING (no access line).

It makes a fresh database (a temporary SQLite file, or a scratch PostgreSQL database on 127.0.0.1:5432 that it
drops again), migrates it, starts the service (``uvicorn --factory shop.main:create_app``) and the bare app
(``bench/bare_app.py``) as uvicorn processes with one worker each, seeds products through the service's API,
and then, per scenario (get by id, first list page, create), loads each app in turn from a separate process
(``wrk`` when on PATH, else ``bench/load.py``). Each app runs ``--repeats`` times in alternating order and the
best run counts, which takes some of the noise of a small machine out. The table gives requests/s, p50 and p99
of both and the service/bare throughput ratio against the targets of issue #14 (get by id and create >= 1.0,
first page >= 0.9, p99 <= 1.2 x the bare app's). Every non-2xx response and connection
error is counted; a run with any of them is reported loudly and the script exits with status 1.

Everything talks to 127.0.0.1 only and stops by itself; the servers are stopped by PID, also on Ctrl-C.
See docs/performance.md for the figures and what they mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import secrets
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app`` and ``bench`` importable from the checkout

from apibase.core.settings import load_settings  # noqa: E402
from apibase.infrastructure.persistence.migrate import upgrade_database  # noqa: E402
from apibase.module import migration_branches  # noqa: E402
from bench.load import Kind, LoadResult, LoadSpec, post_body, run_load, wrk_available  # noqa: E402
from shop.main import SERVICE  # noqa: E402

HOST = "127.0.0.1"
#: Throughput ratio service/bare each scenario must reach, and the p99 ratio it must stay under.
TARGETS: dict[Kind, float] = {"get": 1.0, "list": 0.9, "post": 1.0}
P99_TARGET = 1.2
SCENARIOS: tuple[Kind, ...] = ("get", "list", "post")
TITLES = {"get": "GET /products/{id}", "list": "GET /products?limit=50", "post": "POST /products"}
TENANT = "default"
#: The stack stays complete; only budgets sized for production traffic (per client, per user) are lifted so that
#: one load generator is not refused, and password hashing is cheap because sign-up is not what is measured.
#: Everything else is the settings' default: tracing on at the default sampling, metrics on, idempotency on, audit.
PRODUCTION_ENVIRONMENT = {
    "APIBASE_RATE_LIMIT__ENABLED": "true",
    "APIBASE_RATE_LIMIT__CLIENT_LIMIT": "1000000000/minute",
    "APIBASE_RATE_LIMIT__USER_LIMIT": "1000000000/minute",
    "APIBASE_IDEMPOTENCY__ENABLED": "true",
    "APIBASE_OBSERVABILITY__TRACING_ENABLED": "true",
    "APIBASE_OBSERVABILITY__METRICS_ENABLED": "true",
    "APIBASE_AUTH__PASSWORD_TIME_COST": "1",
    "APIBASE_AUTH__PASSWORD_MEMORY_KIB": "1024",
    "APIBASE_LOG_JSON": "true",
    "APIBASE_LOG_LEVEL": "INFO",
}
PROFILES = {
    "production": PRODUCTION_ENVIRONMENT,
    # The earlier figures' set-up: no access log line per request.
    "lean": {**PRODUCTION_ENVIRONMENT, "APIBASE_LOG_LEVEL": "WARNING"},
}
#: The service as a deployment runs it (the image's command): ``apibase serve`` on uvicorn, one worker.
SERVICE_COMMAND = [str(Path(sys.executable).with_name("apibase")), "serve", "--host", HOST, "--port", "{port}"]
#: The bare app on the same server with the same options (uvloop, httptools, no access log).
BARE_COMMAND = [
    *(sys.executable, "-m", "uvicorn", "--factory", "bench.bare_app:create_app", "--app-dir", str(ROOT)),
    *("--host", HOST, "--port", "{port}", "--loop", "uvloop", "--http", "httptools"),
    *("--log-level", "warning", "--no-access-log"),
]
PG_ADMIN = {"host": HOST, "port": 5432, "user": "postgres", "database": "postgres"}


@dataclass
class App:
    """One server under test: the command that serves it (``{port}`` filled in) and where its products live."""

    name: str
    command: list[str]
    path: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    runs: dict[str, list[LoadResult]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # the service needs a signed-in caller

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


# -- environment ------------------------------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return f"{os.cpu_count()} CPU(s), {cpu}, Python {platform.python_version()}, {platform.system()}"


def load_average() -> str:
    """Other work on the machine skews the figures; printed at the start and the end so a reader can tell."""
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def fresh_database(kind: Literal["sqlite", "postgres"]) -> Iterator[str]:
    """The URL of an empty database that is gone again afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="apibase-bench-") as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415 - only needed for PostgreSQL

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(**PG_ADMIN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    name = f"apibase_bench_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{PG_ADMIN['user']}@{HOST}:{PG_ADMIN['port']}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- servers --------------------------------------------------------------------------------------------------------
def start(app: App, database_url: str, logs: Path, environment: dict[str, str]) -> None:
    app.port = free_port()
    app.log = logs / f"{app.name}.log"
    command = [part.format(port=app.port) for part in app.command]
    variables = {**os.environ, **environment, "APIBASE_DATABASE_URL": database_url}
    with app.log.open("wb") as log:
        app.process = subprocess.Popen(command, cwd=ROOT, env=variables, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(app: App, timeout: float = 120) -> None:
    """Until the list endpoint answers 200: the process is up and has reached its database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process is None or app.process.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            # 401: the service is up and routing; it answers 200 once a caller has signed in.
            if httpx.get(f"{app.base_url}{app.path}?limit=1", timeout=2).status_code in (200, 401):
                return
        time.sleep(0.2)
    log = app.log.read_text(errors="replace")[-3000:] if app.log else ""
    raise RuntimeError(f"{app.name} did not become ready on port {app.port}:\n{log}")


def stop(app: App) -> None:
    """SIGTERM by PID, then SIGKILL if uvicorn has not shut down in 15 s."""
    if app.process is None or app.process.poll() is not None:
        return
    app.process.send_signal(signal.SIGTERM)
    try:
        app.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()


# -- the benchmark --------------------------------------------------------------------------------------------------
def sign_in(service: App) -> None:
    """Create the default tenant's admin and keep its access token (and the tenancy header) for every request."""
    credentials = {"email": "bench@example.com", "password": "benchmark-password"}
    tenancy = {"X-Tenant-ID": TENANT}
    with httpx.Client(base_url=service.base_url, timeout=10, headers=tenancy) as client:
        client.post("/api/v2/auth/register", json=credentials).raise_for_status()
        login = client.post("/api/v2/auth/login", json=credentials)
        login.raise_for_status()
    service.headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}", **tenancy}


def seed(service: App, count: int) -> list[str]:
    """Products created through the service's own API, so the data is exactly what the service writes."""
    ids: list[str] = []
    headers = {"Content-Type": "application/json", **service.headers}
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        for number in range(count):
            response = client.post(service.path, content=post_body(f"SEED-{number:06d}"), headers=headers)
            response.raise_for_status()
            ids.append(response.json()["data"]["id"])
    random.Random(0).shuffle(ids)
    return ids


def settle(database_url: str) -> None:
    """SQLite: fold the seeding's write-ahead log into the database file, so the first app loaded does not
    pay for reading through a long WAL that the second one would find checkpointed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        with contextlib.closing(sqlite3.connect(url.database)) as database:
            database.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def check_same_data(service: App, bare: App, ids: list[str]) -> None:
    """Both apps must return the same product and the same total, or the comparison would mean nothing."""
    served = httpx.get(f"{service.base_url}{service.path}/{ids[0]}", headers=service.headers).json()["data"]
    plain = httpx.get(f"{bare.base_url}{bare.path}/{ids[0]}").json()
    if served != plain:
        raise RuntimeError(f"the apps disagree on product {ids[0]}:\n{served}\n{plain}")
    totals = [
        httpx.get(f"{app.base_url}{app.path}?limit=50", headers=app.headers).json()["total"] for app in (service, bare)
    ]
    if totals[0] != totals[1]:
        raise RuntimeError(f"the apps disagree on the number of products: {totals}")


def load(app: App, kind: Kind, seconds: float, args: argparse.Namespace, ids: list[str], tag: str) -> LoadResult:
    spec = LoadSpec(
        host=HOST,
        port=app.port,
        path=app.path,
        kind=kind,
        seconds=seconds,
        concurrency=args.concurrency,
        sku_prefix=f"{tag}-",
        ids=ids if kind == "get" else [],
        headers=app.headers,
    )
    return run_load(spec, tool=args.load)


def run_scenarios(apps: tuple[App, App], ids: list[str], args: argparse.Namespace) -> None:
    run_tag = "".join(random.choices(string.ascii_uppercase, k=4))
    for kind in args.scenarios:
        print(f"{TITLES[kind]}:", flush=True)
        for app in apps:  # warm-up: connections pooled, code paths and caches hot; not counted
            load(app, kind, args.warmup, args, ids, f"{run_tag}W{app.name[0].upper()}")
        for repeat in range(args.repeats):
            for app in apps if repeat % 2 == 0 else apps[::-1]:
                result = load(app, kind, args.seconds, args, ids, f"{run_tag}{app.name[0].upper()}{repeat}")
                app.runs.setdefault(kind, []).append(result)
                flag = f"  ERRORS {result.errors}" if result.error_count else ""
                print(
                    f"  {app.name:<8}{result.rps:>9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                    f"p99 {result.p99_ms:7.2f} ms  ({result.requests} requests){flag}",
                    flush=True,
                )


def best(results: list[LoadResult]) -> LoadResult:
    return max(results, key=lambda result: result.rps)


def report(service: App, bare: App, args: argparse.Namespace) -> bool:
    """Print the table; return whether every run was free of errors."""
    header = (
        f"| {'scenario':<22} | {'service req/s':>13} | {'p50 ms':>7} | {'p99 ms':>7} "
        f"| {'bare req/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} | {'ratio':>5} | {'target':>6} "
        f"| {'p99 ratio':>9} | {'met':>3} |"
    )
    print()
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for kind in args.scenarios:
        ours, theirs = best(service.runs[kind]), best(bare.runs[kind])
        ratio = ours.rps / theirs.rps if theirs.rps else 0.0
        p99_ratio = ours.p99_ms / theirs.p99_ms if theirs.p99_ms else float("inf")
        met = ratio >= TARGETS[kind] and p99_ratio <= P99_TARGET
        print(
            f"| {TITLES[kind]:<22} | {ours.rps:>13.0f} | {ours.p50_ms:>7.2f} | {ours.p99_ms:>7.2f} "
            f"| {theirs.rps:>10.0f} | {theirs.p50_ms:>7.2f} | {theirs.p99_ms:>7.2f} | {ratio:>5.2f} "
            f"| {'>= ' + str(TARGETS[kind]):>6} | {p99_ratio:>9.2f} | {'yes' if met else 'NO':>3} |"
        )
    failed = [
        (app.name, kind, result.errors)
        for app in (service, bare)
        for kind, results in app.runs.items()
        for result in results
        if result.error_count
    ]
    for name, kind, errors in failed:
        print(f"!!! {name} {kind}: {sum(errors.values())} failed requests {errors}: these figures are not valid")
    return not failed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="production",
        help="the service's settings: production (default: everything on, INFO JSON logs) or lean (WARNING logs)",
    )
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured run (default 10)")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections (default 64)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeats", type=int, default=2, help="runs per app and scenario; the best counts")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of uncounted load per app and scenario")
    parser.add_argument("--products", type=int, default=1000, help="products seeded before the runs")
    parser.add_argument("--load", choices=("wrk", "python"), default="wrk" if wrk_available() else "python")
    parser.add_argument(
        "--scenarios",
        type=lambda text: [item for item in text.split(",") if item],
        default=list(SCENARIOS),
        help="comma-separated subset of get,list,post (default: all, in that order)",
    )
    args = parser.parse_args()
    if unknown := set(args.scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; load average {load_average()}")
    print(
        f"profile {args.profile}, database {args.database}, load generator {args.load}, {args.concurrency} "
        f"connections, {args.seconds:g} s per run, best of {args.repeats}, {args.products} products seeded"
    )
    service = App("service", SERVICE_COMMAND, "/api/v1/products")
    bare = App("bare", BARE_COMMAND, "/products")
    with fresh_database(args.database) as url, tempfile.TemporaryDirectory(prefix="apibase-bench-logs-") as logs:
        upgrade_database(load_settings(database_url=url), migration_branches(SERVICE.modules()))
        try:
            for app in (service, bare):
                start(app, url, Path(logs), PROFILES[args.profile])
            for app in (service, bare):
                wait_ready(app)
                print(f"{app.name} ready: pid {app.process.pid if app.process else '?'}, {app.base_url}", flush=True)
            sign_in(service)
            ids = seed(service, args.products)
            settle(url)
            check_same_data(service, bare, ids)
            run_scenarios((service, bare), ids, args)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the servers")
            return 130
        finally:
            for app in (service, bare):
                stop(app)
    print(f"load average at the end: {load_average()}")
    return 0 if report(service, bare, args) else 1


if __name__ == "__main__":
    sys.exit(main())
