"""The reference service under each server of ``apibase serve --server``, side by side, with one and two workers.

Run with ``.venv/bin/python bench/server_bench.py [--seconds N] [--concurrency C] [--servers uvicorn,granian]``.

It reuses ``bench/http_bench.py``'s helpers: a fresh database (SQLite by default), migrated; products seeded through
the service's API; the same load generator (``wrk`` when on PATH, else ``bench/load.py``) and scenarios. Every
configuration (server x workers) runs as ``apibase serve --server S --workers W`` on a port of its own, all at once,
and is loaded in turn, ``--repeats`` rounds in alternating order (the best run counts), so drift on a shared
machine hits each alike. The table gives requests/s, p50 and p99 per configuration, each server's throughput
against uvicorn with as many workers, the server's CPU milliseconds per request (its workers' included: a figure
that other work on the machine hardly moves), and what a second worker brings (the goal: >= 1.6x one worker). The load
generator runs on the same cores as the server: with two workers on two cores it takes CPU they would use.

Everything talks to 127.0.0.1 only; the servers are stopped by PID, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import string
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app`` and ``bench`` importable from the checkout

from apibase.core.settings import load_settings  # noqa: E402
from apibase.infrastructure.persistence.migrate import upgrade_database  # noqa: E402
from apibase.module import migration_branches  # noqa: E402
from bench.http_bench import (  # noqa: E402
    PRODUCTION_ENVIRONMENT,
    TITLES,
    App,
    best,
    free_port,
    fresh_database,
    load,
    load_average,
    machine,
    seed,
    settle,
    sign_in,
    stop,
    wait_ready,
)
from bench.load import Kind, wrk_available  # noqa: E402
from shop.main import SERVICE  # noqa: E402

SERVERS = ("uvicorn", "granian", "hypercorn")
SCALING_GOAL = 1.6
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: (configuration, scenario) -> the server's CPU milliseconds per request, one entry per measured run
CPU_PER_REQUEST: dict[tuple[str, str], list[float]] = {}


def signing_key(folder: Path) -> Path:
    """One token signing key for every process: without it each worker generates its own at start-up, and a
    token one worker issued would be refused by the others."""
    path = folder / "signing-key.pem"
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


def start_served(app: App, server: str, workers: int, database_url: str, logs: Path) -> None:
    """``apibase serve`` as a production deployment runs it (no drain delay: the bench stops it)."""
    app.port = free_port()
    app.log = logs / f"{app.name}.log"
    command = [str(Path(sys.executable).with_name("apibase")), "serve", "--server", server]
    command += ["--workers", str(workers), "--port", str(app.port), "--drain-delay", "0"]
    environment = {
        **os.environ,
        **PRODUCTION_ENVIRONMENT,
        "APIBASE_DATABASE_URL": database_url,
        "APIBASE_AUTH__SIGNING_KEY_FILE": str(logs / "signing-key.pem"),
    }
    with app.log.open("wb") as log:
        app.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server process and its workers (Linux ``/proc``), in seconds.

    Unlike requests/s it hardly depends on what else runs on the machine: CPU per request compares the servers
    even on a loaded one.
    """
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return total


def run_rounds(apps: list[App], ids: list[str], args: argparse.Namespace) -> None:
    tag = "".join(random.choices(string.ascii_uppercase, k=4))
    for kind in args.scenarios:
        print(f"{TITLES[kind]}:", flush=True)
        for number, app in enumerate(apps):  # warm-up, not counted
            load(app, kind, args.warmup, args, ids, f"{tag}W{number}")
        for repeat in range(args.repeats):
            for number, app in enumerate(apps if repeat % 2 == 0 else apps[::-1]):
                used = cpu_seconds(app.process.pid) if app.process else 0.0
                result = load(app, kind, args.seconds, args, ids, f"{tag}{repeat}R{number}")
                used = (cpu_seconds(app.process.pid) if app.process else 0.0) - used
                app.runs.setdefault(kind, []).append(result)
                CPU_PER_REQUEST.setdefault((app.name, kind), []).append(1000 * used / max(result.requests, 1))
                flag = f"  ERRORS {result.errors}" if result.error_count else ""
                print(
                    f"  {app.name:<14}{result.rps:>9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                    f"p99 {result.p99_ms:7.2f} ms  CPU {CPU_PER_REQUEST[app.name, kind][-1]:.2f} ms/request{flag}",
                    flush=True,
                )


