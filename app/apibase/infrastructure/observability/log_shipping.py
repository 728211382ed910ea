"""Ship log events to Elasticsearch/OpenSearch with the ``_bulk`` API, without ever slowing a request down.

Logging is on every request's path, the log cluster is not: ``LogShipper.offer`` only appends to a bounded
in-memory buffer (synchronous, O(1), never blocks or raises) and, when the buffer is full because the cluster is
down or slow, drops the event and counts it. Losing log lines while the cluster is down is the price of never
turning its outage into ours; the counters make the loss visible (export them as metrics).

A flush loop (``run``, started under a ``Supervisor`` by ``start``) posts NDJSON batches of ``batch_size``
events, or whatever is buffered every ``flush_seconds``. Whole-request failures (connection refused, timeouts,
429, 5xx) and the items a bulk response marks 429/5xx are retried with a jittered exponential backoff, up to
``max_retries`` times; items refused for good (a 4xx such as a mapping conflict) are dropped and counted.

The retry is a dozen lines here rather than ``stamina``/``tenacity`` (neither is a dependency): each retry must
re-send only the items that failed, and the backoff must end at ``stop()``'s deadline.

No feedback loop: whatever is logged *while shipping* (httpx's own request lines, for example) is never
offered back, so shipping a batch cannot produce the next one; the shipper itself reports trouble with a
rate-limited line on stderr, never through the logging pipeline it feeds.

Public API: ``LogShipper``, ``ShipperStats``, ``DropReason``, ``ship_to(shipper)`` (a structlog processor).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import httpx
import orjson
import structlog
from structlog.typing import EventDict, Processor

from apibase.core.settings import Settings
from apibase.infrastructure.background import Supervisor

__all__ = ["DropReason", "LogShipper", "ShipperStats", "build_log_shipper", "ship_to"]

_HEADERS: Final = {"Content-Type": "application/x-ndjson"}
#: True inside the flush loop: events logged while shipping are not offered again.
_SHIPPING: Final[ContextVar[bool]] = ContextVar("log_shipping_active", default=False)


class DropReason(StrEnum):
    """Why an event was not shipped (the ``reason`` label of the dropped counter)."""

    BUFFER_FULL = "buffer_full"
    STOPPED = "stopped"
    UNSERIALIZABLE = "unserializable"
    REJECTED = "rejected"
    RETRIES_EXHAUSTED = "retries_exhausted"
    UNCONFIRMED = "unconfirmed"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class ShipperStats:
    """A snapshot of the shipper's counters; ``failed_batches`` counts bulk requests that did not fully succeed."""

    shipped: int
    dropped: int
    dropped_by_reason: Mapping[DropReason, int]
    failed_batches: int
    retries: int
    buffered: int


