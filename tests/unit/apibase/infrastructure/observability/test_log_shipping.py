"""LogShipper against a fake cluster (httpx.MockTransport): batching, NDJSON, retries, drops, stop, no feedback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
import structlog

from apibase.infrastructure.background import Supervisor
from apibase.infrastructure.observability.log_shipping import DropReason, LogShipper, ship_to

pytestmark = pytest.mark.unit

URL = "http://logs.test:9200"
INDEX = "apibase-logs"

type Reply = Callable[[list[dict[str, object]]], Awaitable[httpx.Response] | httpx.Response]


def bulk(*statuses: int) -> httpx.Response:
    """A ``_bulk`` answer with one item per status."""
    items = [{"index": {"_index": INDEX, "status": status}} for status in statuses]
    return httpx.Response(200, json={"took": 1, "errors": any(s >= 300 for s in statuses), "items": items})


def ok(docs: list[dict[str, object]]) -> httpx.Response:
    return bulk(*[201] * len(docs))


class FakeCluster:
    """Records every bulk request and answers with the scripted replies, then with success."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.batches: list[list[dict[str, object]]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        lines = request.content.decode().splitlines()
        actions, docs = lines[0::2], [json.loads(line) for line in lines[1::2]]
        assert all(json.loads(action) == {"index": {"_index": INDEX}} for action in actions)
        self.batches.append(docs)
        reply = self.replies.pop(0) if self.replies else ok
        result = reply(docs)
        return await result if isinstance(result, Awaitable) else result

    @property
    def shipped(self) -> list[object]:
        return [doc["n"] for batch in self.batches for doc in batch]


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    for _ in range(int(within / 0.002)):
        if condition():
            return
        await asyncio.sleep(0.002)
    pytest.fail("the condition did not become true in time")


def shipper_for(cluster: FakeCluster, **options: float) -> LogShipper:
    settings: dict[str, float] = {"batch_size": 3, "flush_seconds": 30.0, "buffer_size": 100, "initial_backoff": 0.001}
    settings.update(options)
    client = httpx.AsyncClient(transport=httpx.MockTransport(cluster))
    return LogShipper(
        URL,
        INDEX,
        client=client,
        batch_size=int(settings["batch_size"]),
        flush_seconds=settings["flush_seconds"],
        buffer_size=int(settings["buffer_size"]),
        initial_backoff=settings["initial_backoff"],
        max_backoff=0.01,
        max_retries=int(settings.get("max_retries", 3)),
    )


async def test_full_batches_go_out_at_once_as_ndjson_and_stop_flushes_the_rest() -> None:
    cluster = FakeCluster()
    shipper = shipper_for(cluster, batch_size=3, flush_seconds=30.0)
    supervisor = Supervisor()
    shipper.start(supervisor)
    for n in range(6):
        assert shipper.offer({"n": n, "message": "hello", "log": {"level": "info"}})
    await eventually(lambda: len(cluster.batches) == 2)  # long before the 30 s flush interval
    assert [len(batch) for batch in cluster.batches] == [3, 3]
    shipper.offer({"n": 6})
    await asyncio.sleep(0.02)
    assert shipper.stats.buffered == 1  # not a full batch: it waits for the interval (or stop)
    await shipper.stop(grace_seconds=1.0)
    assert await supervisor.stop()
    assert [len(batch) for batch in cluster.batches] == [3, 3, 1]
    assert cluster.shipped == list(range(7))
    request = cluster.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{URL}/_bulk"
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.content == (
        b'{"index":{"_index":"apibase-logs"}}\n{"n":0,"message":"hello","log":{"level":"info"}}\n'
        b'{"index":{"_index":"apibase-logs"}}\n{"n":1,"message":"hello","log":{"level":"info"}}\n'
        b'{"index":{"_index":"apibase-logs"}}\n{"n":2,"message":"hello","log":{"level":"info"}}\n'
    )
    stats = shipper.stats
    assert (stats.shipped, stats.dropped, stats.failed_batches, stats.retries, stats.buffered) == (7, 0, 0, 0, 0)


async def test_a_partial_batch_goes_out_after_flush_seconds() -> None:
    cluster = FakeCluster()
    shipper = shipper_for(cluster, batch_size=50, flush_seconds=0.02)
    supervisor = Supervisor()
    shipper.start(supervisor)
    shipper.offer({"n": 1})
    await eventually(lambda: cluster.shipped == [1], within=1.0)
    await shipper.stop()
    await supervisor.stop()


