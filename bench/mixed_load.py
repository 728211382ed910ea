"""Sustained mixed load on the reference service: does throughput hold as the tables grow?

Run with ``.venv/bin/python bench/mixed_load.py [--rounds R] [--round-seconds S] [--database sqlite|postgres]``.

It makes a fresh database (as ``bench/http_bench.py`` does), migrates it, starts the service as the image does
(``apibase serve``: one uvicorn worker, the whole middleware stack, a real token), seeds ``--products`` products,
and then keeps ``--concurrency`` keep-alive connections busy for ``--rounds`` back-to-back rounds of
``--round-seconds`` with a fixed mix per connection: 1/4 creates (``POST /api/v1/products``, a unique sku each),
1/4 first pages (``GET /api/v1/products?limit=50``, which counts the live products), 1/2 gets by id (round robin
over the seeded ids). The load runs in a process of its own (asyncio over raw HTTP/1.1 streams, see ``bench/load.py``).

Per round it prints requests/s, p50, p99 and the slowest request, how many took over 1 s, the errors (any non-2xx
status, timeouts, broken connections) and the server's resident memory. The goal (issue #14): the last round's
throughput within 10 % of the first's, and no request over 1 s. The script exits 1 when a round had errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from apibase.core.settings import load_settings  # noqa: E402
from apibase.infrastructure.persistence.migrate import upgrade_database  # noqa: E402
from apibase.module import migration_branches  # noqa: E402
from bench.http_bench import SERVICE_COMMAND, free_port, fresh_database, load_average, machine, settle  # noqa: E402
from bench.load import post_body  # noqa: E402
from shop.main import SERVICE  # noqa: E402

HOST = "127.0.0.1"
PATH = "/api/v1/products"
SLOW_SECONDS = 1.0
#: The whole stack stays on; only budgets sized for production clients are lifted, and sign-up hashing is cheap.
ENVIRONMENT = {
    "APIBASE_RATE_LIMIT__CLIENT_LIMIT": "1000000000/minute",
    "APIBASE_RATE_LIMIT__USER_LIMIT": "1000000000/minute",
    "APIBASE_AUTH__PASSWORD_TIME_COST": "1",
    "APIBASE_AUTH__PASSWORD_MEMORY_KIB": "1024",
    "APIBASE_LOG_JSON": "true",
    "APIBASE_LOG_LEVEL": "WARNING",
}
#: One connection's cycle: 2 gets, 1 create, 1 first page, 1 get... so each connection runs the same mix.
MIX = ("get", "post", "get", "list")


@dataclass(frozen=True)
class Spec:
    port: int
    headers: dict[str, str]
    ids: list[str]
    concurrency: int
    rounds: int
    round_seconds: float


@dataclass
class Round:
    """What one round measured; ``latencies`` stays in the generator process."""

    number: int
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    slow: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    by_kind_p99_ms: dict[str, float] = field(default_factory=dict)
    rss_mib: float = 0.0
    #: The server's CPU per request this round: its main (event loop) thread, and its other threads (aiosqlite's).
    main_cpu_ms: float = 0.0
    other_cpu_ms: float = 0.0
    #: SQLite: the database file and its write-ahead log at the end of the round.
    db_mib: float = 0.0
    wal_mib: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- the generator (this file run with --generate) ------------------------------------------------------------------
def _requests(spec: Spec, worker: int) -> list[tuple[str, bytes]]:
    """The connection's cycle of prepared requests; POST bodies are made per request (unique skus)."""
    host = f"Host: {HOST}:{spec.port}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in spec.headers.items())
    return [
        (kind, f"GET {PATH}?limit=50 HTTP/1.1\r\n{host}\r\n".encode() if kind == "list" else host.encode())
        for kind in MIX
    ]


def _post(host: bytes, sku: str) -> bytes:
    body = post_body(sku)
    head = f"POST {PATH} HTTP/1.1\r\n".encode() + host
    return head + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    headers = head.lower()
    if (start := headers.find(b"\r\ncontent-length:")) >= 0:
        await reader.readexactly(int(headers[start + 17 : headers.index(b"\r\n", start + 2)]))
    elif b"transfer-encoding: chunked" in headers:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return int(head[9:12])


