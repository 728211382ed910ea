"""A serving process freezes the heap it started with, right before the server hears start-up is complete."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from apibase.interface.cli.servers.heap import OLDER_THRESHOLDS, YOUNG_THRESHOLD, FrozenStartupHeap

pytestmark = pytest.mark.unit


@pytest.fixture
def collector() -> Iterator[None]:
    """What the test changes in this process's collector, put back: a test process must not keep its heap."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Starts, then reports start-up complete; answers any other scope with nothing."""
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})


async def test_the_heap_is_frozen_before_the_server_hears_that_startup_completed(collector: None) -> None:
    seen: list[tuple[str, int, tuple[int, int, int]]] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        seen.append((message["type"], gc.get_freeze_count(), gc.get_threshold()))

    gc.unfreeze()
    await FrozenStartupHeap(lifespan_app)({"type": "lifespan"}, receive, send)
    ((kind, frozen, thresholds),) = seen
    assert kind == "lifespan.startup.complete"
    assert frozen > 0
    assert thresholds == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


async def test_requests_pass_through_untouched(collector: None) -> None:
    calls: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope)

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("not sent")

    before = gc.get_threshold()
    scope: Scope = {"type": "http"}
    await FrozenStartupHeap(app)(scope, receive, send)
    assert calls == [scope]
    assert gc.get_threshold() == before