async def test_a_failed_request_is_retried_until_it_succeeds() -> None:
    def connection_refused(docs: list[dict[str, object]]) -> httpx.Response:
        raise httpx.ConnectError("refused")

    cluster = FakeCluster(lambda _: httpx.Response(503), connection_refused, lambda _: httpx.Response(429))
    shipper = shipper_for(cluster)
    for n in range(3):
        shipper.offer({"n": n})
    await shipper.stop()
    assert len(cluster.requests) == 4
    assert {request.content for request in cluster.requests} == {cluster.requests[0].content}
    stats = shipper.stats
    assert (stats.shipped, stats.dropped, stats.retries, stats.failed_batches) == (3, 0, 3, 3)


async def test_retries_are_bounded_then_the_batch_is_dropped_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    cluster = FakeCluster(*[lambda _: httpx.Response(502)] * 10)
    shipper = shipper_for(cluster, max_retries=2)
    for n in range(3):
        shipper.offer({"n": n})
    await shipper.stop()
    assert len(cluster.requests) == 3
    stats = shipper.stats
    assert stats.dropped_by_reason == {DropReason.RETRIES_EXHAUSTED: 3}
    assert (stats.shipped, stats.retries, stats.failed_batches) == (0, 2, 3)
    # One warning line, not one per failure: the rest are rate-limited.
    assert capsys.readouterr().err.count("log shipping to http://logs.test:9200") == 1


async def test_partial_bulk_errors_retry_only_retriable_items_and_drop_refused_ones() -> None:
    cluster = FakeCluster(lambda _: bulk(201, 400, 429, 503))
    shipper = shipper_for(cluster, batch_size=4)
    for n in range(4):
        shipper.offer({"n": n})
    await shipper.stop()
    assert [[doc["n"] for doc in batch] for batch in cluster.batches] == [[0, 1, 2, 3], [2, 3]]
    stats = shipper.stats
    assert stats.shipped == 3
    assert stats.dropped_by_reason == {DropReason.REJECTED: 1}
    assert (stats.retries, stats.failed_batches) == (1, 1)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (httpx.Response(400, json={"error": "bad"}), DropReason.REJECTED),
        (httpx.Response(200, text="<html>proxy</html>"), DropReason.UNCONFIRMED),
        (httpx.Response(200, json={"errors": True, "items": [{"index": {"status": 201}}]}), DropReason.UNCONFIRMED),
    ],
)
async def test_a_refused_or_unreadable_answer_drops_the_batch_without_retrying(
    reply: httpx.Response, reason: DropReason
) -> None:
    cluster = FakeCluster(lambda _: reply)
    shipper = shipper_for(cluster)
    shipper.offer({"n": 1})
    shipper.offer({"n": 2})
    await shipper.stop()
    assert len(cluster.requests) == 1
    assert shipper.stats.dropped_by_reason == {reason: 2}
    assert (shipper.stats.retries, shipper.stats.failed_batches) == (0, 1)


async def test_a_full_buffer_drops_new_records_and_counts_them() -> None:
    cluster = FakeCluster()
    shipper = shipper_for(cluster, batch_size=5, buffer_size=5)
    assert all(shipper.offer({"n": n}) for n in range(5))
    assert shipper.offer({"n": 5}) is False
    assert shipper.offer({"n": 6}) is False
    assert shipper.stats.dropped_by_reason == {DropReason.BUFFER_FULL: 2}
    assert shipper.stats.buffered == 5
    await shipper.stop()
    assert cluster.shipped == [0, 1, 2, 3, 4]
    assert shipper.offer({"n": 7}) is False
    assert shipper.stats.dropped_by_reason == {DropReason.BUFFER_FULL: 2, DropReason.STOPPED: 1}


async def test_an_unserializable_record_is_dropped_and_the_rest_shipped() -> None:
    cluster = FakeCluster()
    shipper = shipper_for(cluster)
    circular: dict[str, object] = {"n": 1}
    circular["self"] = circular
    shipper.offer({"n": 0, "when": object()})  # not JSON, but str() works
    shipper.offer(circular)
    await shipper.stop()
    assert cluster.shipped == [0]
    assert shipper.stats.dropped_by_reason == {DropReason.UNSERIALIZABLE: 1}


