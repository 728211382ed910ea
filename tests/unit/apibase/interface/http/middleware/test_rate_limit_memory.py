"""Fixed windows in a plain ``MemoryStorage`` are counted in its own tables, exactly as the library would."""

from __future__ import annotations

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage
from starlette.types import Message, Receive, Scope, Send

from apibase.infrastructure.rate_limiting import close_rate_limit_storage
from apibase.interface.http.middleware import rate_limit
from apibase.interface.http.middleware.rate_limit import RateLimitMiddleware, RateLimitSettings

pytestmark = pytest.mark.unit


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def call(middleware: RateLimitMiddleware) -> Message:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "client": ("10.0.0.1", 1)}
    await middleware(scope, receive, send)
    return sent[0]


def headers(start: Message) -> dict[bytes, bytes]:
    return dict(start["headers"])


async def test_counts_land_in_the_storage_under_the_librarys_key(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(rate_limit.time, "time", lambda: clock[0])
    storage = MemoryStorage()
    settings = RateLimitSettings(client_limit="2/minute", strategy="fixed-window")
    middleware = RateLimitMiddleware(ok, settings=settings, storage=storage)
    try:
        starts = [await call(middleware) for _ in range(3)]
        key = parse("2/minute").key_for("client", "10.0.0.1")
        assert storage.storage[key] == 3
        assert storage.expirations[key] == 1_060.0
        assert [start["status"] for start in starts] == [200, 200, 429]
        assert headers(starts[1])[b"ratelimit-remaining"] == b"0"
        assert headers(starts[1])[b"ratelimit-reset"] == b"60"
        clock[0] = 1_060.0  # the window is over: a new one starts with this request
        assert (await call(middleware))["status"] == 200
        assert storage.storage[key] == 1
        assert storage.expirations[key] == 1_120.0
        await storage.reset()  # what the library's own operations do is seen by the next count
        assert headers(await call(middleware))[b"ratelimit-remaining"] == b"1"
    finally:
        await close_rate_limit_storage(storage)


async def test_once_a_second_a_hit_goes_through_the_library_which_sweeps_expired_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(rate_limit.time, "time", lambda: clock[0])
    storage = MemoryStorage()
    library_calls: list[str] = []
    library_incr = storage.incr

    async def counted_incr(key: str, expiry: float, amount: int = 1) -> int:
        library_calls.append(key)
        return await library_incr(key, expiry, amount)

    monkeypatch.setattr(storage, "incr", counted_incr)
    settings = RateLimitSettings(client_limit="100/minute", strategy="fixed-window")
    middleware = RateLimitMiddleware(ok, settings=settings, storage=storage)
    try:
        for _ in range(5):
            await call(middleware)
        assert len(library_calls) == 1
        clock[0] += rate_limit._MemoryFixedWindow.SWEEP_SECONDS
        await call(middleware)
        assert len(library_calls) == 2
        assert storage.timer is not None  # the library's sweep of expired keys was scheduled
    finally:
        await close_rate_limit_storage(storage)


@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window"])
async def test_other_storages_and_strategies_count_through_the_library(strategy: str) -> None:
    class Subclass(MemoryStorage):
        pass

    settings = RateLimitSettings(client_limit="1/minute", strategy=strategy)  # type: ignore[arg-type]
    for storage in (Subclass(), MemoryStorage()):
        middleware = RateLimitMiddleware(ok, settings=settings, storage=storage)
        expected = strategy == "fixed-window" and type(storage) is MemoryStorage
        assert (middleware._memory is not None) is expected
        assert [(await call(middleware))["status"] for _ in range(2)] == [200, 429]
        await close_rate_limit_storage(storage)


def test_the_key_is_the_librarys() -> None:
    item = parse("10/second")
    check = rate_limit._Check(item, ("route", "/api/v1/auth/*", "user", "u-1"))
    assert check.key == item.key_for("route", "/api/v1/auth/*", "user", "u-1")