def report(apps: dict[tuple[str, int], App], args: argparse.Namespace) -> bool:
    """Print the table; return whether every run was free of errors."""
    header = (
        f"| {'scenario':<22} | {'server':<9} | {'workers':>7} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} "
        f"| {'CPU ms/req':>10} | {'vs uvicorn':>10} | {'2 vs 1 worker':>13} |"
    )
    print()
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for kind in args.scenarios:
        for (server, workers), app in apps.items():
            result = best(app.runs[kind])
            baseline = apps.get(("uvicorn", workers))
            versus = f"{result.rps / best(baseline.runs[kind]).rps:.2f}x" if baseline else "-"
            scaling = "-"
            if workers == 2 and (single := apps.get((server, 1))):
                ratio = result.rps / best(single.runs[kind]).rps
                scaling = f"{ratio:.2f}x {'ok' if ratio >= SCALING_GOAL else 'NO'}"
            print(
                f"| {TITLES[kind]:<22} | {server:<9} | {workers:>7} | {result.rps:>7.0f} | {result.p50_ms:>7.2f} "
                f"| {result.p99_ms:>7.2f} | {min(CPU_PER_REQUEST[app.name, kind]):>10.2f} | {versus:>10} "
                f"| {scaling:>13} |"
            )
    failed = [
        (app.name, kind) for app in apps.values() for kind, runs in app.runs.items() if any(r.error_count for r in runs)
    ]
    for name, kind in failed:
        print(f"!!! {name} {kind}: failed requests: these figures are not valid")
    return not failed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="length of each measured run (default 5)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeats", type=int, default=2, help="rounds; the best run of each counts")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of uncounted load per configuration")
    parser.add_argument("--products", type=int, default=200, help="products seeded before the runs")
    parser.add_argument("--load", choices=("wrk", "python"), default="wrk" if wrk_available() else "python")
    parser.add_argument("--servers", type=lambda text: text.split(","), default=list(SERVERS))
    parser.add_argument("--workers", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2])
    parser.add_argument("--scenarios", type=lambda text: text.split(","), default=["get"], help="of get,list,post")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    scenarios: list[Kind] = args.scenarios
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; load average {load_average()}")
    print(
        f"database {args.database}, load generator {args.load}, {args.concurrency} connections, "
        f"{args.seconds:g} s per run, best of {args.repeats}, scenarios {','.join(scenarios)}"
    )
    apps = {
        (server, workers): App(f"{server}-{workers}w", "", "/api/v1/products")
        for server in args.servers
        for workers in args.workers
    }
    with fresh_database(args.database) as url, tempfile.TemporaryDirectory(prefix="apibase-bench-logs-") as logs:
        upgrade_database(load_settings(database_url=url), migration_branches(SERVICE.modules()))
        signing_key(Path(logs))
        try:
            for (server, workers), app in apps.items():
                start_served(app, server, workers, url, Path(logs))
            for app in apps.values():
                wait_ready(app, timeout=180)
            first, *others = apps.values()
            sign_in(first)
            ids = seed(first, args.products)
            settle(url)
            for app in others:
                app.headers = first.headers  # the same signing key: one token for every configuration
            run_rounds(list(apps.values()), ids, args)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the servers")
            return 130
        finally:
            for app in apps.values():
                stop(app)
    print(f"load average at the end: {load_average()}")
    return 0 if report(apps, args) else 1


if __name__ == "__main__":
    sys.exit(main())
