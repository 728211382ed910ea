"""Limits per client, per user and per route, counted in memory; 429 problems with Retry-After and RateLimit-*."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from limits.aio.storage import MemoryStorage
from starlette.types import Message, Receive, Scope, Send

from apibase.infrastructure.rate_limiting import build_rate_limit_storage, close_rate_limit_storage
from apibase.interface.http.middleware.rate_limit import (
    RateLimitMiddleware,
    RateLimitSettings,
    no_user,
    user_id_from_state,
)
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit


@pytest.fixture
async def storage() -> AsyncIterator[MemoryStorage]:
    memory = MemoryStorage()
    yield memory
    await close_rate_limit_storage(memory)


def build_app(settings: RateLimitSettings, storage: MemoryStorage, *, with_user: bool = False) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(
        RateLimitMiddleware, settings=settings, storage=storage, user_id=user_id_from_state if with_user else no_user
    )
    if with_user:
        app.add_middleware(FakeAuth)

    @app.get("/api/v1/items")
    async def items() -> list[int]:
        return [1]

    @app.get("/api/v1/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/api/v1/auth/token")
    async def token() -> dict[str, str]:
        return {"token": "t"}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app


class FakeAuth:
    """Stands in for the authentication step: ``X-User`` becomes ``scope["state"]["user_id"]``."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"x-user":
                scope.setdefault("state", {})["user_id"] = value.decode()
        await self.app(scope, receive, send)


def client(app: FastAPI, ip: str = "10.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 1234)), base_url="http://t")


def assert_429(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "common.rate_limited"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert body["retry_after"] == retry_after
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 0 <= int(response.headers["ratelimit-reset"]) <= 60


@pytest.mark.parametrize("strategy", ["moving-window", "fixed-window"])
async def test_the_client_limit_refuses_the_request_over_it(storage: MemoryStorage, strategy: str) -> None:
    settings = RateLimitSettings(client_limit="3/minute", strategy=strategy)  # type: ignore[arg-type]
    async with client(build_app(settings, storage)) as http:
        responses = [await http.get("/api/v1/items") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in responses)
    assert 0 <= int(responses[0].headers["ratelimit-reset"]) <= 60
    assert "retry-after" not in responses[0].headers
    assert_429(responses[3], 3)
    assert responses[3].json()["instance"] == "/api/v1/items"


async def test_each_client_ip_has_its_own_budget(storage: MemoryStorage) -> None:
    app = build_app(RateLimitSettings(client_limit="1/minute"), storage)
    async with client(app, "10.0.0.1") as first, client(app, "10.0.0.2") as second:
        assert (await first.get("/api/v1/items")).status_code == 200
        assert (await first.get("/api/v1/items")).status_code == 429
        assert (await second.get("/api/v1/items")).status_code == 200


async def test_x_forwarded_for_is_ignored_without_trusted_proxies(storage: MemoryStorage) -> None:
    app = build_app(RateLimitSettings(client_limit="1/minute"), storage)
    async with client(app) as http:
        assert (await http.get("/api/v1/items", headers={"X-Forwarded-For": "1.1.1.1"})).status_code == 200
        forged = await http.get("/api/v1/items", headers={"X-Forwarded-For": "2.2.2.2"})
    assert forged.status_code == 429


async def test_x_forwarded_for_names_the_client_behind_trusted_proxies(storage: MemoryStorage) -> None:
    app = build_app(RateLimitSettings(client_limit="1/minute", trusted_proxy_hops=1), storage)
    async with client(app, "10.9.9.9") as proxy:
        # the client prepends a forged entry; the proxy appended the address it really saw (the last one)
        assert (await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "6.6.6.6, 1.1.1.1"})).status_code == 200
        assert (await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "7.7.7.7, 1.1.1.1"})).status_code == 429
        assert (await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "2.2.2.2"})).status_code == 200
        # no usable header: the peer address counts
        assert (await proxy.get("/api/v1/items")).status_code == 200
        assert (await proxy.get("/api/v1/items")).status_code == 429


