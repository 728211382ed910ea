"""Liveness never touches dependencies; readiness runs checks concurrently under timeouts; start-up gates."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest
from fastapi import FastAPI

from apibase.interface.http.health import SHUTTING_DOWN, CheckResult, HealthCheck, HealthRegistry, build_health_router
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit

SECRET = "password=hunter2"


class Switch:
    def __init__(self, value: bool = True) -> None:
        self.value = value

    def __call__(self) -> bool:
        return self.value


def build_app(registry: HealthRegistry, started: Switch | None = None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(build_health_router(registry, started=started or Switch()))
    app.add_middleware(RequestIdMiddleware)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionRefusedError(SECRET)


async def slow() -> None:
    await asyncio.sleep(10)


def assert_503(response: httpx.Response, code: str, instance: str) -> dict[str, object]:
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == 503
    assert body["instance"] == instance
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_liveness_is_ok_at_once_while_every_check_would_fail_or_hang() -> None:
    calls: list[str] = []
    never = asyncio.Event()

    async def failing() -> None:
        calls.append("failing")
        raise RuntimeError

    async def hanging() -> None:
        calls.append("hanging")
        await never.wait()

    registry = HealthRegistry(shutting_down=threading.Event())
    registry.register("db", failing)
    registry.register("broker", hanging, timeout_seconds=30)
    async with client(build_app(registry, Switch(False))) as http, asyncio.timeout(1):
        response = await http.get("/health/live")
        registry.draining = True
        while_draining = await http.get("/health/live")
    assert response.status_code == while_draining.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert calls == []


async def test_readiness_reports_every_check_when_all_pass() -> None:
    registry = HealthRegistry()
    registry.register("db", ok)
    registry.register("cache", ok, timeout_seconds=0.5)
    async with client(build_app(registry)) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"db", "cache"}
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert isinstance(check["latency_ms"], float)
        assert check["latency_ms"] >= 0
        assert "error" not in check


async def test_readiness_without_checks_is_ok() -> None:
    async with client(build_app(HealthRegistry())) as http:
        response = await http.get("/health/ready")
    assert response.json() == {"status": "ok", "checks": {}}


async def test_a_failing_or_slow_check_makes_readiness_a_503_problem(caplog: pytest.LogCaptureFixture) -> None:
    registry = HealthRegistry()
    registry.register("db", broken)
    registry.register("broker", slow, timeout_seconds=0.05)
    registry.register("cache", ok)
    with caplog.at_level(logging.WARNING, logger="apibase.interface.http.health"):
        async with client(build_app(registry)) as http:
            response = await http.get("/health/ready")
    body = assert_503(response, "common.dependency_unavailable", "/health/ready")
    assert body["detail"] == "2 of 3 dependency check(s) failed: broker, db."
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["db"]["status"] == "failed"
    assert checks["db"]["error"] == "ConnectionRefusedError"
    assert checks["broker"]["status"] == "timeout"
    assert checks["broker"]["error"] == "TimeoutError"
    assert checks["broker"]["latency_ms"] >= 50
    assert checks["cache"] == {"status": "ok", "latency_ms": checks["cache"]["latency_ms"], "vital": True}
    assert "hunter2" not in response.text
    assert {record.getMessage() for record in caplog.records} == {
        "health check db failed",
        "health check broker timed out after 0.05s",
    }


async def test_a_failed_non_vital_check_degrades_readiness_but_keeps_the_pod_in_rotation() -> None:
    registry = HealthRegistry()
    registry.register("db", ok)
    registry.register("log_sink", broken, vital=False)
    registry.register("external_jwks", slow, timeout_seconds=0.05, vital=False)
    async with client(build_app(registry)) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert (checks["db"]["status"], checks["db"]["vital"]) == ("ok", True)
    assert checks["log_sink"] == {
        "status": "failed",
        "latency_ms": checks["log_sink"]["latency_ms"],
        "vital": False,
        "error": "ConnectionRefusedError",
    }
    assert (checks["external_jwks"]["status"], checks["external_jwks"]["vital"]) == ("timeout", False)
    assert checks["external_jwks"]["latency_ms"] >= 50


async def test_a_failed_vital_check_fails_readiness_and_names_the_degraded_ones_too() -> None:
    registry = HealthRegistry()
    registry.register("db", broken)
    registry.register("log_sink", broken, vital=False)
    async with client(build_app(registry)) as http:
        response = await http.get("/health/ready")
    body = assert_503(response, "common.dependency_unavailable", "/health/ready")
    assert body["detail"] == "2 of 2 dependency check(s) failed: db, log_sink."
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert (checks["db"]["vital"], checks["log_sink"]["vital"]) == (True, False)


async def test_checks_run_concurrently() -> None:
    both_running = asyncio.Event()
    arrived: list[str] = []

    def meeting(name: str) -> HealthCheck:
        async def check() -> None:
            arrived.append(name)
            if len(arrived) == 2:
                both_running.set()
            await both_running.wait()  # a sequential run would wait here until the timeout

        return HealthCheck(name, check, 1.0)

    registry = HealthRegistry()
    for name in ("a", "b"):
        check = meeting(name)
        registry.register(check.name, check.check, check.timeout_seconds)
    results = await registry.run()
    assert {name: result.status for name, result in results.items()} == {"a": "ok", "b": "ok"}


async def test_draining_turns_readiness_off_without_running_checks() -> None:
    registry = HealthRegistry()
    registry.register("db", broken)
    registry.draining = True
    async with client(build_app(registry)) as http:
        response = await http.get("/health/ready")
    body = assert_503(response, "common.not_ready", "/health/ready")
    assert body["detail"] == "The service is shutting down."
    assert body["checks"] == {}


async def test_the_process_wide_shutdown_signal_turns_readiness_off_at_once() -> None:
    calls: list[str] = []

    async def counted() -> None:
        calls.append("db")

    shutting_down = threading.Event()
    registry = HealthRegistry(shutting_down=shutting_down)
    registry.register("db", counted)
    async with client(build_app(registry)) as http:
        before = await http.get("/health/ready")
        shutting_down.set()
        after = await http.get("/health/ready")
        startup = await http.get("/health/startup")
    assert before.status_code == 200
    body = assert_503(after, "common.not_ready", "/health/ready")
    assert body["detail"] == "The service is shutting down."
    assert calls == ["db"]
    registry.draining = False  # the application cannot undo a signal
    assert draining(registry) is True
    assert startup.status_code == 200  # start-up is done; restarting a draining pod would cut requests off


def draining(registry: HealthRegistry) -> bool:
    return registry.draining


def test_registries_follow_the_process_wide_signal_by_default() -> None:
    registry = HealthRegistry()
    assert registry.draining is False
    SHUTTING_DOWN.set()
    try:
        assert draining(registry) is True
    finally:
        SHUTTING_DOWN.clear()  # only a test may: the rest of this process is not shutting down
    assert draining(registry) is False


async def test_startup_and_readiness_are_503_until_started() -> None:
    started = Switch(False)
    registry = HealthRegistry()
    registry.register("db", ok)
    async with client(build_app(registry, started)) as http:
        before = await http.get("/health/startup")
        not_ready = await http.get("/health/ready")
        started.value = True
        after = await http.get("/health/startup")
        ready = await http.get("/health/ready")
    body = assert_503(before, "common.not_ready", "/health/startup")
    assert body["detail"] == "The service is still starting."
    assert_503(not_ready, "common.not_ready", "/health/ready")
    assert after.status_code == 200
    assert after.json() == {"status": "ok"}
    assert ready.status_code == 200


def test_registration_is_validated() -> None:
    registry = HealthRegistry()
    registry.register("db", ok, 1.0)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("db", ok)
    with pytest.raises(ValueError, match="needs a name"):
        registry.register("", ok)
    with pytest.raises(ValueError, match="positive"):
        registry.register("cache", ok, timeout_seconds=0)
    assert list(registry.checks) == ["db"]
    assert registry.checks["db"] == HealthCheck("db", ok, 1.0)
    assert registry.draining is False


def test_check_results_serialise_without_empty_errors() -> None:
    assert CheckResult("ok", 1.5).to_json() == {"status": "ok", "latency_ms": 1.5}
    assert CheckResult("failed", 2.0, "OSError").to_json() == {
        "status": "failed",
        "latency_ms": 2.0,
        "error": "OSError",
    }


async def test_the_prefix_and_schema_visibility_are_configurable() -> None:
    app = FastAPI()
    app.include_router(
        build_health_router(HealthRegistry(), started=Switch(), prefix="/probes", include_in_schema=True)
    )
    async with client(app) as http:
        response = await http.get("/probes/live")
    assert response.status_code == 200
    assert "/probes/ready" in app.openapi()["paths"]