async def _worker(spec: Spec, worker: int, started: float, samples: list[tuple[float, str, float, str]]) -> None:
    """Until the last round ends: one request after another; each sample is (end, kind, seconds, error)."""
    cycle = _requests(spec, worker)
    deadline = started + spec.rounds * spec.round_seconds
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    step, get, created = 0, worker * 97, 0
    while (now := time.perf_counter()) < deadline:
        kind, prepared = cycle[step % len(cycle)]
        step += 1
        if kind == "get":
            get = (get + 1) % len(spec.ids)
            request = f"GET {PATH}/{spec.ids[get]} HTTP/1.1\r\n".encode() + prepared + b"\r\n"
        elif kind == "post":
            created += 1
            request = _post(prepared, f"MIX-{worker}-{created}")
        else:
            request = prepared
        error = ""
        try:
            if connection is None:
                connection = await asyncio.open_connection(HOST, spec.port)
            status = await asyncio.wait_for(_exchange(*connection, request), timeout=30)
            if not 200 <= status <= 299:
                error = f"{kind} status {status}"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            error = f"{kind} {'timeout' if isinstance(exc, TimeoutError) else 'connection'}"
            if connection is not None:
                connection[1].close()
            connection = None
        end = time.perf_counter()
        samples.append((end, kind, end - now, error))
    if connection is not None:
        connection[1].close()


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000 if ordered else 0.0


def _summarise(number: int, samples: list[tuple[float, str, float, str]], seconds: float) -> Round:
    latencies = sorted(sample[2] for sample in samples)
    by_kind: dict[str, list[float]] = {}
    for _, kind, latency, _ in samples:
        by_kind.setdefault(kind, []).append(latency)
    return Round(
        number=number,
        requests=len(samples),
        seconds=seconds,
        p50_ms=_percentile(latencies, 0.5),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=latencies[-1] * 1000 if latencies else 0.0,
        slow=sum(1 for latency in latencies if latency > SLOW_SECONDS),
        errors=dict(Counter(sample[3] for sample in samples if sample[3])),
        by_kind_p99_ms={kind: _percentile(sorted(values), 0.99) for kind, values in sorted(by_kind.items())},
    )


async def _generate(spec: Spec) -> None:
    """Prints one JSON line per round as soon as the round is over (the parent samples the server then)."""
    samples: list[tuple[float, str, float, str]] = []
    started = time.perf_counter()
    workers = [asyncio.create_task(_worker(spec, n, started, samples)) for n in range(spec.concurrency)]
    reported = 0
    for number in range(1, spec.rounds + 1):
        end = started + number * spec.round_seconds
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        if number == spec.rounds:
            await asyncio.gather(*workers)
        # A request belongs to the round in which it ended.
        lower = started + (number - 1) * spec.round_seconds
        upper = end if number < spec.rounds else float("inf")
        current = [sample for sample in samples[reported:] if lower <= sample[0] < upper]
        reported += len(current)
        print(json.dumps(asdict(_summarise(number, current, spec.round_seconds))), flush=True)


def generate() -> None:
    spec = Spec(**json.load(sys.stdin))
    try:
        import uvloop  # noqa: PLC0415 - optional: the generator works on the default loop too

        uvloop.run(_generate(spec))
    except ImportError:
        asyncio.run(_generate(spec))


