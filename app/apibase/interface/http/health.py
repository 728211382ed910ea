"""Kubernetes-style health probes: liveness, readiness (dependency checks) and start-up.

Liveness never touches a dependency (a database outage must not get every pod restarted); readiness runs
every registered check concurrently, each under its own timeout, and reports per check its status, latency and
whether it is vital; start-up holds the other probes off until the application says it has started (readiness
also answers 503 until then). A failed *vital* check (the service cannot serve without it) makes readiness a 503
problem; a failed non-vital one (the service serves, with less: a log sink, an external issuer's keys) leaves it
200 with ``"status": "degraded"``, so a dependency that is merely useful never takes every pod out of rotation.
Readiness turns 503 without running a check once the process is draining: ``registry.draining = True`` (the
application's shutdown) or the process-wide :data:`SHUTTING_DOWN` event, which ``apibase serve`` sets the
moment SIGTERM arrives, before the server stops accepting, so the load balancer stops routing first.

Public API:

- ``SHUTTING_DOWN``: the process-wide ``threading.Event`` set on the event loop when a stop signal arrives
  (never in the signal handler itself: ``Event.set`` takes a lock); never cleared.
- ``HealthRegistry(*, shutting_down=SHUTTING_DOWN)``: ``register(name, check, timeout_seconds=2.0, *, vital=True)``,
  ``checks``, ``draining`` (settable), ``async run() -> dict[str, CheckResult]``.
- ``HealthCheck`` (a registered check) and ``CheckResult`` (``status``, ``latency_ms``, ``error``).
- ``build_health_router(registry, *, started, prefix="/health", include_in_schema=False) -> APIRouter``
  with ``GET {prefix}/live``, ``GET {prefix}/ready`` and ``GET {prefix}/startup``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from fastapi import APIRouter
from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apibase.core.error_codes import CommonErrorCode
from apibase.core.errors import DependencyUnavailable
from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail
from apibase.interface.http.problems import problem_response, request_id_for

__all__ = ["SHUTTING_DOWN", "CheckResult", "CheckStatus", "HealthCheck", "HealthRegistry", "build_health_router"]

logger = logging.getLogger(__name__)

type CheckStatus = Literal["ok", "failed", "timeout"]

_NO_STORE: Final = {"Cache-Control": "no-store"}

#: Set once, on the event loop, when the process is told to stop: a process never stops stopping.
SHUTTING_DOWN: Final = threading.Event()


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A dependency probe: an async callable that returns when the dependency works and raises otherwise."""

    name: str
    check: Callable[[], Awaitable[None]]
    timeout_seconds: float
    #: False when the service still serves without the dependency: its failure degrades readiness, not fails it.
    vital: bool = True


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check; ``error`` is the exception's type name, never its message."""

    status: CheckStatus
    latency_ms: float
    error: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        body: dict[str, JsonValue] = {"status": self.status, "latency_ms": self.latency_ms}
        if self.error is not None:
            body["error"] = self.error
        return body


class HealthRegistry:
    """The dependency checks readiness runs; each adapter registers its own when it is wired."""

    def __init__(self, *, shutting_down: threading.Event = SHUTTING_DOWN) -> None:
        self._checks: dict[str, HealthCheck] = {}
        self._draining = False
        self._shutting_down = shutting_down

    @property
    def draining(self) -> bool:
        """True once the application's shutdown began or the process was signalled to stop."""
        return self._draining or self._shutting_down.is_set()

    @draining.setter
    def draining(self, value: bool) -> None:
        self._draining = value

    def register(
        self, name: str, check: Callable[[], Awaitable[None]], timeout_seconds: float = 2.0, *, vital: bool = True
    ) -> None:
        if not name:
            raise ValueError("a health check needs a name")
        if name in self._checks:
            raise ValueError(f"a health check named {name!r} is already registered")
        if not timeout_seconds > 0:
            raise ValueError("timeout_seconds must be positive")
        self._checks[name] = HealthCheck(name, check, timeout_seconds, vital)

    @property
    def checks(self) -> Mapping[str, HealthCheck]:
        return dict(self._checks)

    async def run(self) -> dict[str, CheckResult]:
        """Run every check at once, so readiness takes as long as the slowest check, not the sum."""
        checks = list(self._checks.values())
        results = await asyncio.gather(*(_run_check(check) for check in checks))
        return {check.name: result for check, result in zip(checks, results, strict=True)}


async def _run_check(check: HealthCheck) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout_seconds):
            await check.check()
    except TimeoutError:
        logger.warning("health check %s timed out after %ss", check.name, check.timeout_seconds)
        return CheckResult("timeout", _elapsed_ms(started), "TimeoutError")
    except Exception as exc:
        logger.warning("health check %s failed", check.name, exc_info=exc)
        return CheckResult("failed", _elapsed_ms(started), type(exc).__name__)
    return CheckResult("ok", _elapsed_ms(started))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def build_health_router(
    registry: HealthRegistry,
    *,
    started: Callable[[], bool],
    prefix: str = "/health",
    include_in_schema: bool = False,
) -> APIRouter:
    """The three probe endpoints; mount it on the root application, outside the versioned APIs."""
    router = APIRouter(prefix=prefix, tags=["health"], include_in_schema=include_in_schema)

    @router.get("/live")
    async def live() -> Response:
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    @router.get("/ready")
    async def ready(request: Request) -> Response:
        if registry.draining:
            return _not_ready(request, "The service is shutting down.")
        if not started():
            return _not_ready(request, "The service is still starting.")
        results = await registry.run()
        vital = {name: check.vital for name, check in registry.checks.items()}
        checks: dict[str, JsonValue] = {
            name: {**result.to_json(), "vital": vital[name]} for name, result in results.items()
        }
        failed = sorted(name for name, result in results.items() if result.status != "ok")
        if any(vital[name] for name in failed):
            detail = f"{len(failed)} of {len(results)} dependency check(s) failed: {', '.join(failed)}."
            problem = DependencyUnavailable(detail, extensions={"checks": checks}).to_problem_detail(
                instance=request.url.path
            )
            return problem_response(problem, request_id=request_id_for(request.scope), headers=_NO_STORE)
        return JSONResponse({"status": "degraded" if failed else "ok", "checks": checks}, headers=_NO_STORE)

    @router.get("/startup")
    async def startup(request: Request) -> Response:
        if not started():
            return _not_ready(request, "The service is still starting.")
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    return router


def _not_ready(request: Request, detail: str) -> Response:
    code = CommonErrorCode.NOT_READY
    problem = ProblemDetail(
        type=f"{DEFAULT_PROBLEM_TYPE_BASE}{code.value}",
        title="Service not ready",
        status=503,
        detail=detail,
        instance=request.url.path,
        code=code.value,
        checks={},
    )
    return problem_response(problem, request_id=request_id_for(request.scope), headers=_NO_STORE)
