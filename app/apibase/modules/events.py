"""Events as a kernel module: the routes brokers deliver to (Dapr's subscriptions, the Knative Trigger's target).

The subscriptions themselves come from every module's ``Features.subscriptions`` (registered on
``kernel.dispatcher`` by ``create_app``); the inbox and outbox tables belong to the kernel's migration branch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apibase.domain.identity.permissions import Permission
from apibase.interface.http.events import event_routes
from apibase.kernel import Kernel
from apibase.module import Features, Migrations

__all__ = ["EventsModule"]


@dataclass(frozen=True)
class EventsModule:
    name: str = "events"
    #: Its tables belong to the kernel's own migration branch (``apibase``).
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        return Features(root_routers=[event_routes(kernel.dispatcher, kernel.settings)])