# -- the benchmark --------------------------------------------------------------------------------------------------
def start_service(database_url: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [part.format(port=port) for part in SERVICE_COMMAND]
    environment = {**os.environ, **ENVIRONMENT, "APIBASE_DATABASE_URL": database_url}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://{HOST}:{port}{PATH}?limit=1", timeout=2).status_code in (200, 401):
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the service did not start:\n{log.read_text(errors='replace')[-3000:]}")


def sign_in_and_seed(port: int, count: int) -> tuple[dict[str, str], list[str]]:
    credentials = {"email": "bench@example.com", "password": "benchmark-password"}
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        client.post("/api/v2/auth/register", json=credentials).raise_for_status()
        login = client.post("/api/v2/auth/login", json=credentials)
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        ids = []
        for number in range(count):
            created = client.post(
                PATH, content=post_body(f"SEED-{number:06d}"), headers={**headers, "Content-Type": "application/json"}
            )
            created.raise_for_status()
            ids.append(created.json()["data"]["id"])
    return headers, ids


def grow(database_url: str, count: int) -> None:
    """SQLite: add ``count`` products (copies of the first with fresh random ids and skus) and one audit row each,
    as if they had been created through the API, so a short run starts where a long one would be."""
    url = make_url(database_url)
    if not count or url.get_backend_name() != "sqlite" or not url.database:
        return
    with contextlib.closing(sqlite3.connect(url.database)) as database, database:
        for table, key in (("products", "sku"), ("audit_log", None)):
            columns = [row[1] for row in database.execute(f"PRAGMA table_info({table})")]
            fresh = {
                "id": "lower(hex(randomblob(16)))",
                **({key: f"'GROW-' || n.value || '-' || {key}"} if key else {}),
            }
            chosen = ", ".join(fresh.get(column, column) for column in columns)
            database.execute(
                "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < ?)"
                f" INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM n, (SELECT * FROM {table} LIMIT 1)",
                (count,),
            )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU of the process's main thread and of all its other threads (ended ones included)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(stat: str) -> float:
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / tick

    whole = used(Path(f"/proc/{pid}/stat").read_text())
    main = used(Path(f"/proc/{pid}/task/{pid}/stat").read_text())
    return main, max(0.0, whole - main)  # per-thread ticks are rounded apart


def file_mib(path: Path | None) -> float:
    return path.stat().st_size / 2**20 if path is not None and path.exists() else 0.0


def run(spec: Spec, server: subprocess.Popen[bytes], database: Path | None = None) -> list[Round]:
    generator = subprocess.Popen(
        [sys.executable, __file__, "--generate"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert generator.stdin is not None
    assert generator.stdout is not None
    generator.stdin.write(json.dumps(asdict(spec)))
    generator.stdin.close()
    rounds: list[Round] = []
    columns = ("req/s", "p50 ms", "p99 ms", "max ms")
    print(
        f"{'round':>5} " + " ".join(f"{name:>8}" for name in columns) + f" {'> 1 s':>6} {'RSS MiB':>8}"
        "  CPU ms/req (loop + threads)  db/WAL MiB  p99 by kind"
    )
    wal = database.with_name(database.name + "-wal") if database is not None else None
    before = cpu_seconds(server.pid)
    for line in generator.stdout:
        values = json.loads(line)
        result = Round(**values)
        result.rss_mib = rss_mib(server.pid)
        after = cpu_seconds(server.pid)
        if result.requests:
            result.main_cpu_ms = (after[0] - before[0]) * 1000 / result.requests
            result.other_cpu_ms = (after[1] - before[1]) * 1000 / result.requests
        before = after
        result.db_mib, result.wal_mib = file_mib(database), file_mib(wal)
        rounds.append(result)
        kinds = ", ".join(f"{kind} {p99:.0f}" for kind, p99 in result.by_kind_p99_ms.items())
        errors = f"  ERRORS {result.errors}" if result.errors else ""
        print(
            f"{result.number:>5} {result.rps:>8.1f} {result.p50_ms:>8.1f} {result.p99_ms:>8.1f} {result.max_ms:>8.1f}"
            f" {result.slow:>6} {result.rss_mib:>8.0f}  {result.main_cpu_ms:>8.2f} + {result.other_cpu_ms:<17.2f}"
            f" {result.db_mib:>5.1f}/{result.wal_mib:<5.1f} {kinds}{errors}",
            flush=True,
        )
    if generator.wait() != 0:
        raise RuntimeError("the load generator failed")
    return rounds


def verdict(rounds: list[Round]) -> bool:
    """Print the goal's two checks; return whether every round was free of errors."""
    first, last = rounds[0], rounds[-1]
    change = last.rps / first.rps - 1 if first.rps else 0.0
    slow = sum(result.slow for result in rounds)
    print(
        f"throughput, last round against the first: {change:+.1%} ({'within' if abs(change) <= 0.1 else 'OUTSIDE'}"
        f" 10 %); requests over {SLOW_SECONDS:g} s: {slow}; slowest {max(r.max_ms for r in rounds):.0f} ms"
    )
    return not any(result.errors for result in rounds)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--round-seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument(
        "--grow", type=int, default=0, help="SQLite: add this many products (and audit rows) before the first round"
    )
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.generate:
        generate()
        return 0
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; load average {load_average()}")
    print(
        f"database {args.database}, {args.concurrency} connections, {args.rounds} rounds of {args.round_seconds:g} s,"
        f" mix 1/4 create, 1/4 first page, 1/2 get; {args.products} products seeded"
    )
    with fresh_database(args.database) as url, tempfile.TemporaryDirectory(prefix="apibase-mixed-") as logs:
        upgrade_database(load_settings(database_url=url), migration_branches(SERVICE.modules()))
        server, port = start_service(url, Path(logs) / "service.log")
        try:
            headers, ids = sign_in_and_seed(port, args.products)
            grow(url, args.grow)
            settle(url)
            print(f"service pid {server.pid}, port {port}", flush=True)
            spec = Spec(port, headers, ids, args.concurrency, args.rounds, args.round_seconds)
            database = make_url(url).database if args.database == "sqlite" else None
            rounds = run(spec, server, Path(database) if database else None)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the service")
            return 130
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"load average at the end: {load_average()}")
    return 0 if verdict(rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