async def test_two_trusted_hops_take_the_second_entry_from_the_right(storage: MemoryStorage) -> None:
    app = build_app(RateLimitSettings(client_limit="1/minute", trusted_proxy_hops=2), storage)
    async with client(app) as http:
        first = await http.get("/api/v1/items", headers={"X-Forwarded-For": "1.1.1.1, 10.0.0.5"})
        second = await http.get(
            "/api/v1/items", headers=[("X-Forwarded-For", "9.9.9.9, 1.1.1.1"), ("X-Forwarded-For", "10.0.0.6")]
        )
    assert first.status_code == 200
    assert second.status_code == 429


async def test_the_user_limit_follows_the_user_across_addresses(storage: MemoryStorage) -> None:
    app = build_app(RateLimitSettings(client_limit=None, user_limit="2/minute"), storage, with_user=True)
    async with client(app, "10.0.0.1") as home, client(app, "10.0.0.2") as office:
        assert (await home.get("/api/v1/items", headers={"X-User": "alice"})).status_code == 200
        assert (await office.get("/api/v1/items", headers={"X-User": "alice"})).status_code == 200
        assert_429(await office.get("/api/v1/items", headers={"X-User": "alice"}), 2)
        assert (await office.get("/api/v1/items", headers={"X-User": "bob"})).status_code == 200
        anonymous = await office.get("/api/v1/items")  # no user and no client limit: nothing applies
    assert anonymous.status_code == 200
    assert "ratelimit-limit" not in anonymous.headers


async def test_route_templates_and_prefixes_have_their_own_limits(storage: MemoryStorage) -> None:
    settings = RateLimitSettings(
        client_limit="100/minute",
        route_limits={"/api/v1/items/{item_id:int}": "2/minute", "/api/v1/auth/*": "1/minute"},
    )
    async with client(build_app(settings, storage)) as http:
        detail = [await http.get(f"/api/v1/items/{n}") for n in (1, 2, 3)]
        login = [await http.post("/api/v1/auth/token") for _ in range(2)]
        listing = await http.get("/api/v1/items")
    assert [r.status_code for r in detail] == [200, 200, 429]
    assert detail[0].headers["ratelimit-limit"] == "2"  # the tightest limit is the one reported
    assert_429(detail[2], 2)
    assert [r.status_code for r in login] == [200, 429]
    assert listing.status_code == 200
    assert listing.headers["ratelimit-limit"] == "100"
    assert listing.headers["ratelimit-remaining"] == "94"


async def test_route_limits_are_per_caller(storage: MemoryStorage) -> None:
    settings = RateLimitSettings(client_limit=None, route_limits={"/api/v1/auth/*": "1/minute"})
    app = build_app(settings, storage, with_user=True)
    async with client(app, "10.0.0.1") as http:
        assert (await http.post("/api/v1/auth/token", headers={"X-User": "alice"})).status_code == 200
        assert (await http.post("/api/v1/auth/token", headers={"X-User": "bob"})).status_code == 200
        assert (await http.post("/api/v1/auth/token")).status_code == 200
        assert (await http.post("/api/v1/auth/token")).status_code == 429


async def test_health_probes_are_exempt(storage: MemoryStorage) -> None:
    async with client(build_app(RateLimitSettings(client_limit="1/minute"), storage)) as http:
        responses = [await http.get("/health/live") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "ratelimit-limit" not in responses[0].headers


async def test_an_unreachable_storage_fails_open_by_default() -> None:
    storage = build_rate_limit_storage("redis://127.0.0.1:1/0")
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RateLimitMiddleware, settings=RateLimitSettings(client_limit="1/minute"), storage=storage)

    @app.get("/api/v1/items")
    async def items() -> list[int]:
        return [1]

    try:
        async with client(app) as http:
            responses = [await http.get("/api/v1/items") for _ in range(2)]
    finally:
        await close_rate_limit_storage(storage)
    assert [r.status_code for r in responses] == [200, 200]
    assert "ratelimit-limit" not in responses[0].headers


async def test_without_a_storage_it_counts_in_memory() -> None:
    middleware = RateLimitMiddleware(FastAPI(), settings=RateLimitSettings(client_limit="1/minute"))
    assert isinstance(middleware.storage, MemoryStorage)


