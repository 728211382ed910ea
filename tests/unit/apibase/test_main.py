"""create_app composes modules: what a module contributes reaches the app, and a wrong composition fails at build."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cloudevents.core.base import BaseCloudEvent
from fastapi import APIRouter, FastAPI

from apibase.application.subscriptions import Subscription
from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission
from apibase.interface.http.security.authorization import require
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import ALL_VERSIONS, BackgroundTask, Features, HealthCheck, Migrations
from apibase.testing.service import log_in, service_settings, sign_up

pytestmark = pytest.mark.unit


class Pinged(DomainEvent):
    pass


@dataclass
class Probe:
    """A module that contributes one of everything and records what the kernel did with it."""

    name: str = "probe"
    migrations: Migrations | None = None
    declared: Mapping[Permission, str] = field(default_factory=lambda: {Permission("probes:read"): "Read probes"})
    required: str = "probes:read"
    seen: list[DomainEvent] = field(default_factory=list)
    task_ran: asyncio.Event = field(default_factory=asyncio.Event)
    started: bool = False

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return self.declared

    def build(self, kernel: Kernel) -> Features:
        router = APIRouter()

        @router.get("/probes", dependencies=[require(self.required)])
        async def probes() -> dict[str, str]:
            await kernel.publisher.publish([Pinged(aggregate_id="p-1")])
            return {"probe": "ok"}

        async def on_event(event: DomainEvent) -> None:
            self.seen.append(event)

        async def run() -> None:
            self.task_ran.set()
            await asyncio.Event().wait()

        async def start() -> None:
            self.started = True

        async def healthy() -> None:
            return None

        return Features(
            routers={ALL_VERSIONS: [router]},
            health_checks=[HealthCheck("probe", healthy, vital=False)],
            background_tasks=[BackgroundTask("probe-loop", run)],
            event_handlers={Pinged: [on_event]},
            on_start=start,
        )


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
async def client(tmp_path: Path, probe: Probe) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service_settings(tmp_path / "kernel.db"), modules=[probe])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


async def test_a_module_contributes_routes_handlers_checks_and_tasks(client: httpx.AsyncClient, probe: Probe) -> None:
    headers = await sign_up(client, tenant="acme", version="v1")

    answer = await client.get("/api/v1/probes", headers=headers)

    assert answer.status_code == 200, answer.text
    assert [event.aggregate_id for event in probe.seen] == ["p-1"]
    assert probe.started
    await asyncio.wait_for(probe.task_ran.wait(), timeout=5)
    ready = await client.get("/health/ready")
    assert ready.json()["checks"]["probe"]["status"] == "ok"


async def test_a_module_route_needs_a_caller_and_the_declared_permission(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/probes")).status_code == 401
    admin = await sign_up(client, tenant="acme", version="v1")
    user = await client.post(
        "/api/v1/auth/users", headers=admin, json={"email": "v@example.com", "password": "a long passphrase"}
    )
    assert user.status_code == 201, user.text  # the first user is admin; the new one a viewer granted nothing
    viewer = await log_in(client, tenant="acme", email="v@example.com", password="a long passphrase", version="v1")
    assert (await client.get("/api/v1/probes", headers=viewer)).status_code == 403
    assert (await client.get("/api/v1/probes", headers=admin)).status_code == 200


def test_a_route_requiring_an_undeclared_permission_stops_the_app_from_being_built(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match=r"probes:write"):
        create_app(service_settings(tmp_path / "kernel.db"), modules=[Probe(required="probes:write")])


def test_two_modules_with_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="probe"):
        create_app(service_settings(tmp_path / "kernel.db"), modules=[Probe(), Probe()])


@dataclass
class Subscriber:
    """A module declaring one subscription; two of them (named apart) may not share its name."""

    name: str
    subscription: str = "shared.on-pinged"
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        async def handle(event: BaseCloudEvent) -> None:
            return None

        return Features(subscriptions=[Subscription(self.subscription, "apibase.Pinged", handle)])


def test_the_modules_subscriptions_reach_the_dispatcher_and_may_not_share_a_name(tmp_path: Path) -> None:
    apart = create_app(service_settings(tmp_path / "kernel.db"), modules=[Subscriber("a"), Subscriber("b", "b.on")])
    kernel: Kernel = apart.state.kernel
    assert [each.name for each in kernel.dispatcher.subscriptions()] == ["shared.on-pinged", "b.on"]

    with pytest.raises(ValueError, match=r"shared\.on-pinged"):
        create_app(service_settings(tmp_path / "kernel.db"), modules=[Subscriber("a"), Subscriber("b")])


def test_the_kernel_alone_has_its_own_modules(tmp_path: Path) -> None:
    app: FastAPI = create_app(service_settings(tmp_path / "kernel.db"))
    assert [module.name for module in app.state.runtime.modules] == ["identity", "audit", "idempotency", "events"]


def test_the_kernels_buses_retry_a_lost_race_outside_each_messages_unit_of_work(tmp_path: Path) -> None:
    kernel: Kernel = create_app(service_settings(tmp_path / "kernel.db")).state.kernel

    assert [type(step).__name__ for step in kernel.commands.behaviours] == [
        "TracingBehaviour",
        "LoggingBehaviour",
        "ConflictRetryBehaviour",
        "TransactionBehaviour",
    ]
    assert [type(step).__name__ for step in kernel.queries.behaviours] == [
        "TracingBehaviour",
        "LoggingBehaviour",
        "TransactionBehaviour",
    ]
