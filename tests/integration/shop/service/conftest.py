"""Fixtures for driving whole service instances (``create_app`` and its lifespan) against real servers.

Helpers are fixtures because test modules cannot import each other or this conftest under
``--import-mode=importlib``. Every instance a test starts is stopped at its teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI

from apibase.core.settings import Settings
from shop.main import create_app


@dataclass(frozen=True)
class Running:
    """One started service instance and a client that reaches it from ``client_ip``."""

    app: FastAPI
    http: httpx.AsyncClient


type Launcher = Callable[..., Awaitable[Running]]


@pytest.fixture
async def launch() -> AsyncIterator[Launcher]:
    """``await launch(settings, client_ip=...)``: create the app, run its lifespan start, return a client."""
    async with AsyncExitStack() as stack:

        async def start(settings: Settings, *, client_ip: str = "127.0.0.1") -> Running:
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=(client_ip, 1234))
            http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://test"))
            return Running(app, http)

        yield start


@pytest.fixture
def signing_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def signing_pem(signing_key: ed25519.Ed25519PrivateKey) -> str:
    """The PKCS#8 PEM of ``signing_key``, as an operator would store it in a secrets manager."""
    return signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