async def test_stop_is_bounded_when_the_cluster_hangs_and_counts_what_is_left() -> None:
    async def hang(docs: list[dict[str, object]]) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    cluster = FakeCluster(hang)
    shipper = shipper_for(cluster, batch_size=3)
    supervisor = Supervisor()
    shipper.start(supervisor)
    for n in range(5):
        shipper.offer({"n": n})
    await eventually(lambda: len(cluster.requests) == 1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await shipper.stop(grace_seconds=0.05)
    assert loop.time() - began < 0.5
    assert shipper.stats.dropped_by_reason == {DropReason.SHUTDOWN: 5}
    assert await supervisor.stop()


async def test_stop_right_after_start_ships_everything_one_request_at_a_time() -> None:
    in_flight, most = 0, 0

    async def slow(docs: list[dict[str, object]]) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return ok(docs)

    cluster = FakeCluster(*[slow] * 10)
    shipper = shipper_for(cluster, batch_size=2)
    supervisor = Supervisor()
    for n in range(10):
        shipper.offer({"n": n})
    shipper.start(supervisor)  # the flush loop starts while stop() drains: they must take turns
    await shipper.stop()
    assert await supervisor.stop()
    assert sorted(cluster.shipped) == list(range(10))
    assert most == 1
    assert shipper.stats.shipped == 10


async def test_a_crashing_flush_loop_is_restarted_by_the_supervisor() -> None:
    def bug(docs: list[dict[str, object]]) -> httpx.Response:
        raise KeyError("not an HTTP error: a bug")

    cluster = FakeCluster(bug)
    shipper = shipper_for(cluster, batch_size=1, flush_seconds=0.01)
    supervisor = Supervisor()
    shipper.start(supervisor)
    shipper.offer({"n": 0})
    await eventually(lambda: supervisor.restarts.get("log-shipper") == 1)
    shipper.offer({"n": 1})
    await eventually(lambda: cluster.shipped == [0, 1])
    await shipper.stop()
    assert await supervisor.stop()


async def test_the_processor_offers_a_copy_and_returns_the_event_unchanged() -> None:
    cluster = FakeCluster()
    shipper = shipper_for(cluster)
    processor = ship_to(shipper)
    with pytest.raises(ValueError, match="invalid literal") as caught:
        int("kaboom")
    event = {"event": "failed", "n": 1, "exc_info": caught.value}
    returned = processor(None, "error", event)
    assert returned is event
    assert event["exc_info"] is not None
    assert "exception" not in event
    event["n"] = 2  # later processors may change the event: the shipped copy keeps what it was
    await shipper.stop()
    (doc,) = cluster.batches[0]
    assert doc["n"] == 1
    assert "exc_info" not in doc
    assert doc["exception"][0]["exc_type"] == "ValueError"


async def test_events_logged_while_shipping_are_not_shipped_again() -> None:
    def logs_while_answering(docs: list[dict[str, object]]) -> httpx.Response:
        structlog.get_logger("httpx").info("HTTP Request: POST /_bulk", n="feedback")
        return ok(docs)

    cluster = FakeCluster(logs_while_answering)
    shipper = shipper_for(cluster, batch_size=1, flush_seconds=0.01)
    structlog.configure(processors=[ship_to(shipper), structlog.processors.JSONRenderer()])
    try:
        supervisor = Supervisor()
        shipper.start(supervisor)
        structlog.get_logger("app").info("first", n="app")
        await eventually(lambda: cluster.shipped == ["app"])
        await asyncio.sleep(0.05)  # several flush intervals: a feedback loop would have shipped "feedback"
        await shipper.stop()
        await supervisor.stop()
    finally:
        structlog.reset_defaults()
    assert cluster.shipped == ["app"]


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        LogShipper(URL, INDEX, batch_size=10, buffer_size=5)
    with pytest.raises(ValueError, match="backoff"):
        LogShipper(URL, INDEX, initial_backoff=2.0, max_backoff=1.0)


async def test_warnings_go_to_stderr_without_the_credentials_of_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    shipper = LogShipper("http://user:s3cret@127.0.0.1:9/", INDEX, max_retries=0, initial_backoff=0.001)
    shipper.offer({"n": 1})
    await shipper.stop(grace_seconds=2.0)
    assert shipper.stats.dropped_by_reason == {DropReason.RETRIES_EXHAUSTED: 1}
    err = capsys.readouterr().err
    assert "log shipping to http://127.0.0.1:9" in err
    assert "s3cret" not in err


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
async def test_ping_asks_the_cluster_base_url_and_ships_nothing_logged_meanwhile(status: int, healthy: bool) -> None:
    asked: list[httpx.URL] = []

    def cluster(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        ship_to(shipper)(None, "info", {"event": "HTTP Request: GET"})  # what httpx logs for the request
        return httpx.Response(status, json={"cluster_name": "logs"})

    shipper = LogShipper(URL, INDEX, client=httpx.AsyncClient(transport=httpx.MockTransport(cluster)))
    if healthy:
        await shipper.ping()
    else:
        with pytest.raises(httpx.HTTPStatusError):
            await shipper.ping()
    assert asked == [httpx.URL(URL)]
    assert shipper.stats.buffered == 0
