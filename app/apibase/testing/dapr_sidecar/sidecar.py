"""``DaprStandIn``: a Dapr sidecar for tests, where daprd cannot run, speaking Dapr's real API to the real SDK.

It serves the SDK's gRPC Dapr service (``api.StandInApi``) and the HTTP health probe, keeps state and topics in
the real Redis under a key prefix of its own (deleted on ``stop``), and, given the app, delivers the topics the
app subscribes to like daprd (``delivery.Deliverer``). ``settings`` are the ``DaprSettings`` that point the
kernel's Dapr adapters at it::

    app_client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app")
    async with DaprStandIn(redis, app=app_client) as dapr:
        kernel_settings = Settings(dapr=dapr.settings, events=EventsSettings(publisher="dapr"))
        ...
        await dapr.deliveries.wait_for(lambda records: len(records) == 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Self

import grpc
import httpx
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from pydantic import SecretStr
from redis.asyncio import Redis

from apibase.core.settings import DaprSettings
from apibase.testing.dapr_sidecar.api import StandInApi
from apibase.testing.dapr_sidecar.delivery import Deliverer, DeliveryLog
from apibase.testing.dapr_sidecar.health import HealthServer
from apibase.testing.dapr_sidecar.pubsub import RedisTopics
from apibase.testing.dapr_sidecar.state import RedisStateStores

__all__ = ["DaprStandIn"]


class DaprStandIn:
    """One sidecar: components named as ``DaprSettings``' defaults unless given; ``secrets``: key → its fields."""

    def __init__(
        self,
        redis: Redis,
        *,
        app: httpx.AsyncClient | None = None,
        app_id: str = "stand-in",
        pubsub: str = "pubsub",
        state_store: str = "statestore",
        secret_store: str = "secretstore",  # noqa: S107 - a component's name
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        api_token: str | None = None,
        app_api_token: str | None = None,
        max_attempts: int = 3,
        key_prefix: str | None = None,
    ) -> None:
        #: Where its state and topics live in Redis; stand-ins given the same prefix share them, like two daprd
        #: on one Redis component (e.g. a publishing and a subscribing app).
        self.prefix = key_prefix or f"dapr-stand-in:{uuid.uuid4().hex}:"
        self.topics = RedisTopics(redis, self.prefix)
        self.deliveries = DeliveryLog()
        self._redis = redis
        self._names = (pubsub, state_store, secret_store)
        self._api = StandInApi(
            app_id=app_id,
            topics=self.topics,
            states=RedisStateStores(redis, self.prefix),
            pubsubs=frozenset({pubsub}),
            state_stores=frozenset({state_store}),
            secrets={secret_store: dict(secrets or {})},
            api_token=api_token,
        )
        self._api_token = api_token
        self._app_api_token = app_api_token
        self._deliverer = (
            Deliverer(
                app,
                self.topics,
                self.deliveries,
                app_id=app_id,
                pubsubs=frozenset({pubsub}),
                app_api_token=app_api_token,
                max_attempts=max_attempts,
            )
            if app is not None
            else None
        )
        self._server: grpc.aio.Server | None = None
        self._health = HealthServer()
        self._grpc_port = 0
        self._delivering: asyncio.Task[None] | None = None

    @property
    def settings(self) -> DaprSettings:
        """Where the kernel finds this sidecar and its components."""
        pubsub, state_store, secret_store = self._names
        return DaprSettings(
            pubsub=pubsub,
            state_store=state_store,
            secret_store=secret_store,
            grpc_endpoint=f"127.0.0.1:{self._grpc_port}",
            http_endpoint=self._health.endpoint,
            api_token=SecretStr(self._api_token) if self._api_token is not None else None,
            app_api_token=SecretStr(self._app_api_token) if self._app_api_token is not None else None,
        )

    async def start(self) -> None:
        self._server = grpc.aio.server()
        dapr_pb2_grpc.add_DaprServicer_to_server(self._api, self._server)  # type: ignore[no-untyped-call]
        self._grpc_port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        self._health.start()
        if self._deliverer is not None:
            await self._deliverer.subscriptions()  # fail here, not in the background, when the app's list is wrong
            self._delivering = asyncio.create_task(self._deliverer.run(), name="dapr-stand-in-delivery")

    async def stop(self) -> None:
        if self._delivering is not None:
            self._delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivering
        if self._server is not None:
            await self._server.stop(grace=None)
        self._health.stop()
        keys = [key async for key in self._redis.scan_iter(match=f"{self.prefix}*")]
        if keys:
            await self._redis.delete(*keys)

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()  # what did start (the gRPC server, the health thread) stops with it
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()