async def test_an_unreachable_storage_fails_closed_when_asked() -> None:
    settings = RateLimitSettings(client_limit="1/minute", fail_open=False)
    storage = build_rate_limit_storage("redis://127.0.0.1:1/0")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not reached")

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        raise AssertionError("nothing sent")

    from limits.errors import StorageError

    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "client": None}
    try:
        with pytest.raises(StorageError):
            await RateLimitMiddleware(app, settings=settings, storage=storage)(scope, receive, send)
    finally:
        await close_rate_limit_storage(storage)


async def test_other_scopes_and_unknown_clients(storage: MemoryStorage) -> None:
    seen: list[str] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204})
            await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = RateLimitMiddleware(app, settings=RateLimitSettings(client_limit="1/minute"), storage=storage)
    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "http", "method": "GET", "path": "/x", "headers": [], "client": None}, receive, send)
    assert seen == ["lifespan", "http"]
    assert (b"ratelimit-limit", b"1") in sent[0]["headers"]
    assert await middleware.limiter.test(middleware._client_item, "client", "unknown") is False  # type: ignore[arg-type]


def test_user_id_from_state() -> None:
    assert user_id_from_state({"state": {"user_id": "u1"}}) == "u1"
    assert user_id_from_state({"state": {"user_id": 42}}) == "42"
    assert user_id_from_state({"state": {"user_id": ""}}) is None
    assert user_id_from_state({"state": {"user_id": True}}) is None
    assert user_id_from_state({"state": {}}) is None
    assert user_id_from_state({}) is None
    assert no_user({"state": {"user_id": "u1"}}) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_limit": "lots"}, "lots"),
        ({"route_limits": {"api/v1": "1/minute"}}, "starting with '/'"),
        ({"strategy": "token-bucket"}, "strategy"),
        ({"trusted_proxy_hops": -1}, "trusted_proxy_hops"),
    ],
)
def test_settings_refuse_nonsense(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimitSettings(**kwargs)  # type: ignore[arg-type]


def test_settings_copy_and_freeze_the_route_limits() -> None:
    routes = {"/a/*": "1/second"}
    settings = RateLimitSettings(route_limits=routes)
    routes["/b/*"] = "1/second"
    assert dict(settings.route_limits) == {"/a/*": "1/second"}
    with pytest.raises(TypeError):
        settings.route_limits["/c/*"] = "1/second"  # type: ignore[index]


async def test_the_tightest_limit_is_reported_whichever_order_they_are_counted_in(storage: MemoryStorage) -> None:
    settings = RateLimitSettings(client_limit="2/minute", route_limits={"/api/v1/items": "50/minute"})
    async with client(build_app(settings, storage)) as http:
        response = await http.get("/api/v1/items")
    assert response.headers["ratelimit-limit"] == "2"
    assert response.headers["ratelimit-remaining"] == "1"


class CountingStorage(MemoryStorage):
    """Counts the storage round trips a request costs (each is a network call with Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self._inside_incr = False

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.calls.append("incr")
        self._inside_incr = True  # MemoryStorage.incr reads the key itself: that is no round trip of its own
        try:
            return await super().incr(key, expiry, amount)
        finally:
            self._inside_incr = False

    async def get(self, key: str) -> int:
        if not self._inside_incr:
            self.calls.append("get")
        return await super().get(key)

    async def get_expiry(self, key: str) -> float:
        self.calls.append("get_expiry")
        return await super().get_expiry(key)


async def test_a_fixed_window_costs_two_storage_round_trips_per_limit() -> None:
    counting = CountingStorage()
    settings = RateLimitSettings(client_limit="2/minute", strategy="fixed-window")
    try:
        async with client(build_app(settings, counting)) as http:
            responses = [await http.get("/api/v1/items") for _ in range(3)]
    finally:
        await close_rate_limit_storage(counting)
    assert counting.calls == ["incr", "get_expiry"] * 3  # the count comes back from incr, not from a get
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    assert 0 < int(responses[0].headers["ratelimit-reset"]) <= 60
