"""CPU per request of the layers a request crosses, with as little endpoint work below them as the service has.

Run with ``.venv/bin/python bench/stack_bench.py [--requests N] [--rounds R]``.

The reference service from ``create_app`` (production stack, JSON access log, tracing off) with a real EdDSA
bearer token, driven in process (no sockets, no HTTP parsing). Three requests, each timed in CPU microseconds:

- ``versioned 404``: ``GET /api/v1/no-such-route``: every middleware layer, the root's FastAPI layers, the mount,
  the version application's layers and router, and its 404 problem: the stack and nothing else;
- ``root route``: ``GET /health/live``, a route of the root application (exempt from the rate limits, the timeout
  and the access log);
- ``get by id``: ``GET /api/v2/products/{id}``, the whole request, for scale.

The start-up heap is frozen first, as ``apibase serve`` freezes it: otherwise a full collection of the ~230,000
objects the service starts with (~140 ms) lands in a few requests of a round and swamps what is measured. Rounds
alternate the three and the best round of each counts (the minimum is what survives a noisy machine). To compare
two trees, run this script with ``PYTHONPATH`` pointing at each tree's ``app`` in turn.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apibase.core.settings import ObservabilitySettings, RateLimitSection, Settings  # noqa: E402
from apibase.interface.cli.servers.heap import freeze_startup_heap  # noqa: E402
from apibase.testing.service import service_settings  # noqa: E402
from bench.asgi_driver import Call, caller, command_line, seeded_service  # noqa: E402
from shop.main import create_app  # noqa: E402


def stack_settings(folder: Path) -> Settings:
    """The production stack on a SQLite file in ``folder``: JSON access log, tracing off, rate limits out of reach."""
    unlimited = RateLimitSection(client_limit="1000000000/minute", user_limit="1000000000/minute")
    return service_settings(
        folder / "bench.db",
        rate_limit=unlimited,
        log_json=True,
        observability=ObservabilitySettings(tracing_enabled=False),
    )


async def cpu_per_request(call: Call, requests: int, status: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        if (answered := await call()) != status:
            raise RuntimeError(f"unexpected status {answered}")
    return (time.process_time() - started) / requests


async def main(requests: int, rounds: int) -> int:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="apibase-stack-bench-") as folder:
        app = create_app(stack_settings(Path(folder)))
        async with seeded_service(app) as seeded:
            freeze_startup_heap()
            headers = [(b"authorization", seeded.authorization.encode()), (b"host", b"bench")]
            calls = {
                "versioned 404": (caller(app, "/api/v1/no-such-route", headers), 404),
                "root route": (caller(app, "/health/live", headers), 200),
                "get by id": (caller(app, seeded.product_path, headers), 200),
            }
            for call, status in calls.values():
                await cpu_per_request(call, min(200, requests), status)
            best = dict.fromkeys(calls, float("inf"))
            for _ in range(rounds):
                for name, (call, status) in calls.items():
                    best[name] = min(best[name], await cpu_per_request(call, requests, status))
    print(f"CPU us per request in process, best of {rounds} rounds of {requests}")
    for name, seconds in best.items():
        print(f"{name:<14} {seconds * 1e6:>8.1f}")
    return 0


if __name__ == "__main__":
    command_line(__doc__, main)
