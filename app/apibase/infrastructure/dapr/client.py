"""The service's one connection to its Dapr sidecar, opened on first use and shared by every adapter.

The SDK's async client checks the sidecar's health in its constructor, synchronously, for up to
``DAPR_HEALTH_TIMEOUT`` (60 s): opening it at import or start-up would block the event loop. ``DaprSidecar``
waits with the SDK's async health probe first, bounded by ``open_timeout_seconds``, so the constructor's own
check answers at once. The SDK reads its HTTP endpoint (the health probe) and its API token from process-wide
settings (``dapr.conf.settings``); they are set here from ``DaprSettings``, so one process talks to one sidecar.
"""

from __future__ import annotations

import asyncio
from typing import Final

from dapr.aio.clients import DaprClient
from dapr.aio.clients.health import DaprHealth
from dapr.conf import settings as sdk_settings

from apibase.core.settings import DaprSettings
from apibase.infrastructure.dapr.call_metadata import CallMetadataInterceptor
from apibase.infrastructure.pools.status import PoolStatus

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "DaprSidecar", "SidecarUnavailableError"]

#: How long one call (or opening the client) may take before the sidecar counts as unavailable.
DEFAULT_TIMEOUT_SECONDS: Final = 5.0


class SidecarUnavailableError(ConnectionError):
    """The sidecar did not become healthy in time; retry later."""


class DaprSidecar:
    """A lazily opened ``DaprClient`` for the sidecar ``settings`` describe; ``close`` when the app stops."""

    def __init__(self, settings: DaprSettings, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds
        self._client: DaprClient | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        endpoint = self.settings.grpc_endpoint or "the SDK's default endpoint"
        return f"DaprSidecar({endpoint!r})"

    async def client(self) -> DaprClient:
        """The open client; the first call waits (at most ``timeout_seconds``) for the sidecar to be healthy."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._configure_sdk()
                try:
                    async with asyncio.timeout(self.timeout_seconds):
                        await DaprHealth.wait_for_sidecar()  # type: ignore[no-untyped-call]
                except TimeoutError:
                    raise SidecarUnavailableError(f"the Dapr sidecar is not healthy ({self!r})") from None
                self._client = DaprClient(address=self.settings.grpc_endpoint, interceptors=[CallMetadataInterceptor()])
            return self._client

    def status(self) -> PoolStatus:
        """One gRPC channel, in use while open: calls are multiplexed on it."""
        opened = int(self._client is not None)
        return PoolStatus(limit=1, open=opened, in_use=opened, idle=0)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()  # type: ignore[no-untyped-call]

    def _configure_sdk(self) -> None:
        """Point the SDK at this sidecar; a setting left unset falls back to the SDK's own (``DAPR_*`` variables)."""
        token = self.settings.api_token.get_secret_value() if self.settings.api_token is not None else None
        for name, value in (("DAPR_HTTP_ENDPOINT", self.settings.http_endpoint), ("DAPR_API_TOKEN", token)):
            if value is None:
                vars(sdk_settings).pop(name, None)
            else:
                setattr(sdk_settings, name, value)
