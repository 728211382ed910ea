"""Cost of the full middleware stack: the reference service's GET /api/v2/products/{id}, with and without it.

Run with ``.venv/bin/python bench/middleware_bench.py [--requests N] [--rounds R]``.

Both variants come from ``create_app`` with the same settings, on one migrated SQLite file with one product:

- ``full``: every layer of ``apibase.interface.http.middleware.stack`` (request id, JSON access log as in production,
  security headers, compression, client and user rate limits, audit, authentication of a real EdDSA access
  token, timeout, body limit, idempotency, JSON-only), called with ``Authorization: Bearer <token>``;
- ``bare``: the same FastAPI application with none of those layers (Starlette's own error and exception
  middleware stay: the endpoint needs them), behind the one thing the endpoint itself needs — a principal and
  tenant in the scope, set by a two-line shim instead of token verification.

Requests go straight into the ASGI callable (no sockets, no HTTP parsing), so the difference is the stack and
nothing else. Rounds alternate bare/full and the best round of each counts. The target is full >= 0.8 x bare.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from apibase.core.principal import AuthMethod, Principal  # noqa: E402
from apibase.core.settings import ObservabilitySettings, RateLimitSection  # noqa: E402
from apibase.testing.service import service_settings  # noqa: E402
from bench.asgi_driver import best_of, caller, command_line, report, seeded_service, with_principal  # noqa: E402
from shop.main import create_app  # noqa: E402

TARGET = 0.8


async def main(requests: int, rounds: int) -> int:
    logging.disable(logging.INFO)  # third-party stdlib lines (httpx) are not part of the stack
    with tempfile.TemporaryDirectory(prefix="apibase-mw-bench-") as folder:
        # Budgets far above what one loop can send: the limiters count every request but never refuse one.
        unlimited = RateLimitSection(client_limit="100000000/minute", user_limit="100000000/minute")
        no_tracing = ObservabilitySettings(tracing_enabled=False)  # measured by bench/observability_bench.py
        settings = service_settings(
            Path(folder) / "bench.db", rate_limit=unlimited, log_json=True, observability=no_tracing
        )
        app, plain = create_app(settings), create_app(settings)
        plain.user_middleware.clear()  # before its first call, when Starlette builds the middleware stack
        async with seeded_service(app, plain) as seeded:
            token = seeded.authorization.encode()
            roles = frozenset(str(role) for role in seeded.me["roles"])  # type: ignore[attr-defined]
            granted = app.state.kernel.security.roles.permissions_for(roles)
            who = Principal(str(seeded.me["id"]), str(seeded.me["tenant"]), roles, granted, AuthMethod.ACCESS_TOKEN)
            calls = {
                "bare": caller(with_principal(plain, who), seeded.product_path, [(b"host", b"bench")]),
                "full": caller(app, seeded.product_path, [(b"authorization", token), (b"host", b"bench")]),
            }
            best = await best_of(calls, requests=requests, rounds=rounds)
    report(best, baseline="bare", measured="full", target=TARGET, requests=requests, rounds=rounds)
    return 0


if __name__ == "__main__":
    command_line(__doc__, main)