class LogShipper:
    """A bounded, batching, non-blocking ``_bulk`` shipper; ``offer`` from anywhere, ``start``/``stop`` once."""

    def __init__(
        self,
        url: str,
        index: str,
        *,
        batch_size: int = 500,
        flush_seconds: float = 2.0,
        buffer_size: int = 10_000,
        client: httpx.AsyncClient | None = None,
        max_retries: int = 3,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
        request_timeout: float = 10.0,
        warning_interval: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1 or buffer_size < batch_size:
            raise ValueError("need 1 <= batch_size <= buffer_size")
        if flush_seconds <= 0 or max_retries < 0 or not 0 < initial_backoff <= max_backoff:
            raise ValueError("need flush_seconds > 0, max_retries >= 0 and 0 < initial_backoff <= max_backoff")
        target = httpx.URL(url)
        self._base_url = target
        self._bulk_url = httpx.URL(f"{str(target).rstrip('/')}/_bulk")
        #: For warnings: never the credentials a URL may carry.
        self._target = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
        self._action = orjson.dumps({"index": {"_index": index}}) + b"\n"
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._buffer_size = buffer_size
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=request_timeout)
        self._max_retries = max_retries
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._warning_interval = warning_interval
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._buffer: deque[Mapping[str, object]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._wake_pending = False
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._closed = False
        self._deadline: float | None = None
        self._scope: asyncio.Timeout | None = None
        self._in_flight = 0
        self._shipped = 0
        self._dropped: Counter[DropReason] = Counter()
        self._failed_batches = 0
        self._retries = 0
        self._last_warning = float("-inf")
        self._suppressed_warnings = 0

    @property
    def stats(self) -> ShipperStats:
        return ShipperStats(
            shipped=self._shipped,
            dropped=self._dropped.total(),
            dropped_by_reason=dict(self._dropped),
            failed_batches=self._failed_batches,
            retries=self._retries,
            buffered=len(self._buffer),
        )

    async def ping(self) -> None:
        """Raise unless the cluster answers on its base URL: readiness reports whether logs can leave.

        What is logged meanwhile (httpx's request line) is not offered back, as in the flush loop.
        """
        token = _SHIPPING.set(True)
        try:
            response = await self._client.get(self._base_url)
        finally:
            _SHIPPING.reset(token)
        response.raise_for_status()

    def offer(self, record: Mapping[str, object]) -> bool:
        """Queue one event; False when it was dropped (buffer full, shipper stopped) or logged by the shipper.

        Safe from any thread. The record is kept as given and serialised later: callers pass a copy.
        """
        if _SHIPPING.get():
            return False
        if self._closed:
            self._dropped[DropReason.STOPPED] += 1
            return False
        if len(self._buffer) >= self._buffer_size:
            self._dropped[DropReason.BUFFER_FULL] += 1
            return False
        self._buffer.append(record)
        if len(self._buffer) >= self._batch_size and not self._wake_pending:
            self._wake_soon()
        return True

    def start(self, supervisor: Supervisor) -> None:
        """Run the flush loop under ``supervisor``: a bug in it is logged and the loop restarted."""
        supervisor.spawn("log-shipper", self.run, initial_backoff=self._initial_backoff, max_backoff=self._max_backoff)

    async def run(self) -> None:
        """The flush loop: ship when a batch is full or every ``flush_seconds``, until ``stop()``."""
        if self._closed:
            return
        token = _SHIPPING.set(True)
        self._loop = asyncio.get_running_loop()
        try:
            # stop() moves this scope's deadline in, so a request that hangs cannot hold shutdown up.
            async with asyncio.timeout_at(self._deadline) as self._scope:
                while not self._stopping.is_set():
                    await self._wait_for_work()
                    while self._buffer and not self._stopping.is_set():
                        async with self._lock:
                            await self._ship(self._take_batch())
        except TimeoutError:
            self._cut_off()
        finally:
            self._scope = None
            _SHIPPING.reset(token)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Ship what is buffered within ``grace_seconds`` (the rest is dropped and counted), then close.

        The drain happens here, holding the lock the flush loop ships under: whether the loop is running,
        waiting for a restart or was never started, no batch is in flight when the client closes.
        """
        if self._closed:
            return
        self._deadline = asyncio.get_running_loop().time() + grace_seconds
        self._stopping.set()
        self._wake.set()
        if self._scope is not None:
            self._scope.reschedule(self._deadline)
        token = _SHIPPING.set(True)
        try:
            async with asyncio.timeout_at(self._deadline), self._lock:
                while self._buffer:
                    await self._ship(self._take_batch())
        except TimeoutError:
            self._cut_off()
        finally:
            _SHIPPING.reset(token)
        self._closed = True
        self._drop(DropReason.SHUTDOWN, len(self._buffer))
        self._buffer.clear()
        if self._owns_client:
            await self._client.aclose()

    def _wake_soon(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._wake_pending = True
        # Thread-safe, and cheap enough: it runs once per full batch, not per event.
        with contextlib.suppress(RuntimeError):  # the loop is closed: stop() has drained or dropped everything
            loop.call_soon_threadsafe(self._wake.set)

    async def _wait_for_work(self) -> None:
        if len(self._buffer) < self._batch_size:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_seconds):
                    await self._wake.wait()
        self._wake.clear()
        self._wake_pending = False

    def _cut_off(self) -> None:
        """The deadline interrupted a request: its outcome is unknown, count its documents as lost."""
        self._drop(DropReason.SHUTDOWN, self._in_flight)
        self._in_flight = 0

    def _take_batch(self) -> list[bytes]:
        docs: list[bytes] = []
        for _ in range(min(self._batch_size, len(self._buffer))):
            record = self._buffer.popleft()
            try:
                docs.append(orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS))
            except TypeError:  # orjson.JSONEncodeError: circular, an integer beyond 64 bits, ...
                self._dropped[DropReason.UNSERIALIZABLE] += 1
        return docs

    async def _ship(self, docs: list[bytes]) -> None:
        attempt = 0
        while docs:
            self._in_flight = len(docs)
            docs = await self._post(docs)
            if not docs:
                break
            attempt += 1
            if attempt > self._max_retries:
                self._drop(DropReason.RETRIES_EXHAUSTED, len(docs))
                break
            self._retries += 1
            await asyncio.sleep(self._backoff(attempt))
        self._in_flight = 0

    async def _post(self, docs: list[bytes]) -> list[bytes]:
        """Send one bulk request; return the documents worth sending again."""
        body = b"".join(self._action + doc + b"\n" for doc in docs)
        try:
            response = await self._client.post(self._bulk_url, content=body, headers=_HEADERS)
        except httpx.HTTPError as exc:
            return self._failed(docs, f"bulk request failed: {exc!r}")
        status = response.status_code
        if _retriable(status):
            return self._failed(docs, f"bulk request answered {status}")
        if not response.is_success:
            return self._failed(docs, f"bulk request refused with {status}", drop=DropReason.REJECTED)
        items = _bulk_items(response)
        if items is None or len(items) != len(docs):
            # A 2xx we cannot read may have stored the documents: sending them again could duplicate them.
            return self._failed(docs, "unreadable bulk response", drop=DropReason.UNCONFIRMED)
        retry: list[bytes] = []
        for doc, item_status in zip(docs, items, strict=True):
            if 200 <= item_status < 300:
                self._shipped += 1
            elif _retriable(item_status):
                retry.append(doc)
            else:
                self._dropped[DropReason.REJECTED] += 1
        failed = sum(1 for item_status in items if not 200 <= item_status < 300)
        if failed:
            self._failed_batches += 1
            self._warn(f"{failed} of {len(docs)} bulk items failed ({len(retry)} to retry)")
        return retry

    def _failed(self, docs: list[bytes], message: str, *, drop: DropReason | None = None) -> list[bytes]:
        """Count a failed request; its documents are to be retried, or dropped for ``drop``."""
        self._failed_batches += 1
        self._warn(message)
        if drop is None:
            return docs
        self._drop(drop, len(docs))
        return []

    def _drop(self, reason: DropReason, count: int) -> None:
        if count:
            self._dropped[reason] += count

    def _backoff(self, attempt: int) -> float:
        step = min(self._max_backoff, self._initial_backoff * 2.0 ** min(attempt - 1, 62))
        return step / 2 + self._rng.uniform(0, step / 2)

    def _warn(self, message: str) -> None:
        """At most one line per ``warning_interval`` on stderr: an outage must not flood the console either."""
        now = time.monotonic()
        if now - self._last_warning < self._warning_interval:
            self._suppressed_warnings += 1
            return
        suppressed = f" ({self._suppressed_warnings} more since the last report)" if self._suppressed_warnings else ""
        self._last_warning, self._suppressed_warnings = now, 0
        sys.stderr.write(f"log shipping to {self._target}: {message}{suppressed}\n")


def _retriable(status: int) -> bool:
    return status == 429 or status >= 500


def _bulk_items(response: httpx.Response) -> list[int] | None:
    """The per-item statuses of a bulk response, in request order; None if the body is not a bulk response."""
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        return None
    statuses: list[int] = []
    for item in payload["items"]:
        result = next(iter(item.values()), None) if isinstance(item, dict) else None
        status = result.get("status") if isinstance(result, dict) else None
        if not isinstance(status, int):
            return None
        statuses.append(status)
    return statuses


def ship_to(shipper: LogShipper) -> Processor:
    """A structlog processor that offers a copy of each final event to ``shipper`` and passes the event on unchanged.

    Place it just before the renderer, so the shipped document is exactly what the line shows. An exception still
    attached as ``exc_info`` is turned into a structured ``exception`` in the copy only.
    """

    def offer_copy(logger: object, method_name: str, event_dict: EventDict) -> EventDict:
        record: EventDict = dict(event_dict)
        if "exc_info" in record:
            record = structlog.processors.dict_tracebacks(logger, method_name, record)
        shipper.offer(record)
        return event_dict

    return offer_copy


def build_log_shipper(
    settings: Settings, *, client: Callable[[], httpx.AsyncClient] | None = None
) -> LogShipper | None:
    """The shipper ``settings.observability`` asks for, or ``None`` when no log cluster is configured.

    ``client`` makes the HTTP client it sends through (the process's pooled one, which its owner closes); it is
    called only when a log cluster is configured.
    """
    observability = settings.observability
    if observability.log_shipping_url is None:
        return None
    return LogShipper(
        observability.log_shipping_url,
        observability.log_shipping_index,
        batch_size=observability.log_shipping_batch_size,
        flush_seconds=observability.log_shipping_flush_seconds,
        buffer_size=observability.log_shipping_buffer,
        client=client() if client is not None else None,
    )
